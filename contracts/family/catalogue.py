"""The loaded models, and createTask validated by model: the body's `model` picks that
model's compiled validator (compiled on the model's first createTask, then kept)."""

from __future__ import annotations

import dataclasses
import difflib
import reprlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from contracts.family.bundled import bundled_pages, matches
from contracts.family.pages import ModelPage, ModelPageError, load_pages
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
    def __init__(self, pages: list[ModelPage], *, notices: Iterable[str] = (), given: Iterable[str] = ()) -> None:
        self.pages = {page.model_id: page for page in pages}
        self.default = pages[0]
        self.notices = list(notices)  # what start-up should say (a given page replacing a bundled one)
        self.given = list(given)  # the models of the user's own pages
        seed = request_validators()[CREATE_TASK].body
        assert isinstance(seed, CompiledSchema)
        # Compiled on a model's first createTask: start-up stays fast with every page loaded.
        self._schemas: dict[str, CompiledSchema] = {self.default.model_id: seed}
        self._validator = dataclasses.replace(request_validators()[CREATE_TASK], body=self)

    @classmethod
    def load(cls, paths: Iterable[str | Path] = (), *, models: Iterable[str] = (),
             bundled: bool = True) -> ModelCatalogue:
        """The seed model, the bundled catalogue (narrowed to `models` globs, if any) and the
        pages under `paths`, which may replace bundled ones. Raises `ModelPageError` on a bad
        page or a pattern that matches no model."""
        seed, *given = load_pages(paths)
        catalogue = {page.model_id: page for page in bundled_pages()} if bundled else {}
        notices = [f"{page.source}: replaces the bundled page of {page.model_id}"
                   for page in given if catalogue.pop(page.model_id, None) is not None]
        patterns = list(models)
        for pattern in patterns:
            if not any(matches(page.model_id, [pattern]) for page in (seed, *catalogue.values(), *given)):
                raise ModelPageError(f"models {pattern!r}: matches no model (bundled or given)")
        chosen = [page for page in catalogue.values() if not patterns or matches(page.model_id, patterns)]
        return cls([seed, *chosen, *given], notices=notices, given=[page.model_id for page in given])

    def _schema(self, model: str) -> CompiledSchema | None:
        schema = self._schemas.get(model)
        if schema is None and model in self.pages:
            schema = self._schemas[model] = compile_schema(self.pages[model].body_schema)
        return schema

    def page(self, model_id: object) -> ModelPage:
        """The model's page (the default for a body that names none it knows)."""
        return self.pages.get(model_id, self.default) if isinstance(model_id, str) else self.default

    def check(self, instance: Any, root: str = "body") -> None:
        """createTask's body, by the rules of the model it names. An empty `callBackUrl` is no
        callback, as upstream takes it (a client in production sends one on every call)."""
        if isinstance(instance, dict) and instance.get("callBackUrl") == "":
            instance = {name: value for name, value in instance.items() if name != "callBackUrl"}
        model = instance.get("model") if isinstance(instance, dict) else None
        schema = self._schema(model) if isinstance(model, str) else None
        if schema is None:
            if isinstance(model, str) and len(self.pages) > 1:
                raise RequestInvalid(unknown_model(model, self.pages))
            schema = self._schemas[self.default.model_id]  # its messages: missing, not a string, unknown
        schema.check(instance, root)

    def narrowed(self, patterns: Iterable[str]) -> list[str]:
        """The loaded model ids matching any of `patterns`; raises `ModelPageError` for a
        pattern that matches none."""
        patterns = list(patterns)
        for pattern in patterns:
            if not any(matches(model_id, [pattern]) for model_id in self.pages):
                raise ModelPageError(f"models {pattern!r}: matches no loaded model (GET /__mock__/models lists them)")
        return [model_id for model_id in self.pages if matches(model_id, patterns)]

    def accepts(self, body: Any) -> bool:
        return self._validator.accepts(body)

    def create_task_validator(self) -> RequestValidator:
        """createTask's validator, its body checked by model."""
        return self._validator

    def describe(self) -> list[JSON]:
        return [page.describe() for page in self.pages.values()]

    def openapi(self, document: JSON, model: str | None = None) -> JSON:
        """`document` (the bundled spec) with createTask's body a `oneOf` over every loaded
        model, discriminated by `model` (unchanged with one model); with `model`, that model's
        body alone (and its example)."""
        if len(self.pages) == 1 or model == self.default.model_id:
            return document
        patched = dict(document)
        paths = dict(patched["paths"])
        create = {key: dict(value) if isinstance(value, dict) else value
                  for key, value in paths[self.default.operation.path].items()}
        post = dict(create["post"])
        if model is not None:
            page = self.pages[model]
            media: JSON = {"schema": page.body_schema, "example": page.example_body()}
            post["summary"] = f"Create a task for {model} ({page.output})"
        else:
            media = {"schema": {"oneOf": [page.body_schema for page in self.pages.values()],
                                "discriminator": {"propertyName": "model"}}}
            post["summary"] = "Create a generation task for any loaded model"
        post["requestBody"] = {"required": True, "content": {"application/json": media}}
        create["post"] = post
        paths[self.default.operation.path] = create
        patched["paths"] = paths
        return patched


CLOSEST = 3


def unknown_model(model: str, known: Iterable[str]) -> str:
    """422's message for a model id no page defines, naming the closest loaded ids."""
    known = list(known)
    # Ids that hold the one given (`seedance-2` -> `bytedance/seedance-2`), then look like it.
    holding = sorted((found for found in known if model.lower() in found.lower()), key=len) if len(model) > 3 else []
    close = list(dict.fromkeys([*holding, *difflib.get_close_matches(model, known, n=CLOSEST, cutoff=0.8)]))
    close = close[:CLOSEST]
    hint = f"; did you mean {' or '.join(close)}?" if close else " (GET /__mock__/models lists them)"
    return f"model: {_short.repr(model)} is not a loaded model{hint}"
