"""Scenarios: how a caller asks for an outcome, and what each name means.

Three ways to choose one, all resolved here: a header `X-Mock-Scenario: <name>[; key=value]...`,
a prompt marker `[mock:<name> key=value ...]` (for clients that cannot set headers), and
outcomes queued per API key and operation through the control API. A scenario is a *call*
outcome (the API call itself answers an error), a *fault* (the call fails as a network between
would fail it, or its answer is held back), or a *task* outcome (how the task ends, how its
callback is delivered, when its record becomes visible).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, replace

from contracts.spec.lifecycle import TRANSITIONS
from mock_server.bounded import ascii_int, finite
from mock_server.errors import ApiError, NetworkFault
from mock_server.sim.lifecycle import Outcome

HEADER = "x-mock-scenario"
PROMPT_MARKER = re.compile(r"\[mock:([a-z][a-z0-9-]*)((?:\s+[A-Za-z_]+=[^\]\s]+)*)\s*\]")

# Call outcomes: (code, message). createTask's 429 is a real HTTP 429 (see errors.http_status).
CALL_OUTCOMES: Mapping[str, tuple[int, str]] = {
    "unauthorized": (401, "You do not have access permissions"),
    "insufficient-credits": (402, "Insufficient credits (mock scenario)"),
    "invalid": (422, "Validation error (mock scenario)"),
    "rate-limited": (429, "Rate limited (mock scenario)"),
    "maintenance": (455, "The system is currently undergoing maintenance"),
    "server-error": (500, "Internal server error"),
    "feature-disabled": (505, "Feature disabled (mock scenario)"),
}


# The documented ranges of scenario parameters (README, scenario table).
SLOWDOWN = (0.01, 1000.0)
CALLBACK_DELAY_SECONDS = (0.0, 30 * 24 * 3600.0)
RETRY_AFTER_SECONDS = (0, 86_400)
GATEWAY_SECONDS = (0.0, 120.0)  # wall seconds before an edge's 504
LATENCY_MS = (0, 60_000)  # wall milliseconds an answer is held back
HIDDEN_SECONDS = (0.0, 3600.0)  # virtual seconds a new task's record is not visible
MAX_TEXT = 500  # characters of a msg= or code= a scenario sets

# The wall milliseconds this request's answer is held back (a `latency` scenario sets it; the
# pipeline reads it before it answers). One value per request: each runs in its own context.
HELD_BACK: ContextVar[int] = ContextVar("held_back_ms", default=0)


def _text(params: Mapping[str, str], name: str, default: str) -> str:
    value = params.get(name, default).replace("_", " ")
    if len(value) > MAX_TEXT:
        raise ApiError(422, f"scenario parameter {name}: at most {MAX_TEXT} characters")
    return value


def _fail(params: Mapping[str, str]) -> Outcome:
    return Outcome(state="fail", fail_stage=params.get("stage", "generating"),
                   fail_code=_text(params, "code", "500"), fail_msg=_text(params, "msg", "Internal server error"))


# Task outcomes: params -> Outcome. Each is documented in the README's scenario table.
TASK_OUTCOMES: Mapping[str, Callable[[Mapping[str, str]], Outcome]] = {
    "success": lambda params: Outcome(),
    "fail": _fail,
    "slow": lambda params: Outcome(slowdown=finite(params.get("factor", "3"), "factor",
                                                   low=SLOWDOWN[0], high=SLOWDOWN[1])),
    "stuck": lambda params: Outcome(stuck_in=params.get("state", "generating")),
    "callback-duplicate": lambda params: Outcome(callback="duplicate"),
    "callback-delay": lambda params: Outcome(callback="delay", callback_delay_s=finite(
        params.get("seconds", "60"), "seconds", low=CALLBACK_DELAY_SECONDS[0], high=CALLBACK_DELAY_SECONDS[1])),
    "callback-drop": lambda params: Outcome(callback="drop"),
    "not-yet-visible": lambda params: Outcome(hidden_s=finite(params.get("seconds", "5"), "seconds",
                                                              low=HIDDEN_SECONDS[0], high=HIDDEN_SECONDS[1])),
}


def _latency(params: Mapping[str, str]) -> None:
    HELD_BACK.set(ascii_int(params.get("ms", "1000"), "ms", low=LATENCY_MS[0], high=LATENCY_MS[1]))


def _gateway_timeout(params: Mapping[str, str]) -> None:
    raise NetworkFault("gateway-timeout", finite(params.get("seconds", "0"), "seconds", low=GATEWAY_SECONDS[0],
                                                 high=GATEWAY_SECONDS[1]))


def _fault(kind: str) -> Callable[[Mapping[str, str]], None]:
    def fail(params: Mapping[str, str]) -> None:
        raise NetworkFault(kind)
    return fail


# Faults: how a network between fails a call (raise NetworkFault), or holds its answer back.
FAULTS: Mapping[str, Callable[[Mapping[str, str]], None]] = {
    "html-502": _fault("html-502"),
    "gateway-timeout": _gateway_timeout,
    "connection-reset": _fault("connection-reset"),
    "latency": _latency,
}
KNOWN = sorted([*CALL_OUTCOMES, *FAULTS, *TASK_OUTCOMES])


@dataclass(frozen=True)
class Scenario:
    name: str
    params: Mapping[str, str]

    @property
    def text(self) -> str:
        """As a header would say it: parse(text) gives it back."""
        return "; ".join([self.name, *(f"{key}={value}" for key, value in self.params.items())])

    @property
    def is_call_outcome(self) -> bool:
        return self.name in CALL_OUTCOMES

    @property
    def is_fault(self) -> bool:
        return self.name in FAULTS

    @property
    def per_call(self) -> bool:
        """A call outcome or a fault: it applies to the call it comes with, of any operation."""
        return self.name in CALL_OUTCOMES or self.name in FAULTS

    def apply_fault(self) -> None:
        """Raise its NetworkFault, or hold this call's answer back (latency)."""
        FAULTS[self.name](self.params)

    def error(self, *, rate_limit_status: int | None = None) -> ApiError:
        code, message = CALL_OUTCOMES[self.name]
        message = _text(self.params, "msg", message)
        if code == 429:
            wait = ascii_int(self.params.get("retry_after", "1"), "retry_after", low=RETRY_AFTER_SECONDS[0],
                             high=RETRY_AFTER_SECONDS[1])
            return ApiError(code, message, http_status=rate_limit_status, headers={"Retry-After": str(wait)})
        return ApiError(code, message)

    def outcome(self) -> Outcome:
        try:
            return TASK_OUTCOMES[self.name](self.params)
        except ValueError as exc:
            raise ApiError(422, f"scenario {self.name}: {exc}") from exc


