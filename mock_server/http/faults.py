"""Network faults as the network between would give them (`fault` scenarios): an edge proxy's
HTML 502, its HTML 504 after a wait, or a connection closed with no answer at all. Nothing of
the API's envelope: clients meet what they meet in production when an edge fails."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.types import Send

from mock_server.errors import NetworkFault

PAGES = {
    "html-502": (502, "502 Bad Gateway"),
    "gateway-timeout": (504, "504 Gateway Time-out"),
}


def edge_page(title: str) -> bytes:
    return (f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
            "<hr><center>edge (apikley-mock fault scenario)</center>\r\n</body>\r\n</html>\r\n").encode()


CLOSED = b"(the connection was closed with no answer)"


async def hold(seconds: float) -> None:
    """Wait at least `seconds` of wall time: an event loop's timer may fire a little early (libuv
    measures from the time it cached at the start of its iteration), and a latency asked for is a
    lower bound a client may test."""
    until = time.monotonic() + seconds
    while (left := until - time.monotonic()) > 0:
        await asyncio.sleep(left)


async def answer(fault: NetworkFault, send: Send) -> tuple[int, bytes]:
    """Answer `fault` on `send`; returns the HTTP status and body sent (0: the connection was closed)."""
    if fault.kind == "connection-reset":
        if abort(send):
            return 0, CLOSED
        fault = NetworkFault("html-502")  # a server that hides its connection: the nearest an edge can do
    if fault.seconds:
        await hold(fault.seconds)
    status, title = PAGES[fault.kind]
    page = edge_page(title)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/html"), (b"content-length", b"%d" % len(page))]})
    await send({"type": "http.response.body", "body": page})
    return status, page


def abort(send: Send) -> bool:
    """Close the request's connection at once, answering nothing. uvicorn's `send` is bound to
    its request cycle, which holds the transport (a wrapper that keeps the send it wraps as
    `__wrapped__`, as the access log does, is looked through)."""
    current: Any = send
    for _ in range(5):
        transport = getattr(getattr(current, "__self__", None), "transport", None)
        if transport is not None:
            transport.abort()
            return True
        current = getattr(current, "__wrapped__", None)
        if current is None:
            break
    return False
