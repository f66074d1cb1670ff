"""A client for a running mock's control API: what the pytest fixture exposes.

Works against any mock (in a thread, a subprocess, a container) given its base URL.
"""

from __future__ import annotations

from typing import Any

import httpx

FINAL_RESULTS = frozenset({"delivered", "failed", "refused", "dropped"})
MAX_ROUNDS = 20  # wait_for_callback: deliveries plus every retry, bounded


class MockControl:
    def __init__(self, base_url: str, api_key: str, *, admin_token: str | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        admin = {"X-Mock-Admin-Token": admin_token} if admin_token else {}
        self._control = httpx.Client(base_url=f"{self.base_url}/__mock__", headers=admin,
                                     transport=transport, timeout=30)
        # For the API itself, already authorized with the key.
        self.client = httpx.Client(base_url=self.base_url, transport=transport, timeout=30,
                                   headers={"Authorization": f"Bearer {api_key}"})

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._control.request(method, path, **kwargs)
        payload = response.json()
        if response.status_code != 200 or payload.get("code") != 200:
            raise RuntimeError(f"control {method} {path}: {payload.get('msg', response.text)}")
        return payload["data"]

    def reset(self) -> None:
        self._call("POST", "/reset")

    def now_ms(self) -> int:
        return int(self._call("GET", "/clock")["now"])

    def advance(self, seconds: float) -> int:
        """Move the virtual clock forward; returns the new time (Unix ms)."""
        return int(self._call("POST", "/clock/advance", json={"seconds": seconds})["now"])

    def queue(self, scenario: str, *, operation: str = "createTask", times: int = 1) -> None:
        """The next `times` calls of `operation` with this key answer `scenario`."""
        self._call("POST", f"/keys/{self.api_key}/queue",
                   json={"operation": operation, "scenario": scenario, "times": times})

    def set_balance(self, balance: float) -> None:
        self._call("PUT", f"/keys/{self.api_key}/balance", json={"balance": balance})

    def toggles(self, **changes: Any) -> dict[str, Any]:
        return dict(self._call("PUT", "/toggles", json=changes))

    def tasks(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/tasks", params={"apiKey": self.api_key}))

    def task(self, task_id: str) -> dict[str, Any]:
        return dict(self._call("GET", f"/tasks/{task_id}"))

    def force_state(self, task_id: str, state: str) -> dict[str, Any]:
        return dict(self._call("POST", f"/tasks/{task_id}/state", json={"state": state}))

    def set_outcome(self, task_id: str, scenario: str) -> dict[str, Any]:
        return dict(self._call("POST", f"/tasks/{task_id}/outcome", json={"scenario": scenario}))

    def requests(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/requests", params={"apiKey": self.api_key}))

    def callbacks(self, task_id: str | None = None) -> list[dict[str, Any]]:
        params = {"apiKey": self.api_key, **({"taskId": task_id} if task_id else {})}
        return list(self._call("GET", "/callbacks", params=params))

    def wait_for_callback(self, task_id: str) -> list[dict[str, Any]]:
        """Advance the virtual clock to the task's end (and through any retries) until its
        callback is delivered, failed for good, refused or dropped; returns its journal."""
        for _ in range(MAX_ROUNDS):
            timeline = self.task(task_id)["timeline"]
            end = timeline[-1]
            if end["state"] not in ("success", "fail"):
                raise AssertionError(f"task {task_id} never ends (stuck in {end['state']})")
            now = self.now_ms()
            if now < end["at"]:
                self.advance((end["at"] - now) / 1000)
            report = self._call("POST", "/callbacks/flush", params={"taskId": task_id})
            deliveries = report["deliveries"]
            if any(entry["result"] in FINAL_RESULTS for entry in deliveries):
                return list(deliveries)
            if not report["pending"]:
                raise AssertionError(f"task {task_id} has no callback to wait for (no callBackUrl?)")
            due = min(item["dueAt"] for item in report["pending"])
            self.advance(max(0.0, (due - self.now_ms()) / 1000))
        raise AssertionError(f"callback of {task_id} not settled after {MAX_ROUNDS} rounds")

    def close(self) -> None:
        self._control.close()
        self.client.close()
