"""Which hosts count as this machine's own: loopback clients may use the control API, and
loopback callback targets and file URLs need no allow-list; and which URLs are the mock's own."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def origin_of(url: str) -> str | None:
    """`scheme://host[:port]` of a URL, or None when it has none or cannot be parsed."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError on a port that is not a number
    except ValueError:
        return None
    return f"{parts.scheme}://{parts.netloc.lower()}" if parts.scheme and parts.netloc else None


def is_own_url(url: str, origins: Iterable[str]) -> bool:
    """A URL on one of the mock's origins (its public URL, the one the client used), or on
    a loopback host: both forms of the mock's own links are recognised."""
    origin = origin_of(url)
    if origin is None:
        return False
    return origin in {origin_of(own) for own in origins} or is_loopback((urlsplit(url).hostname or "").lower())


def is_internal_address(host: str) -> bool:
    """An IP literal no public service lives at (private, link-local, reserved, multicast,
    unspecified), loopback excepted: loopback is this machine, which the mock may call."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False  # a name: the mock resolves nothing, and calls only loopback or allowed hosts
    if address.is_loopback:
        return False
    return (address.is_private or address.is_link_local or address.is_reserved or address.is_multicast
            or address.is_unspecified)
