"""What the bundled spec says, read once: the document and its operations, the API's names
(operation ids, paths, callback signing), compiled request validators, openapi-core's verdict
on a response, and the task lifecycle. The floor every other room of `contracts` stands on."""

from contracts.spec.document import JSON, Operation, load_spec, operation, operation_at, operations, schema, spec_path

__all__ = ["JSON", "Operation", "load_spec", "operation", "operation_at", "operations", "schema", "spec_path"]
