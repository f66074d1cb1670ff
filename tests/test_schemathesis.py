"""Keystone: schemathesis runs the bundled spec against the mock and finds nothing.

Under the `mirror` policy (HTTP status = code) every built-in check applies; under the
`upstream` policy errors are HTTP 200 by design, so the status-driven checks
(ignored_auth, negative_data_rejection ...) cannot apply and the run checks conformance.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from contracts.spec.document import operations
from mock_server import Settings, ThreadedServer, create_app

ROOT = Path(__file__).resolve().parents[1]
KEY = "schemathesis-key"
CONFORMANCE = ",".join([
    "not_a_server_error", "status_code_conformance", "content_type_conformance",
    "response_schema_conformance", "response_headers_conformance",
])


def implemented_operations() -> list[str]:
    """Every operation of the spec: the mock serves them all."""
    return [op.operation_id for op in operations()]


@pytest.mark.parametrize(("policy", "checks"), [("mirror", "all"), ("upstream", CONFORMANCE)])
def test_schemathesis_finds_no_failure(policy: str, checks: str, tmp_path: Path) -> None:
    settings = Settings(api_keys=(KEY,), status_policy=policy, speed=1000, seed=1,
                        create_rate_limit="off", query_rate_limit="off", initial_balance=1e12)
    selected = [arg for operation_id in implemented_operations()
                for arg in ("--include-operation-id", operation_id)]
    with ThreadedServer(create_app(settings)) as server:
        done = subprocess.run(
            [sys.executable, "-m", "schemathesis.cli", "--no-color",
             "--config-file", str(ROOT / "contracts" / "schemathesis.toml"),
             "run", str(ROOT / "openapi" / "apikley.yaml"), "--url", server.base_url,
             "-H", f"Authorization: Bearer {KEY}", *(["--checks", checks] if checks != "all" else []), "--seed", "7",
             "--max-examples", "60", *selected],
            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    # Every generated case passed every check (warnings, e.g. that most random task ids are
    # unknown to the mock, are expected).
    tested = re.search(r"Tested: (\d+)", done.stdout)
    cases = re.search(r"(\d+) generated, (\d+) passed", done.stdout)
    assert tested and int(tested.group(1)) == len(implemented_operations()), done.stdout[-3000:]
    assert cases and cases.group(1) == cases.group(2) and int(cases.group(1)) > 100
