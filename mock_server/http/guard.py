"""How connections are accepted. Slow clients are held to a deadline (slowloris): a connection
must finish each request's headers within `header_seconds` (the `header_timeout_seconds`
setting) of its first byte (and send a first byte that soon after it opens), or it is closed.
uvicorn's own keep-alive timer is cancelled by any byte that arrives, so a client dripping one
byte at a time would otherwise hold a connection for ever. The body has its own deadline, in
the body reader.

With `serve --tls` the protocol runs the TLS handshake itself (asyncio's `start_tls`) rather
than leaving it to the event loop, which drops a failed one silently: a client that does not
trust the mock's CA is told in the log, once per address, how to fix it."""

from __future__ import annotations

import asyncio
import ssl
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from mock_server.intercept import TrustWarnings

HEADER_SECONDS_ATTRIBUTE = "apikley_header_seconds"  # set on uvicorn's Config (which workers get pickled)
TLS_FILES_ATTRIBUTE = "apikley_tls_files"  # (certificate, key): a context is made in each process
HANDSHAKE_SECONDS = 10.0


class GuardedHttpTools(HttpToolsProtocol):
    def __init__(self, config: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self.header_seconds: float = getattr(config, HEADER_SECONDS_ATTRIBUTE, 10.0)
        self._header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._header_deadline = self.loop.call_later(self.header_seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _too_slow(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            self.transport.close()


class TLSGuardedHttpTools(GuardedHttpTools):
    """GuardedHttpTools behind a TLS handshake of its own (see the module's docstring)."""

    contexts: ClassVar[dict[tuple[str, str], ssl.SSLContext]] = {}  # per process: made once from the files
    trust: ClassVar[TrustWarnings] = TrustWarnings()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        transport.pause_reading()  # nothing is read before the handshake takes the connection
        self.loop.create_task(self._handshake(transport))

    async def _handshake(self, raw: asyncio.Transport) -> None:
        cert, key = getattr(self.config, TLS_FILES_ATTRIBUTE)
        context = self.contexts.get((cert, key))
        if context is None:
            context = self.contexts[(cert, key)] = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(cert, key)
        try:
            secured = await self.loop.start_tls(raw, self, context, server_side=True,
                                                ssl_handshake_timeout=HANDSHAKE_SECONDS)
        except (ssl.SSLError, OSError, TimeoutError) as exc:
            if isinstance(exc, ssl.SSLError):
                self.trust.failed(raw.get_extra_info("peername"), exc)
            raw.close()
            return
        if secured is None:  # the client went away during the handshake
            raw.close()
            return
        super().connection_made(secured)


def guarded_config(config: Any, header_seconds: float, tls: tuple[str, str] | None = None) -> Any:
    """uvicorn's `config`, its connections held to `header_seconds` for their headers, and
    with `tls` (certificate and key files) behind a TLS handshake of their own."""
    config.http = TLSGuardedHttpTools if tls else GuardedHttpTools
    setattr(config, HEADER_SECONDS_ATTRIBUTE, header_seconds)
    setattr(config, TLS_FILES_ATTRIBUTE, tls)
    return config
