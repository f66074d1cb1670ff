"""What an API's record and callback templates read (their context), from the facts of a
task at one step of its life: pure, shared by the mock (its tasks) and the strategies
(generated tasks), so both render the same shapes from the same mapping."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from contracts.spec.lifecycle import TERMINAL

# What the engine gives every template (besides the step's own values, and `result` in `$each`).
CONTEXT_NAMES = frozenset({"taskId", "model", "param", "input", "state", "ended", "failed", "succeeded", "createTime",
                           "updateTime", "completeTime", "costTime", "failCode", "failMsg", "credits", "resolution",
                           "results", "resultUrls", "resultUrl"})


def result(url: str, *, cover: str | None, index: int, result_id: str, seconds: int, ready: bool) -> dict[str, Any]:
    """One result file as templates see it (`$result.url`, `$result.cover` ...)."""
    return {"url": url, "cover": cover, "index": index, "id": result_id, "seconds": seconds, "ready": ready}


def context(*, step: Mapping[str, Any], state: str, task_id: str, model: str, param: str, created_ms: int,
            step_ms: int, stage_ms: int, failure: tuple[Any, str] | None, credits: float, resolution: str,
            results: list[dict[str, Any]]) -> dict[str, Any]:
    """`step`: the mapping's values for the step shown (its own spellings win); `step_ms`
    when the step began, `stage_ms` when its state did; `failure` (code, text) once failed."""
    ended = state in TERMINAL
    urls = [found["url"] for found in results if found["ready"]]
    code, message = failure if failure is not None and state == "fail" else (None, None)
    return {
        "taskId": task_id, "model": model, "param": param, "input": orjson.loads(param), "state": state,
        "ended": ended, "failed": state == "fail", "succeeded": state == "success",
        "createTime": created_ms, "updateTime": step_ms, "completeTime": stage_ms if ended else None,
        "costTime": max(0, (stage_ms - created_ms) // 1000) if ended else None,
        "failCode": code, "failMsg": message, "credits": credits, "resolution": resolution,
        "results": results, "resultUrls": urls, "resultUrl": urls[0] if urls else None,
        **step,  # the API's own spellings (Runway's `state: wait`) over the shared ones
    }
