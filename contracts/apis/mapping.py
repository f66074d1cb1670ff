"""The family's other APIs (Veo, Suno, Runway ...): each one bundled spec under
`openapi/apis/`, whose `x-apikley-api` extension maps the shared lifecycle onto that API:
which operations open a task and which one reads it, how each state shows in its record
(`stages`), the record and callback as templates, what a task makes, its ids, prices and
error texts. One general engine reads these; adding an API is a spec and its mapping.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contracts.apis.records import CONTEXT_NAMES
from contracts.apis.templates import names
from contracts.family.pages import RESULTS_EXTENSION, ModelPage
from contracts.spec.document import JSON, Operation, operations
from contracts.spec.lifecycle import TRANSITIONS

MAPPING = "x-apikley-api"
ID_STYLES = ("hex", "uuid")
OUTPUT_KINDS = ("video", "image", "audio")


class ApiSpecError(ValueError):
    """A bundled API spec whose mapping cannot be read; the message names the file and field."""


@dataclass(frozen=True)
class Side:
    """An operation answering from a successful task (Veo's 1080p video, 4o Image's download URL)."""

    task_field: str  # the query or body field naming the task
    data: Any  # the answer's `data`, a template


@dataclass(frozen=True, eq=False)  # one per bundled spec: compared (and cached by) identity
class Api:
    name: str
    title: str
    source: str
    document: JSON = field(repr=False)
    mapping: JSON = field(repr=False)
    path: Path | None = None  # the spec's file (schemathesis reads it)

    # --- what the mapping says ------------------------------------------------------------
    @functools.cached_property
    def operations(self) -> dict[str, Operation]:
        return {found.operation_id: found for found in operations(self.document)}

    @functools.cached_property
    def create(self) -> tuple[str, ...]:
        return tuple(self.mapping["create"])

    @functools.cached_property
    def status(self) -> Operation:
        return self.operations[self.mapping["status"]]

    @functools.cached_property
    def extends(self) -> tuple[str, str] | None:
        """(operation, field): an operation continuing an earlier task named in `field`."""
        found = self.mapping.get("extends")
        return (found["operation"], found["field"]) if found else None

    @functools.cached_property
    def models(self) -> tuple[str, ...]:
        return tuple(self.mapping["model"]["names"])

    def model_of(self, body: Mapping[str, Any]) -> str:
        """The model a request names (its `model` field), else the API's default."""
        named = body.get(self.model_field)
        return named if isinstance(named, str) and named in self.models else self.default_model

    @functools.cached_property
    def model_field(self) -> str:
        return str(self.mapping["model"].get("field", "model"))

    @functools.cached_property
    def default_model(self) -> str:
        return str(self.mapping["model"]["default"])

    @functools.cached_property
    def sides(self) -> dict[str, Side]:
        return {name: Side(value["task"], value["data"]) for name, value in self.mapping.get("side", {}).items()}

    @functools.cached_property
    def stages(self) -> dict[str, tuple[JSON, ...]]:
        """Each shared state as the API shows it: one or more steps (a state shown in steps
        splits its time evenly between them), each a dict of template values."""
        return {state: tuple(value) if isinstance(value, list) else (value,)
                for state, value in self.mapping["stages"].items()}

    @functools.cached_property
    def staged_callbacks(self) -> bool:
        """Whether a callback is sent at each step naming one (`callback:`), not only at the end."""
        return any("callback" in step for steps in self.stages.values() for step in steps)

    @property
    def record(self) -> Any:
        return self.mapping["record"]

    @property
    def callback(self) -> Any:
        return self.mapping["callback"]

    @functools.cached_property
    def not_found(self) -> str:
        return str(self.mapping.get("not-found", "record is null"))

    @functools.cached_property
    def not_ready(self) -> str:
        return str(self.mapping.get("not-ready", "record status is not success"))

    @functools.cached_property
    def failure(self) -> tuple[int, str]:
        found = self.mapping["failure"]
        return int(found["code"]), str(found["message"])

    @functools.cached_property
    def id_prefix(self) -> str:
        return str(self.mapping["ids"].get("prefix", ""))

    @functools.cached_property
    def id_style(self) -> str:
        return str(self.mapping["ids"]["style"])

    @functools.cached_property
    def covers(self) -> bool:
        """Each result has a cover image (Suno's tracks)."""
        return bool(self.mapping["output"].get("covers"))

    @functools.cached_property
    def renames(self) -> Mapping[str, str]:
        return dict(self.mapping["output"].get("rename", {}))

    def shaped_input(self, body: Mapping[str, Any]) -> Mapping[str, Any]:
        """The request as the family's shape fields read it (`aspectRatio` -> `aspect_ratio`)."""
        renames = self.renames
        if not renames:
            return body
        return {**body, **{target: body[source] for source, target in renames.items() if source in body}}

    @functools.cache  # noqa: B019 -- one per model, for the process's life
    def page(self, model: str) -> ModelPage:
        """The model as the family's outputs and prices read a model page: its input the create
        body, the mapping's fixed shape values as defaults; id `<api>:<model>`."""
        output = self.mapping["output"]
        create = self.operations[self.create[0]]
        body = create.body_schema()
        renamed = {target: body.get("properties", {}).get(source, {})
                   for source, target in output.get("rename", {}).items()}
        fixed = {name: {"default": value} for name, value in output.get("shape", {}).items()}
        schema = {"type": "object", "properties": {"input": {
            **body, "properties": {**body.get("properties", {}), **renamed, **fixed}}}}
        definition = {"operationId": create.operation_id,
                      "requestBody": {"content": {"application/json": {"schema": schema}}}}
        if output.get("count"):
            definition[RESULTS_EXTENSION] = output["count"]
        credits = self.mapping["credits"]
        price = credits.get(model) if isinstance(credits, dict) else credits
        return ModelPage(f"{self.name}:{model}", self.source, Operation(create.operation_id, create.method,
                                                                        create.path, definition),
                         output["kind"], price, self.document)


