"""What `apikley-contract run` shows while it works: each phase with its counts when it ends,
failures as they happen, and a spinner with the latest step on a terminal (rich; nothing
animated when the output is a file or a pipe)."""

from __future__ import annotations

from collections import Counter
from types import TracebackType

from rich.console import Console
from rich.status import Status


class PhaseProgress:
    """A `contracts.run.state.Listener` that prints to `console`."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(highlight=False, soft_wrap=True)
        self.phase: str | None = None
        self.counts: Counter[str] = Counter()
        self.status: Status | None = None

    def __call__(self, event: str, check: str, detail: str) -> None:
        if event == "phase":
            self.end_phase()
            self.phase = check
            self.console.print(f"== {check}", markup=False)
            if self.console.is_terminal:
                self.status = self.console.status(check)
                self.status.start()
        elif event == "passed":
            self.counts["passed"] += 1
        elif event == "failed":
            self.counts["failed"] += 1
            self.console.print(f"  FAILED {check}: {detail}", markup=False)
        elif event == "progress" and self.status is not None:
            self.status.update(f"{self.phase}: {detail}")
        elif event == "stopped":
            self.end_phase()
            self.console.print(f"STOPPED: {detail}", markup=False)

    def end_phase(self) -> None:
        if self.status is not None:
            self.status.stop()
            self.status = None
        if self.phase is not None:
            self.console.print(f"   {self.phase}: {self.counts['passed']} checks passed, "
                               f"{self.counts['failed']} failed", markup=False)
        self.phase = None
        self.counts.clear()

    def __enter__(self) -> PhaseProgress:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.end_phase()
