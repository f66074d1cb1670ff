"""`make bench`, scale-out section: `serve --workers 2` (SQLite WAL, shared state) against one
process (memory), and WireMock 3 on the same calls when Java and its standalone jar are here.

Nothing is pinned: the servers and wrk (2 threads, 16 connections) share both cores, as they
would on a developer's 2-core machine. WireMock gets what the issue describes: JIT warmed by
the warm-up second of every round, request journal off, a createTask stub matched by the
spec's JSON schema answering a templated id, and a fixed Get Task Details record.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

from bench.harness import Target, free_port, measure, server
from bench.load import Measured
from contracts.spec.document import operation
from contracts.spec.names import CREATE_TASK, CREATE_TASK_PATH, TASK_DETAILS_PATH

ROOT = Path(__file__).resolve().parents[1]
WIREMOCK_CACHE = ROOT / ".cache" / "wiremock"


def wiremock_jar() -> Path | None:
    """$WIREMOCK_JAR, or the jar `make wiremock` unpacked from the npm `wiremock` package."""
    if os.environ.get("WIREMOCK_JAR"):
        return Path(os.environ["WIREMOCK_JAR"])
    found = sorted(WIREMOCK_CACHE.glob("**/wiremock-standalone-*.jar"))
    return found[-1] if found else None


def wiremock_stubs(root: Path, record: dict[str, object]) -> None:
    mappings = root / "mappings"
    mappings.mkdir(parents=True)
    schema = json.dumps(operation(CREATE_TASK).body_schema())
    (mappings / "create.json").write_text(json.dumps({
        "request": {"method": "POST", "url": CREATE_TASK_PATH,
                    "bodyPatterns": [{"matchesJsonSchema": schema, "schemaVersion": "V7"}]},
        "response": {"status": 200, "headers": {"Content-Type": "application/json"},
                     "body": '{"code": 200, "msg": "success", "data": {"taskId": '
                             '"task_bytedance_{{now format=\'epoch\'}}"}}',
                     "transformers": ["response-template"]}}))
    (mappings / "details.json").write_text(json.dumps({
        "request": {"method": "GET", "urlPath": TASK_DETAILS_PATH},
        "response": {"status": 200, "jsonBody": {"code": 200, "msg": "success", "data": record}}}))


def scale_out(key: str, body: bytes, config: Path) -> list[str]:
    auth = {"Authorization": f"Bearer {key}"}
    post = {**auth, "Content-Type": "application/json"}
    one, two = free_port(), free_port()
    command = [sys.executable, "-m", "mock_server", "serve", "--speed", "0", "--api-key", key,
               "--status-policy", "mirror", "--config", str(config), "--log-level", "warning"]
    lines = []
    with tempfile.TemporaryDirectory() as scratch, \
            server([*command, "--port", str(one)], f"http://127.0.0.1:{one}/__mock__/health", pin=False) as single, \
            server([*command, "--port", str(two), "--workers", "2"], f"http://127.0.0.1:{two}/__mock__/health",
                   pin=False) as workers:
        paths = {port: created(port, body, post) for port in (one, two)}
        record = recorded(one, paths[one], auth)
        targets: dict[str, Target] = {
            "1 process createTask": (single, one, "POST", CREATE_TASK_PATH, post, body),
            "2 workers createTask": (workers, two, "POST", CREATE_TASK_PATH, post, body),
            "1 process recordInfo": (single, one, "GET", paths[one], auth, b""),
            "2 workers recordInfo": (workers, two, "GET", paths[two], auth, b""),
        }
        jar = wiremock_jar()
        java = shutil.which("java")
        if jar is None or java is None:
            lines.append(f"WireMock: not run ({'no java' if java is None else 'no jar'}; "
                         "`make wiremock` fetches the jar from the npm `wiremock` package, or set WIREMOCK_JAR)")
            results = measure(targets, pin=False)
        else:
            wiremock_stubs(Path(scratch), record)
            port = free_port()
            with server([java, "-jar", str(jar), "--port", str(port), "--root-dir", scratch, "--no-request-journal",
                         "--disable-banner"], f"http://127.0.0.1:{port}/__admin/health", pin=False,
                        timeout=60) as wiremock:
                targets["WireMock createTask"] = (wiremock, port, "POST", CREATE_TASK_PATH, post, body)
                targets["WireMock recordInfo"] = (wiremock, port, "GET", paths[one], auth, b"")
                results = measure(targets, pin=False)
    for operation_name in ("createTask", "recordInfo"):
        base, scaled = results[f"1 process {operation_name}"], results[f"2 workers {operation_name}"]
        lines.append(f"{operation_name:<10} 1 process {row(base)} | 2 workers {row(scaled)} "
                     f"= {scaled.rps / base.rps:4.2f}x")
        if (other := results.get(f"WireMock {operation_name}")) is not None:
            lines.append(f"{'':<10} WireMock  {row(other)} | 2 workers = {scaled.rps / other.rps:4.2f}x of WireMock")
    return lines


def row(result: Measured) -> str:
    return f"{result.rps:6.0f} req/s p99 {result.p99_ms:5.2f} ms"


def created(port: int, body: bytes, headers: dict[str, str]) -> str:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{CREATE_TASK_PATH}", data=body, headers=headers)
    with urllib.request.urlopen(request) as answer:
        return f"{TASK_DETAILS_PATH}?taskId={json.load(answer)['data']['taskId']}"


def recorded(port: int, path: str, headers: dict[str, str]) -> dict[str, object]:
    with urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)) as answer:
        record: dict[str, object] = json.load(answer)["data"]
        return record


if __name__ == "__main__":  # python -m bench.scale: this section alone
    subprocess.run([sys.executable, "-m", "bench.run", "--only", "workers"], check=True)