def api_from(document: JSON, source: str, path: Path | None = None) -> Api:
    """The API a bundled spec describes, its mapping checked."""
    mapping = document.get(MAPPING)
    if not isinstance(mapping, dict):
        raise ApiSpecError(f"{source}: no {MAPPING} mapping")
    api = Api(str(mapping.get("name", "")), str(mapping.get("title", "")), source, document, mapping, path)
    known = set(api.operations)
    problems = [f"{what} {name!r} is not an operation of the spec"
                for what, names in (("create", mapping.get("create", [])), ("status", [mapping.get("status")]),
                                    ("side", list(mapping.get("side", {}))))
                for name in names if name not in known]
    served = {*mapping.get("create", []), mapping.get("status"), *mapping.get("side", {})}
    problems += [f"operation {name!r} is neither a create, the status nor a side" for name in sorted(known - served)]
    if not api.name or not mapping.get("create"):
        problems.append("name and create are required")
    if set(mapping.get("stages", {})) != set(TRANSITIONS):
        problems.append(f"stages must name each of {sorted(TRANSITIONS)}")
    if mapping.get("ids", {}).get("style") not in ID_STYLES:
        problems.append(f"ids.style must be one of {list(ID_STYLES)}")
    if mapping.get("output", {}).get("kind") not in OUTPUT_KINDS:
        problems.append(f"output.kind must be one of {list(OUTPUT_KINDS)}")
    for key in ("record", "callback", "failure", "credits", "model"):
        if key not in mapping:
            problems.append(f"{key} is required")
    if not problems:
        given = CONTEXT_NAMES | {"result"} | {key for steps in api.stages.values() for step in steps for key in step}
        read = names([api.record, api.callback, *(side["data"] for side in mapping.get("side", {}).values())])
        problems += [f"the templates read ${name}, which no stage or the engine gives" for name in sorted(read - given)]
    if not problems and not _ends_shown_apart(api):
        problems.append("the record must tell an ended task from a running one by a top-level field "
                        "bound to a stage value (`successFlag: $successFlag`)")
    if problems:
        raise ApiSpecError(f"{source}: {MAPPING}: {'; '.join(problems)}")
    return api


def _ends_shown_apart(api: Api) -> bool:
    """Whether a client (and the contract run) can tell from a record that its task ended."""
    def shown(step: JSON) -> tuple[Any, ...]:
        return tuple(sorted((field, repr(step[name[1:]])) for field, name in api.record.items()
                            if isinstance(name, str) and name.startswith("$") and name[1:] in step))

    running = {shown(step) for state in TRANSITIONS if TRANSITIONS[state] for step in api.stages[state]}
    return all(shown(step) not in running for state in TRANSITIONS if not TRANSITIONS[state]
               for step in api.stages[state])
