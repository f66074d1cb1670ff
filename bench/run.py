"""`make bench`: the mock against a bare Starlette app, in the same run, under the same load.

Prints req/s, p50/p99 latency and the ratio to the bare app for createTask and Get Task
Details; the mock's readiness time after process start; Get Task Details' cost as the store
grows from 10k to 1M tasks; and the pytest fixtures' cost per test (`bench/fixtures.py`).
Targets (issue #2): >= 70% of bare throughput at 16 connections, p99 <= 10 ms, ready < 1 s,
flat lookup cost.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.fixtures import fixture_costs
from bench.harness import CONNECTIONS, ROUNDS, SECONDS, Server, describe, free_port, measure, server
from bench.intercept import proxy_latency
from contracts.apis import bundled_apis
from contracts.run.api_task import example_body
from contracts.spec.names import CREATE_TASK_PATH, TASK_DETAILS_PATH

KEY = "bench-key"
BODY = json.dumps({"model": "bytedance/v1-pro-fast-image-to-video", "input": {
    "prompt": "A cup of coffee on a wooden table", "image_url": "https://example.com/cup.png",
    "resolution": "720p", "duration": "5"}, "callBackUrl": "http://127.0.0.1:9/hook"}).encode()
# A catalogue model's createTask, as real clients send it (issue #22).
CATALOGUE_BODY = json.dumps({"model": "nano-banana-pro", "input": {
    "prompt": "A cup of coffee on a wooden table", "resolution": "2K", "aspect_ratio": "16:9",
    "output_format": "png"}, "callBackUrl": "http://127.0.0.1:9/hook"}).encode()
# What a polling client sends (no callback): at the default speed its tasks end while the load
# runs, and an end with nothing to do (no callback, no refund) must cost nothing.
POLLED_BODY = json.dumps({k: v for k, v in json.loads(BODY).items() if k != "callBackUrl"}).encode()


def lookup_cost(sizes: tuple[int, ...] = (10_000, 1_000_000), lookups: int = 50_000) -> list[str]:
    """Get Task Details through the backend (no HTTP) as the memory store grows: polling the
    same 10k recent tasks (what clients do), and uniformly over every stored task (timeline
    cache misses: each miss plans the task)."""
    from contracts.family.outputs import OutputSpec
    from mock_server.services import Services
    from mock_server.services.admission import DEFAULT_OUTCOME
    from mock_server.settings import Settings
    from mock_server.sim.clock import VirtualClock
    from mock_server.store import MemoryTaskStore, Task

    lines = []
    for size in sizes:
        store = MemoryTaskStore()
        for number in range(size):
            store.create(Task(f"task_bytedance_{10**12 + number}", KEY, "m", "{}", None, 10**12 + number, "http://x",
                              0.0, DEFAULT_OUTCOME, OutputSpec("video", "mp4", 1280, 720, 5)), end_ms=0,
                         initial_balance=0.0)
        # The clock at the newest task: records are within their 14-day retention.
        clock = VirtualClock(start_ms=10**12 + size, speed=0)
        tasks = Services.build(Settings(api_keys=(KEY,)), clock=clock, store=store).tasks
        patterns = {"10k polled": range(size - 10_000, size), "uniform": range(size)}
        for name, population in patterns.items():
            ids = [f"task_bytedance_{10**12 + random.choice(population)}" for _ in range(lookups)]
            for task_id in ids[:20_000]:  # warm the timeline cache as polling would
                tasks.get_task_details(KEY, task_id)
            started = time.perf_counter()
            for task_id in ids:
                tasks.get_task_details(KEY, task_id)
            micros = (time.perf_counter() - started) / lookups * 1e6
            lines.append(f"get_task_details, {size:>9,} tasks stored, {name:<10}: {micros:6.2f} us")
        del store, tasks
    return lines


def catalogue_memory() -> list[str]:
    """What the bundled catalogue costs in memory (tracemalloc, in a fresh interpreter): its
    pages loaded, and every validator compiled (a createTask for each model)."""
    probe = (
        "import tracemalloc; tracemalloc.start()\n"
        "from contracts.family.catalogue import ModelCatalogue\n"
        "base = tracemalloc.get_traced_memory()[0]\n"
        "seed = ModelCatalogue.load(bundled=False); alone = tracemalloc.get_traced_memory()[0]\n"
        "catalogue = ModelCatalogue.load(); loaded = tracemalloc.get_traced_memory()[0]\n"
        "[catalogue._schema(model) for model in catalogue.pages]; compiled = tracemalloc.get_traced_memory()[0]\n"
        "print(len(catalogue.pages), alone - base, loaded - alone, compiled - loaded)\n")
    import subprocess

    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    models, alone, loaded, compiled = (int(value) for value in done.stdout.split())
    return [f"catalogue memory: {models} models loaded {loaded / 2**20:.1f} MiB (the seed alone {alone / 2**20:.2f} "
            f"MiB); every validator compiled +{compiled / 2**20:.1f} MiB (Python heap, tracemalloc)"]


def settling_cost(creates: int = 30_000, rounds: int = 5) -> list[str]:
    """createTask in-process while the tasks created before it end (the clock moves half a
    virtual second per create: one end per create, as at the default speed under load), against
    a frozen clock. An end with nothing to do (no callback, no refund) should cost nothing."""
    from mock_server.services import Services
    from mock_server.settings import Settings
    from mock_server.sim.clock import VirtualClock

    body = json.loads(POLLED_BODY)
    best: dict[str, float] = {}
    for name, step in (("frozen clock", 0.0), ("tasks ending", 0.5)):
        for _ in range(rounds):
            clock = VirtualClock(start_ms=10**12, speed=0)
            services = Services.build(Settings(api_keys=(KEY,), speed=0, create_rate_limit="off",
                                               initial_balance=1e15), clock=clock)
            started = time.perf_counter()
            for _ in range(creates):
                services.tasks.create_task(KEY, body, origin="http://bench")
                clock.advance(step)
            micros = (time.perf_counter() - started) / creates * 1e6
            best[name] = min(best.get(name, micros), micros)
            services.close()
    lines = [f"createTask in-process, {name:<12}: {micros:5.1f} us (best of {rounds})" for name, micros in best.items()]
    return [*lines, f"createTask in-process, tasks ending / frozen: {best['tasks ending'] / best['frozen clock']:.2f}x"]


def render_times() -> list[str]:
    """Result video render time (target: < 1 s for 720p/5 s), from an image and a test card."""
    from PIL import Image

    from contracts.family.sizes import short_side_frame
    from mock_server.media.video import render_mp4, test_card

    lines = []
    with tempfile.TemporaryDirectory() as scratch:
        photo = Image.effect_mandelbrot((1600, 900), (-2.0, -1.2, 1.0, 1.2), 60).convert("RGB")
        for resolution, seconds in (("720p", 5), ("1080p", 10)):
            width, height = short_side_frame(int(resolution.removesuffix("p")), 16 / 9)
            for name, source in (("image", photo), ("test card", test_card(width, height, "A cup", "task_x"))):
                started = time.perf_counter()
                render_mp4(source, width=width, height=height, seconds=seconds, target=Path(scratch) / "r.mp4")
                lines.append(f"render {resolution}/{seconds} s from {name:<9}: {time.perf_counter() - started:5.2f} s")
    return lines


def proxy_overhead(mock: Server, mock_port: int, path: str, auth: dict[str, str]) -> list[str]:
    """What `apikley-mock proxy` adds (target: < 2 ms p50): Get Task Details straight to the mock
    and through the proxy (which checks every answer), at 1 connection (latency, no queueing)
    and at 16. The proxy shares the mock's core."""
    port = free_port()
    command = [sys.executable, "-m", "mock_server", "proxy", "--upstream", f"http://127.0.0.1:{mock_port}",
               "--port", str(port), "--log-level", "warning"]
    lines = []
    with server(command, f"http://127.0.0.1:{port}/__mock__/proxy/findings") as proxy:
        for connections in (1, CONNECTIONS):
            results = measure({"direct": (mock, mock_port, "GET", path, auth, b"", connections),
                               "proxied": (proxy, port, "GET", path, auth, b"", connections)})
            direct, proxied = results["direct"], results["proxied"]
            lines.append(f"proxy, {connections:>2} connection(s): p50 {direct.p50_ms:5.2f} -> {proxied.p50_ms:5.2f} ms "
                         f"(+{proxied.p50_ms - direct.p50_ms:4.2f} ms), p99 {direct.p99_ms:5.2f} -> "
                         f"{proxied.p99_ms:5.2f} ms, {direct.rps:6.0f} -> {proxied.rps:6.0f} req/s")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/__mock__/proxy/findings?wait=1") as answer:
            found = json.load(answer)["data"]
    checked = sum(found["passed"].values())
    lines.append(f"proxy checks: {checked} passed, {len(found['failures'])} findings, "
                 f"{found['unchecked']} exchanges forwarded unchecked (check queue full)")
    return lines


