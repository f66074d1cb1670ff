"""Model pages from a published schema registry of the market models (a JSON list of models,
each with its id, docs URL and input fields: type, enum, default, limits), written as this
project's own pages: the facts carried over, the wording ours. Run once by a maintainer, the
pages reviewed and committed under `openapi/catalogue/`:

    python -m contracts.family.registry REGISTRY.json openapi/catalogue --date 2026-08-19

The output kind of each model is decided here (`output_kind`), the one judgement a registry
does not publish. A page that is not a valid OpenAPI 3.0 document is never written.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from contracts.family.bundled import MANIFEST
from contracts.spec.names import CREATE_TASK_PATH

JSON = dict[str, Any]
SERVER = "https://api.apikley.ru"
LIMITS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "pattern",
          "minItems", "maxItems", "uniqueItems")
# Durations are published as strings in one snapshot and numbers in the next; clients send both.
DRIFTING_NUMBERS = ("duration", "duration_seconds", "seconds", "length")

# Output kinds by id, where the words of the id alone would mislead; checked before the rules.
OUTPUT_BY_ID = {
    "omnihuman-1-5/human-identification": "text",
    "omnihuman-1-5/subject-detection": "text",
    "grok-imagine-image-2-0/segment-map": "image",
    "grok-imagine/upscale": "video",
    "wan/2-2-a14b-speech-to-video-turbo": "video",
    "infinitalk/from-audio": "video",
    "kling/ai-avatar-pro": "video",
    "kling/ai-avatar-standard": "video",
    "omnihuman-1-5": "video",
    "volcengine/video-to-video-lip-sync": "video",
}
# Then the first rule whose word is in the id decides.
OUTPUT_RULES = (
    ("video", "video"), ("audio-isolation", "audio"), ("tts", "audio"), ("speech", "audio"), ("dialogue", "audio"),
    ("seedance", "video"), ("kling", "video"), ("hailuo", "video"), ("wan/2-2-animate", "video"),
    ("pixverse", "video"), ("minimax", "video"), ("happyhorse", "video"), ("r2v", "video"), ("extend", "video"),
    ("image", "image"), ("seedream", "image"), ("imagen", "image"), ("banana", "image"), ("flux", "image"),
    ("ideogram", "image"), ("qwen", "image"), ("recraft", "image"), ("z-image", "image"),
)
# Models documented to return a set of results whatever the request says.
RESULTS_BY_ID = {"grok-imagine/text-to-image": 6}


def output_kind(model_id: str) -> str:
    if model_id in OUTPUT_BY_ID:
        return OUTPUT_BY_ID[model_id]
    return next((kind for word, kind in OUTPUT_RULES if word in model_id), "video")


def page_name(model_id: str) -> str:
    """A file name for the model's page: `kling-2.6/text-to-video` -> `kling-2.6--text-to-video.json`."""
    return re.sub(r"[^A-Za-z0-9._-]", "-", model_id.replace("/", "--")) + ".json"


def field_schema(field: Mapping[str, Any]) -> JSON:
    """One input field as a JSON schema, with a description in our words (its constraints)."""
    kind = field.get("type") or "string"
    schema: JSON = {"type": kind}
    if field.get("format"):
        schema["format"] = field["format"]
    if field.get("enum"):
        schema["enum"] = list(field["enum"])
    if field.get("default") is not None:
        schema["default"] = field["default"]
    for limit in LIMITS:
        if field.get(limit) is not None:
            schema[limit] = field[limit]
    if kind == "array":
        items: JSON = {"type": field.get("itemType") or "string"}
        if field.get("itemFormat"):
            items["format"] = field["itemFormat"]
        if field.get("itemEnum"):
            items["enum"] = list(field["itemEnum"])
        schema["items"] = items
    if "default" in schema and not obeys(schema["default"], schema):
        del schema["default"]  # a published default its own field refuses (`[""]` for a URL list)
    schema["description"] = describe(field["name"], schema)
    if field["name"] in DRIFTING_NUMBERS:
        schema = drift_tolerant(schema)
    return schema


def obeys(value: Any, schema: JSON) -> bool:
    import jsonschema

    rules = {key: rule for key, rule in schema.items() if key != "default"}
    checker = jsonschema.Draft4Validator.FORMAT_CHECKER
    return bool(jsonschema.Draft4Validator(rules, format_checker=checker).is_valid(value))


def drift_tolerant(schema: JSON) -> JSON:
    """A duration accepted as published in either snapshot: a number or the same as a string."""
    if schema["type"] in ("integer", "number") and "enum" not in schema:
        text = {"type": "string", "pattern": r"^\d+(\.\d+)?$"}
        return {"description": schema["description"], "anyOf": [
            {key: value for key, value in schema.items() if key != "description"}, text]}
    if schema["type"] == "string" and all(re.fullmatch(r"\d+", str(v)) for v in schema.get("enum", [])) \
            and schema.get("enum"):
        number = {"type": "integer", "enum": [int(value) for value in schema["enum"]]}
        return {"description": schema["description"], "anyOf": [
            {key: value for key, value in schema.items() if key != "description"}, number]}
    return schema


