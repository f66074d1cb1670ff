"""The contract run: probes, a task's whole life, callbacks and schemathesis, against any
server, within a budget. Importable; `apikley-contract` is a thin layer over `run_contract`.
The engine reports events to a listener (the CLI prints them) and returns a `Report`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx

from contracts.budget import BillableGuard, BudgetExceeded
from contracts.checks import RESPONSE_CHECKS, CheckFailed, expect_code, is_api_call, random_task_id
from contracts.receiver import CallbackReceiver
from contracts.report import Failure, Report, curl
from contracts.spec import operation, spec_path
from contracts.tasks import CREATE, DETAILS, check_task

Listener = Callable[[str, str, str], None]  # (event, check, detail)
CREDIT = "/api/v1/chat/credit"
SCHEMATHESIS_CONFIG = Path(__file__).with_name("schemathesis.toml")
CONFORMANCE_CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
                      "response_schema_conformance,response_headers_conformance,"
                      "apikley_envelope,apikley_status_policy")


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    base_url: str
    api_key: str
    profile: str = "mock"  # "mock": everything; "real": nothing that spends more than the budget
    max_billable: int | None = None  # default: 1 for real, 5 for mock
    hmac_key: str | None = None
    seed: int = 0
    callback_url: str | None = None  # a public receiver for the real service (not checked here)
    deadline_seconds: float = 900.0
    callback_wait_seconds: float = 30.0
    schemathesis: bool = True

    def __post_init__(self) -> None:
        if self.profile not in ("mock", "real"):
            raise ValueError(f"profile: {self.profile!r} is not one of ['mock', 'real']")
        if self.max_billable is not None and self.max_billable < 0:
            raise ValueError("max_billable: must be >= 0")

    @property
    def billable_cap(self) -> int:
        return self.max_billable if self.max_billable is not None else (1 if self.profile == "real" else 5)


class WallClock:
    def wait(self, seconds: float) -> None:
        time.sleep(seconds)


class MockClock:
    """Against apikley-mock, waiting moves its virtual clock instead of sleeping."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def wait(self, seconds: float) -> None:
        self.client.post("/__mock__/clock/advance", json={"seconds": seconds})

    @staticmethod
    def available(client: httpx.Client) -> bool:
        try:
            return client.get("/__mock__/clock").status_code == 200
        except httpx.HTTPError:
            return False


class Waiter(Protocol):
    def wait(self, seconds: float) -> None: ...


class ContractRun:
    def __init__(self, options: RunOptions, *, transport: httpx.BaseTransport | None = None,
                 listener: Listener | None = None, waiter: Waiter | None = None) -> None:
        self.options = options
        self.listener = listener or (lambda event, check, detail: None)
        self.report = Report()
        self.guard = BillableGuard(transport or httpx.HTTPTransport(), api_key=options.api_key,
                                   max_billable=options.billable_cap)
        self.client = httpx.Client(base_url=options.base_url, transport=self.guard, timeout=60,
                                   event_hooks={"response": [self._check_response]})
        self._plain = httpx.Client(base_url=options.base_url, transport=transport, timeout=60)
        self.waiter: Waiter = waiter or (MockClock(self._plain) if options.profile == "mock" and
                                         MockClock.available(self._plain) else WallClock())
        self._reported: set[tuple[str, str, str]] = set()
        self.mirrors_statuses = False  # learnt by probe_auth

    def api(self, method: str, path: str, *, key: str | None = "", **kwargs: Any) -> httpx.Response:
        """An API call, authorized with the run's key unless `key` says otherwise (None: no key)."""
        headers = dict(kwargs.pop("headers", {}))
        chosen = self.options.api_key if key == "" else key
        if chosen is not None:
            headers["Authorization"] = f"Bearer {chosen}"
        return self.client.request(method, path, headers=headers, **kwargs)

    def download(self, url: str) -> httpx.Response:
        return self._plain.get(url, follow_redirects=True)

    def verify(self, check: str, test: Callable[..., object], *args: Any,
               request: httpx.Request | None = None) -> bool:
        """Run one check; record a pass, or a failure with a reproducer for `request`."""
        try:
            test(*args)
        except CheckFailed as failure:
            where = (request.method, request.url.path) if request is not None else ("", "")
            if (check, *where) not in self._reported:  # one report per check and endpoint
                self._reported.add((check, *where))
                reproducer = curl(request, self.options.api_key) if request is not None else ""
                self.report.failures.append(Failure(check, failure.expected, failure.got, reproducer))
                self.listener("failed", check, f"expected {failure.expected}; got {failure.got}")
            return False
        self.report.passed[check] += 1
        self.listener("passed", check, "")
        return True

    def _check_response(self, response: httpx.Response) -> None:
        response.read()
        if not is_api_call(response):
            return
        for name, check in RESPONSE_CHECKS.items():
            self.verify(name, check, response, request=response.request)

    def close(self) -> None:
        self.client.close()
        self._plain.close()


def valid_body(callback_url: str | None) -> dict[str, Any]:
    """The spec's own createTask example, with our receiver as callBackUrl (or none)."""
    definition = operation("bytedance-v1-pro-fast-image-to-video").definition
    body = dict(definition["requestBody"]["content"]["application/json"]["example"])
    body.pop("callBackUrl", None)
    if callback_url:
        body["callBackUrl"] = callback_url
    return body


