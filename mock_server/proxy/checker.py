"""The proxy's checking and recording, in a process of its own at a lower priority: checking an
answer against the spec (openapi-core) takes milliseconds of CPU, and in the forwarding process
it would hold the GIL while requests wait. One worker process, so exchanges are checked (and
recorded) in the order they happened; its state lives there, asked for by message."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import sys
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from contracts.checks.report import Failure
from contracts.traffic.exchanges import Exchange
from contracts.traffic.live import TrafficChecks
from mock_server.proxy.cassette import Cassettes

MAX_PENDING = 10_000  # beyond this, exchanges are forwarded unchecked (counted, not hidden)


def announce(failure: Failure) -> None:
    """Findings as they happen, on stderr; the reproducer carries $APIKLEY_API_KEY, never the key."""
    print(f"apikley-mock proxy: finding {failure.check}: expected {failure.expected}; got {failure.got}\n"
          f"  reproduce: {failure.reproducer}", file=sys.stderr, flush=True)


class Checker:
    def __init__(self, *, hmac_key: str | None, record: Path | None, timeout_seconds: float) -> None:
        self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=_start,
                                         initargs=(hmac_key, record, timeout_seconds))
        self.submitted = self.done = self.unchecked = 0  # each written by the event loop only

    def _submit(self, function: Any, *args: Any) -> Future[Any]:
        self.submitted += 1
        future = self._pool.submit(function, *args)
        future.add_done_callback(self._finished)
        return future

    def _finished(self, future: Future[Any]) -> None:
        self.done += 1  # runs on the pool's thread: one writer, read for a figure only

    def exchange(self, exchange: Exchange) -> None:
        if self.submitted - self.done >= MAX_PENDING:
            self.unchecked += 1
            return
        self._submit(_exchange, exchange)

    def callback(self, headers: dict[str, str], body: bytes, reproducer: str) -> None:
        self._submit(_callback, headers, body, reproducer)

    def fault(self, kind: str, expected: str, got: str, reproducer: str) -> None:
        self._submit(_fault, kind, expected, got, reproducer)

    def findings(self) -> Future[dict[str, Any]]:
        """The report so far, once every exchange submitted before this call is checked."""
        return self._submit(_findings)

    def close(self, report: Path | None, junit: Path | None) -> None:
        """Every exchange checked and recorded, the report files written, the process gone."""
        self._submit(_close, report, junit, self.unchecked).result()
        self._pool.shutdown(wait=True)


# -- in the checking process -----------------------------------------------------------------

_checks: TrafficChecks
_cassettes: Cassettes | None
_downloads: httpx.Client


def _start(hmac_key: str | None, record: Path | None, timeout_seconds: float) -> None:
    global _checks, _cassettes, _downloads
    os.nice(5)  # forwarding first
    _checks = TrafficChecks(hmac_key=hmac_key, on_finding=announce)
    _downloads = httpx.Client(timeout=timeout_seconds, follow_redirects=True)
    _cassettes = Cassettes(record, fetch=lambda url: _downloads.get(url).raise_for_status().content) \
        if record else None


def _exchange(exchange: Exchange) -> None:
    if exchange.response_headers.get("content-encoding"):  # checked (and recorded) as the application reads it
        answer = httpx.Response(exchange.status, headers=exchange.response_headers,
                                stream=httpx.ByteStream(exchange.response_body))
        headers = {name: value for name, value in exchange.response_headers.items()
                   if name not in ("content-encoding", "content-length")}
        exchange = dataclasses.replace(exchange, response_headers=headers, response_body=answer.read())
    _checks.exchange(exchange)
    if _cassettes is not None:
        _cassettes.write(exchange)


def _callback(headers: dict[str, str], body: bytes, reproducer: str) -> None:
    _checks.callback(headers, body, reproducer)


def _fault(kind: str, expected: str, got: str, reproducer: str) -> None:
    _checks.fault(kind, expected, got, reproducer)


def _findings() -> dict[str, Any]:
    report = _checks.report
    return {"ok": report.ok, "passed": dict(report.passed), "failures": [vars(f) for f in report.failures]}


def _close(report: Path | None, junit: Path | None, unchecked: int) -> None:
    if report:
        written = {**json.loads(_checks.report.to_json()), "uncheckedExchanges": unchecked}
        report.write_text(json.dumps(written, indent=2) + "\n", encoding="utf-8")
    if junit:
        _checks.report.write_junit(junit)
    _downloads.close()
