"""Recorded traffic checked against the spec offline: HAR files, schemathesis VCR cassettes,
or one JSON response body for a named operation. `strict` also flags undocumented fields."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import yaml

from contracts.report import Failure, Report, curl
from contracts.spec import Operation, operation, operations
from contracts.validators import RequestInvalid, compile_schema


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
        document = json.loads(text) if text.lstrip().startswith("{") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise RecordingError(f"{path}: neither JSON nor YAML ({exc})") from exc
    if isinstance(document, dict) and "log" in document:
        return list(_har(document))
    if isinstance(document, dict) and "http_interactions" in document:
        return list(_vcr(document))
    raise RecordingError(f"{path}: not a HAR file nor a VCR cassette (use --operation for a JSON body)")


def undocumented_fields(schema: Any, value: Any, where: str = "") -> list[str]:
    """Object keys in `value` that no branch of `schema` declares (allOf/anyOf/oneOf merged)."""
    if not isinstance(schema, dict):
        return []
    branches = [schema, *schema.get("allOf", []), *schema.get("anyOf", []), *schema.get("oneOf", [])]
    found: list[str] = []
    if isinstance(value, dict):
        declared: dict[str, list[Any]] = {}
        for branch in branches:
            for name, sub in branch.get("properties", {}).items():
                declared.setdefault(name, []).append(sub)
        for key, item in value.items():
            path = f"{where}.{key}" if where else key
            if key not in declared:
                found.append(path)
            else:
                for sub in declared[key][:1]:
                    found += undocumented_fields(sub, item, path)
    elif isinstance(value, list):
        items = schema.get("items")
        for index, item in enumerate(value):
            found += undocumented_fields(items, item, f"{where}[{index}]")
    return found


def _operation_for(method: str, url: str) -> Operation | None:
    path = urlsplit(url).path
    return next((op for op in operations() if op.method == method.upper() and op.path == path), None)


def _response_schema(op: Operation, status: int) -> Any:
    response = op.response(status) or op.response("default") or {}
    return response.get("content", {}).get("application/json", {}).get("schema")


def check_exchanges(exchanges: list[Exchange], *, strict: bool = False, report: Report | None = None) -> Report:
    from contracts.conformance import response_problems  # openapi-core: ~0.2 s to import, not for `serve --replay`

    report = report or Report()
    for exchange in exchanges:
        reproducer = curl(exchange.request())
        problems = response_problems(exchange.method, exchange.url, request_headers=exchange.request_headers,
                                     request_body=exchange.request_body, status=exchange.status,
                                     response_headers=exchange.response_headers,
                                     response_body=exchange.response_body)
        if problems:
            report.failures.append(Failure("recorded_conformance", "a response the spec allows",
                                           "; ".join(problems)[:600], reproducer))
        else:
            report.passed["recorded_conformance"] += 1
        op = _operation_for(exchange.method, exchange.url)
        if strict and op is not None:
            _strict(report, _response_schema(op, exchange.status), exchange.response_body, reproducer)
    return report


def check_body_file(path: Path, operation_id: str, *, status: int = 200, strict: bool = False) -> Report:
    """One recorded JSON response body of `operation_id` against its `status` response schema."""
    report = Report()
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise RecordingError(f"{path}: not JSON ({exc})") from exc
    schema = _response_schema(operation(operation_id), status)
    if schema is None:
        raise RecordingError(f"{operation_id} documents no JSON response for status {status}")
    try:
        compile_schema(schema).check(body, "body")
        report.passed["recorded_conformance"] += 1
    except RequestInvalid as exc:
        report.failures.append(Failure("recorded_conformance", f"a {operation_id} response the spec allows",
                                       str(exc), str(path)))
    if strict:
        _strict(report, schema, path.read_bytes(), str(path))
    return report


def _strict(report: Report, schema: Any, raw: bytes, reproducer: str) -> None:
    try:
        value = json.loads(raw)
    except ValueError:
        return
    extra = undocumented_fields(schema, value)
    if extra:
        report.failures.append(Failure("undocumented_fields", "only fields the spec documents",
                                       ", ".join(extra)[:600], reproducer))
    else:
        report.passed["undocumented_fields"] += 1
