"""The mock's origin, as one rule for every surface: the base URL a client used (its `Host`
header, else the listening address), and the base of the URLs the mock mints (the public URL
when one is set; under a family host, the family's file hosts; else the client's). The API,
the file host and `/openapi.json` all ask here."""

from __future__ import annotations

from starlette.types import Scope

from mock_server.urls import family_origin


def host_of(scope: Scope) -> str | None:
    return next((value.decode("latin-1") for name, value in scope["headers"] if name == b"host"), None)


def request_origin(scope: Scope, host: str | None = None) -> str:
    """`scheme://host[:port][root path]` as the client addressed the mock. `host`: the request's
    Host header when the caller has read it already (the hot path)."""
    if host is None:
        host = host_of(scope)
    if not host:
        server_host, server_port = scope.get("server") or ("127.0.0.1", 80)
        host = f"{server_host}:{server_port}"
    return f"{scope['scheme']}://{host}{scope.get('root_path', '')}"


def minted_origin(scope: Scope, public_url: str | None, host: str | None = None, *, files: bool = False) -> str:
    """The base of every URL the mock mints for this request: the public URL when set; under
    one of the family's hosts, the family's own file host (https, as upstream's answers;
    `files`: the uploads' host, else the results'); else the origin the client used."""
    if public_url:
        return public_url
    if host is None:
        host = host_of(scope)
    return family_origin(host, files=files) or request_origin(scope, host)
