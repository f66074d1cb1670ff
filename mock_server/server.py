"""The threaded server lives in `contracts.run.serving` (the contract suite runs receivers with it)."""

from contracts.run.serving import ThreadedServer

__all__ = ["ThreadedServer"]
