"""`--record DIR`: every exchange written as its own VCR cassette (one interaction, JSON), named
by sequence, so a killed proxy loses nothing written and `apikley-contract validate DIR` and
`apikley-mock serve --replay DIR` read the directory in order. Secrets are redacted first:
the API key (wherever it appears) and any credential header."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import re
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from contracts.checks.report import REDACTED_KEY
from contracts.spec.names import TASK_DETAILS_PATH
from contracts.traffic.exchanges import Exchange
from contracts.traffic.live import bearer_key

RESULTS_FOLDER = "results"  # read back by mock_server.services.replay
SECRET_HEADERS = frozenset({"cookie", "set-cookie", "proxy-authorization", "x-mock-admin-token"})


def redact(exchange: Exchange) -> Exchange:
    key = bearer_key(exchange.request_headers)

    def clean(text: str) -> str:
        return text.replace(key, REDACTED_KEY) if key else text

    def headers(given: dict[str, str]) -> dict[str, str]:
        return {name: "[redacted]" if name.lower() in SECRET_HEADERS else clean(value) for name, value in given.items()}

    def body(raw: bytes) -> bytes:
        return raw.replace(key.encode(), REDACTED_KEY.encode()) if key else raw

    return dataclasses.replace(
        exchange, url=clean(exchange.url), request_headers=headers(exchange.request_headers),
        request_body=body(exchange.request_body), response_headers=headers(exchange.response_headers),
        response_body=body(exchange.response_body))


def _body(raw: bytes) -> dict[str, str]:
    try:
        return {"encoding": "utf-8", "string": raw.decode("utf-8")}
    except UnicodeDecodeError:
        return {"base64_string": base64.b64encode(raw).decode()}


class Cassettes:
    def __init__(self, folder: Path, fetch: Callable[[str], bytes] | None = None) -> None:
        self.folder = folder
        self._fetch = fetch  # result files: downloaded once per task, for `serve --replay`
        self._saved: set[str] = set()
        folder.mkdir(parents=True, exist_ok=True)
        numbers = [int(match.group(1)) for file in folder.iterdir() if (match := re.match(r"(\d+)-", file.name))]
        self._next = max(numbers, default=0) + 1

    def write(self, exchange: Exchange) -> Path:
        """Called from one thread at a time (the proxy's checker): numbers stay in order."""
        exchange = redact(exchange)
        at = datetime.fromtimestamp((exchange.recorded_at_ms or 0) / 1000, UTC)
        interaction = {
            "request": {"method": exchange.method, "uri": exchange.url, "body": _body(exchange.request_body),
                        "headers": {name: [value] for name, value in exchange.request_headers.items()}},
            "response": {"status": {"code": exchange.status, "message": ""}, "body": _body(exchange.response_body),
                         "headers": {name: [value] for name, value in exchange.response_headers.items()}},
            "recorded_at": at.isoformat(timespec="milliseconds"),
        }
        name = urlsplit(exchange.url).path.rstrip("/").rsplit("/", 1)[-1] or "root"
        target = self.folder / f"{self._next:06d}-{re.sub(r'[^A-Za-z0-9_.-]', '_', name)[:40]}.json"
        self._next += 1
        document = {"http_interactions": [interaction], "recorded_with": "apikley-mock proxy"}
        _write_atomically(target, json.dumps(document, indent=1).encode())
        self._save_results(exchange)
        return target

    def _save_results(self, exchange: Exchange) -> None:
        """A task seen succeeding for the first time: its result files beside the cassettes
        (a download, not a billable call). One that fails to download is left out."""
        if self._fetch is None or urlsplit(exchange.url).path != TASK_DETAILS_PATH:
            return
        try:
            record = json.loads(exchange.response_body)["data"]
            task_id, urls = record["taskId"], json.loads(record["resultJson"])["resultUrls"]
        except (ValueError, KeyError, TypeError):
            return
        if task_id in self._saved or record.get("state") != "success" or not re.fullmatch(r"[\w.-]+", task_id):
            return
        self._saved.add(task_id)
        folder = self.folder / RESULTS_FOLDER / task_id
        folder.mkdir(parents=True, exist_ok=True)
        for index, url in enumerate(urls):
            suffix = re.sub(r"[^a-z0-9.]", "", Path(urlsplit(url).path).suffix.lower())[:8]
            try:
                content = self._fetch(url)
            except Exception:  # a result that cannot be fetched is simply not kept
                continue
            _write_atomically(folder / f"{index}{suffix}", content)


def _write_atomically(target: Path, content: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".tmp")
    with os.fdopen(handle, "wb") as file:
        file.write(content)
    os.replace(temporary, target)  # whole or absent
