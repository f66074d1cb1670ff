"""CI cannot pass without the browser tests: .ci/run requires them, and a session in which
none passed fails."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from mock_server.settings import ENV_PREFIX

ROOT = Path(__file__).resolve().parents[1]


def test_ci_requires_the_browser_tests() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "export APIKLEY_TESTS_REQUIRE_BROWSER=1" in script
    assert script.index("APIKLEY_TESTS_REQUIRE_BROWSER") < script.index("make test")
    # The mock reads every APIKLEY_MOCK_* variable as a setting and refuses unknown ones: what CI
    # exports must not wear that prefix, or every `apikley-mock serve` in the tests would stop.
    exported = re.findall(r"^export (\w+)=", script, re.M)
    assert exported and not [name for name in exported if name.startswith(ENV_PREFIX)]


def test_a_required_session_without_a_passed_browser_test_fails() -> None:
    one_test = "tests/test_architecture.py::test_contracts_never_imports_mock_server"
    run = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", one_test]
    env = {**os.environ, "APIKLEY_TESTS_REQUIRE_BROWSER": "1"}
    required = subprocess.run(run, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert required.returncode == 1, required.stdout
    assert "no browser test passed" in required.stdout
    env.pop("APIKLEY_TESTS_REQUIRE_BROWSER")
    assert subprocess.run(run, cwd=ROOT, env=env, capture_output=True, timeout=120).returncode == 0
