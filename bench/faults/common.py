"""What the fault figures share: a mock in its own process (so it can be killed), its log and
memory, a callback receiver, and small HTTP helpers."""

from __future__ import annotations

import base64
import io
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.run import free_port

MODEL = "bytedance/v1-pro-fast-image-to-video"
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class MockProcess:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")

    def tracebacks(self) -> int:
        return self.log.read_text(errors="replace").count("Traceback")

    def kill9(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    return repr(value)


@contextmanager
def mock_process(workdir: Path, *, port: int | None = None, **settings: Any) -> Iterator[MockProcess]:
    """`apikley-mock serve` with these settings (as a TOML file), until the block ends."""
    port = port or free_port()
    config = workdir / f"mock-{port}.toml"
    config.write_text("".join(f"{name} = {toml_value(value)}\n" for name, value in settings.items()))
    log = workdir / f"mock-{port}.log"
    with log.open("ab") as sink:
        process = subprocess.Popen([sys.executable, "-m", "mock_server", "serve", "--port", str(port),
                                    "--config", str(config), "--log-level", "warning"],
                                   stdout=sink, stderr=sink, cwd=ROOT)
    mock = MockProcess(process, port, log)
    try:
        wait_ready(mock)
        yield mock
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                mock.kill9()


def wait_ready(mock: MockProcess, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if mock.process.poll() is not None:
            raise RuntimeError(f"the mock exited: {mock.log.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(f"{mock.base_url}/__mock__/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.02)
    raise RuntimeError("the mock did not become ready")


def workdir() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="apikley-soak-")


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def create_body(rng: Any, callback_url: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"model": MODEL, "input": {
        "prompt": f"soak {rng.randrange(10**6)}", "image_url": "https://example.com/cup.png",
        "resolution": rng.choice(["720p", "1080p"]), "duration": rng.choice(["5", "10"])}}
    if callback_url:
        body["callBackUrl"] = callback_url
    return body


def tiny_png() -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 36), (240, 120, 20)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def control(mock: MockProcess, method: str, path: str, **kwargs: Any) -> Any:
    response = httpx.request(method, f"{mock.base_url}/__mock__{path}", timeout=60, **kwargs)
    response.raise_for_status()
    return response.json()["data"]


def settle_everything(mock: MockProcess, *, rounds: int = 12) -> list[dict[str, Any]]:
    """Move the clock far enough for every task and retry to fall due, and wait for in-flight
    deliveries; returns what is still pending (empty when everything settled)."""
    pending: list[dict[str, Any]] = []
    for _ in range(rounds):
        control(mock, "POST", "/clock/advance", json={"seconds": 3600})
        pending = control(mock, "POST", "/callbacks/flush")["pending"]
        if not pending:
            break
    return pending

