"""How connections are accepted. Slow clients are held to a deadline (slowloris): a connection
must finish each request's headers within `header_seconds` (the `header_timeout_seconds`
setting) of its first byte (and send a first byte that soon after it opens), or it is closed.
uvicorn's own keep-alive timer is cancelled by any byte that arrives, so a client dripping one
byte at a time would otherwise hold a connection for ever. The body has its own deadline, in
the body reader."""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEADER_SECONDS_ATTRIBUTE = "apikley_header_seconds"  # set on uvicorn's Config (which workers get pickled)


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


def guarded_config(config: Any, header_seconds: float, tls: tuple[str, str] | None = None) -> Any:
    """uvicorn's `config`, its connections held to `header_seconds` for their headers (and
    their TLS handshake), speaking TLS with the (certificate, key) files `tls` if given."""
    config.http = GuardedHttpTools
    setattr(config, HEADER_SECONDS_ATTRIBUTE, header_seconds)
    if tls is not None:
        from mock_server.http.handshake import tls_config  # it builds on this module

        tls_config(config, tls)
    return config
