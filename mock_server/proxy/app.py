"""The proxy: forwards every request to the upstream unchanged and answers with the upstream's
answer unchanged; each exchange is then checked and recorded by the checker process.

A finding never changes what the application gets. When the upstream fails to answer, the
application gets the failure an edge proxy would give (504 on a timeout, 502 on a TLS or
connection error), and the report gets a finding of that kind.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import httpx
from multidict import CIMultiDict
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from contracts.checks.report import curl
from contracts.traffic.exchanges import Exchange
from contracts.traffic.live import bearer_key
from mock_server.net import is_loopback
from mock_server.proxy.checker import Checker
from mock_server.proxy.relay import RELAY_PATH, CallbackRelay

HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
                        "transfer-encoding", "upgrade", "host", "content-length"})
FINDINGS_PATH = "/__mock__/proxy/findings"
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


@dataclass(frozen=True)
class ProxySettings:
    upstream: str
    record: Path | None = None
    callback_relay: str | None = None  # the public URL the upstream can reach this proxy at
    hmac_key: str | None = None
    timeout_seconds: float = 60.0
    report: Path | None = None
    junit: Path | None = None


def create_proxy_app(settings: ProxySettings) -> Starlette:
    upstream = settings.upstream.rstrip("/")
    checker = Checker(hmac_key=settings.hmac_key, record=settings.record, timeout_seconds=settings.timeout_seconds)
    relay = CallbackRelay(settings.callback_relay) if settings.callback_relay else None
    # aiohttp, not httpx, towards the upstream: on this path httpx's async client costs ~5x the CPU.
    session: list[aiohttp.ClientSession] = []  # made in the lifespan, inside the server's event loop

    async def forward(request: Request) -> Response:
        body = await request.body()
        if relay is not None:
            body = relay.rewrite(request.method, request.url.path, body)
        headers = CIMultiDict((name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers.raw
                              if name.decode("latin-1").lower() not in HOP_BY_HOP)
        target = upstream + request.url.path + (f"?{request.url.query}" if request.url.query else "")
        try:
            async with session[0].request(request.method, target, headers=headers, data=body or None,
                                          allow_redirects=False) as answer:
                raw = await answer.read()  # as sent: still compressed if it was
        except (aiohttp.ClientError, TimeoutError) as exc:
            return failed(request, target, body, exc)
        checker.exchange(Exchange(request.method, target, dict(request.headers), body, answer.status,
                                  {name.lower(): value for name, value in answer.headers.items()}, raw,
                                  round(time.time() * 1000)))
        response = Response(raw, status_code=answer.status)
        response.raw_headers = [*((name, value) for name, value in answer.raw_headers
                                  if name.decode("latin-1").lower() not in HOP_BY_HOP),
                                (b"content-length", str(len(raw)).encode())]
        return response

    def failed(request: Request, target: str, body: bytes, exc: Exception) -> Response:
        outgoing = httpx.Request(request.method, target, headers=dict(request.headers), content=body)
        reproducer = curl(outgoing, bearer_key(dict(request.headers)))
        if isinstance(exc, TimeoutError):
            checker.fault("upstream_timeout", f"an answer within {settings.timeout_seconds:g} s",
                          f"no answer from {upstream}", reproducer)
            return PlainTextResponse(f"apikley-mock proxy: {upstream} did not answer in time\n", status_code=504)
        tls = isinstance(exc, aiohttp.ClientSSLError)
        checker.fault("upstream_tls" if tls else "upstream_unreachable", f"an answer from {upstream}",
                      f"{type(exc).__name__}: {exc}"[:300], reproducer)
        return PlainTextResponse(f"apikley-mock proxy: {upstream} failed: {type(exc).__name__}\n", status_code=502)

    async def findings(request: Request) -> Response:
        if not is_loopback(request.client.host if request.client else ""):
            return JSONResponse({"code": 403, "msg": "the proxy's findings are open to loopback clients",
                                 "data": None}, status_code=403)
        found = await asyncio.wrap_future(checker.findings())  # after every exchange queued before it
        return JSONResponse({"code": 200, "msg": "success", "data": {
            **found, "pending": checker.submitted - checker.done, "unchecked": checker.unchecked}})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        session.append(aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=settings.timeout_seconds), auto_decompress=False,
            connector=aiohttp.TCPConnector(limit=256),
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type")))  # only the app's headers
        try:
            yield
        finally:
            await session[0].close()
            if relay is not None:
                await relay.aclose()
            await asyncio.to_thread(checker.close, settings.report, settings.junit)

    routes = [Route(FINDINGS_PATH, findings, methods=["GET"])]
    if relay is not None:
        routes.append(Route(RELAY_PATH + "/{token}", relay.endpoint(checker), methods=["POST"]))
    routes.append(Route("/{path:path}", forward, methods=METHODS))
    return Starlette(routes=routes, lifespan=lifespan)
