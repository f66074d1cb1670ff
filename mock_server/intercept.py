"""`serve --proxy-port PORT`: the mock as an HTTP forward proxy for clients that hard-code the
family's hosts (`HTTPS_PROXY=http://127.0.0.1:PORT` plus the mock's CA): `CONNECT host:443`
to a family host (or a `--tls-host`) lands on the mock, TLS terminated with a certificate of
the mock's CA (or tunnelled as is to a `--tls` listener); plain `http://` proxy requests to
those hosts too. Any other host is refused at once, in plain text: the mock never reaches the
network. It only moves bytes between the client and the mock's own listener, in a thread of
its own, so the listener (one process or workers) serves the requests as any other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import threading
from collections.abc import Iterable
from urllib.parse import urlsplit

HEAD_LIMIT = 64 * 1024  # bytes of a proxy request's head
HEAD_TIMEOUT_SECONDS = 10.0
CHUNK = 64 * 1024
LOG = logging.getLogger("apikley_mock.tls")
UNTRUSTED_FIX = "run `apikley-mock ca env` and export what it prints (or give the client the mock's CA)"


class TrustWarnings:
    """A failed TLS handshake (a client that does not trust the mock's CA, or one speaking
    plain HTTP to TLS), said once per client address and kind with the fix."""

    def __init__(self) -> None:
        self._told: set[tuple[str, bool]] = set()

    def failed(self, peer: object, exc: BaseException) -> None:
        address = str(peer[0]) if isinstance(peer, tuple) and peer else str(peer)  # (host, port[, ...])
        reason = getattr(exc, "reason", None) or exc
        plain = reason == "HTTP_REQUEST"
        if (address, plain) in self._told:
            return
        self._told.add((address, plain))
        if plain:
            LOG.warning("%s sent plain HTTP to the mock's TLS listener: use https://", address)
        else:
            LOG.warning("a TLS handshake from %s failed (%s): does it trust the mock's CA? %s", address, reason,
                        UNTRUSTED_FIX)


class ForwardProxy:
    def __init__(self, *, target: tuple[str, int], hosts: Iterable[str], server_tls: ssl.SSLContext,
                 listener_tls: ssl.SSLContext | None = None) -> None:
        """`target`: the mock's listener; `server_tls`: what a CONNECT is answered with;
        `listener_tls`: a client context when the listener itself speaks TLS (`--tls`)."""
        self.target = target
        self.hosts = frozenset(host.lower() for host in hosts)
        self.server_tls = server_tls
        self.listener_tls = listener_tls
        self._trust = TrustWarnings()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None

    # --- running it --------------------------------------------------------------------
    def start(self, host: str, port: int) -> int:
        """Serve on (host, port) in a daemon thread; returns the port bound (port 0: a free one)."""
        started = threading.Event()
        bound: list[int] = []
        failed: list[OSError] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                self._server = loop.run_until_complete(asyncio.start_server(self._serve, host, port,
                                                                            limit=HEAD_LIMIT))
            except OSError as exc:  # the port is in use: said by start()
                failed.append(exc)
                started.set()
                return
            bound.append(self._server.sockets[0].getsockname()[1])
            started.set()
            loop.run_forever()
            loop.close()

        threading.Thread(target=run, name="apikley-mock-proxy", daemon=True).start()
        if not started.wait(HEAD_TIMEOUT_SECONDS):
            raise OSError(f"the forward proxy did not start on {host}:{port}")
        if failed:
            raise OSError(f"cannot listen on {host}:{port}: {failed[0].strerror or failed[0]}")
        return bound[0]

    def stop(self) -> None:
        """Stop listening, end the connections still open, stop its loop."""
        loop = self._loop
        if loop is not None and loop.is_running():
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(HEAD_TIMEOUT_SECONDS)
            loop.call_soon_threadsafe(loop.stop)

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    # --- one client ----------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT_SECONDS)
            method, target, _ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError, ConnectionError):
            writer.close()
            return
        try:
            if method.upper() == "CONNECT":
                await self._tunnel(target, reader, writer)
            else:
                await self._forward(target, head, reader, writer)
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def _tunnel(self, target: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host = target.rpartition(":")[0].strip("[]").lower() or target.lower()
        if host not in self.hosts:
            await self._refuse(writer, host)
            return
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        if self.listener_tls is not None:  # the listener terminates TLS itself: tunnel the bytes
            upstream = await asyncio.open_connection(*self.target)
        else:
            try:
                await writer.start_tls(self.server_tls)
            except (ssl.SSLError, ConnectionError) as exc:
                self._trust.failed(writer.get_extra_info("peername"), exc)
                return
            upstream = await asyncio.open_connection(*self.target)
        await _pipe(reader, writer, *upstream)

    async def _forward(self, target: str, head: bytes, reader: asyncio.StreamReader,
                       writer: asyncio.StreamWriter) -> None:
        host = (urlsplit(target).hostname or "").lower()
        if not target.lower().startswith("http://") or host not in self.hosts:
            await self._refuse(writer, host or target[:100])
            return
        upstream = await asyncio.open_connection(
            *self.target, ssl=self.listener_tls, server_hostname=host if self.listener_tls else None)
        upstream[1].write(head)  # the absolute-form request line: the listener reads its path
        await _pipe(reader, writer, *upstream)

    async def _refuse(self, writer: asyncio.StreamWriter, host: str) -> None:
        text = (f"apikley-mock stands in for {', '.join(sorted(self.hosts))} only; it does not reach the "
                f"network (asked for {host!r})\n").encode()
        writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\n"
                     b"Connection: close\r\nContent-Length: " + str(len(text)).encode() + b"\r\n\r\n" + text)
        await writer.drain()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                upstream_reader: asyncio.StreamReader, upstream_writer: asyncio.StreamWriter) -> None:
    async def copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while chunk := await source.read(CHUNK):
                sink.write(chunk)
                await sink.drain()
        except (ConnectionError, OSError, ssl.SSLError):
            pass
        finally:
            if sink.can_write_eof():
                with contextlib.suppress(OSError, RuntimeError):
                    sink.write_eof()

    try:
        await asyncio.gather(copy(reader, upstream_writer), copy(upstream_reader, writer))
    finally:
        upstream_writer.close()
