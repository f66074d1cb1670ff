"""A bounded HTTP/1.1 keep-alive load generator (used when wrk is not installed).

Each connection sends one prepared request, reads the answer (Content-Length framed) and
repeats until the duration is spent. Latencies are kept for percentiles.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Measured:
    """What a load run reports, whichever generator ran it."""

    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    requests: int
    server_cpu_us: float = 0.0  # the server's CPU time per request (steadier than req/s on a shared machine)


@dataclass
class LoadResult:
    requests: int
    non_2xx: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0

    def measured(self) -> Measured:
        return Measured(self.rps, self.percentile(0.5), self.percentile(0.99), self.non_2xx, self.requests)


def build_request(method: str, path: str, *, headers: dict[str, str], body: bytes = b"") -> bytes:
    """The raw HTTP/1.1 request a connection repeats."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _connection(port: int, request: bytes, stop_at: float, result: LoadResult) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            result.latencies_ms.append((time.perf_counter() - started) * 1000)
            result.requests += 1
            if not 200 <= status < 300:
                result.non_2xx += 1
    finally:
        writer.close()


async def _run(port: int, request: bytes, connections: int, seconds: float) -> LoadResult:
    result = LoadResult(0, 0, seconds, [])
    started = time.perf_counter()
    stop_at = started + seconds
    await asyncio.gather(*(_connection(port, request, stop_at, result) for _ in range(connections)))
    result.seconds = time.perf_counter() - started
    return result


def run_load(port: int, request: bytes, *, connections: int = 16, seconds: float = 5.0) -> Measured:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(_run(port, request, connections, seconds)).measured()
    return uvloop.run(_run(port, request, connections, seconds)).measured()
