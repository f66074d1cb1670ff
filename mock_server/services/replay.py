"""`serve --replay DIR`: tasks recorded through `apikley-mock proxy --record DIR`, served back.

A recorded task answers Get Task Details with the records it was seen with, in order, on the
virtual clock: each record from the instant it was recorded (the clock starts at the first
one unless --epoch-ms says otherwise), the first one before that. Result files the proxy saved
(DIR/results/<taskId>/) are served at the mock's own URLs; without them the recorded URLs stay.
Recorded tasks answer any accepted key (the recording holds no keys). Every other request is
the normal simulation.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from contracts.spec.names import TASK_DETAILS_PATH
from contracts.traffic.exchanges import load_exchanges

REPLAY_PREFIX = "/replay/"
RESULTS_FOLDER = "results"
PLAIN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


def is_plain_name(name: str) -> bool:
    """Letters, digits, `_`, `.` and `-`, not starting with a dot: never `..`, never a path."""
    return PLAIN_NAME.fullmatch(name) is not None


@dataclass
class ReplayBook:
    folder: Path
    seen: dict[str, tuple[list[int], list[dict[str, Any]]]] = field(default_factory=dict)  # taskId -> times, records
    results: dict[str, list[Path]] = field(default_factory=dict)  # taskId -> saved result files
    first_ms: int | None = None

    @classmethod
    def load(cls, folder: Path) -> ReplayBook:
        """Raises `contracts.traffic.recorded.RecordingError` for a folder with no cassettes."""
        book = cls(folder)
        for exchange in load_exchanges(folder):
            parts = urlsplit(exchange.url)
            if exchange.method != "GET" or parts.path != TASK_DETAILS_PATH:
                continue
            try:
                answer = json.loads(exchange.response_body)
            except ValueError:
                continue
            record = answer.get("data") if isinstance(answer, dict) and answer.get("code") == 200 else None
            task_id = parse_qs(parts.query).get("taskId", [""])[-1]
            if not isinstance(record, dict) or record.get("taskId") != task_id or not is_plain_name(task_id):
                continue  # a task id that is not a plain name never becomes a path
            at = exchange.recorded_at_ms or 0
            times, records = book.seen.setdefault(task_id, ([], []))
            index = bisect.bisect_right(times, at)
            times.insert(index, at)
            records.insert(index, record)
            book.first_ms = at if book.first_ms is None else min(book.first_ms, at)
        # A recording is read once, at start: its result files too, not on every request.
        root = (folder / RESULTS_FOLDER).resolve()
        for task_id in book.seen:
            saved = root / task_id
            if saved.is_dir() and not saved.is_symlink():
                book.results[task_id] = sorted(
                    file for file in saved.iterdir()
                    if is_plain_name(file.name) and not file.is_symlink() and file.is_file()
                    and file.resolve().is_relative_to(root))  # never a link out of the recording
        return book

    def record(self, task_id: str, now_ms: int, origin: str) -> dict[str, Any] | None:
        """The task's record as recorded at `now_ms`; None for a task not in the recording."""
        found = self.seen.get(task_id)
        if found is None:
            return None
        times, records = found
        record = dict(records[max(bisect.bisect_right(times, now_ms) - 1, 0)])
        saved = self.results.get(task_id)
        if saved and record.get("resultJson"):
            urls = [f"{origin}{REPLAY_PREFIX}{task_id}/{file.name}" for file in saved]
            record["resultJson"] = json.dumps({"resultUrls": urls}, separators=(",", ":"))
        return record

    def result_file(self, task_id: str, name: str) -> Path | None:
        return next((file for file in self.results.get(task_id, []) if file.name == name), None)
