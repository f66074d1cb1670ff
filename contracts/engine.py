"""The contract run: probes, a task's whole life, callbacks and schemathesis, against any
server, within a budget. Importable; `apikley-contract` is a thin layer over `run_contract`.
The engine reports events to a listener (the CLI prints them) and returns a `Report`.
"""

from __future__ import annotations

import httpx

from contracts.apis import Api, bundled_apis
from contracts.checks.report import Report
from contracts.run.api_task import check_api_task, probe_api
from contracts.run.budget import BudgetExceeded
from contracts.run.probes import KEY_REFUSED, model_body, probe_auth, probe_key, probe_unknown_task, probe_validation
from contracts.run.receiver import CallbackReceiver
from contracts.run.schemathesis import run_schemathesis
from contracts.run.state import MARKET, ContractRun, Listener, RunOptions, Waiter
from contracts.run.task import check_task

__all__ = ["ContractRun", "Listener", "RunOptions", "Waiter", "run_contract"]


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
        if MARKET in options.apis:
            check_market(run)
        for api in (bundled_apis()[name] for name in options.apis if name != MARKET):
            check_other_api(run, api)
    except BudgetExceeded as exc:
        run.verdicts.fail("budget", f"at most {options.billable_cap} billable calls", str(exc))
    finally:
        run.report.billable_calls = run.guard.billable_accepted
        run.report.billable_sent = run.guard.billable_sent
        run.close()
    return run.report


def check_market(run: ContractRun) -> None:
    """The market API: probes, a task of each checked model, schemathesis over the bundled spec."""
    options, listener = run.options, run.listener
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


def check_other_api(run: ContractRun, api: Api) -> None:
    """Another API of the family, from its spec and mapping alone: probes, a task's whole life
    through its own status endpoint and stages, schemathesis over its spec."""
    options, listener = run.options, run.listener
    listener("phase", f"{api.title}: probes", "")
    probe_api(run, api)
    listener("phase", f"{api.title}: lifecycle and callbacks", "")
    if options.callback_url:
        check_api_task(run, api, None)
    else:
        with CallbackReceiver() as receiver:
            check_api_task(run, api, receiver)
    if options.schemathesis and api.path is not None:
        listener("phase", f"{api.title}: schemathesis", "")
        run_schemathesis(run, api.path, name=f"{api.name}_schemathesis", free=(api.status.operation_id,))
