"""Drive a server with wrk (C, so the load generator steals little CPU) and parse its report."""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

from bench.load import Measured

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS_MS[unit]


def lua_script(method: str, headers: dict[str, str], body: bytes) -> str:
    lines = [f'wrk.method = "{method}"']
    lines += [f'wrk.headers["{name}"] = "{value}"' for name, value in headers.items()]
    if body:
        lines.append("wrk.body = [==[" + body.decode() + "]==]")
    return "\n".join(lines) + "\n"


def run_wrk(url: str, *, method: str, headers: dict[str, str], body: bytes = b"",
            connections: int, seconds: float, prefix: list[str] | None = None) -> Measured:
    with tempfile.TemporaryDirectory() as scratch:
        script = Path(scratch) / "request.lua"
        script.write_text(lua_script(method, headers, body))
        done = subprocess.run(
            [*(prefix or []), "wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds:g}s", "--latency",
             "-s", str(script), url],
            capture_output=True, text=True, check=True, timeout=seconds + 30)
    report = done.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", report).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", report).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", report).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", report)
    requests = int(re.search(r"(\d+) requests in", report).group(1))  # type: ignore[union-attr]
    return Measured(rps, p50, p99, int(errors.group(1)) if errors else 0, requests)
