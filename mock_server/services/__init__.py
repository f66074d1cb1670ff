"""The rules of the API as small services (admission, accounts, tasks, settlement, result
links, uploads) and the scheduler that moves them along the virtual clock."""

from mock_server.services.assembly import Services

__all__ = ["Services"]
