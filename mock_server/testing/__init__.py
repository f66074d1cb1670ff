"""For tests of a running mock, over HTTP only: `MockControl` and `AsyncMockControl`, clients
for its control API (what the pytest fixtures expose), and `MockProcess`, the mock's own CLI
as a child process."""

from mock_server.testing.calls import FINAL_RESULTS, ControlError
from mock_server.testing.control import AsyncMockControl, MockControl
from mock_server.testing.process import ENV_PREFIX, MockProcess

__all__ = ["ENV_PREFIX", "FINAL_RESULTS", "AsyncMockControl", "ControlError", "MockControl", "MockProcess"]
