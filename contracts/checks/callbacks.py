"""Rules for a delivered callback: the spec's CallbackPayload, the envelope the task's end
calls for, data equal to the task's final record, and (with a key) the HMAC signature."""

from __future__ import annotations

import functools
import hmac
import json
from dataclasses import dataclass
from typing import Any

from contracts.checks.verdicts import CheckFailed
from contracts.spec.document import schema
from contracts.spec.names import SIGNATURE_HEADER, TIMESTAMP_HEADER, callback_envelope, sign_callback
from contracts.spec.validators import CompiledSchema, RequestInvalid, compile_schema


@dataclass(frozen=True)
class Delivery:
    """One callback as it arrived: its headers (lower-case names) and body."""

    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def task_id(self) -> str | None:
        try:
            data = self.json().get("data") or {}
        except (ValueError, AttributeError):
            return None
        found = data.get("taskId") if isinstance(data, dict) else None
        return found if isinstance(found, str) else None


@functools.cache
def _payload_schema() -> CompiledSchema:
    return compile_schema(schema("CallbackPayload"))


def callback_rules(delivery: Delivery, record: dict[str, Any], hmac_key: str | None) -> None:
    try:
        payload = delivery.json()
    except ValueError as exc:
        raise CheckFailed("a JSON callback body", repr(delivery.body[:200])) from exc
    try:
        _payload_schema().check(payload, "callback")
    except RequestInvalid as exc:
        raise CheckFailed("a callback the spec's CallbackPayload allows", str(exc)) from exc
    state = record.get("state")
    code, _ = callback_envelope(str(state))
    if payload["code"] != code:
        raise CheckFailed(f"callback code {code} for a task in {state}", str(payload["code"]))
    differing = {key: payload["data"].get(key) for key in record if payload["data"].get(key) != record[key]}
    if differing:
        raise CheckFailed("callback data equal to the final record", json.dumps(differing)[:400])
    if hmac_key is not None:
        timestamp = delivery.headers.get(TIMESTAMP_HEADER.lower(), "")
        given = delivery.headers.get(SIGNATURE_HEADER.lower(), "")
        expected = sign_callback(hmac_key, str(record.get("taskId")), timestamp)
        if not timestamp.isdigit() or not hmac.compare_digest(given, expected):
            raise CheckFailed(f"{SIGNATURE_HEADER} = base64(HMAC-SHA256(key, taskId.timestamp))",
                              f"timestamp {timestamp!r}, signature {given!r}")


def delivered(deliveries: list[Delivery], task_id: str) -> None:
    if not deliveries:
        raise CheckFailed(f"a callback for {task_id} at the receiver", "none arrived")
