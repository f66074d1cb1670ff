"""`serve --replay DIR`: traffic recorded through `apikley-mock proxy --record DIR`, served back
the way VCR does.

- A createTask whose `model` and `input` equal a recorded request's (its `callBackUrl` and
  other top-level fields aside) answers the recorded task id: the same body twice takes the
  recorded tasks in the order they were recorded, and once all are taken the last again.
- Get Task Details of a recorded task answers its recorded records in the order they were
  recorded, one a poll, the last one from then on; result files the proxy saved
  (DIR/results/<taskId>/) are served at the mock's own URLs.
- Everything else is the normal simulation, unless `strict`: then an API request the
  recording has no answer for is refused in the envelope, naming itself, so that a test fails
  loudly instead of meeting the simulation (other operations answer their last recorded data).

Recorded tasks answer any accepted key (the recording holds no keys). The virtual clock
starts at the recording's first instant unless --epoch-ms says otherwise.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from contracts.spec.names import API_PREFIX, CREATE_TASK_PATH, TASK_DETAILS_PATH
from contracts.traffic.exchanges import Exchange, load_exchanges
from mock_server.errors import REPLAY_UNMATCHED, ApiError

REPLAY_PREFIX = "/replay/"
RESULTS_FOLDER = "results"
PLAIN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


def is_plain_name(name: str) -> bool:
    """Letters, digits, `_`, `.` and `-`, not starting with a dot: never `..`, never a path."""
    return PLAIN_NAME.fullmatch(name) is not None


@dataclass
class ReplayBook:
    folder: Path
    strict: bool = False
    seen: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # taskId -> records, recorded order
    created: dict[str, list[str]] = field(default_factory=dict)  # createTask body -> the task ids recorded for it
    answers: dict[tuple[str, str], Any] = field(default_factory=dict)  # (method, path) -> the last recorded data
    results: dict[str, list[Path]] = field(default_factory=dict)  # taskId -> saved result files
    first_ms: int | None = None
    _polls: Counter[str] = field(default_factory=Counter)
    _taken: Counter[str] = field(default_factory=Counter)

    @classmethod
    def load(cls, folder: Path, *, strict: bool = False) -> ReplayBook:
        """Raises `contracts.traffic.exchanges.RecordingError` for a folder with no cassettes."""
        book = cls(folder, strict)
        for exchange in load_exchanges(folder):  # in recorded order (the files are numbered)
            book._learn(exchange)
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

    def _learn(self, exchange: Exchange) -> None:
        parts = urlsplit(exchange.url)
        if not parts.path.startswith(API_PREFIX):
            return
        try:
            answer = json.loads(exchange.response_body)
        except ValueError:
            return
        data = answer.get("data") if isinstance(answer, dict) and answer.get("code") == 200 else None
        if exchange.recorded_at_ms is not None:
            self.first_ms = min(self.first_ms or exchange.recorded_at_ms, exchange.recorded_at_ms)
        if exchange.method == "POST" and parts.path == CREATE_TASK_PATH:
            task_id = data.get("taskId") if isinstance(data, dict) else None
            key = body_key(_json(exchange.request_body))
            if isinstance(task_id, str) and is_plain_name(task_id) and key is not None:
                self.created.setdefault(key, []).append(task_id)
        elif exchange.method == "GET" and parts.path == TASK_DETAILS_PATH:
            task_id = parse_qs(parts.query).get("taskId", [""])[-1]
            if isinstance(data, dict) and data.get("taskId") == task_id and is_plain_name(task_id):
                self.seen.setdefault(task_id, []).append(data)  # only plain names: an id never becomes a path
        elif data is not None:
            self.answers[(exchange.method, parts.path)] = data

    def task_for(self, body: Any) -> str | None:
        """The recorded task id a createTask of `body` answers, if the recording has one."""
        key = body_key(body)
        if key is None or not (recorded := self.created.get(key)):
            return None
        taken = self._taken[key]
        self._taken[key] += 1
        return recorded[min(taken, len(recorded) - 1)]

    def record(self, task_id: str, origin: str) -> dict[str, Any] | None:
        """The task's next recorded record (one a poll, the last from then on); None for a task
        not in the recording."""
        records = self.seen.get(task_id)
        if not records:
            return None
        record = dict(records[min(self._polls[task_id], len(records) - 1)])
        self._polls[task_id] += 1
        saved = self.results.get(task_id)
        if saved and record.get("resultJson"):
            urls = [f"{origin}{REPLAY_PREFIX}{task_id}/{file.name}" for file in saved]
            record["resultJson"] = json.dumps({"resultUrls": urls}, separators=(",", ":"))
        return record

    def answer(self, method: str, path: str) -> Any:
        """The last recorded answer of another operation (strict replays answer with it)."""
        if (method, path) not in self.answers:
            raise ApiError(500, REPLAY_UNMATCHED.format(request=f"{method} {path}"))
        return self.answers[(method, path)]

    def result_file(self, task_id: str, name: str) -> Path | None:
        return next((file for file in self.results.get(task_id, []) if file.name == name), None)


def body_key(body: Any) -> str | None:
    """What a createTask is matched by: its model and input, as canonical JSON."""
    if not isinstance(body, dict) or "model" not in body:
        return None
    return json.dumps({"model": body.get("model"), "input": body.get("input")}, sort_keys=True, separators=(",", ":"))


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None
