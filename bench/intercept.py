"""The forward proxy's cost (issue #23): createTask's latency straight to `serve --tls` and
through `--proxy-port` (CONNECT to api.kie.ai), one keep-alive client, sequential calls,
blocks alternating; p50 and p99 of each. Goal: < 1 ms added at p50 over direct TLS."""

from __future__ import annotations

import ssl
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from mock_server.testing import MockProcess

KEY = "bench-key"
BODY = {"model": "bytedance/v1-pro-fast-image-to-video", "input": {
    "prompt": "A cup of coffee", "image_url": "https://example.com/cup.png"}}
CALLS, BLOCKS = 200, 5


def timings(client: httpx.Client, url: str) -> list[float]:
    found = []
    for _ in range(CALLS):
        started = time.perf_counter()
        answer = client.post(url, json=BODY, headers={"Authorization": f"Bearer {KEY}"})
        found.append((time.perf_counter() - started) * 1000)
        assert answer.json()["code"] == 200, answer.text
    return found


def proxy_latency() -> list[str]:
    with tempfile.TemporaryDirectory() as scratch:
        ca = Path(scratch) / "ca"
        config = Path(scratch) / "bench.toml"
        config.write_text('create_rate_limit = "off"\ninitial_balance = 1e15\n')
        with MockProcess("--port", "0", "--tls", "--proxy-port", "0", "--ca-dir", str(ca), "--speed", "0",
                         "--api-key", KEY, "--config", str(config), "--log-level", "warning",
                         verify=str(ca / "ca.pem")) as mock:
            proxy = next(line.split()[3] for line in mock.output().splitlines() if line.startswith("Forward proxy"))
            trusted = ssl.create_default_context(cafile=ca / "ca.pem")
            with httpx.Client(verify=trusted) as direct, httpx.Client(verify=trusted, proxy=proxy) as proxied:
                routes = {"direct TLS": (direct, f"{mock.base_url}/api/v1/jobs/createTask"),
                          "through the proxy": (proxied, "https://api.kie.ai/api/v1/jobs/createTask")}
                found: dict[str, list[float]] = {name: [] for name in routes}
                for client, url in routes.values():
                    timings(client, url)  # warm: the connection, the caches
                for _ in range(BLOCKS):
                    for name, (client, url) in routes.items():
                        found[name] += timings(client, url)
    p50 = {name: statistics.median(values) for name, values in found.items()}
    p99 = {name: statistics.quantiles(values, n=100)[98] for name, values in found.items()}
    added = p50["through the proxy"] - p50["direct TLS"]
    return [f"createTask {name:<17}: p50 {p50[name]:5.2f} ms, p99 {p99[name]:5.2f} ms ({CALLS * BLOCKS} calls)"
            for name in found] + [f"the forward proxy adds {added:+.2f} ms at p50 (goal < 1 ms)"]


if __name__ == "__main__":
    print("\n".join(proxy_latency()))

