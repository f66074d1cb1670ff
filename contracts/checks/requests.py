"""The rule for what an application sent (the proxy and recorded traffic hold every request
to it): a JSON request body the operation's schema allows; createTask's by its model's page."""

from __future__ import annotations

import functools
import json

from contracts.checks.verdicts import CheckFailed
from contracts.family.catalogue import ModelCatalogue
from contracts.spec.names import CREATE_TASK
from contracts.spec.validators import RequestInvalid, RequestValidator, request_validators


@functools.cache
def _by_route() -> dict[tuple[str, str], RequestValidator]:
    validators = {**request_validators(), CREATE_TASK: ModelCatalogue.load().create_task_validator()}
    return {(validator.operation.method, validator.operation.path): validator for validator in validators.values()}


def request_rules(method: str, path: str, content_type: str, body: bytes) -> None:
    """A JSON body the operation at `method path` takes (other bodies and paths: no verdict)."""
    validator = _by_route().get((method.upper(), path))
    if validator is None or validator.media_type != "application/json" or "json" not in content_type.lower():
        return
    try:
        sent = json.loads(body) if body else None
    except ValueError as exc:
        raise CheckFailed(f"a JSON body for {validator.operation.operation_id}", repr(body[:200])) from exc
    try:
        validator.check_body(sent)
    except RequestInvalid as exc:
        raise CheckFailed(f"a {validator.operation.operation_id} body the spec allows", str(exc)) from exc
