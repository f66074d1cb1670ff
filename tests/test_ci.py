"""CI cannot pass without the browser, Redis and name-mapping tests: .ci/run requires them, and a session
in which none of a kind passed fails."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mock_server.settings import ENV_PREFIX
from tests.conftest import REQUIRED_KINDS as KINDS  # one table: what CI must prove ran

ROOT = Path(__file__).resolve().parents[1]





def test_ci_requires_the_browser_redis_and_intercept_tests() -> None:
    assert set(KINDS) == {"browser", "redis", "intercept"}
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    for variable in KINDS.values():
        assert f"export {variable}=1" in script
        assert script.index(variable) < script.index("make test")
    # The mock reads every APIKLEY_MOCK_* variable as a setting and refuses unknown ones: what CI
    # exports must not wear that prefix, or every `apikley-mock serve` in the tests would stop.
    exported = re.findall(r"^export (\w+)=", script, re.M)
    assert exported and not [name for name in exported if name.startswith(ENV_PREFIX)]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_required_session_without_a_passed_test_of_the_kind_fails(kind: str) -> None:
    one_test = "tests/test_architecture.py::test_contracts_never_imports_mock_server"
    run = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", one_test]
    env = {**{k: v for k, v in os.environ.items() if k not in KINDS.values()}, KINDS[kind]: "1"}
    required = subprocess.run(run, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert required.returncode == 1, required.stdout
    assert f"no {kind} test passed" in required.stdout
    env.pop(KINDS[kind])
    assert subprocess.run(run, cwd=ROOT, env=env, capture_output=True, timeout=120).returncode == 0
