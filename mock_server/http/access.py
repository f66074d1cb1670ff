"""Who may use the mock's own surfaces (the control API, the dashboard), and how they resist a
browser that a web page drives.

Trusted: anyone presenting `--admin-token` as `X-Mock-Admin-Token` (a browser page: `?token=`),
or a loopback client, but only as a developer's own tools send: addressed by a loopback name,
the listener's own address or the public URL's host (a page that rebinds its own domain to
127.0.0.1 sends its domain), with no foreign `Origin` (a page on another site driving the
browser), and never the mock's own outgoing calls (a callback or file fetch aimed back at it).
Bodies must be JSON (`json_body`): a form or `text/plain` post from a page is refused.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.requests import Request

from mock_server.errors import CONTROL_FORBIDDEN, FOREIGN_HOST, FOREIGN_ORIGIN, OWN_CALL, ApiError
from mock_server.net import OUTGOING_HEADER, is_loopback

ADMIN_HEADER = "x-mock-admin-token"
TOKEN_PARAM = "token"


class Access:
    def __init__(self, admin_token: str | None, *, own_hosts: Iterable[str] = ()) -> None:
        self._token = admin_token.encode() if admin_token else None
        self._own_hosts = {host.lower() for host in own_hosts}

    def check(self, request: Request, *, token_in_query: bool = False) -> None:
        """Raise a 403 `ApiError` saying why, unless the request may use the control surfaces."""
        if OUTGOING_HEADER.lower() in request.headers:
            raise ApiError(403, OWN_CALL)
        if self._presents_token(request, token_in_query):
            return
        client = request.client.host if request.client else ""
        if not is_loopback(client):
            raise ApiError(403, CONTROL_FORBIDDEN)
        host = request.headers.get("host", "")
        if not self._own_host(host, request):
            raise ApiError(403, FOREIGN_HOST.format(host=host[:100]))
        origin = request.headers.get("origin")
        if origin is not None and not _same_origin(origin, host):
            raise ApiError(403, FOREIGN_ORIGIN.format(origin=origin[:100]))

    def _presents_token(self, request: Request, token_in_query: bool) -> bool:
        if self._token is None:
            return False
        presented = request.headers.get(ADMIN_HEADER, "")
        if token_in_query and not presented:
            presented = request.query_params.get(TOKEN_PARAM, "")
        return hmac.compare_digest(presented.encode(), self._token)

    def _own_host(self, host: str, request: Request) -> bool:
        name = (urlsplit(f"//{host}").hostname or "") if host else ""
        server = request.scope.get("server")
        listener = str(server[0]).lower() if server else ""
        return is_loopback(name) or name in self._own_hosts or (bool(name) and name == listener)


def _same_origin(origin: str, host: str) -> bool:
    """A browser's `Origin` for a page served by this same host and port."""
    try:
        return urlsplit(origin).netloc.lower() == host.lower()
    except ValueError:
        return False
