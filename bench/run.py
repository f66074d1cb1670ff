"""`make bench`: the mock against a bare Starlette app, in the same run, under the same load.

Prints req/s, p50/p99 latency and the ratio to the bare app for createTask and Get Task
Details; the mock's readiness time after process start; and Get Task Details' cost as the
store grows from 10k to 1M tasks. Targets (issue #2): >= 70% of bare throughput at 16
connections, p99 <= 10 ms, ready < 1 s, flat lookup cost.
"""

from __future__ import annotations

import json
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.load import Measured, build_request, run_load
from bench.wrk import run_wrk

KEY = "bench-key"
CONNECTIONS = 16
SECONDS = 5.0
BODY = json.dumps({"model": "bytedance/v1-pro-fast-image-to-video", "input": {
    "prompt": "A cup of coffee on a wooden table", "image_url": "https://example.com/cup.png",
    "resolution": "720p", "duration": "5"}, "callBackUrl": "http://127.0.0.1:9/hook"}).encode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 20.0) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return time.perf_counter() - started
        except OSError:
            time.sleep(0.01)
    raise RuntimeError(f"{url} not ready after {timeout} s")


@contextmanager
def server(command: list[str], health_url: str) -> Iterator[float]:
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        wait_ready(health_url, process)
        yield time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(timeout=10)


def load(port: int, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> Measured:
    """The same load whatever the generator: warm up for 1 s, then measure."""
    for seconds in (1.0, SECONDS):
        if shutil.which("wrk"):
            result = run_wrk(f"http://127.0.0.1:{port}{path}", method=method, headers=headers,
                             body=body, connections=CONNECTIONS, seconds=seconds)
        else:
            result = run_load(port, build_request(method, path, headers=headers, body=body),
                              connections=CONNECTIONS, seconds=seconds)
    return result


def describe(name: str, result: Measured, baseline: Measured | None) -> str:
    ratio = f"{result.rps / baseline.rps:6.1%} of bare" if baseline else "  baseline"
    return (f"{name:<28} {result.rps:8.0f} req/s  p50 {result.p50_ms:5.2f} ms  "
            f"p99 {result.p99_ms:5.2f} ms  {ratio}  non-2xx {result.non_2xx}")


def lookup_cost(sizes: tuple[int, ...] = (10_000, 1_000_000), lookups: int = 50_000) -> list[str]:
    """Get Task Details through the backend (no HTTP) as the memory store grows: polling the
    same 10k recent tasks (what clients do), and uniformly over every stored task (timeline
    cache misses: each miss plans the task)."""
    from mock_server.backend import DEFAULT_OUTCOME, Backend
    from mock_server.clock import VirtualClock
    from mock_server.settings import Settings
    from mock_server.store import MemoryTaskStore, Task

    lines = []
    for size in sizes:
        store = MemoryTaskStore()
        for number in range(size):
            store.add(Task(f"task_bytedance_{10**12 + number}", KEY, "m", "{}", "720p", "5", None,
                           10**12 + number, "http://x", 20.0, DEFAULT_OUTCOME))
        # The clock at the newest task: records are within their 14-day retention.
        clock = VirtualClock(start_ms=10**12 + size, speed=0)
        backend = Backend(Settings(api_keys=(KEY,)), clock=clock, store=store)
        patterns = {"10k polled": range(size - 10_000, size), "uniform": range(size)}
        for name, population in patterns.items():
            ids = [f"task_bytedance_{10**12 + random.choice(population)}" for _ in range(lookups)]
            for task_id in ids[:20_000]:  # warm the timeline cache as polling would
                backend.get_task_details(KEY, task_id)
            started = time.perf_counter()
            for task_id in ids:
                backend.get_task_details(KEY, task_id)
            micros = (time.perf_counter() - started) / lookups * 1e6
            lines.append(f"get_task_details, {size:>9,} tasks stored, {name:<10}: {micros:6.2f} us")
        del store, backend
    return lines


def render_times() -> list[str]:
    """Result video render time (target: < 1 s for 720p/5 s), from an image and a test card."""
    from PIL import Image

    from mock_server.media import frame_size, render_mp4, test_card

    lines = []
    with tempfile.TemporaryDirectory() as scratch:
        photo = Image.effect_mandelbrot((1600, 900), (-2.0, -1.2, 1.0, 1.2), 60).convert("RGB")
        for resolution, seconds in (("720p", 5), ("1080p", 10)):
            width, height = frame_size(resolution)
            for name, source in (("image", photo), ("test card", test_card(width, height, "A cup", "task_x"))):
                started = time.perf_counter()
                render_mp4(source, width=width, height=height, seconds=seconds, target=Path(scratch) / "r.mp4")
                lines.append(f"render {resolution}/{seconds} s from {name:<9}: {time.perf_counter() - started:5.2f} s")
    return lines


def main() -> int:
    print(f"load: {'wrk' if shutil.which('wrk') else 'bench.load (python)'}; "
          f"{CONNECTIONS} connections, {SECONDS:g} s per scenario, loopback")
    bare_port, mock_port = free_port(), free_port()
    with tempfile.TemporaryDirectory() as scratch:
        config = Path(scratch) / "bench.toml"
        # The validation and storage path is measured, not the rate limiter's refusals.
        config.write_text('initial_balance = 1e15\ncreate_rate_limit = "off"\nquery_rate_limit = "off"\n')
        with server([sys.executable, "-m", "bench.bare_app", "--port", str(bare_port)],
                    f"http://127.0.0.1:{bare_port}/json"):
            bare = load(bare_port, "GET", "/json", {})
        # A frozen clock: no task ends, so no callbacks compete with the measured path.
        mock_command = [sys.executable, "-m", "mock_server", "serve", "--port", str(mock_port), "--speed", "0",
                        "--api-key", KEY, "--status-policy", "mirror", "--config", str(config),
                        "--log-level", "warning"]
        with server(mock_command, f"http://127.0.0.1:{mock_port}/__mock__/health") as ready:
            auth = {"Authorization": f"Bearer {KEY}"}
            create = load(mock_port, "POST", "/api/v1/jobs/createTask",
                          {**auth, "Content-Type": "application/json"}, BODY)
            request = urllib.request.Request(
                f"http://127.0.0.1:{mock_port}/api/v1/jobs/createTask", data=BODY,
                headers={**auth, "Content-Type": "application/json"})
            with urllib.request.urlopen(request) as answer:
                task_id = json.load(answer)["data"]["taskId"]
            details = load(mock_port, "GET", f"/api/v1/jobs/recordInfo?taskId={task_id}", auth)
    print(describe("bare Starlette GET /json", bare, None))
    print(describe("mock POST createTask", create, bare))
    print(describe("mock GET recordInfo", details, bare))
    print(f"mock ready after process start: {ready:.2f} s")
    for line in lookup_cost():
        print(line)
    for line in render_times():
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
