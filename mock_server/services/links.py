"""Result links: where a task's results are served, whether they still are, and the temporary
download-url links (minted for a key, checked by the file host). Every result URL carries an
unguessable part (`sim.tokens`), as upstream's do: knowing a task id is not enough to fetch it."""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from urllib.parse import urlsplit

from contracts.family.outputs import FRAMES
from mock_server.bounded import ascii_int
from mock_server.errors import NOT_GENERATED_HERE, ApiError
from mock_server.net import is_own_url
from mock_server.services.tasks import TaskService
from mock_server.sim.clock import VirtualClock
from mock_server.sim.task import Task
from mock_server.sim.tokens import Tokens
from mock_server.urls import RESULTS_PREFIX, result_url


class ResultLinks:
    def __init__(self, *, tasks: TaskService, clock: VirtualClock, tokens: Tokens, result_ttl_seconds: float,
                 link_ttl_seconds: float) -> None:
        self._tasks = tasks
        self._clock = clock
        self._tokens = tokens
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
        task = self._tasks.find(name.partition(".")[0]) if path.startswith(RESULTS_PREFIX) else None
        mine = {urlsplit(found).path: found for found in self.files(task)} if task is not None else {}
        if (task is None or task.api_key != api_key or not is_own_url(url, (task.origin, *own))
                or path not in mine or not self.available(task)):
            raise ApiError(422, NOT_GENERATED_HERE)
        expires = self._clock.now_ms() + self._link_ttl_ms
        return f"{mine[path]}?expires={expires}&token={self._tokens.link(task.task_id, expires)}"

    def servable(self, token: str, task_id: str, expires: str | None, signature: str | None) -> Task | None:
        """The task whose result may be served at `/results/<token>/<task_id>...`, or None (a
        token that is not the task's, gone, expired, or a temporary link forged or past its time)."""
        if not hmac.compare_digest(token, self._tokens.result(task_id)):
            return None
        task = self._tasks.find(task_id)
        if task is None or not self.available(task):
            return None
        if expires is None and signature is None:
            return task
        try:
            expires_ms = ascii_int(expires, "expires")
        except ApiError:
            return None  # not a link this mock minted
        signed = hmac.compare_digest(signature or "", self._tokens.link(task_id, expires_ms))
        return task if signed and self._clock.now_ms() <= expires_ms else None

    def files(self, task: Task) -> list[str]:
        """Every file of the task: its results, and a video's still frames."""
        token = self._tokens.result(task.task_id)
        return [result_url(task.origin, token, task.task_id, "png" if variant in FRAMES else task.output.extension,
                           variant) for variant in task.output.variants()] if task.output.files else []