def scale_section(body: bytes, config: Path) -> list[str]:
    """Shared by nothing else: the mock's workers (and WireMock) with both cores (bench.scale)."""
    from bench.scale import scale_out

    print("scale-out: servers and wrk unpinned, sharing both cores", flush=True)
    return scale_out(KEY, body, config)


def created_on(port: int, auth: dict[str, str], path: str = CREATE_TASK_PATH, body: bytes = BODY) -> str:
    """A task made on the mock at `port` (by createTask, or another API's create at `path`),
    for its status endpoint to read."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body,
                                     headers={**auth, "Content-Type": "application/json"})
    with urllib.request.urlopen(request) as answer:
        return str(json.load(answer)["data"]["taskId"])


# The family's other APIs measured against the market's calls on the same mock (issue #24):
# each API's create with its spec's own example (and a callback, as the market's body has).
OTHER_APIS = {
    api.name: (api.operations[api.create[0]].path,
               json.dumps({**example_body(api, None), "callBackUrl": "http://127.0.0.1:9/hook"}).encode(),
               api.status.path)
    for api in bundled_apis().values()
}


def other_api_loads(mock: Any, port: int, auth: dict[str, str]) -> dict[str, tuple[Any, ...]]:
    loads: dict[str, tuple[Any, ...]] = {}
    for create_path, body, status_path in OTHER_APIS.values():
        task_id = created_on(port, auth, create_path, body)
        loads[f"mock POST {create_path}"] = (mock, port, "POST", create_path,
                                            {**auth, "Content-Type": "application/json"}, body)
        loads[f"mock GET {status_path}"] = (mock, port, "GET", f"{status_path}?taskId={task_id}", auth, b"")
    return loads


def other_api_lines(results: dict[str, Any]) -> list[str]:
    """Each other API's create and status against the market's, measured in the same rounds."""
    lines = []
    for name, (create_path, _, status_path) in OTHER_APIS.items():
        lines.append(describe(f"mock POST {create_path}", results[f"mock POST {create_path}"],
                              results["mock POST createTask"]) + f"  ({name} vs createTask; target >= 90%)")
        lines.append(describe(f"mock GET {status_path}", results[f"mock GET {status_path}"],
                              results["mock GET recordInfo"]) + f"  ({name} vs recordInfo; target >= 90%)")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("throughput", "proxy", "workers", "fixtures", "intercept", "apis"),
                        help="run one section only")
    parser.add_argument("--verbose", action="store_true", help="print every round's req/s")
    parser.add_argument("--apis", nargs="+", choices=sorted(OTHER_APIS), metavar="NAME",
                        help="the other APIs to load beside the market's calls (default: all)")
    args = parser.parse_args()
    if args.apis:  # fewer targets a round: each is measured closer in time to the market's
        for name in set(OTHER_APIS) - set(args.apis):
            del OTHER_APIS[name]
    if args.only == "fixtures":
        print("\n".join(fixture_costs()))
        return 0
    if args.only == "intercept":
        print("\n".join(proxy_latency()))
        return 0
    print(f"load: {'wrk' if shutil.which('wrk') else 'bench.load (python)'}; "
          f"{CONNECTIONS} connections, {SECONDS:g} s per round, median of {ROUNDS} alternating rounds, loopback")
    bare_port, mock_port, seed_port, running_port = free_port(), free_port(), free_port(), free_port()
    auth = {"Authorization": f"Bearer {KEY}"}
    with tempfile.TemporaryDirectory() as scratch:
        config = Path(scratch) / "bench.toml"
        # The validation and storage path is measured, not the rate limiter's refusals.
        config.write_text('initial_balance = 1e15\ncreate_rate_limit = "off"\nquery_rate_limit = "off"\n'
                          'max_tasks = 100000000\nmax_task_bytes = 100000000000\n')  # the hot path, not retention
        # mirror: any error would be a non-2xx answer. A frozen clock: no task ends, so no
        # callbacks compete with the measured path.
        mock_command = [sys.executable, "-m", "mock_server", "serve", "--port", str(mock_port), "--speed", "0",
                        "--api-key", KEY, "--status-policy", "mirror", "--config", str(config),
                        "--log-level", "warning"]
        # The mock as before the catalogue (issue #22): the seed model alone (`--models` naming
        # it loads no bundled page). The default mock above loads all of them.
        seed_command = [*mock_command, "--models", "bytedance/v1-pro-fast-image-to-video"]
        seed_command[seed_command.index(str(mock_port))] = str(seed_port)
        # The default speed (15): tasks end during the load, as they do for a user of `make run`.
        running_command = [*mock_command]
        running_command[running_command.index(str(mock_port))] = str(running_port)
        running_command[running_command.index("--speed") + 1] = "15"
        with server([sys.executable, "-m", "bench.bare_app", "--port", str(bare_port)],
                    f"http://127.0.0.1:{bare_port}/json") as bare_server, \
                server(mock_command, f"http://127.0.0.1:{mock_port}/__mock__/health") as mock, \
                server(seed_command, f"http://127.0.0.1:{seed_port}/__mock__/health") as seed_alone, \
                server(running_command, f"http://127.0.0.1:{running_port}/__mock__/health") as running:
            details, running_details = (f"{TASK_DETAILS_PATH}?taskId={created_on(port, auth)}"
                                        for port in (mock_port, running_port))
            if args.only == "proxy":
                print("\n".join(proxy_overhead(mock, mock_port, details, auth)))
                return 0
            if args.only == "workers":
                print("\n".join(scale_section(BODY, config)))
                return 0
            if args.only == "apis":
                print("\n".join(other_api_lines(measure({
                    "mock POST createTask": (mock, mock_port, "POST", CREATE_TASK_PATH,
                                             {**auth, "Content-Type": "application/json"}, BODY),
                    "mock GET recordInfo": (mock, mock_port, "GET", details, auth, b""),
                    **other_api_loads(mock, mock_port, auth)}, verbose=args.verbose))))
                return 0
            results = measure({
                "bare Starlette GET /json": (bare_server, bare_port, "GET", "/json", {}, b""),
                "mock GET recordInfo": (mock, mock_port, "GET", details, auth, b""),
                "bare Starlette POST /json": (bare_server, bare_port, "POST", "/json",
                                              {"Content-Type": "application/json"}, BODY),
                "mock POST createTask": (mock, mock_port, "POST", CREATE_TASK_PATH,
                                         {**auth, "Content-Type": "application/json"}, BODY),
                "mock POST createTask, seed only": (seed_alone, seed_port, "POST", CREATE_TASK_PATH,
                                                    {**auth, "Content-Type": "application/json"}, BODY),
                "mock POST createTask, nano-banana-pro": (mock, mock_port, "POST", CREATE_TASK_PATH,
                                                          {**auth, "Content-Type": "application/json"},
                                                          CATALOGUE_BODY),
                "mock POST createTask, speed 15": (running, running_port, "POST", CREATE_TASK_PATH,
                                                   {**auth, "Content-Type": "application/json"}, POLLED_BODY),
                "mock GET recordInfo, speed 15": (running, running_port, "GET", running_details, auth, b""),
                **other_api_loads(mock, mock_port, auth),
            }, verbose=args.verbose)
            proxy_lines = [] if args.only == "throughput" else proxy_overhead(mock, mock_port, details, auth)
        scale_lines = [] if args.only == "throughput" else scale_section(BODY, config)
    bare = results.pop("bare Starlette GET /json")
    bare_post = results.pop("bare Starlette POST /json")
    print(describe("bare Starlette GET /json", bare, None))
    for name in ("mock POST createTask", "mock GET recordInfo", "mock POST createTask, speed 15",
                 "mock GET recordInfo, speed 15"):
        print(describe(name, results[name], bare))
    # The same HTTP work (a JSON body read and parsed) without the mock's: what is the mock's own.
    print(describe("bare Starlette POST /json", bare_post, None))
    print(describe("mock POST createTask", results["mock POST createTask"], bare_post) + "  (vs bare POST)")
    seed_only = results["mock POST createTask, seed only"]
    print(describe("mock POST createTask, catalogue loaded", results["mock POST createTask"], seed_only)
          + "  (vs the seed alone; target >= 95%)")
    print(describe("mock POST createTask, nano-banana-pro", results["mock POST createTask, nano-banana-pro"],
                   seed_only) + "  (a catalogue model vs the seed alone; target >= 90%)")
    for line in other_api_lines(results):
        print(line)
    print(f"mock ready after process start: {mock.ready_seconds:.2f} s with the catalogue "
          f"({seed_alone.ready_seconds:.2f} s with the seed alone; target < 1 s)")
    for line in catalogue_memory():
        print(line)
    for line in settling_cost():
        print(line)
    if args.only == "throughput":
        return 0
    for line in [*proxy_lines, *scale_lines]:
        print(line)
    for line in lookup_cost():
        print(line)
    for line in render_times():
        print(line)
    for line in [*proxy_latency(), *fixture_costs()]:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
