"""For tests of a running mock, over HTTP only: `MockControl`, a client for its control API
(what the pytest fixture exposes; works against any mock, in a thread, a process or a
container, given its base URL), and `MockProcess`, the mock's own CLI as a child process.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

FINAL_RESULTS = frozenset({"delivered", "failed", "refused", "dropped"})
MAX_ROUNDS = 20  # wait_for_callback: deliveries plus every retry, bounded


class MockControl:
    def __init__(self, base_url: str, api_key: str, *, admin_token: str | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        admin = {"X-Mock-Admin-Token": admin_token} if admin_token else {}
        self._control = httpx.Client(base_url=f"{self.base_url}/__mock__", headers=admin,
                                     transport=transport, timeout=30)
        # For the API itself, already authorized with the key.
        self.client = httpx.Client(base_url=self.base_url, transport=transport, timeout=30,
                                   headers={"Authorization": f"Bearer {api_key}"})

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._control.request(method, path, **kwargs)
        payload = response.json()
        if response.status_code != 200 or payload.get("code") != 200:
            raise RuntimeError(f"control {method} {path}: {payload.get('msg', response.text)}")
        return payload["data"]

    def reset(self) -> None:
        self._call("POST", "/reset")

    def now_ms(self) -> int:
        return int(self._call("GET", "/clock")["now"])

    def advance(self, seconds: float) -> int:
        """Move the virtual clock forward; returns the new time (Unix ms)."""
        return int(self._call("POST", "/clock/advance", json={"seconds": seconds})["now"])

    def queue(self, scenario: str, *, operation: str = "createTask", times: int = 1) -> None:
        """The next `times` calls of `operation` with this key answer `scenario`."""
        self._call("POST", f"/keys/{self.api_key}/queue",
                   json={"operation": operation, "scenario": scenario, "times": times})

    def set_balance(self, balance: float) -> None:
        self._call("PUT", f"/keys/{self.api_key}/balance", json={"balance": balance})

    def toggles(self, **changes: Any) -> dict[str, Any]:
        return dict(self._call("PUT", "/toggles", json=changes))

    def tasks(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/tasks", params={"apiKey": self.api_key}))

    def task(self, task_id: str) -> dict[str, Any]:
        return dict(self._call("GET", f"/tasks/{task_id}"))

    def force_state(self, task_id: str, state: str) -> dict[str, Any]:
        return dict(self._call("POST", f"/tasks/{task_id}/state", json={"state": state}))

    def set_outcome(self, task_id: str, scenario: str) -> dict[str, Any]:
        return dict(self._call("POST", f"/tasks/{task_id}/outcome", json={"scenario": scenario}))

    def requests(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/requests", params={"apiKey": self.api_key}))

    def callbacks(self, task_id: str | None = None) -> list[dict[str, Any]]:
        params = {"apiKey": self.api_key, **({"taskId": task_id} if task_id else {})}
        return list(self._call("GET", "/callbacks", params=params))

    def wait_for_callback(self, task_id: str) -> list[dict[str, Any]]:
        """Advance the virtual clock to the task's end (and through any retries) until its
        callback is delivered, failed for good, refused or dropped; returns its journal."""
        for _ in range(MAX_ROUNDS):
            timeline = self.task(task_id)["timeline"]
            end = timeline[-1]
            if end["state"] not in ("success", "fail"):
                raise AssertionError(f"task {task_id} never ends (stuck in {end['state']})")
            now = self.now_ms()
            if now < end["at"]:
                self.advance((end["at"] - now) / 1000)
            report = self._call("POST", "/callbacks/flush", params={"taskId": task_id})
            deliveries = report["deliveries"]
            if any(entry["result"] in FINAL_RESULTS for entry in deliveries):
                return list(deliveries)
            if not report["pending"]:
                raise AssertionError(f"task {task_id} has no callback to wait for (no callBackUrl?)")
            due = min(item["dueAt"] for item in report["pending"])
            self.advance(max(0.0, (due - self.now_ms()) / 1000))
        raise AssertionError(f"callback of {task_id} not settled after {MAX_ROUNDS} rounds")

    def close(self) -> None:
        self._control.close()
        self.client.close()


LISTENING = re.compile(r"listening on (https?://\S+)")
ENV_PREFIX = "APIKLEY_MOCK_"


class MockProcess:
    """`apikley-mock serve ARGS` (or `proxy`) in a child process: started, its base URL read
    from its banner, ready once `processes` distinct processes answer its health check,
    stopped (or killed) at the end. Its output goes to `log` (a temporary file by default).
    Settings come from the arguments only: `APIKLEY_MOCK_*` variables are not passed on."""

    def __init__(self, *args: str, command: str = "serve", log: Path | None = None,
                 env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
        self.args = [sys.executable, "-m", "mock_server", command, *args]
        self.command = command
        self._scratch = None if log else tempfile.TemporaryDirectory(prefix="apikley-mock-process-")
        self.log = log or Path(self._scratch.name) / "mock.log"  # type: ignore[union-attr]
        self._env = env if env is not None else {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
        self._cwd = cwd
        self.base_url = ""
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *, processes: int = 1, timeout: float = 60.0) -> MockProcess:
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(self.args, stdout=sink, stderr=subprocess.STDOUT, env=self._env,
                                            cwd=self._cwd)
        deadline = time.monotonic() + timeout
        while not self.base_url:
            if (found := LISTENING.search(self.output())) is not None:
                self.base_url = found.group(1)
            elif self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the mock did not start (exit {self.process.poll()}):\n{self.output()[-3000:]}")
            else:
                time.sleep(0.01)  # waiting for a process to start, not for virtual time
        if self.command == "serve":
            self._wait_healthy(processes, deadline)
        return self

    def _wait_healthy(self, processes: int, deadline: float) -> None:
        """Until `processes` distinct processes (workers start one by one) answer."""
        seen: set[str] = set()
        while len(seen) < processes:
            assert self.process is not None
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{len(seen)} of {processes} processes ready:\n{self.output()[-3000:]}")
            try:
                with httpx.Client(base_url=self.base_url, timeout=2) as client:
                    seen.add(client.get("/__mock__/health").json()["data"]["process"])
            except httpx.HTTPError:
                time.sleep(0.02)

    @property
    def pid(self) -> int:
        assert self.process is not None, "not started"
        return self.process.pid

    def output(self) -> str:
        """Everything the process printed so far."""
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")

    def stop(self, timeout: float = 20.0) -> int:
        """A graceful stop (SIGINT, as Ctrl-C); killed if it does not end in time. Its exit code."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait(timeout=timeout)  # the log stays readable (removed with this object)

    def kill9(self) -> None:
        os.kill(self.pid, signal.SIGKILL)
        assert self.process is not None
        self.process.wait(timeout=10)

    def __enter__(self) -> MockProcess:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()
