"""The contract run: probes, a task's whole life, callbacks and schemathesis, against any
server, within a budget. Importable; `apikley-contract` is a thin layer over `run_contract`.
The engine reports events to a listener (the CLI prints them) and returns a `Report`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

from contracts.api import (
    CREATE_TASK_PATH,
    CREDIT_PATH,
    GET_ACCOUNT_CREDITS,
    GET_TASK_DETAILS,
    TASK_DETAILS_PATH,
)
from contracts.budget import BudgetExceeded
from contracts.checks import CheckFailed, expect_code, random_task_id
from contracts.models import ModelPage
from contracts.receiver import CallbackReceiver
from contracts.report import Failure, Report, curl
from contracts.run import ContractRun, Listener, RunOptions, Waiter
from contracts.spec import spec_path
from contracts.tasks import check_task

__all__ = ["ContractRun", "Listener", "RunOptions", "Waiter", "run_contract"]
SCHEMATHESIS_CONFIG = Path(__file__).with_name("schemathesis.toml")
CONFORMANCE_CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
                      "response_schema_conformance,response_headers_conformance,"
                      "apikley_envelope,apikley_status_policy")


KEY_REFUSED = ("every request with --api-key was refused for auth (code 401); check the key. "
               "The run stopped: no other check can pass without it.")


def probe_key(run: ContractRun) -> bool:
    """The run's key is accepted; with a refused key every other check would only report 401s."""
    response = run.api("GET", CREDIT_PATH)
    try:
        code = response.json().get("code")
    except (ValueError, AttributeError):
        code = None
    if code == 401:
        run.report.failures.append(Failure("api_key", "the server to accept --api-key", KEY_REFUSED,
                                           curl(response.request, run.options.api_key)))
        return False
    run.report.passed["api_key"] += 1
    run.listener("passed", "api_key", "")
    return True


def model_body(page: ModelPage, callback_url: str | None) -> dict[str, Any]:
    """The model page's own createTask example (for the seed, the bundled spec's), with our
    receiver as callBackUrl (or none)."""
    body = {key: value for key, value in page.example_body().items() if key != "callBackUrl"}
    return {**body, "callBackUrl": callback_url} if callback_url else body


def probe_auth(run: ContractRun) -> None:
    """No key or a wrong key: code 401, nothing created or charged. Also learns the server's
    status policy (HTTP 401 here means it mirrors codes as HTTP statuses)."""
    body = model_body(run.catalogue.default, None)
    before = _credits(run)
    for key in (None, "wrong-" + random_task_id()):
        response = run.api("POST", CREATE_TASK_PATH, key=key, json=body)
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
    """Bodies each checked model's page refuses answer 422 and charge nothing: the seed's own
    list, and for other models a missing required field, a value outside an enum, a wrong type."""
    before = _credits(run)
    for page in run.pages:
        if page is run.catalogue.default:
            bodies = [{"model": page.model_id, **fields} for fields in INVALID_BODIES.values()]
        else:
            bodies = invalid_bodies(page)
        for body in bodies:
            response = run.api("POST", CREATE_TASK_PATH, json=body)
            run.verify("validation", expect_code, response, 422, request=response.request)
    run.verify("validation_charges_nothing", _unchanged, before, _credits(run))


def invalid_bodies(page: ModelPage) -> list[dict[str, Any]]:
    """Bodies `page` refuses, derived from its input schema."""
    valid = page.example_body()
    given = dict(valid.get("input", {}))
    fields = page.input_schema.get("properties", {})
    bodies = []
    for name in page.input_schema.get("required", [])[:1]:
        bodies.append({**valid, "input": {key: value for key, value in given.items() if key != name}})
    for name, field in fields.items():
        if field.get("enum"):
            bodies.append({**valid, "input": {**given, name: "not-one-of-the-enum"}})
            break
    for name, field in fields.items():
        if field.get("type") in ("string", "integer", "boolean"):
            wrong = 12345 if field["type"] == "string" else "not-a-" + field["type"]
            bodies.append({**valid, "input": {**given, name: wrong}})
            break
    return bodies


def probe_unknown_task(run: ContractRun) -> None:
    response = run.api("GET", TASK_DETAILS_PATH, params={"taskId": random_task_id()})
    run.verify("unknown_task", expect_code, response, 422, "recordInfo is null", request=response.request)


def _credits(run: ContractRun) -> Any:
    answer = run.plain.get(CREDIT_PATH, headers={"Authorization": f"Bearer {run.options.api_key}"})
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
               "--seed", str(options.seed)]
    if not run.mirrors_statuses:  # mirror: every check, the default (so the config file's exceptions hold)
        command += ["--checks", CONFORMANCE_CHECKS]
    if options.profile == "real":
        command += ["--include-operation-id", GET_TASK_DETAILS, "--include-operation-id", GET_ACCOUNT_CREDITS,
                    "--phases", "examples,coverage", "--max-examples", "3", "--rate-limit", "5/s",
                    "--mode", "positive"]
    else:
        command += ["--max-examples", "25"]
    hooks = {**os.environ, "SCHEMATHESIS_HOOKS": "contracts.schemathesis_hooks"}
    with tempfile.TemporaryDirectory(prefix="apikley-contract-") as scratch:  # schemathesis writes a cache here
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False, env=hooks,
                              cwd=scratch)
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
        listener("phase", "api key", "")
        if not probe_key(run):
            listener("stopped", "api_key", KEY_REFUSED)
            return run.report
        for name, step in (("auth", probe_auth), ("validation", probe_validation),
                           ("unknown task", probe_unknown_task)):
            listener("phase", name, "")
            step(run)
        for page in run.pages:
            listener("phase", f"lifecycle and callbacks: {page.model_id}", "")
            if options.callback_url:
                check_task(run, model_body(page, options.callback_url), None, page)
            else:
                with CallbackReceiver() as receiver:
                    check_task(run, model_body(page, receiver.url), receiver, page)
        if options.schemathesis:
            listener("phase", "schemathesis", "")
            run_schemathesis(run)
    except BudgetExceeded as exc:
        run.report.failures.append(Failure("budget", f"at most {options.billable_cap} billable calls",
                                           str(exc), ""))
    finally:
        run.report.billable_calls = run.guard.billable_accepted
        run.report.billable_sent = run.guard.billable_sent
        run.close()
    return run.report
