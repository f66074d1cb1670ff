"""traffic: exchanges that already happened, held to the run's rules under the run's names."""

from __future__ import annotations

import json
from typing import Any

from contracts.checks.report import REDACTED_KEY
from contracts.traffic.exchanges import Exchange
from contracts.traffic.live import TrafficChecks
from tests.contracts.test_checks import BODY, record

BASE = "http://mock.test"
CREATE, DETAILS = f"{BASE}/api/v1/jobs/createTask", f"{BASE}/api/v1/jobs/recordInfo?taskId=t"
KEY = "secret-key-123"


def exchange(method: str, url: str, answer: Any, *, status: int = 200, body: Any = None,
             content_type: str = "application/json") -> Exchange:
    raw = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
    return Exchange(method, url, {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
                    json.dumps(body).encode() if body is not None else b"", status,
                    {"content-type": content_type}, raw)


def envelope(data: Any) -> dict[str, Any]:
    return {"code": 200, "msg": "success", "data": data}


def session(*states: dict[str, Any]) -> list[Exchange]:
    return [exchange("POST", CREATE, envelope({"taskId": "t"}), body=BODY),
            *(exchange("GET", DETAILS, envelope(found)) for found in states)]


def test_a_clean_session_passes_every_rule_by_the_runs_names() -> None:
    checks = TrafficChecks()
    for one in session(record("waiting"), record("queuing", updateTime=1_765_182_754_206)):
        checks.exchange(one)
    assert checks.report.ok, checks.report.failures
    for name in ("envelope", "status_policy", "conforms_to_spec", "record_task_id", "record_fields", "transitions"):
        assert checks.report.passed[name] > 0, name


def test_a_state_going_back_is_a_transitions_finding_with_a_redacted_reproducer() -> None:
    found: list[Any] = []
    checks = TrafficChecks(on_finding=found.append)
    for one in session(record("generating", updateTime=1_765_182_760_000), record("queuing")):
        checks.exchange(one)
    assert [failure.check for failure in found] == ["transitions"]
    assert KEY not in found[0].reproducer and REDACTED_KEY in found[0].reproducer


def test_an_edge_page_is_its_own_kind_of_finding() -> None:
    checks = TrafficChecks()
    checks.exchange(exchange("GET", DETAILS, b"<html>502 Bad Gateway</html>", status=502, content_type="text/html"))
    assert [failure.check for failure in checks.report.failures] == ["upstream_html"]


def test_a_callback_is_held_to_the_tasks_final_record() -> None:
    ended = record("success", resultJson=json.dumps({"resultUrls": ["https://x/y.mp4"]}),
                   completeTime=1_765_182_800_000, updateTime=1_765_182_800_000, costTime=40)
    checks = TrafficChecks()
    for one in session(ended):
        checks.exchange(one)
    data = {**ended, "consumeCredits": 20, "remainedCredits": 100}
    payload = {"code": 200, "msg": "Playground task completed successfully.", "data": data}
    checks.callback({"Content-Type": "application/json"}, json.dumps(payload).encode(), "callback")
    assert checks.report.ok and checks.report.passed["callback"] == 1
    data["state"] = "fail"
    checks.callback({}, json.dumps(payload).encode(), "callback")
    assert [failure.check for failure in checks.report.failures] == ["callback"]


def test_a_request_body_the_application_sent_is_held_to_the_spec() -> None:
    checks = TrafficChecks()
    bad = {"model": BODY["model"], "input": {"prompt": "x", "image_url": "https://e.x/a.png", "resolution": "480p"}}
    checks.exchange(exchange("POST", CREATE, {"code": 422, "msg": "nope", "data": None}, body=bad))
    failures = [failure for failure in checks.report.failures if failure.check == "request_body"]
    assert len(failures) == 1 and "input.resolution: '480p' is not one of" in failures[0].got
    checks.exchange(exchange("POST", CREATE, envelope({"taskId": "t2"}), body=BODY))
    assert checks.report.passed["request_body"] == 1
