"""Recorded traffic checked offline: every exchange of a recording (HAR, VCR cassettes, a
directory of them) held to the checks the proxy applies, in recorded order, or one JSON
response body against a named operation's schema. `strict` also flags undocumented fields."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from contracts.checks.report import Report, curl
from contracts.checks.verdicts import CheckFailed, Verdicts
from contracts.spec.document import Operation, operation, operations
from contracts.spec.validators import RequestInvalid, compile_schema
from contracts.traffic.exchanges import Exchange, RecordingError
from contracts.traffic.live import TrafficChecks, bearer_key


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
    """Each exchange through the proxy's checks, in recorded order (so a task's successive polls
    meet the lifecycle rules), and strictly for undocumented fields when asked."""
    checks = TrafficChecks(report)
    for exchange in exchanges:
        checks.exchange(exchange)
        op = _operation_for(exchange.method, exchange.url)
        if strict and op is not None:
            reproducer = curl(exchange.request(), bearer_key(exchange.request_headers))
            checks.verdicts.check("undocumented_fields", _documented, _response_schema(op, exchange.status),
                                  exchange.response_body, reproducer=reproducer)
    return checks.report


def check_body_file(path: Path, operation_id: str, *, status: int = 200, strict: bool = False) -> Report:
    """One recorded JSON response body of `operation_id` against its `status` response schema."""
    verdicts = Verdicts()
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise RecordingError(f"{path}: not JSON ({exc})") from exc
    schema = _response_schema(operation(operation_id), status)
    if schema is None:
        raise RecordingError(f"{operation_id} documents no JSON response for status {status}")
    verdicts.check("conforms_to_spec", _conforms, schema, body, operation_id, reproducer=str(path))
    if strict:
        verdicts.check("undocumented_fields", _documented, schema, path.read_bytes(), reproducer=str(path))
    return verdicts.report


def _conforms(schema: Any, body: Any, operation_id: str) -> None:
    try:
        compile_schema(schema).check(body, "body")
    except RequestInvalid as exc:
        raise CheckFailed(f"a {operation_id} response the spec allows", str(exc)) from exc


def _documented(schema: Any, raw: bytes) -> None:
    try:
        value = json.loads(raw)
    except ValueError:
        return
    extra = undocumented_fields(schema, value)
    if extra:
        raise CheckFailed("only fields the spec documents", ", ".join(extra)[:600])