def describe(name: str, schema: Mapping[str, Any]) -> str:
    words = name.replace("_", " ")
    rules = []
    if "enum" in schema:
        rules.append("one of " + ", ".join(f"`{value}`" for value in schema["enum"]))
    if schema.get("type") == "array":
        count = [f"at least {schema['minItems']}"] if "minItems" in schema else []
        count += [f"at most {schema['maxItems']}"] if "maxItems" in schema else []
        rules.append("a list" + (f" of {' and '.join(count)} items" if count else ""))
    bounds = [f"{word} {schema[key]}" for key, word in (("minimum", "from"), ("maximum", "up to"),
                                                         ("minLength", "at least"), ("maxLength", "at most"))
              if key in schema]
    if bounds:
        rules.append(", ".join(bounds) + (" characters" if "minLength" in schema or "maxLength" in schema else ""))
    if "default" in schema:
        rules.append(f"default `{schema['default']}`")
    return f"{words[:1].upper()}{words[1:]}" + (f" ({'; '.join(rules)})." if rules else ".")


def example_input(fields: Iterable[Mapping[str, Any]]) -> JSON:
    """A body the page accepts: every required field, and the defaults of the others."""
    from contracts.family.pages import placeholder

    example: JSON = {}
    for field in fields:
        schema = field_schema(field)
        if field.get("required"):
            value = placeholder(field["name"], schema if "anyOf" not in schema else schema["anyOf"][0])
            if isinstance(value, str) and schema.get("minLength", 0) > len(value):
                value = value.ljust(schema["minLength"], ".")
            if schema.get("type") == "array" and schema.get("minItems", 0) > 1:
                value = value * schema["minItems"]
            example[field["name"]] = value
    return example


def page_for(model: Mapping[str, Any], facts_date: str) -> JSON:
    model_id = model["model_values"][0]
    fields = model.get("input_fields", [])
    required = [field["name"] for field in fields if field.get("required")]
    input_schema: JSON = {"type": "object", "description": "What the model is asked to make.",
                          "properties": {field["name"]: field_schema(field) for field in fields}}
    if required:
        input_schema["required"] = required
    kind = output_kind(model_id)
    operation: JSON = {
        "summary": f"{model.get('title') or model_id}: create a task",
        "operationId": model.get("operationId") or re.sub(r"[^a-z0-9]+", "-", model_id.lower()),
        "tags": [model_id.split("/", 1)[0] if "/" in model_id else model_id.split("-", 1)[0]],
        "x-apikley-output": kind,
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": {"type": "object", "required": ["model", *(["input"] if required else [])], "properties": {
                "model": {"type": "string", "enum": [model_id], "default": model_id,
                          "description": f"Always `{model_id}` on this page."},
                "callBackUrl": {"type": "string", "anyOf": [{"format": "uri"}, {"maxLength": 0}],
                                "description": "Where the task's end is POSTed; empty or absent: no callback."},
                "input": input_schema}},
            "example": {"model": model_id, "input": example_input(fields)}}}},
        "responses": {"200": {"description": "The envelope; `data.taskId` on success.", "content": {
            "application/json": {"schema": {"type": "object", "properties": {
                "code": {"type": "integer"}, "msg": {"type": "string"},
                "data": {"type": "object", "nullable": True, "properties": {"taskId": {"type": "string"}}}}}}}}},
    }
    if model_id in RESULTS_BY_ID:
        operation["x-apikley-results"] = RESULTS_BY_ID[model_id]
    return {
        "openapi": "3.0.0",
        "info": {"title": model.get("title") or model_id, "version": "1.0.0",
                 "description": f"apikley-mock catalogue page for `{model_id}` ({kind}): field names, types, "
                                f"enums, defaults and limits as published on {facts_date}."},
        "x-apikley-source": model.get("source_url") or "",
        "x-apikley-facts-date": facts_date,
        "servers": [{"url": SERVER}],
        "security": [{"BearerAuth": []}],
        "paths": {CREATE_TASK_PATH: {"post": operation}},
        "components": {"securitySchemes": {"BearerAuth": {"type": "http", "scheme": "bearer"}}},
    }


def digest(text: bytes) -> str:
    return hashlib.sha256(text).hexdigest()


def write_pages(models: Iterable[Mapping[str, Any]], folder: Path, facts_date: str, *,
                skip: Iterable[str] = ()) -> list[str]:
    """Writes a page per model with documented input fields (not those in `skip`), each
    validated, and MANIFEST.json (file -> sha256), which start-up checks instead of validating
    every page again. Returns the model ids written."""
    from openapi_spec_validator import validate

    folder.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, str] = {}
    written = []
    for model in models:
        model_id = model["model_values"][0]
        if model_id in set(skip) or not model.get("input_fields"):
            continue
        page = page_for(model, facts_date)
        validate(page)
        text = (json.dumps(page, indent=1, ensure_ascii=False) + "\n").encode()
        (folder / page_name(model_id)).write_bytes(text)
        manifest[page_name(model_id)] = digest(text)
        written.append(model_id)
    (folder / MANIFEST).write_text(json.dumps(dict(sorted(manifest.items())), indent=1) + "\n")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m contracts.family.registry", description=__doc__.split("\n\n")[0])
    parser.add_argument("registry", type=Path, help="the registry JSON ({'models': [...]} or a list)")
    parser.add_argument("folder", type=Path, help="where the pages go (openapi/catalogue)")
    parser.add_argument("--date", required=True, help="when the registry's facts were published (YYYY-MM-DD)")
    parser.add_argument("--skip", action="append", default=[], help="a model id not to write (repeatable)")
    args = parser.parse_args(argv)
    loaded = json.loads(args.registry.read_text(encoding="utf-8"))
    models = loaded["models"] if isinstance(loaded, dict) else loaded
    written = write_pages(models, args.folder, args.date, skip=args.skip)
    print(f"{len(written)} pages written to {args.folder}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
