"""Request validators compiled once from the spec, and messages a user can act on.

openapi-core is the authority on what the spec means (the tests hold these validators to
its verdicts). Each schema is compiled once: a Rust validator (jsonschema-rs) answers the
common "is it valid?" in microseconds, with formats checked by the very checker openapi-core
uses; only a rejected value goes through the Python validator, to find the error to report.
"""

from __future__ import annotations

import functools
import reprlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import jsonschema_rs
from jsonschema import FormatChecker
from jsonschema.exceptions import ValidationError, best_match
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from contracts.spec.document import JSON, Operation, operations

_short = reprlib.Repr()
_short.maxstring = 60
_short.maxother = 60

_JSON_TYPE_NAMES = {
    dict: "object", list: "array", str: "string", bool: "boolean",
    int: "integer", float: "number", type(None): "null",
}


class RequestInvalid(ValueError):
    """A request the spec does not allow; the message names the field and the rule."""


def field_path(parts: Iterable[str | int], root: str = "body") -> str:
    """`input.prompt`, `items[2]`; the root name when the error is at the top."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or root


def describe(error: ValidationError, root: str = "body") -> str:
    """One line naming the field and the rule, never echoing a huge value."""
    if error.validator == "anyOf" and error.context:
        # A value with alternatives (a URI, or empty) is told the first one's rule.
        first = [found for found in error.context if found.relative_schema_path and found.relative_schema_path[0] == 0]
        if first:
            return describe(first[0], root)
    where = field_path(error.absolute_path, root)
    rule, value, instance = error.validator, error.validator_value, error.instance
    if rule == "required":
        missing = [name for name in value if isinstance(instance, dict) and name not in instance]
        name = missing[0] if missing else value[0]
        prefix = "" if where == root else f"{where}."
        return f"{prefix}{name}: is required"
    if rule == "maxLength":
        return f"{where}: must be at most {value} characters (got {len(instance)})"
    if rule == "minLength":
        return f"{where}: must be at least {value} characters (got {len(instance)})"
    if rule == "enum":
        return f"{where}: {_short.repr(instance)} is not one of {value}"
    if rule == "type":
        return f"{where}: must be of type {value} (got {_JSON_TYPE_NAMES.get(type(instance), 'value')})"
    if rule == "format":
        return f"{where}: {_short.repr(instance)} is not a valid {value}"
    if rule == "pattern":
        return f"{where}: {_short.repr(instance)} does not match {value!r}"
    return f"{where}: {_short.repr(instance)} violates {rule} {_short.repr(value)}"


def as_json_schema(schema: Any) -> Any:
    """OpenAPI 3.0's `nullable` spelled as JSON Schema, for validators that do not know it."""
    if isinstance(schema, list):
        return [as_json_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted = {key: as_json_schema(value) for key, value in schema.items() if key != "nullable"}
    if schema.get("nullable") is True:
        if "type" in converted:
            converted["type"] = [converted["type"], "null"]
        else:
            converted = {"anyOf": [converted, {"type": "null"}]}
    return converted


MAX_FORMATTED_CHARS = 8192  # no real URI (or date, or e-mail) is longer; a longer value does not conform
MAX_CACHED_CHARS = 2048  # values clients repeat (their callBackUrl) are cached; longer ones never kept
_FORMAT_CACHES: list[Any] = []


def _conforms(name: str) -> Any:
    """Format checks are pure, and slow for URIs (rfc3987's regex): cached for short values,
    and a value no format allows the length of is refused before any regex runs on it."""
    @functools.lru_cache(maxsize=4096)
    def cached(value: str) -> bool:
        return bool(oas30_format_checker.conforms(value, name))

    def conforms(value: str) -> bool:
        if len(value) > MAX_FORMATTED_CHARS:
            return False
        return cached(value) if len(value) <= MAX_CACHED_CHARS else bool(oas30_format_checker.conforms(value, name))

    _FORMAT_CACHES.append(cached)
    return conforms


def _bounded_formats() -> FormatChecker:
    """openapi-core's format checker, refusing over-long values before its checks run."""
    checker = FormatChecker(formats=())
    for name, (check, raises) in oas30_format_checker.checkers.items():
        def bounded(value: Any, check: Any = check) -> Any:
            return (not isinstance(value, str) or len(value) <= MAX_FORMATTED_CHARS) and check(value)

        checker.checkers[name] = (bounded, raises)
    return checker


BOUNDED_FORMATS = _bounded_formats()


def forget_format_checks() -> None:
    """Empty the format checks' caches (a mock's reset)."""
    for cache in _FORMAT_CACHES:
        cache.cache_clear()


@dataclass(frozen=True)
class CompiledSchema:
    """A schema compiled twice: fast to accept, thorough to explain a rejection."""

    fast: Any
    thorough: OAS30Validator

    def check(self, instance: Any, root: str = "body") -> None:
        """Raise `RequestInvalid` naming the most relevant error, if any."""
        if self.fast.is_valid(instance):
            return
        error = best_match(self.thorough.iter_errors(instance))
        if error is None:  # the two validators disagree: trust the spec's Python reading
            return
        raise RequestInvalid(describe(error, root))


def compile_schema(schema: JSON) -> CompiledSchema:
    formats = {name: _conforms(name) for name in oas30_format_checker.checkers}
    fast = jsonschema_rs.Draft4Validator(as_json_schema(schema), validate_formats=True,
                                         formats=formats)
    return CompiledSchema(fast, OAS30Validator(schema, format_checker=BOUNDED_FORMATS))


class BodyCheck(Protocol):
    def check(self, instance: Any, root: str = "body") -> None: ...


@dataclass(frozen=True)
class QueryParameter:
    name: str
    required: bool
    validator: CompiledSchema


@dataclass(frozen=True)
class RequestValidator:
    """What one operation accepts: its media type, body schema and query parameters."""

    operation: Operation
    media_type: str | None
    body: BodyCheck | None
    query: tuple[QueryParameter, ...]

    def check_query(self, params: Mapping[str, str]) -> None:
        for parameter in self.query:
            if parameter.name not in params:
                if parameter.required:
                    raise RequestInvalid(f"{parameter.name}: required query parameter is missing")
                continue
            parameter.validator.check(params[parameter.name], parameter.name)

    def check_body(self, body: Any) -> None:
        if self.body is not None:
            self.body.check(body)

    def accepts(self, body: Any) -> bool:
        """Whether `body` passes: check_body without the reason."""
        try:
            self.check_body(body)
        except RequestInvalid:
            return False
        return True


def compile_operation(operation: Operation) -> RequestValidator:
    request_body: JSON = operation.definition.get("requestBody", {})
    content: JSON = request_body.get("content", {})
    media_type, media = next(iter(content.items()), (None, {}))
    media = dict(media)
    query: list[QueryParameter] = []
    for parameter in operation.definition.get("parameters", []):
        if parameter["in"] != "query":
            continue
        if parameter["schema"].get("type", "string") != "string":
            # Query values arrive as strings; coercion is not needed by this spec yet.
            raise NotImplementedError(f"{operation.operation_id}: non-string query parameter")
        query.append(QueryParameter(parameter["name"], bool(parameter.get("required")),
                                    compile_schema(parameter["schema"])))
    body = compile_schema(media["schema"]) if "schema" in media else None
    return RequestValidator(operation, media_type, body, tuple(query))


@functools.cache
def request_validators() -> Mapping[str, RequestValidator]:
    """One compiled validator per operationId of the bundled spec."""
    return {op.operation_id: compile_operation(op) for op in operations()}
