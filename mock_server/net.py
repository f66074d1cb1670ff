"""Which hosts count as this machine's own: loopback clients may use the control API, and
loopback callback targets and file URLs need no allow-list; which URLs are the mock's own;
and how the mock marks its own outgoing calls (callbacks, file fetches), so that it never
takes one of them for a loopback client of its control API."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import NamedTuple
from urllib.parse import urlsplit

OUTGOING_HEADER = "X-Apikley-Mock-Outgoing"
OUTGOING_HEADERS = {"User-Agent": "apikley-mock", OUTGOING_HEADER: "1"}
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


def is_loopback(host: str) -> bool:
    if host.lower().rstrip(".") in LOOPBACK_NAMES or host.lower().endswith(".localhost"):
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


def is_this_machine(host: str) -> bool:
    """Loopback, or the unspecified address (0.0.0.0, ::), which reaches this machine's listeners."""
    if is_loopback(host):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


class Target(NamedTuple):
    """Where a call goes, with what is known of its host (worked out once, as parsing is slow)."""

    host: str  # lower case
    port: int
    origin: str  # scheme://host[:port]
    this_machine: bool  # loopback or unspecified
    internal: bool  # an IP literal no public service lives at (loopback excepted)


def target_of(url: str) -> Target | None:
    """Where a call to `url` goes; None when it names no host."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if not host:
        return None
    return Target(host, port, f"{parts.scheme}://{parts.netloc.lower()}", is_this_machine(host),
                  is_internal_address(host))


class OwnAddresses:
    """Where this mock can be reached: the listeners it has served requests on (learned from
    them: a worker or test server knows its port only then) and its public URL."""

    def __init__(self, public_url: str | None = None) -> None:
        self.public = {origin for origin in [origin_of(public_url or "")] if origin}
        self.ports: set[int] = set()

    def learn(self, server: tuple[str, int] | None) -> None:
        if server is not None and server[1] not in self.ports:
            self.ports.add(server[1])

    def includes(self, target: Target | None) -> bool:
        """Whether a call to `target` would reach this mock itself: a loopback or unspecified
        host on a port it listens on, or its public URL."""
        if target is None:
            return False
        return (target.port in self.ports and target.this_machine) or target.origin in self.public

    def includes_url(self, url: str) -> bool:
        return self.includes(target_of(url))
