"""Result links: where a task's results are served, whether they still are, and the temporary
download-url links (minted for a key, checked by the file host).

Links are signed with a key derived from the seed, as everything else: not a secret.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import urlsplit

from mock_server.errors import NOT_GENERATED_HERE, ApiError
from mock_server.net import is_own_url
from mock_server.services.tasks import TaskService
from mock_server.sim.clock import VirtualClock
from mock_server.sim.records import result_urls
from mock_server.sim.task import Task
from mock_server.urls import RESULTS_PREFIX


class ResultLinks:
    def __init__(self, *, tasks: TaskService, clock: VirtualClock, seed: int, result_ttl_seconds: float,
                 link_ttl_seconds: float) -> None:
        self._tasks = tasks
        self._clock = clock
        self._secret = hashlib.sha256(f"apikley-mock-links:{seed}".encode()).digest()
        self._result_ttl_ms = result_ttl_seconds * 1000
        self._link_ttl_ms = round(link_ttl_seconds * 1000)

    def available(self, task: Task) -> bool:
        """Ended in success, and still within result_ttl_seconds of its end."""
        end = self._tasks.timeline(task).end
        now = self._clock.now_ms()
        return (end is not None and end.state == "success" and end.at_ms <= now
                and now <= end.at_ms + self._result_ttl_ms)

    def get_download_url(self, api_key: str, url: str, *, own: Iterable[str] = ()) -> str:
        """A temporary link (link_ttl_seconds) to a result this mock generated for this key; the
        result URL may name the mock by any of its `own` origins (public or listener)."""
        path = urlsplit(url).path
        name = path.rsplit("/", 1)[-1]
        task = self._tasks.find(name.rpartition(".")[0]) if path.startswith(RESULTS_PREFIX) else None
        if (task is None or task.api_key != api_key or not is_own_url(url, (task.origin, *own))
                or path != urlsplit(result_urls(task)[0]).path or not self.available(task)):
            raise ApiError(422, NOT_GENERATED_HERE)
        expires = self._clock.now_ms() + self._link_ttl_ms
        return f"{result_urls(task)[0]}?expires={expires}&token={self._token(task.task_id, expires)}"

    def servable(self, task_id: str, expires: str | None, token: str | None) -> Task | None:
        """The task whose result may be served for this request, or None (gone, expired, or a
        temporary link that is forged or past its time)."""
        task = self._tasks.find(task_id)
        if task is None or not self.available(task):
            return None
        if expires is None and token is None:
            return task
        if expires is None or not expires.isdigit():
            return None
        signed = hmac.compare_digest(token or "", self._token(task_id, int(expires)))
        return task if signed and self._clock.now_ms() <= int(expires) else None

    def _token(self, task_id: str, expires_ms: int) -> str:
        return hmac.new(self._secret, f"{task_id}:{expires_ms}".encode(), hashlib.sha256).hexdigest()[:32]
