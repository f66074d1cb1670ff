"""The threaded server lives in `contracts.serving` (the contract suite runs receivers with it)."""

from contracts.serving import ThreadedServer

__all__ = ["ThreadedServer"]