def parse(text: str, source: str) -> Scenario:
    """`fail; stage=queuing; msg=Content flagged` (header: a value may hold spaces) or
    `fail stage=queuing` (marker: parameters apart by spaces)."""
    head, *rest = text.strip().split(";")
    parts = [*head.split(), *(part.strip() for part in rest if part.strip())]
    if not parts or parts[0] not in KNOWN:
        name = parts[0] if parts else ""
        raise ApiError(422, f"{source}: unknown scenario {name!r}; known: {KNOWN}")
    params = {}
    for part in parts[1:]:
        key, equals, value = part.partition("=")
        if not equals or not key:
            raise ApiError(422, f"{source}: expected key=value, got {part!r}")
        params[key.strip()] = value.strip()
    scenario = Scenario(parts[0], params)
    _check_parameters(scenario)  # refused up front, not when the call or the task runs
    return scenario


def _check_parameters(scenario: Scenario) -> None:
    if scenario.is_call_outcome:
        scenario.error()
    elif scenario.is_fault:
        held = HELD_BACK.set(0)
        try:
            scenario.apply_fault()
        except NetworkFault:
            pass
        finally:
            HELD_BACK.reset(held)
    else:
        scenario.outcome()


def from_prompt(prompt: object) -> Scenario | None:
    if not isinstance(prompt, str) or "[mock:" not in prompt:
        return None
    match = PROMPT_MARKER.search(prompt)
    if match is None:
        return None
    return parse(match.group(1) + " " + match.group(2), "prompt marker")


def forced(outcome: Outcome, state: str, at_ms: int) -> Outcome:
    """The outcome of a task forced into `state` at `at_ms` (by the control API)."""
    if state not in TRANSITIONS:
        raise ApiError(422, f"state: {state!r} is not one of {list(TRANSITIONS)}")
    return replace(outcome, forced_state=state, forced_at_ms=at_ms)
