"""apikley-mock's contract toolkit: what the bundled spec promises, and checks that hold servers to it.

Its public names are imported when first used (its pytest plugin imports the package in
every session).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from contracts.spec.document import load_spec, operation, operations, spec_path
    from contracts.spec.validators import RequestInvalid, request_validators

__all__ = ["RequestInvalid", "load_spec", "operation", "operations", "request_validators", "spec_path"]
_HOMES = {"load_spec": "contracts.spec.document", "operation": "contracts.spec.document",
          "operations": "contracts.spec.document", "spec_path": "contracts.spec.document",
          "RequestInvalid": "contracts.spec.validators", "request_validators": "contracts.spec.validators"}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'contracts' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
