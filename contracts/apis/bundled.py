"""The bundled APIs: every spec under `openapi/apis/`, read once a process."""

from __future__ import annotations

import functools
from pathlib import Path

import yaml

from contracts.apis.mapping import Api, ApiSpecError, api_from
from contracts.spec.document import read_yaml, spec_path

APIS_FOLDER = "apis"


def apis_folder() -> Path:
    """Beside the bundled spec: in the wheel, or the checkout's `openapi/`."""
    return spec_path().parent / APIS_FOLDER


@functools.cache
def bundled_apis() -> dict[str, Api]:
    """Each bundled API by name, in file order."""
    found: dict[str, Api] = {}
    for file in sorted(apis_folder().glob("*.yaml")):
        try:
            document = read_yaml(file.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ApiSpecError(f"{file}: cannot be read ({exc})") from exc
        api = api_from(document, f"bundled:apis/{file.name}", file)
        found[api.name] = api
    return found


def api_named(name: str) -> Api:
    apis = bundled_apis()
    if name not in apis:
        raise ApiSpecError(f"no API {name!r}; the bundled ones: {', '.join(apis)}")
    return apis[name]
