"""`--callback-relay PUBLIC_URL`: createTask's `callBackUrl` is swapped for a relay URL of the
proxy's own (PUBLIC_URL/__relay__/<token>); a callback arriving there is checked (the spec's
CallbackPayload, the HMAC signature with --hmac-key, agreement with the task's last record)
and forwarded, unchanged, to the URL the application gave; the upstream gets that URL's answer."""

from __future__ import annotations

import json
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from contracts.spec.names import CREATE_TASK_PATH, RECEIVER_TIMEOUT_SECONDS, SIGNATURE_HEADER, TIMESTAMP_HEADER
from mock_server.proxy.checker import Checker

RELAY_PATH = "/__relay__"
RELAYS_REMEMBERED = 100_000
FORWARDED = ("content-type", TIMESTAMP_HEADER.lower(), SIGNATURE_HEADER.lower(), "user-agent")


class CallbackRelay:
    def __init__(self, public_url: str) -> None:
        self.public_url = public_url.rstrip("/")
        self._targets: OrderedDict[str, str] = OrderedDict()
        self._client = httpx.AsyncClient(timeout=RECEIVER_TIMEOUT_SECONDS, follow_redirects=False)

    def rewrite(self, method: str, path: str, body: bytes) -> bytes:
        """createTask's body with callBackUrl swapped; anything else (or a body that is not a
        JSON object with a callBackUrl) unchanged."""
        if method != "POST" or path != CREATE_TASK_PATH:
            return body
        try:
            document = json.loads(body)
        except ValueError:
            return body
        target = document.get("callBackUrl") if isinstance(document, dict) else None
        if not isinstance(target, str) or not target:
            return body
        token = secrets.token_urlsafe(16)
        self._targets[token] = target
        if len(self._targets) > RELAYS_REMEMBERED:
            self._targets.popitem(last=False)
        document["callBackUrl"] = f"{self.public_url}{RELAY_PATH}/{token}"
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()

    def endpoint(self, checker: Checker) -> Callable[[Request], Awaitable[Response]]:
        async def relayed(request: Request) -> Response:
            target = self._targets.get(request.path_params["token"])
            if target is None:
                return PlainTextResponse("unknown relay token\n", status_code=404)
            body = await request.body()
            headers = {name: value for name, value in request.headers.items() if name.lower() in FORWARDED}
            reproducer = f"callback for {target} (relayed by the proxy)"
            checker.callback(headers, body, reproducer)
            try:
                answer = await self._client.post(target, content=body, headers=headers)
            except httpx.HTTPError as exc:
                return PlainTextResponse(f"apikley-mock proxy: {target} failed: {type(exc).__name__}\n",
                                         status_code=502)
            kept: dict[str, Any] = {"content-type": answer.headers.get("content-type", "text/plain")}
            return Response(answer.content, status_code=answer.status_code, headers=kept)

        return relayed

    async def aclose(self) -> None:
        await self._client.aclose()
