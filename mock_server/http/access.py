"""Who may use the mock's own surfaces (the control API, the dashboard): loopback clients, or
anyone presenting `--admin-token` as `X-Mock-Admin-Token` (a browser page: `?token=`)."""

from __future__ import annotations

import hmac

from starlette.requests import Request

from mock_server.net import is_loopback

ADMIN_HEADER = "x-mock-admin-token"
TOKEN_PARAM = "token"


def is_trusted(request: Request, admin_token: str | None, *, token_in_query: bool = False) -> bool:
    client = request.client.host if request.client else ""
    if is_loopback(client):
        return True
    if admin_token is None:
        return False
    presented = request.headers.get(ADMIN_HEADER, "")
    if token_in_query and not presented:
        presented = request.query_params.get(TOKEN_PARAM, "")
    return hmac.compare_digest(presented.encode(), admin_token.encode())
