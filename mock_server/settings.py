"""One frozen settings object, from flags, `APIKLEY_MOCK_*` environment and a TOML file.

Precedence: command-line flags, then the environment, then the config file, then the
defaults below. Nothing else in the package reads the environment.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mock_server.errors import STATUS_POLICIES
from mock_server.sim.ratelimit import Rate

ENV_PREFIX = "APIKLEY_MOCK_"
DEFAULT_API_KEY = "apikley-mock-key"


class SettingsError(ValueError):
    """A setting that cannot be used; the message names it."""


@dataclass(frozen=True, kw_only=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    # Base of every URL the mock mints (results, uploads, download-url links), e.g. behind a
    # reverse proxy or in a compose network; None: the base URL each client used.
    public_url: str | None = None
    api_keys: tuple[str, ...] = (DEFAULT_API_KEY,)
    seed: int = 0
    # Virtual seconds per wall second: a 720p/5 s task (about 45 s) ends in about 3 s.
    speed: float = 15.0
    # Virtual clock start in Unix ms; None starts at the real time.
    epoch_ms: int | None = None
    # `upstream`: HTTP 200 with the error in `code` (createTask rate limit: HTTP 429).
    # `mirror`: HTTP status equals `code`.
    status_policy: str = "upstream"
    max_body_bytes: int = 10 * 1024 * 1024
    # Credits a key starts with, and what a task costs by "resolution/duration".
    initial_balance: float = 10_000.0
    prices: Mapping[str, float] = field(default_factory=lambda: {
        "720p/5": 20.0, "720p/10": 40.0, "1080p/5": 45.0, "1080p/10": 90.0,
    })
    # Rate limits as upstream ("count/seconds" on the virtual clock, or "off").
    create_rate_limit: str = "20/10"
    query_rate_limit: str = "10/1"
    maintenance: bool = False
    # Input values switched off (answer 505), as "field=value": e.g. "resolution=1080p".
    disabled_features: tuple[str, ...] = ()
    # Callbacks: signing key, extra hosts that may be called, attempts, first retry delay.
    webhook_hmac_key: str | None = None
    callback_allow_hosts: tuple[str, ...] = ()
    callback_max_attempts: int = 3
    callback_backoff_seconds: float = 5.0
    # Control API (/__mock__): loopback clients always; others only with this token.
    admin_token: str | None = None
    # SQLite file for tasks, balances and deliveries; None keeps them in memory.
    db: str | None = None
    # False: no fsync (SQLite synchronous=OFF); the db still survives the mock's crashes (kill -9),
    # not the machine's. Always false for the temporary file of --workers without --db.
    db_durable: bool = True
    # Redis URL (redis://HOST:PORT/DB): the whole state in Redis, shared by replicas.
    store: str | None = None
    # Processes serving one port and one state (SQLite: --db, or a temporary file).
    workers: int = 1
    # Wall seconds a dead worker's or replica's claimed callback deliveries wait for another.
    lease_seconds: float = 10.0
    journal_size: int = 1000
    # A directory recorded by `apikley-mock proxy --record`: its tasks are served back.
    replay: str | None = None
    # More model pages (files, or directories of .json/.yaml pages) beside the bundled seed model.
    model_specs: tuple[str, ...] = ()
    # One line per request on stdout (method, path, code, HTTP status, latency, task id).
    access_log: bool = False
    # Files: uploads and rendered results live here (None: a temporary directory per run),
    # within max_data_bytes. files_dir: a directory whose files file:// URLs and image_url
    # may name (offline inputs); None allows none.
    data_dir: str | None = None
    max_data_bytes: int = 2 * 1024**3
    files_dir: str | None = None
    max_upload_bytes: int = 10 * 1024 * 1024
    # file-url-upload gives up on a URL that has not answered in full after this (upstream: 30 s).
    fetch_timeout_seconds: float = 30.0
    # Retention, in virtual seconds: result URLs 24 h after the task ends, records 14 days,
    # uploads 3 days, download-url links 20 minutes.
    result_ttl_seconds: float = 24 * 3600
    record_ttl_seconds: float = 14 * 24 * 3600
    upload_ttl_seconds: float = 3 * 24 * 3600
    download_url_ttl_seconds: float = 20 * 60

    def __post_init__(self) -> None:
        if not self.api_keys or any(not key or any(c.isspace() for c in key) for key in self.api_keys):
            raise SettingsError("api_keys: give at least one key, without white space")
        if self.public_url is not None:
            object.__setattr__(self, "public_url", _checked_public_url(self.public_url))
        if not 0 <= self.port <= 65535:
            raise SettingsError(f"port: {self.port} is not between 0 and 65535")
        if self.speed < 0:
            raise SettingsError(f"speed: {self.speed} must be >= 0 (0 freezes the clock)")
        if self.status_policy not in STATUS_POLICIES:
            raise SettingsError(f"status_policy: {self.status_policy!r} is not one of {list(STATUS_POLICIES)}")
        if self.max_body_bytes <= 0:
            raise SettingsError("max_body_bytes: must be positive")
        for name in ("create_rate_limit", "query_rate_limit"):
            try:
                Rate.parse(getattr(self, name))
            except ValueError as exc:
                raise SettingsError(f"{name}: {exc} (use \"count/seconds\" or \"off\")") from exc
        for feature in self.disabled_features:
            if "=" not in feature:
                raise SettingsError(f"disabled_features: {feature!r} is not field=value")
        if self.callback_max_attempts < 1 or self.callback_backoff_seconds < 0:
            raise SettingsError("callback_max_attempts must be >= 1, callback_backoff_seconds >= 0")
        if self.store is not None and not self.store.startswith(("redis://", "rediss://", "unix://")):
            raise SettingsError(f"store: {self.store!r} is not a redis:// URL")
        if self.store is not None and self.db is not None:
            raise SettingsError("store and db: choose one (Redis for replicas, SQLite for one machine)")
        if not 1 <= self.workers <= 64:
            raise SettingsError(f"workers: {self.workers} is not between 1 and 64")
        if self.lease_seconds <= 0:
            raise SettingsError("lease_seconds: must be positive")
        if self.journal_size < 1:
            raise SettingsError("journal_size: must be positive")
        for name in ("max_data_bytes", "max_upload_bytes", "fetch_timeout_seconds", "result_ttl_seconds",
                     "record_ttl_seconds", "upload_ttl_seconds", "download_url_ttl_seconds"):
            if getattr(self, name) <= 0:
                raise SettingsError(f"{name}: must be positive")

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def _checked_public_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError on a port that is not a number
    except ValueError as exc:
        raise SettingsError(f"public_url: {url!r} is not a URL ({exc})") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise SettingsError(f"public_url: {url!r} must be http(s)://host[:port][/path], without query or fragment")
    return url.rstrip("/")


def _coerce(name: str, raw: Any) -> Any:
    """A value from a flag, the environment or TOML, as the field's type."""
    kind = {f.name: f.type for f in dataclasses.fields(Settings)}[name]
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "int | None":
            return None if raw in (None, "") else int(raw)
        if kind == "str | None":
            return None if raw in (None, "") else str(raw)
        if kind == "bool":
            if isinstance(raw, bool):
                return raw
            if str(raw).strip().lower() in ("1", "true", "yes", "on"):
                return True
            if str(raw).strip().lower() in ("0", "false", "no", "off", ""):
                return False
            raise ValueError("expected true or false")
        if kind == "tuple[str, ...]":
            items = raw.split(",") if isinstance(raw, str) else list(raw)
            return tuple(item.strip() for item in items if item.strip())
        if kind == "Mapping[str, float]":
            if not isinstance(raw, Mapping):
                raise TypeError("expected a table")
            return {str(key): float(value) for key, value in raw.items()}
        return str(raw)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"{name}: cannot use {raw!r} ({exc})") from exc


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
    return Settings(**{key: _coerce(key, value) for key, value in values.items()})


def _known(values: Mapping[str, Any], names: set[str], source: str) -> dict[str, Any]:
    unknown = sorted(set(values) - names)
    if unknown:
        raise SettingsError(f"{source}: unknown setting(s) {unknown}; known: {sorted(names)}")
    return dict(values)
