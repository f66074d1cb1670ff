"""What this installation is: its version, for both CLIs' `--version` (kept apart from the
CLIs so that asking costs no import of the toolkit)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as installed_version

DISTRIBUTION = "apikley-mock"


def version() -> str:
    try:
        return installed_version(DISTRIBUTION)
    except PackageNotFoundError:  # a checkout not installed
        return "unknown"
