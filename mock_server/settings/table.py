"""The settings table, read from the fields: `apikley-mock serve`'s flags (with their help)
and the README's settings table. `python -m mock_server.settings.table` prints the latter."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Iterator
from typing import Any

from mock_server.settings.fields import Settings
from mock_server.settings.sources import ENV_PREFIX, field_types


def flagged() -> Iterator[dataclasses.Field[Any]]:
    return (item for item in dataclasses.fields(Settings) if item.metadata.get("flag"))


def add_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per setting that has one; every flag defaults to None (not given)."""
    kinds = field_types()
    for item in flagged():
        meta, kind = item.metadata, kinds[item.name]
        help_text = f"{meta['meaning']} (default {shown_default(item)})".replace("%", "%%")
        options: dict[str, Any] = {"dest": item.name, "help": help_text, "default": None}
        if meta["metavar"]:
            options["metavar"] = meta["metavar"]
        if kind is bool:
            parser.add_argument(meta["flag"], action="store_const", const=True, **options)
        elif str(kind).startswith("tuple"):
            parser.add_argument(meta["flag"], action="append", **options)
        else:
            parser.add_argument(meta["flag"], **options)  # coerced with the others, by type hint


def flag_values(args: argparse.Namespace) -> dict[str, Any]:
    return {item.name: getattr(args, item.name) for item in flagged()}


def shown_default(item: dataclasses.Field[Any]) -> str:
    if item.metadata.get("shown"):
        return str(item.metadata["shown"])
    factory: Any = item.default_factory
    default = item.default if item.default is not dataclasses.MISSING else factory()
    if default is None or default == ():
        return "none"
    if isinstance(default, bool):
        return "true" if default else "false"
    if isinstance(default, tuple):
        return ", ".join(str(value) for value in default)
    return f"{default:g}" if isinstance(default, float) else str(default)


def markdown_table() -> str:
    lines = ["| flag | env / TOML key | default | meaning |", "|---|---|---|---|"]
    for item in dataclasses.fields(Settings):
        flag = item.metadata.get("flag")
        env = f"`{ENV_PREFIX}{item.name.upper()}`"
        lines.append(f"| {f'`{flag}`' if flag else '–'} | {env} / `{item.name}` | `{shown_default(item)}` | "
                     f"{item.metadata['meaning']} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown_table(), end="")
