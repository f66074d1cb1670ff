"""This API's response checks registered with schemathesis (loaded through
`SCHEMATHESIS_HOOKS=contracts.schemathesis_hooks`), so every fuzzed answer gets them too."""

from __future__ import annotations

from typing import Any

import schemathesis

from contracts.checks.responses import envelope, status_policy
from contracts.checks.verdicts import CheckFailed
from contracts.spec.names import API_PREFIX


def _apply(check: Any, response: Any, case: Any) -> None:
    if not str(case.path).startswith(API_PREFIX):
        return
    try:
        check(response)
    except CheckFailed as failure:
        raise AssertionError(f"expected {failure.expected}; got {failure.got}") from None


@schemathesis.check
def apikley_envelope(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every answer is an object with an integer `code` and a string `msg`."""
    _apply(envelope, response, case)
    return None


@schemathesis.check
def apikley_status_policy(ctx: Any, response: Any, case: Any) -> bool | None:
    """The HTTP status is 200 or equals `code` (upstream's or the mirror policy)."""
    _apply(status_policy, response, case)
    return None
