"""What every benchmark section shares: servers started as processes (pinned to a core, or
not), their readiness and CPU time, one load generator's run (wrk, else bench.load), the
median of alternating rounds, and a line describing a result against its baseline."""

from __future__ import annotations

import dataclasses
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.load import Measured, build_request, run_load
from bench.wrk import run_wrk

CONNECTIONS = 16
SECONDS = 4.0
ROUNDS = 5
SERVER_CPU, LOAD_CPU = 0, 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pinned(cpu: int) -> list[str]:
    """Servers on one core, the load generator on the other: on a 2-core machine this keeps
    the two from trading places, which otherwise swings a ratio by 15 points between runs."""
    if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        return ["taskset", "-c", str(cpu)]
    return []


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


@dataclass(frozen=True)
class Server:
    pid: int
    ready_seconds: float

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process and its children (workers) have used so far."""
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            if stat.parent.name == str(self.pid) or fields[1] == str(self.pid):
                total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")


@contextmanager
def server(command: list[str], health_url: str, *, pin: bool = True, timeout: float = 20.0) -> Iterator[Server]:
    started = time.perf_counter()
    process = subprocess.Popen([*(pinned(SERVER_CPU) if pin else []), *command], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL if not pin else None)
    try:
        wait_ready(health_url, process, timeout)
        yield Server(process.pid, time.perf_counter() - started)
    finally:
        process.terminate()
        process.wait(timeout=10)


def load(target: Server, port: int, method: str, path: str, headers: dict[str, str], body: bytes = b"",
         connections: int = CONNECTIONS, *, pin: bool = True) -> Measured:
    """The same load whatever the generator: warm up for 1 s, then measure (both must succeed)."""
    for seconds in (1.0, SECONDS):
        cpu = target.cpu_seconds()
        if shutil.which("wrk"):
            result = run_wrk(f"http://127.0.0.1:{port}{path}", method=method, headers=headers,
                             prefix=pinned(LOAD_CPU) if pin else [], body=body, connections=connections,
                             seconds=seconds)
        else:
            result = run_load(port, build_request(method, path, headers=headers, body=body),
                              connections=connections, seconds=seconds)
    cpu_us = (target.cpu_seconds() - cpu) / max(1, result.requests) * 1e6
    return dataclasses.replace(result, server_cpu_us=cpu_us)


def describe(name: str, result: Measured, baseline: Measured | None) -> str:
    ratio = f"{result.rps / baseline.rps:6.1%} of bare" if baseline else "    baseline"
    cpu = f"{baseline.server_cpu_us / result.server_cpu_us:6.1%}" if baseline else "  base"
    return (f"{name:<26} {result.rps:7.0f} req/s {ratio}  p50 {result.p50_ms:5.2f} ms  "
            f"p99 {result.p99_ms:5.2f} ms  server CPU {result.server_cpu_us:5.1f} us/req {cpu}")


def median(results: list[Measured]) -> Measured:
    """The median round by req/s, with the median CPU per request of all rounds."""
    middle = len(results) // 2
    cpu = sorted(result.server_cpu_us for result in results)[middle]
    return dataclasses.replace(sorted(results, key=lambda result: result.rps)[middle], server_cpu_us=cpu)


Target = tuple[Server, int, str, str, dict[str, str], bytes] | tuple[Server, int, str, str, dict[str, str], bytes, int]


def measure(targets: dict[str, Target], *, verbose: bool = False, pin: bool = True) -> dict[str, Measured]:
    """Each target loaded ROUNDS times, the targets alternating so that a slow spell of this
    shared machine hits all of them alike; the median round of each. Every answer must be a
    success: a benchmark that counts refusals measures the error path."""
    rounds: dict[str, list[Measured]] = {name: [] for name in targets}
    for _ in range(ROUNDS):
        for name, target in targets.items():
            rounds[name].append(load(*target, pin=pin))
    failed = {name: sum(r.non_2xx for r in results) for name, results in rounds.items()
              if any(r.non_2xx for r in results)}
    if failed:
        raise SystemExit(f"bench: non-2xx answers {failed}: not measuring the success path")
    if verbose:
        for name, results in rounds.items():
            print(f"  rounds of {name}: {[round(r.rps) for r in results]} req/s")
    return {name: median(results) for name, results in rounds.items()}


