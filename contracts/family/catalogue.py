"""The loaded models, and createTask validated by model: the body's `model` picks that
model's compiled validator (compiled once, when the catalogue is built)."""

from __future__ import annotations

import dataclasses
import reprlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from contracts.family.pages import ModelPage, load_pages
from contracts.spec.document import JSON
from contracts.spec.names import CREATE_TASK
from contracts.spec.validators import (
    CompiledSchema,
    RequestInvalid,
    RequestValidator,
    compile_schema,
    request_validators,
)

_short = reprlib.Repr()
_short.maxstring = 60


class ModelCatalogue:
    def __init__(self, pages: list[ModelPage]) -> None:
        self.pages = {page.model_id: page for page in pages}
        self.default = pages[0]
        seed = request_validators()[CREATE_TASK].body
        assert isinstance(seed, CompiledSchema)
        self._schemas: dict[str, CompiledSchema] = {
            page.model_id: seed if page is self.default else compile_schema(page.body_schema) for page in pages}
        # With the seed model alone, createTask's validator is the seed's own, as it always was.
        seed_validator = request_validators()[CREATE_TASK]
        self._validator = seed_validator if len(pages) == 1 else dataclasses.replace(seed_validator, body=self)

    @classmethod
    def load(cls, paths: Iterable[str | Path] = ()) -> ModelCatalogue:
        """The seed model plus the pages under `paths`; raises `ModelPageError` on a bad page."""
        return cls(load_pages(paths))

    def page(self, model_id: object) -> ModelPage:
        """The model's page (the default for a body that names none it knows)."""
        return self.pages.get(model_id, self.default) if isinstance(model_id, str) else self.default

    def check(self, instance: Any, root: str = "body") -> None:
        """createTask's body, by the rules of the model it names."""
        model = instance.get("model") if isinstance(instance, dict) else None
        schema = self._schemas.get(model) if isinstance(model, str) else None
        if schema is None:
            if isinstance(model, str) and len(self._schemas) > 1:
                raise RequestInvalid(f"model: {_short.repr(model)} is not one of {list(self._schemas)}")
            schema = self._schemas[self.default.model_id]  # its messages: missing, not a string, unknown
        schema.check(instance, root)

    def accepts(self, body: Any) -> bool:
        return self._validator.accepts(body)

    def create_task_validator(self) -> RequestValidator:
        """createTask's validator, its body checked by model."""
        return self._validator

    def describe(self) -> list[JSON]:
        return [page.describe() for page in self.pages.values()]

    def openapi(self, document: JSON) -> JSON:
        """`document` (the bundled spec) with createTask's body a `oneOf` over every loaded
        model, discriminated by `model`; unchanged with one model."""
        if len(self.pages) == 1:
            return document
        patched = dict(document)
        paths = dict(patched["paths"])
        create = {key: dict(value) if isinstance(value, dict) else value
                  for key, value in paths[self.default.operation.path].items()}
        post = dict(create["post"])
        body = {"required": True, "content": {"application/json": {"schema": {
            "oneOf": [page.body_schema for page in self.pages.values()],
            "discriminator": {"propertyName": "model"}}}}}
        post["requestBody"] = body
        post["summary"] = "Create a generation task for any loaded model"
        create["post"] = post
        paths[self.default.operation.path] = create
        patched["paths"] = paths
        return patched
