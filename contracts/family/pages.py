"""The model family: model pages (OpenAPI documents in the seed's format) loaded, checked, and
read for what a model takes and makes. No Python per model: everything comes from the page.

A page defines `POST /api/v1/jobs/createTask` with a `model` enum of exactly one id and the
model's own `input` schema. The bundled spec's createTask is the seed model, always loaded.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from contracts.spec.document import JSON, Operation, load_spec, operation_at, read_yaml, spec_path
from contracts.spec.names import CREATE_TASK_PATH

OUTPUT_KINDS = ("video", "image", "audio", "text")  # text: a `resultObject`, no file
OUTPUT_EXTENSION = "x-apikley-output"
CREDITS_EXTENSION = "x-apikley-credits"
RESULTS_EXTENSION = "x-apikley-results"  # a set of files the model always returns
PAGE_SUFFIXES = (".json", ".yaml", ".yml")
class ModelPageError(ValueError):
    """A model page that cannot be loaded; the message names the file and the problem."""


@dataclass(frozen=True)
class ModelPage:
    """One model: its id, where it came from, its createTask operation and what it outputs."""

    model_id: str
    source: str
    operation: Operation
    output: str
    credits: float | Mapping[str, float] | None
    document: JSON  # the whole page, `$ref`s intact (what schemathesis generates from)
    # What requests of each shape ask this model to make (contracts.family.outputs), worked out once.
    shapes: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    @functools.cached_property
    def vendor(self) -> str:
        return self.model_id.split("/", 1)[0]

    @property
    def body_schema(self) -> JSON:
        return self.operation.body_schema()

    @property
    def input_schema(self) -> JSON:
        found: JSON = self.body_schema.get("properties", {}).get("input", {})
        return found

    @property
    def input_fields(self) -> tuple[str, ...]:
        return tuple(self.input_schema.get("properties", {}))

    @functools.cached_property
    def results(self) -> int | None:
        found = self.operation.definition.get(RESULTS_EXTENSION)
        return found if isinstance(found, int) and not isinstance(found, bool) and found > 0 else None

    @functools.cached_property
    def input_defaults(self) -> JSON:
        """The defaults the page declares for its input fields (read-only: shared)."""
        return {name: spec["default"] for name, spec in self.input_schema.get("properties", {}).items()
                if "default" in spec}

    def example_body(self) -> JSON:
        """The page's own createTask example, else one built from the schema's examples."""
        media = self.operation.definition.get("requestBody", {}).get("content", {}).get("application/json", {})
        if isinstance(media.get("example"), dict):
            return dict(media["example"])
        required = self.input_schema.get("required", [])
        fields = {name: placeholder(name, field) for name, field in self.input_schema.get("properties", {}).items()
                  if name in required or "example" in field}
        return {"model": self.model_id, "input": fields}

    def describe(self) -> JSON:
        return {"model": self.model_id, "source": self.source, "output": self.output,
                "vendor": self.vendor, "inputFields": list(self.input_fields),
                "required": list(self.input_schema.get("required", [])),
                "factsSource": self.document.get("x-apikley-source"),
                "factsDate": self.document.get("x-apikley-facts-date")}


def placeholder(name: str, field: JSON) -> Any:
    """A value the field accepts: its example, default or first enum value, else one by type."""
    for key in ("example", "default"):
        if key in field:
            return field[key]
    if field.get("enum"):
        return field["enum"][0]
    kind = field.get("type", "string")
    if kind == "array":
        return [placeholder(name, field.get("items", {}))]
    if kind in ("integer", "number"):
        return field.get("minimum", 1)
    if kind == "boolean":
        return False
    if kind == "object":
        return {}
    return "https://example.com/cup.png" if "url" in name or field.get("format") == "uri" else "apikley-mock example"


def seed_page() -> ModelPage:
    """The bundled spec's createTask: the seed model, the default."""
    return page_from(load_spec(), "bundled:" + spec_path().name)


def load_pages(paths: Iterable[str | Path]) -> list[ModelPage]:
    """The seed model, then every page under `paths` (files, or directories of pages), checked:
    a bad page raises `ModelPageError` naming it."""
    pages = [seed_page()]
    for given in paths:
        path = Path(given)
        if path.is_dir():
            files = sorted(found for found in path.iterdir() if found.suffix in PAGE_SUFFIXES)
            if not files:
                raise ModelPageError(f"{path}: a directory with no model pages ({', '.join(PAGE_SUFFIXES)})")
        elif path.is_file():
            files = [path]
        else:
            raise ModelPageError(f"{path}: no such file or directory")
        for file in files:
            page = page_from(read_document(file), str(file))
            clash = next((known for known in pages if known.model_id == page.model_id), None)
            if clash is not None:
                raise ModelPageError(f"{file}: model {page.model_id!r} is already defined by {clash.source}")
            pages.append(page)
    return pages


def read_document(file: Path) -> JSON:
    try:
        text = file.read_text(encoding="utf-8")
        document = json.loads(text) if file.suffix == ".json" else read_yaml(text)
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        raise ModelPageError(f"{file}: cannot be read as {file.suffix[1:].upper()} ({exc})") from exc
    if not isinstance(document, dict) or not str(document.get("openapi", "")).startswith("3.0"):
        raise ModelPageError(f"{file}: not an OpenAPI 3.0 document (no `openapi: 3.0.x`)")
    from openapi_spec_validator import validate
    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

    try:
        validate(document)
    except OpenAPIValidationError as exc:
        raise ModelPageError(f"{file}: not a valid OpenAPI 3.0 document ({str(exc).splitlines()[0]})") from exc
    return document


def page_from(document: JSON, source: str) -> ModelPage:
    try:
        found = operation_at("POST", CREATE_TASK_PATH, document)
    except KeyError as exc:
        raise ModelPageError(f"{source}: defines no POST {CREATE_TASK_PATH}") from exc
    model = found.body_schema().get("properties", {}).get("model", {})
    ids = model.get("enum") if isinstance(model, dict) else None
    if not isinstance(ids, list) or len(ids) != 1 or not isinstance(ids[0], str):
        raise ModelPageError(f"{source}: the `model` property must be an enum of exactly one id (got {ids!r})")
    if ":" in ids[0]:  # `<api>:<model>` names another API's model (contracts.apis)
        raise ModelPageError(f"{source}: a model id may not contain ':' (got {ids[0]!r})")
    output = found.definition.get(OUTPUT_EXTENSION) or document.get(OUTPUT_EXTENSION) or infer_output(
        ids[0], found.body_schema().get("properties", {}).get("input", {}).get("properties", {}))
    if output not in OUTPUT_KINDS:
        raise ModelPageError(f"{source}: {OUTPUT_EXTENSION} must be one of {list(OUTPUT_KINDS)} (got {output!r})")
    credits = found.definition.get(CREDITS_EXTENSION)
    return ModelPage(ids[0], source, found, output, credits, document)


def infer_output(model_id: str, input_fields: Mapping[str, Any]) -> str:
    """video, image or audio, from the model id (then the input fields); video when unsure."""
    name = model_id.lower()
    if "video" in name:
        return "video"
    if any(word in name for word in ("audio", "music", "speech", "tts", "voice", "song")):
        return "audio"
    if "image" in name or "output_format" in input_fields or "image_size" in input_fields:
        return "image"
    return "video"


__all__ = ["ModelPage", "ModelPageError", "load_pages", "seed_page"]
