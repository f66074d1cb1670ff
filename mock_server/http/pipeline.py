"""The one request pipeline, for every operation of the spec:

    authenticate -> admit -> read the body -> validate -> call one service method -> render

Each operation is an `OperationEndpoint` (a plain ASGI app, still routed by Starlette: on
this hot path Starlette's Request and Response objects cost more than the work itself),
built once at start-up from the operation's compiled validator, its body reader, its service
call and the renderer of its surface. Every answer is journaled per key.
"""

from __future__ import annotations

import inspect
import itertools
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

from starlette.types import Receive, Scope, Send

from contracts.spec.validators import RequestInvalid, RequestValidator
from mock_server.errors import HEADERS_TOO_LARGE, QUERY_TOO_MANY, ApiError, NetworkFault
from mock_server.http import faults
from mock_server.http.auth import KeyRing
from mock_server.http.excerpts import exchange
from mock_server.http.origin import minted_origin, request_origin
from mock_server.http.readers import BodyReader
from mock_server.http.render import Renderer, crash
from mock_server.net import OwnAddresses
from mock_server.services.admission import Admission
from mock_server.sim.clock import VirtualClock
from mock_server.sim.lifecycle import Outcome
from mock_server.sim.scenarios import HELD_BACK
from mock_server.store.base import RequestLog

SCENARIO_HEADER = b"x-mock-scenario"
MAX_QUERY_PARAMETERS = 100
MAX_HEADER_BYTES = 64 * 1024
WANTED_HEADERS = frozenset({b"authorization", b"content-type", b"content-length", b"host", SCENARIO_HEADER})
LOG = logging.getLogger("apikley_mock.requests")


class Call(NamedTuple):
    """What a service call needs from a validated request."""

    api_key: str
    body: Any
    file: bytes | None
    query: Mapping[str, str]
    outcome: Outcome | None
    scope: Scope
    host: str | None
    public_url: str | None

    @property
    def origin(self) -> str:
        """The base URL of the URLs the mock mints: its public URL, else the one the client used."""
        return minted_origin(self.scope, self.public_url, self.host)

    @property
    def files_origin(self) -> str:
        """The base URL of upload `downloadUrl`s (under a family host: its upload file host)."""
        return minted_origin(self.scope, self.public_url, self.host, files=True)

    @property
    def own_origins(self) -> tuple[str, ...]:
        """Every base URL of the mock's own links, in every form."""
        return (self.origin, self.files_origin, request_origin(self.scope, self.host))


ServiceCall = Callable[[Call], Any]  # returns the answer's `data`, or an awaitable of it


class OperationEndpoint:
    """One spec operation as an ASGI app."""

    def __init__(self, validator: RequestValidator, call: ServiceCall, *, reader: BodyReader | None,
                 renderer: Renderer, keys: KeyRing, admission: Admission, journal: RequestLog,
                 clock: VirtualClock, own: OwnAddresses, public_url: str | None = None) -> None:
        self.validator = validator
        self.operation_id = validator.operation.operation_id
        self.call = call
        self.awaits = inspect.iscoroutinefunction(call)
        self.reader = reader
        self.renderer = renderer
        self.keys = keys
        self.admission = admission
        self.journal = journal
        self.clock = clock
        self.own = own
        self.public_url = public_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        headers = {name: value for name, value in scope["headers"] if name in WANTED_HEADERS}
        self.own.learn(scope.get("server"))  # where the mock listens: it never calls that
        api_key = ""
        code = 200
        sent: Any = None  # the body as read, for the journal (also when it is refused)
        held = HELD_BACK.set(0)
        try:
            check_request_size(scope)
            api_key = self.keys.authenticate(header(headers, b"authorization"))
            outcome = self.admission.admit(api_key, self.operation_id, header(headers, SCENARIO_HEADER))
            file = None
            if self.reader is not None:
                sent, file = await self.reader.read(scope, receive, headers)
            data = self.call(self.validated(api_key, sent, file, outcome, headers, scope))
            if self.awaits:
                data = await data
            status, raw_headers, body = self.renderer.success(data)
        except NetworkFault as fault:  # no answer of the API's: the network's failure, journaled as such
            status, body = await faults.answer(fault, send)
            HELD_BACK.reset(held)
            self._journal(api_key, scope, status, status, started, sent, body)
            return
        except RequestInvalid as exc:
            code = 422
            status, raw_headers, body = self.renderer.error(ApiError(422, str(exc)))
        except ApiError as exc:
            code = exc.code
            status, raw_headers, body = self.renderer.error(exc)
        except Exception:  # a bug or a store that failed: the envelope's 500, journaled, the connection kept
            LOG.exception("%s %s: unexpected error", scope["method"], scope["path"])
            code = 500
            status, raw_headers, body = self.renderer.error(crash())
        if (hold_ms := HELD_BACK.get()) > 0:  # a latency scenario: the answer waits
            await faults.hold(hold_ms / 1000)
        HELD_BACK.reset(held)
        await send({"type": "http.response.start", "status": status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": body})
        self._journal(api_key, scope, status, code, started, sent, body)

    def _journal(self, api_key: str, scope: Scope, status: int, code: int, started: float,
                 sent: Any, answer: bytes) -> None:
        latency_ms = round((time.perf_counter() - started) * 1000, 3)
        self.journal.record(api_key, (self.clock.now_ms(), scope["method"], scope["path"], self.operation_id,
                                      status, code, latency_ms, *exchange(api_key, scope, sent, answer)))

    def validated(self, api_key: str, body: Any, file: bytes | None, outcome: Outcome | None,
                  headers: Mapping[bytes, bytes], scope: Scope) -> Call:
        """The call, once what it carries holds to the spec."""
        if self.reader is not None:
            self.validator.check_body(body)
        query: Mapping[str, str] = {}
        if self.validator.query:
            query = parse_query(scope["query_string"])
            self.validator.check_query(query)
        return Call(api_key, body, file, query, outcome, scope, header(headers, b"host"), self.public_url)


def check_request_size(scope: Scope) -> None:
    """Refuse a request whose query or headers are past any client's need (before any work)."""
    query = scope["query_string"]
    if query and (count := query.count(b"&") + 1) > MAX_QUERY_PARAMETERS:
        raise ApiError(422, QUERY_TOO_MANY.format(count=count, limit=MAX_QUERY_PARAMETERS))
    size = sum(map(len, itertools.chain.from_iterable(scope["headers"])))
    if size > MAX_HEADER_BYTES:
        raise ApiError(422, HEADERS_TOO_LARGE.format(size=size, limit=MAX_HEADER_BYTES))


def header(headers: Mapping[bytes, bytes], name: bytes) -> str | None:
    value = headers.get(name)
    return value.decode("latin-1") if value is not None else None


def parse_query(raw: bytes) -> dict[str, str]:
    """The query string as a dict (the last value of a repeated name wins); percent-decoding
    only when something is encoded, which polling clients' plain task ids never are."""
    text = raw.decode("latin-1")
    if "%" in text or "+" in text:
        return dict(parse_qsl(text, keep_blank_values=True))
    return dict(pair.partition("=")[::2] for pair in text.split("&") if pair)
