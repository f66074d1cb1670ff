"""checks: the one check-and-record path, and the rules a run, the proxy and recordings share."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from contracts.checks.records import created_task_id, record_of, record_rules, transition_rules
from contracts.checks.responses import RESPONSE_CHECKS, envelope, status_policy
from contracts.checks.verdicts import CheckFailed, Verdicts

BODY = {"model": "bytedance/v1-pro-fast-image-to-video", "input": {"prompt": "x", "image_url": "https://e.x/a.png"}}


def answer(status: int, content: bytes | dict | list, content_type: str = "application/json") -> httpx.Response:
    raw = content if isinstance(content, bytes) else json.dumps(content).encode()
    return httpx.Response(status, content=raw, headers={"content-type": content_type},
                          request=httpx.Request("GET", "http://mock.test/api/v1/jobs/recordInfo?taskId=t"))


def record(state: str = "waiting", **fields: Any) -> dict[str, Any]:
    base = {"taskId": "t", "model": BODY["model"], "state": state, "param": json.dumps(BODY), "resultJson": None,
            "failCode": None, "failMsg": None, "costTime": None, "createTime": 1_765_182_752_206,
            "updateTime": 1_765_182_752_206, "completeTime": None}
    return {**base, **fields}


def test_a_rule_that_cannot_read_the_answer_is_a_failure_not_an_exception() -> None:
    verdicts = Verdicts()
    for rule, response in [(created_task_id, answer(502, b"<html>Bad Gateway</html>", "text/html")),
                           (record_of, answer(200, [1, 2, 3])),
                           (lambda r: r.json()["data"]["taskId"], answer(200, {"code": 200}))]:
        assert not verdicts.check("rule", rule, response, reproducer="curl x")
    assert [failure.reproducer for failure in verdicts.report.failures] == ["curl x"] * 3
    assert "HTTP 502" in verdicts.report.failures[0].got
    assert "TypeError" in verdicts.report.failures[2].got or "KeyError" in verdicts.report.failures[2].got


def test_a_passing_rule_hands_on_its_value_and_is_counted() -> None:
    verdicts = Verdicts(on_pass=lambda name: seen.append(name))
    seen: list[str] = []
    found = verdicts.check("create_task", created_task_id,
                           answer(200, {"code": 200, "msg": "success", "data": {"taskId": "task_1"}}))
    assert found and found.value == "task_1" and verdicts.report.passed["create_task"] == 1 and seen == ["create_task"]


def test_once_per_place_reports_a_rule_once_where_it_keeps_failing() -> None:
    verdicts = Verdicts(once_per_place=True)

    def failing() -> None:
        raise CheckFailed("x", "y")

    for place in [("GET", "/a"), ("GET", "/a"), ("GET", "/b")]:
        verdicts.check("rule", failing, place=place)
    assert len(verdicts.report.failures) == 2


@pytest.mark.parametrize(("response", "rule"), [
    (answer(200, {"code": "200", "msg": "x"}), envelope),
    (answer(200, {"code": 200}), envelope),
    (answer(200, [1]), envelope),
    (answer(418, {"code": 422, "msg": "x"}), status_policy),
    (answer(500, {"code": 200, "msg": "x"}), status_policy),
])
def test_response_rules_refuse_what_upstream_never_sends(response: httpx.Response, rule: Any) -> None:
    with pytest.raises(CheckFailed):
        rule(response)


def test_response_rules_accept_both_status_policies() -> None:
    for status in (200, 422):
        for rule in RESPONSE_CHECKS.values():
            rule(answer(status, {"code": 422, "msg": "recordInfo is null", "data": None}))


@pytest.mark.parametrize(("changed", "why"), [
    ({"param": BODY}, "param as a JSON string"),
    ({"param": json.dumps({"model": "other"})}, "param equal to the body sent"),
    ({"state": "success", "resultJson": json.dumps({"resultUrls": []}), "completeTime": 1_765_182_752_206},
     "resultUrls"),
    ({"failCode": "500"}, "failCode/failMsg empty while waiting"),
    ({"createTime": 1_765_182_752}, "createTime in Unix milliseconds"),
    ({"completeTime": 1_765_182_752_206}, "completeTime null while waiting"),
])
def test_record_rules_name_what_is_wrong(changed: dict[str, Any], why: str) -> None:
    with pytest.raises(CheckFailed, match=None) as caught:
        record_rules(record(**changed), BODY)
    assert why in caught.value.expected


def test_transitions_move_forward_and_an_ended_record_never_changes() -> None:
    transition_rules(record("waiting"), record("generating", updateTime=1_765_182_760_000))
    ended = record("fail", failCode="500", failMsg="x", completeTime=1_765_182_760_000, updateTime=1_765_182_760_000)
    for later in (record("queuing"), {**ended, "failMsg": "other"}, {**ended, "createTime": 1_765_182_752_207}):
        with pytest.raises(CheckFailed):
            transition_rules(ended, later)
    with pytest.raises(CheckFailed, match=None):
        transition_rules(record("generating", updateTime=1_765_182_760_000), record("generating"))
