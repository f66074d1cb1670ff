"""The bundled OpenAPI document: where it lives, loading it once, and walking it.

The spec is the one source of truth for paths, schemas, codes and examples; everything
else reads facts from here instead of restating them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SPEC_FILE = "apikley.yaml"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

JSON = dict[str, Any]


def spec_path() -> Path:
    """The spec inside an installed wheel, else the repo's `openapi/` (editable checkout)."""
    package = Path(__file__).resolve().parents[1]  # contracts/
    bundled = package / "openapi" / SPEC_FILE
    if bundled.is_file():
        return bundled
    return package.parent / "openapi" / SPEC_FILE


# libyaml's parser when PyYAML was built with it (five times faster at start-up), else PyYAML's own.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(text: str) -> Any:
    """YAML as `yaml.safe_load` reads it (safe tags only)."""
    return yaml.load(text, Loader=_LOADER)


@functools.cache
def load_spec() -> JSON:
    """The raw document, `$ref`s intact. Shared: callers must not mutate it."""
    with spec_path().open(encoding="utf-8") as handle:
        document = read_yaml(handle.read())
    if not isinstance(document, dict):
        raise ValueError(f"{spec_path()}: not an OpenAPI document")
    return document


def resolve_pointer(document: JSON, ref: str) -> Any:
    """The node a local `#/a/b` reference points at."""
    if not ref.startswith("#/"):
        raise ValueError(f"only local references are supported, got {ref!r}")
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def dereference(document: JSON, node: Any) -> Any:
    """`node` with every `$ref` replaced by its target (the bundled spec is acyclic)."""
    if isinstance(node, dict):
        if "$ref" in node:
            return dereference(document, resolve_pointer(document, node["$ref"]))
        return {key: dereference(document, value) for key, value in node.items()}
    if isinstance(node, list):
        return [dereference(document, item) for item in node]
    return node


@dataclass(frozen=True)
class Operation:
    """One operation of the spec, fully dereferenced."""

    operation_id: str
    method: str
    path: str
    definition: JSON

    def response(self, status: int | str) -> JSON | None:
        responses: JSON = self.definition.get("responses", {})
        found = responses.get(str(status))
        return found if isinstance(found, dict) else None

    @property
    def statuses(self) -> frozenset[int]:
        """The statuses (envelope codes) this operation documents."""
        return frozenset(int(status) for status in self.definition.get("responses", {}) if status.isdigit())

    def body_schema(self, media_type: str = "application/json") -> JSON:
        """The request body's schema for `media_type` ({} when it has none)."""
        content = self.definition.get("requestBody", {}).get("content", {})
        found: JSON = content.get(media_type, {}).get("schema", {})
        return found


def operations(document: JSON | None = None) -> Iterator[Operation]:
    """Every operation under `paths`, in document order."""
    document = document if document is not None else load_spec()
    for path, item in document["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                definition = dereference(document, item[method])
                yield Operation(definition["operationId"], method.upper(), path, definition)


def operation_at(method: str, path: str, document: JSON | None = None) -> Operation:
    """The operation at `method path` of `document` (the bundled spec by default)."""
    for found in operations(document):
        if found.method == method.upper() and found.path == path:
            return found
    raise KeyError(f"no {method.upper()} {path} in the document")


@functools.cache
def operation(operation_id: str) -> Operation:
    for found in operations():
        if found.operation_id == operation_id:
            return found
    raise KeyError(f"no operation {operation_id!r} in {spec_path()}")


def schema(name: str) -> JSON:
    """A component schema, dereferenced."""
    document = load_spec()
    found: JSON = dereference(document, document["components"]["schemas"][name])
    return found
