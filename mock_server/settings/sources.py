"""Where settings come from: command-line flags, then `APIKLEY_MOCK_*` environment variables,
then a TOML file, then the defaults. Each value is coerced to its field's type as the type
hints say. Nothing else in the package reads the environment."""

from __future__ import annotations

import dataclasses
import functools
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mock_server.settings.fields import Settings, SettingsError

ENV_PREFIX = "APIKLEY_MOCK_"
TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


@functools.cache
def field_types() -> dict[str, Any]:
    return typing.get_type_hints(Settings)


def coerce(name: str, raw: Any) -> Any:
    """A value from a flag, the environment or TOML, as the field's type."""
    try:
        return _as(field_types()[name], raw)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"{name}: cannot use {raw!r} ({exc})") from exc


def _as(kind: Any, raw: Any) -> Any:
    arguments = typing.get_args(kind)
    if isinstance(kind, types.UnionType) and type(None) in arguments:  # `X | None`: empty means None
        (inner,) = [argument for argument in arguments if argument is not type(None)]
        return None if raw in (None, "") else _as(inner, raw)
    origin = typing.get_origin(kind)
    if origin is tuple:
        items = raw.split(",") if isinstance(raw, str) else list(raw)
        return tuple(_as(arguments[0], item.strip() if isinstance(item, str) else item)
                     for item in items if not isinstance(item, str) or item.strip())
    if origin is not None and issubclass(origin, Mapping):
        if not isinstance(raw, Mapping):
            raise TypeError("expected a table")
        return {_as(arguments[0], key): _as(arguments[1], value) for key, value in raw.items()}
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in TRUE or text in FALSE:
            return text in TRUE
        raise ValueError("expected true or false")
    if kind in (int, float) and isinstance(raw, bool):
        raise TypeError(f"expected {kind.__name__}, not a boolean")
    return kind(raw)


def load_settings(flags: Mapping[str, Any] | None = None, *,
                  env: Mapping[str, str] | None = None,
                  config_file: Path | None = None) -> Settings:
    """Merge the sources; unknown keys are errors, not silently ignored."""
    names = {f.name for f in dataclasses.fields(Settings)}
    values: dict[str, Any] = {}
    if config_file is not None:
        try:
            table = tomllib.loads(config_file.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"config file {config_file}: {exc}") from exc
        values.update(_known(table, names, f"config file {config_file}"))
    environment = os.environ if env is None else env
    from_env = {key[len(ENV_PREFIX):].lower(): value for key, value in environment.items()
                if key.startswith(ENV_PREFIX)}
    values.update(_known(from_env, names, "environment " + ENV_PREFIX + "*"))
    values.update({key: value for key, value in (flags or {}).items() if value is not None})
    if "admin_token" in values and not str(values["admin_token"]).strip():  # not "no token": a mistake
        raise SettingsError("admin_token: must be a non-empty token (an empty one would protect nothing)")
    return Settings(**{key: coerce(key, value) for key, value in values.items()})


def _known(values: Mapping[str, Any], names: set[str], source: str) -> dict[str, Any]:
    unknown = sorted(set(values) - names)
    if unknown:
        raise SettingsError(f"{source}: unknown setting(s) {unknown}; known: {sorted(names)}")
    return dict(values)
