"""Exchanges between an application and the API as recorded: HAR files, VCR cassettes
(schemathesis' `--report vcr`, or `apikley-mock proxy --record`), or directories of them, read
into one `Exchange` type that the checks, the proxy and `serve --replay` share."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

from contracts.spec.document import read_yaml


class RecordingError(ValueError):
    """A file that is not HAR, a VCR cassette or JSON."""


@dataclass(frozen=True)
class Exchange:
    method: str
    url: str
    request_headers: dict[str, str]
    request_body: bytes
    status: int
    response_headers: dict[str, str]
    response_body: bytes
    recorded_at_ms: int | None = None  # when the answer came (Unix ms), if the file says

    def request(self) -> httpx.Request:
        headers = {k: v for k, v in self.request_headers.items() if k.lower() != "content-length"}
        return httpx.Request(self.method, self.url, headers=headers, content=self.request_body)


def _har(document: dict[str, Any]) -> Iterator[Exchange]:
    for entry in document["log"]["entries"]:
        request, response = entry["request"], entry["response"]
        content = response.get("content", {})
        text = content.get("text", "")
        body = base64.b64decode(text) if content.get("encoding") == "base64" else text.encode()
        yield Exchange(request["method"], request["url"],
                       {h["name"]: h["value"] for h in request.get("headers", [])},
                       request.get("postData", {}).get("text", "").encode(), int(response["status"]),
                       {h["name"].lower(): h["value"] for h in response.get("headers", [])}, body,
                       _unix_ms(entry.get("startedDateTime")))


def _vcr_body(body: dict[str, Any] | None) -> bytes:
    if not body:
        return b""
    if "base64_string" in body:
        return base64.b64decode(body["base64_string"])
    return str(body.get("string", "")).encode()


def _vcr(document: dict[str, Any]) -> Iterator[Exchange]:
    for interaction in document["http_interactions"]:
        request, response = interaction.get("request"), interaction.get("response")
        if not request or not response:
            continue  # an interaction that failed before an answer came
        yield Exchange(request["method"], request["uri"],
                       {k: v[0] for k, v in (request.get("headers") or {}).items()}, _vcr_body(request.get("body")),
                       int(response["status"]["code"]),
                       {k.lower(): v[0] for k, v in (response.get("headers") or {}).items()},
                       _vcr_body(response.get("body")), _unix_ms(interaction.get("recorded_at")))


def _unix_ms(stamp: object) -> int | None:
    """An ISO 8601 instant (HAR, this project's cassettes) as Unix ms; None if absent or not one."""
    try:
        return round(datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None


CASSETTE_SUFFIXES = (".json", ".yaml", ".yml", ".har")


def load_exchanges(path: Path) -> list[Exchange]:
    """A HAR file or VCR cassette; a directory: every such file directly in it, by name."""
    if path.is_dir():
        files = sorted(file for file in path.iterdir() if file.is_file() and file.suffix in CASSETTE_SUFFIXES)
        if not files:
            raise RecordingError(f"{path}: no HAR files or cassettes in this directory")
        return [exchange for file in files for exchange in load_exchanges(file)]
    text = path.read_text(encoding="utf-8")
    try:
        document = json.loads(text) if text.lstrip().startswith("{") else read_yaml(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise RecordingError(f"{path}: neither JSON nor YAML ({exc})") from exc
    if isinstance(document, dict) and "log" in document:
        return list(_har(document))
    if isinstance(document, dict) and "http_interactions" in document:
        return list(_vcr(document))
    raise RecordingError(f"{path}: not a HAR file nor a VCR cassette (use --operation for a JSON body)")
