"""Figure 1: fuzzing at scale. Schemathesis (every operation and phase, all built-in checks
plus this API's, `SCHEMATHESIS_HOOKS=contracts.schemathesis_hooks`) in `mirror` and `upstream`
policy, and a raw fuzzer (Hypothesis) for what schemathesis keeps to the spec."""

from __future__ import annotations

import os
import re
import string
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.faults.common import ROOT, count_tracebacks, mock_process, workdir
from contracts.spec.document import operations
from mock_server.testing import MockProcess

KEY = "soak-fuzz-key"
# Under upstream's policy errors are HTTP 200 by design: these three status-driven checks
# cannot pass there (README, "Schemathesis, used directly"). Mirror runs every check.
UPSTREAM_EXCLUDED = "ignored_auth,missing_required_header,negative_data_rejection"
SETTINGS: dict[str, Any] = dict(api_keys=[KEY], speed=1000.0, create_rate_limit="off", query_rate_limit="off",
                initial_balance=1e12)


def schemathesis(mock: MockProcess, policy: str, seed: int, max_examples: int, scratch: Path) -> tuple[int, int, str]:
    """(cases generated, failures, summary line) of one full schemathesis run."""
    command = [sys.executable, "-m", "schemathesis.cli", "--no-color", "--config-file",
               str(ROOT / "contracts" / "schemathesis.toml"), "run", str(ROOT / "openapi" / "apikley.yaml"),
               "--url", mock.base_url, "-H", f"Authorization: Bearer {KEY}",  # every check (the default)
               "--phases", "examples,coverage,fuzzing,stateful", "--max-examples", str(max_examples),
               "--seed", str(seed)]
    if policy == "upstream":
        command += ["--exclude-checks", UPSTREAM_EXCLUDED]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "contracts.schemathesis_hooks"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=3600, cwd=scratch, env=env)
    generated = re.search(r"(\d+) generated", done.stdout)
    failures = re.search(r"(\d+) (?:unique )?failures?", done.stdout.split("SUMMARY")[-1])
    count = int(failures.group(1)) if failures and done.returncode != 0 else 0
    if done.returncode != 0 and count == 0:
        count = 1  # failed without a count: an error of the run itself
        print(done.stdout[-3000:], done.stderr[-2000:], flush=True)
    elif count:
        print(done.stdout[-6000:], flush=True)
    return int(generated.group(1)) if generated else 0, count, done.stdout.strip().splitlines()[-1]


PATHS = [op.path for op in operations()] + ["/results/x.mp4", "/files/a/b.png", "/__mock__/tasks", "/", "/api"]
SEGMENT = st.text(alphabet=string.printable + "é%\u0301\u202e", max_size=40)
METHODS = st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "BREW"])
HEADER_NAME = st.text(alphabet=string.ascii_letters + "-", min_size=1, max_size=20)
HEADER_VALUE = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
                       max_size=200)
CONTENT_TYPES = st.sampled_from(["application/json", "multipart/form-data; boundary=x", "text/plain",
                                 "application/json; charset=latin-1", "multipart/form-data", ""])


@st.composite
def raw_requests(draw: st.DrawFn) -> tuple[str, str, dict[str, str], bytes]:
    path = draw(st.sampled_from(PATHS))
    if draw(st.booleans()):
        path = path.rstrip("/") + "/" + draw(SEGMENT).replace("?", "%3F").replace("#", "%23")
    query = draw(st.dictionaries(SEGMENT, SEGMENT, max_size=4))
    headers = draw(st.dictionaries(HEADER_NAME, HEADER_VALUE, max_size=4))
    headers["Authorization"] = draw(st.sampled_from([f"Bearer {KEY}", "Bearer nope", "Basic x", ""]))
    headers["Content-Type"] = draw(CONTENT_TYPES)
    body = draw(st.one_of(st.binary(max_size=600), st.text(max_size=300).map(str.encode),
                          st.just(b'{"model": "bytedance/v1-pro-fast-image-to-video", "input": {}}'),
                          st.just(b"--x\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nzz\r\n--x--")))
    return draw(METHODS), path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""), headers, body


def raw_fuzz(mock: MockProcess, seed: int, cases: int) -> tuple[int, list[str]]:
    """Random requests: every answer below 500, JSON answers in the envelope."""
    problems: list[str] = []
    sent = 0
    client = httpx.Client(base_url=mock.base_url, timeout=30)

    @settings(max_examples=cases, database=None, deadline=None, derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(raw_requests())
    def one(request: tuple[str, str, dict[str, str], bytes]) -> None:
        nonlocal sent
        method, path, headers, body = request
        try:
            response = client.request(method, path, headers=headers, content=body)
        except (httpx.InvalidURL, httpx.LocalProtocolError, UnicodeEncodeError):
            return  # not sendable by the client: nothing reached the server
        sent += 1
        if response.status_code >= 500 or (
                response.headers.get("content-type", "").startswith("application/json") and method != "HEAD"
                and "code" not in response.json()):
            problems.append(f"{method} {path!r} -> {response.status_code} {response.text[:200]}")

    import hypothesis

    hypothesis.seed(seed)(one)()
    client.close()
    return sent, problems


def run(seed: int, *, min_cases: int) -> tuple[bool, list[str]]:
    lines: list[str] = []
    total = failures = tracebacks = 0
    with workdir() as directory:
        scratch = Path(directory)
        for policy in ("mirror", "upstream"):
            with mock_process(scratch, status_policy=policy, **SETTINGS) as mock:
                print(f"== fuzz: schemathesis, {policy} policy", flush=True)
                generated, failed, summary = schemathesis(mock, policy, seed, max(100, min_cases // 8), scratch)
                total, failures, tracebacks = total + generated, failures + failed, tracebacks + count_tracebacks(mock)
                lines.append(f"schemathesis {policy}: {generated} cases, {failed} failures ({summary.strip('= ')})")
        with mock_process(scratch, status_policy="mirror", **SETTINGS) as mock:
            print("== fuzz: raw requests (paths, methods, headers, bodies)", flush=True)
            sent, problems = raw_fuzz(mock, seed, max(2000, min_cases // 2))  # about half are sendable
            tracebacks += count_tracebacks(mock)
        for problem in problems[:10]:
            print("  ", problem, flush=True)
        lines.append(f"raw HTTP fuzzer: {sent} requests, {len(problems)} server errors or non-envelope answers")
        lines.append(f"in all: {total + sent} cases; tracebacks in the mock's logs: {tracebacks}")
    ok = failures == 0 and not problems and tracebacks == 0 and total >= min_cases
    return ok, lines
