"""The one path every check runs through, in a contract run, the proxy, recorded traffic, the
webhook test and the key probe alike: a rule is called, and its verdict recorded in a `Report`
(a pass counted; a failure with what was expected, what came back and a reproducer).

Rules read the answers themselves, inside this path. An answer that is not what the rule can
read (an edge's HTML 502, a list where an object belongs, a field missing) is a failure in the
report, never an exception out of the run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from contracts.checks.report import Failure, Report

# What reading an unexpected answer raises (json, a missing key, a wrong type): a failure of
# the rule that read it. Anything else (a budget refusal, a bug in a transport) goes on up.
UNREADABLE = (ValueError, TypeError, KeyError, AttributeError, IndexError)


class CheckFailed(AssertionError):
    def __init__(self, expected: str, got: str) -> None:
        super().__init__(f"expected {expected}; got {got}")
        self.expected = expected
        self.got = got


@dataclass(frozen=True)
class Verdict:
    """Whether a rule passed, and what it returned (a rule that reads a value hands it on)."""

    ok: bool
    value: Any = None

    def __bool__(self) -> bool:
        return self.ok


FAILED = Verdict(False)
Reproducer = str | Callable[[], str]  # a callable is only called for a failure


class Verdicts:
    """Runs rules and records their verdicts in `report`. `on_failure` and `on_pass` hear of
    each verdict as it comes (a progress display, the proxy's stderr). `once_per_place`: a
    failing rule is reported once per place (a run's endpoint), however often it fails there."""

    def __init__(self, report: Report | None = None, *, on_failure: Callable[[Failure], None] | None = None,
                 on_pass: Callable[[str], None] | None = None, once_per_place: bool = False) -> None:
        self.report = report if report is not None else Report()
        self._on_failure = on_failure
        self._on_pass = on_pass
        self._once = once_per_place
        self._reported: set[tuple[str, tuple[str, ...]]] = set()

    def check(self, name: str, rule: Callable[..., Any], *args: Any, reproducer: Reproducer = "",
              place: tuple[str, ...] = ()) -> Verdict:
        try:
            value = rule(*args)
        except CheckFailed as failed:
            self._failed(name, failed.expected, failed.got, reproducer, place)
            return FAILED
        except UNREADABLE as exc:
            self._failed(name, "an answer this check can read", f"{type(exc).__name__}: {exc}"[:300],
                         reproducer, place)
            return FAILED
        self.report.passed[name] += 1
        if self._on_pass is not None:
            self._on_pass(name)
        return Verdict(True, value)

    def fail(self, name: str, expected: str, got: str, reproducer: Reproducer = "") -> None:
        """A finding that is not a rule's verdict (an upstream that did not answer, a budget)."""
        self._failed(name, expected, got, reproducer, ())

    def _failed(self, name: str, expected: str, got: str, reproducer: Reproducer, place: tuple[str, ...]) -> None:
        if self._once:
            if (name, place) in self._reported:
                return
            self._reported.add((name, place))
        failure = Failure(name, expected, got, reproducer() if callable(reproducer) else reproducer)
        self.report.failures.append(failure)
        if self._on_failure is not None:
            self._on_failure(failure)
