"""The task lifecycle the API promises: which state may follow which (names from the spec's
TaskState enum), and the back-off schedule clients poll on."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

TRANSITIONS: Mapping[str, tuple[str, ...]] = {
    "waiting": ("queuing", "fail"),
    "queuing": ("generating", "fail"),
    "generating": ("success", "fail"),
    "success": (),
    "fail": (),
}
ORDER = ("waiting", "queuing", "generating", "success")  # forward order; "fail" may end any stage
TERMINAL = frozenset(state for state, following in TRANSITIONS.items() if not following)


def moves_forward(before: str, after: str) -> bool:
    """Whether a poll may see `after` following `before` (polls may skip states)."""
    if before == after:
        return True
    if before in TERMINAL:
        return False
    if after == "fail":
        return True
    return after in ORDER and ORDER.index(after) > ORDER.index(before)


def poll_delays(deadline_seconds: float = 900.0) -> Iterator[float]:
    """Upstream's advice: every 2-3 s for the first 30 s, 5-10 s until 2 minutes, then
    15-30 s; give up after 10-15 minutes."""
    elapsed = 0.0
    while elapsed < deadline_seconds:
        delay = 2.5 if elapsed < 30 else 7.5 if elapsed < 120 else 20.0
        elapsed += delay
        yield delay
