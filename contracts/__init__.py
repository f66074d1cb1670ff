"""apikley-mock's contract toolkit: what the bundled spec promises, and checks that hold servers to it."""

from contracts.spec.document import load_spec, operation, operations, spec_path
from contracts.spec.validators import RequestInvalid, request_validators

__all__ = ["RequestInvalid", "load_spec", "operation", "operations", "request_validators",
           "spec_path"]
