"""Which hosts count as this machine's own: loopback clients may use the control API, and
loopback callback targets and file URLs need no allow-list."""

from __future__ import annotations

import ipaddress


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
