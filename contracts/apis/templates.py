"""The record and callback templates of an API's mapping, rendered: pure data in, JSON-ready
data out. A string `$name` (or `$a.b`) is a value of the context; `{$if: name, then: T,
else: E}` picks by a value's truth; `{$each: name, do: T}` renders T once per item of a list,
the item as `$result`. Anything else is itself, its parts rendered."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def render(template: Any, context: Mapping[str, Any]) -> Any:
    if isinstance(template, str):
        return lookup(template[1:], context) if template.startswith("$") else template
    if isinstance(template, dict):
        if "$if" in template:
            chosen = template.get("then") if lookup(template["$if"], context) else template.get("else")
            return render(chosen, context)
        if "$each" in template:
            items = lookup(template["$each"], context) or ()
            return [render(template["do"], {**context, "result": item}) for item in items]
        return {key: render(value, context) for key, value in template.items()}
    if isinstance(template, list):
        return [render(item, context) for item in template]
    return template


def lookup(name: str, context: Mapping[str, Any]) -> Any:
    """`a.b.c` in nested mappings (`results.0.id`: an item of a list); None where a part is
    missing (an optional request field)."""
    value: Any = context
    for part in name.split("."):
        if isinstance(value, list):
            value = value[int(part)] if part.isdigit() and int(part) < len(value) else None
        else:
            value = value.get(part, None) if isinstance(value, Mapping) else None
        if value is None:
            return None
    return value


def names(template: Any) -> set[str]:
    """Every context value a template reads (to check a mapping against its engine)."""
    if isinstance(template, str):
        return {template[1:].split(".")[0]} if template.startswith("$") else set()
    if isinstance(template, dict):
        found = {template[key].split(".")[0] for key in ("$if", "$each") if key in template}
        return found.union(*(names(value) for key, value in template.items() if key not in ("$if", "$each")))
    if isinstance(template, list):
        return set().union(*(names(item) for item in template))
    return set()
