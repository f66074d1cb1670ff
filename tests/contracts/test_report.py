"""report: failures a user can act on, a reproducer that never carries the key, JSON and JUnit."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import httpx

from contracts.checks.report import REDACTED_KEY, Failure, Report, curl


def test_the_reproducer_replaces_the_key_and_quotes_what_the_shell_would_split() -> None:
    request = httpx.Request("POST", "http://mock.test/api/v1/jobs/createTask?x=1&y=2",
                            headers={"Authorization": "Bearer sk-secret", "Content-Type": "application/json"},
                            content=b'{"prompt": "it\'s a cup"}')
    line = curl(request, "sk-secret")
    assert "sk-secret" not in line and REDACTED_KEY in line
    assert "'http://mock.test/api/v1/jobs/createTask?x=1&y=2'" in line  # the & would end the command
    assert "--data-raw" in line


def test_the_reproducer_never_carries_a_credential_it_was_not_told_about() -> None:
    request = httpx.Request("GET", "http://mock.test/api/v1/chat/credit",
                            headers={"Authorization": "Bearer recorded-key", "Cookie": "session=abc",
                                     "X-Mock-Admin-Token": "admin"})
    line = curl(request)
    assert "recorded-key" not in line and "session=abc" not in line and "admin" not in line
    assert f'"Authorization: Bearer {REDACTED_KEY}"' in line.replace("authorization", "Authorization")


def test_json_and_junit_reports(tmp_path: Path) -> None:
    report = Report(failures=[Failure("envelope", "a string `msg`", 'got "<x>"', "curl y")])
    report.passed["auth"] = 2
    summary = json.loads(report.to_json())
    assert summary["ok"] is False and summary["passed"] == {"auth": 2}
    report.write_junit(tmp_path / "j.xml")
    suite = ElementTree.parse(tmp_path / "j.xml").getroot()
    assert (suite.get("tests"), suite.get("failures")) == ("3", "1")
    names = [case.get("name") for case in suite.findall("testcase")]
    assert len(set(names)) == len(names) == 3  # CI folds same-named cases into one
    assert suite.find("testcase/failure").get("message") == "a string `msg`"  # type: ignore[union-attr]
