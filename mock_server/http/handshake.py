"""`serve --tls`: the listener's TLS, run by the connection's own protocol so that a failed
handshake is seen. uvicorn would hand the certificate to the event loop, and the loop drops
a failed handshake silently; here the connection's first protocol puts asyncio's TLS protocol
in front of the HTTP one before any byte is read (no race with the loop's first read), and
a client that does not trust the mock's CA is told once per address with the fix."""

from __future__ import annotations

import asyncio
import functools
import math
import ssl
from asyncio import sslproto
from typing import Any

from mock_server.http.guard import HEADER_SECONDS_ATTRIBUTE, GuardedHttpTools
from mock_server.intercept import TrustWarnings
from mock_server.tls import server_context

TLS_FILES_ATTRIBUTE = "apikley_tls_files"  # (certificate, key) paths on uvicorn's Config: workers get it pickled
TRUST = TrustWarnings()  # one per process, as the listener is


class GuardedHttpsTools(asyncio.Protocol):
    """uvicorn's protocol class for `--tls`: TLS first, then the guarded HTTP protocol."""

    def __init__(self, config: Any, server_state: Any, app_state: Any, _loop: Any = None) -> None:
        self._inner = functools.partial(GuardedHttpTools, config, server_state, app_state, _loop)
        self._context = server_context(*getattr(config, TLS_FILES_ATTRIBUTE))
        self._handshake_seconds = math.ceil(getattr(config, HEADER_SECONDS_ATTRIBUTE, 10.0))  # typed as int

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        tls = sslproto.SSLProtocol(loop, self._inner(), self._context, done, server_side=True,
                                   ssl_handshake_timeout=self._handshake_seconds)
        transport.set_protocol(tls)  # from now on every byte, and the end, goes to TLS
        tls.connection_made(transport)
        done.add_done_callback(functools.partial(_handshake_ended, transport.get_extra_info("peername")))


def _handshake_ended(peer: object, done: asyncio.Future[None]) -> None:
    if not done.cancelled() and isinstance(error := done.exception(), ssl.SSLError):
        TRUST.failed(peer, error)  # a reset or a timeout is no client's mistrust: not said


def tls_config(config: Any, files: tuple[str, str]) -> Any:
    """uvicorn's (guarded) `config` made to speak TLS with `files`."""
    config.http = GuardedHttpsTools
    setattr(config, TLS_FILES_ATTRIBUTE, files)
    return config
