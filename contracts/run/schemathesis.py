"""The schemathesis phase of a run: schemathesis over the bundled spec, in a process of its
own, with this API's checks registered (`contracts.schemathesis_hooks`)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from contracts.checks.verdicts import CheckFailed
from contracts.run.state import ContractRun
from contracts.spec.document import spec_path
from contracts.spec.names import GET_ACCOUNT_CREDITS, GET_TASK_DETAILS

SCHEMATHESIS_CONFIG = Path(__file__).resolve().parents[1] / "schemathesis.toml"
CONFORMANCE_CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
                      "response_schema_conformance,response_headers_conformance,"
                      "apikley_envelope,apikley_status_policy")


def run_schemathesis(run: ContractRun, spec: Path | None = None, *, name: str = "schemathesis",
                     free: tuple[str, ...] = (GET_TASK_DETAILS, GET_ACCOUNT_CREDITS)) -> None:
    """For a server that mirrors codes as HTTP statuses, all schemathesis' built-in checks;
    under upstream's HTTP-200 policy only the conformance ones (the status-driven checks assume
    4xx errors; the probes cover those rules). Profile real: only operations that cannot cost
    credits, a few examples, rate-limited."""
    options = run.options
    command = [sys.executable, "-m", "schemathesis.cli", "--no-color", "--config-file", str(SCHEMATHESIS_CONFIG),
               "run", str(spec or spec_path()), "--url", options.base_url,
               "-H", f"Authorization: Bearer {options.api_key}",
               "--seed", str(options.seed)]
    if not run.mirrors_statuses:  # mirror: every check, the default (so the config file's exceptions hold)
        command += ["--checks", CONFORMANCE_CHECKS]
    if options.profile == "real":
        command += [*(part for operation_id in free for part in ("--include-operation-id", operation_id)),
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

    run.verdicts.check(name, clean, reproducer=reproducer)