def probe_auth(run: ContractRun) -> None:
    """No key or a wrong key: code 401, nothing created or charged. Also learns the server's
    status policy (HTTP 401 here means it mirrors codes as HTTP statuses)."""
    body = valid_body(None)
    before = _credits(run)
    for key in (None, "wrong-" + random_task_id()):
        response = run.api("POST", CREATE, key=key, json=body)
        run.verify("auth", expect_code, response, 401, request=response.request)
        run.mirrors_statuses = response.status_code == 401
    run.verify("auth_charges_nothing", _unchanged, before, _credits(run))


INVALID_BODIES: dict[str, dict[str, Any]] = {
    "resolution 480p": {"input": {"prompt": "x", "image_url": "https://example.com/a.png", "resolution": "480p"}},
    "missing image_url": {"input": {"prompt": "x"}},
    "prompt of 10001 characters": {"input": {"prompt": "x" * 10001, "image_url": "https://example.com/a.png"}},
    "empty callBackUrl": {"callBackUrl": "", "input": {"prompt": "x", "image_url": "https://example.com/a.png"}},
}


def probe_validation(run: ContractRun) -> None:
    before = _credits(run)
    model = valid_body(None)["model"]
    for fields in INVALID_BODIES.values():
        response = run.api("POST", CREATE, json={"model": model, **fields})
        run.verify("validation", expect_code, response, 422, request=response.request)
    run.verify("validation_charges_nothing", _unchanged, before, _credits(run))


def probe_unknown_task(run: ContractRun) -> None:
    response = run.api("GET", DETAILS, params={"taskId": random_task_id()})
    run.verify("unknown_task", expect_code, response, 422, "recordInfo is null", request=response.request)


def _credits(run: ContractRun) -> Any:
    answer = run._plain.get(CREDIT, headers={"Authorization": f"Bearer {run.options.api_key}"})
    try:
        return answer.json().get("data") if answer.json().get("code") == 200 else None
    except ValueError:
        return None


def _unchanged(before: Any, after: Any) -> None:
    if before != after:
        raise CheckFailed("the balance unchanged by rejected requests", f"{before} -> {after}")


def run_schemathesis(run: ContractRun) -> None:
    """Schemathesis over the bundled spec with this API's own checks (contracts.schemathesis_hooks)
    and, for a server that mirrors codes as HTTP statuses, all its built-in checks; under
    upstream's HTTP-200 policy only the conformance ones (the status-driven checks assume 4xx
    errors; the probes cover those rules). Profile real: only operations that cannot cost
    credits, a few examples, rate-limited."""
    options = run.options
    command = [sys.executable, "-m", "schemathesis.cli", "--no-color", "--config-file", str(SCHEMATHESIS_CONFIG),
               "run", str(spec_path()), "--url", options.base_url, "-H", f"Authorization: Bearer {options.api_key}",
               "--checks", "all" if run.mirrors_statuses else CONFORMANCE_CHECKS, "--seed", str(options.seed)]
    if options.profile == "real":
        command += ["--include-operation-id", "get-task-details", "--include-operation-id", "get-account-credits",
                    "--phases", "examples,coverage", "--max-examples", "3", "--rate-limit", "5/s",
                    "--mode", "positive"]
    else:
        command += ["--max-examples", "25"]
    hooks = {**os.environ, "SCHEMATHESIS_HOOKS": "contracts.schemathesis_hooks"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False, env=hooks)
    output = done.stdout
    reproducer = next((line.strip() for line in output.splitlines() if line.strip().startswith("curl ")), "")
    reproducer = reproducer.replace(options.api_key, "$APIKLEY_API_KEY")

    def clean() -> None:
        if done.returncode != 0:
            failures = re.findall(r"^- (ST\d+ .*)$", output, re.M) or [output[-600:] or done.stderr[-600:]]
            raise CheckFailed("no failure from schemathesis' checks", "; ".join(sorted(set(failures)))[:600])

    if not run.verify("schemathesis", clean):
        run.report.failures[-1] = Failure("schemathesis", run.report.failures[-1].expected,
                                          run.report.failures[-1].got, reproducer)


def run_contract(options: RunOptions, *, transport: httpx.BaseTransport | None = None,
                 listener: Listener | None = None, waiter: Waiter | None = None) -> Report:
    """Check the server at `options.base_url`; `waiter` replaces sleeping between polls."""
    run = ContractRun(options, transport=transport, listener=listener, waiter=waiter)
    listener = run.listener
    try:
        for name, step in (("auth", probe_auth), ("validation", probe_validation),
                           ("unknown task", probe_unknown_task)):
            listener("phase", name, "")
            step(run)
        listener("phase", "lifecycle and callbacks", "")
        if options.callback_url:
            check_task(run, valid_body(options.callback_url), None)
        else:
            with CallbackReceiver() as receiver:
                check_task(run, valid_body(receiver.url), receiver)
        if options.schemathesis:
            listener("phase", "schemathesis", "")
            run_schemathesis(run)
    except BudgetExceeded as exc:
        run.report.failures.append(Failure("budget", f"at most {options.billable_cap} billable calls",
                                           str(exc), ""))
    finally:
        run.report.billable_calls = run.guard.billable_calls
        run.close()
    return run.report
