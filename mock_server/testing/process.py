"""The mock's own CLI as a child process: `MockProcess`. For tests that need the real command
(workers, `kill -9`, restarts) and for tools in other languages that want a mock to talk to."""

from __future__ import annotations

import os
import re
import signal
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

import httpx

LISTENING = re.compile(r"listening on (https?://\S+)")
ENV_PREFIX = "APIKLEY_MOCK_"


class MockProcess:
    """`apikley-mock serve ARGS` (or `proxy`) in a child process: started, its base URL read
    from its banner, ready once `processes` distinct processes answer its health check,
    stopped (or killed) at the end. Its output goes to `log` (a temporary file by default).
    Settings come from the arguments only: `APIKLEY_MOCK_*` variables are not passed on."""

    def __init__(self, *args: str, command: str = "serve", log: Path | None = None,
                 env: dict[str, str] | None = None, cwd: Path | None = None, verify: str | bool = True) -> None:
        """`verify`: what its health check trusts (a CA file, for `serve --tls`)."""
        self.args = [sys.executable, "-m", "mock_server", command, *args]
        self._verify = verify
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
                trusted = ssl.create_default_context(cafile=self._verify) if isinstance(self._verify, str) \
                    else self._verify  # made here: `serve --tls` creates the CA file as it starts
                with httpx.Client(base_url=self.base_url, timeout=2, verify=trusted) as client:
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
