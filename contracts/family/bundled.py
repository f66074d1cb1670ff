"""The bundled catalogue: a model page per market model under `openapi/catalogue/` (written by
`contracts.family.registry`, reviewed, committed), loaded by default. Each was validated as
OpenAPI 3.0 when written; at start-up its digest is checked against MANIFEST.json instead (a
changed or unlisted page is refused), which keeps start-up fast with every page loaded.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
from collections.abc import Iterable
from pathlib import Path

import orjson

from contracts.family.pages import ModelPage, ModelPageError, page_from
from contracts.spec.document import spec_path

CATALOGUE_FOLDER = "catalogue"
MANIFEST = "MANIFEST.json"


def catalogue_folder() -> Path:
    """Beside the bundled spec: in the wheel, or the checkout's `openapi/`."""
    return spec_path().parent / CATALOGUE_FOLDER


@functools.cache
def bundled_pages() -> tuple[ModelPage, ...]:
    """Every bundled page (read once a process)."""
    return reviewed_pages(catalogue_folder())


def reviewed_pages(folder: Path) -> tuple[ModelPage, ...]:
    """Every page in `folder`, checked against its manifest; raises `ModelPageError` naming a
    page that is not the reviewed one."""
    try:
        manifest = orjson.loads((folder / MANIFEST).read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise ModelPageError(f"{folder / MANIFEST}: the catalogue's manifest cannot be read ({exc})") from exc
    listed = set(manifest)
    unlisted = sorted(found.name for found in folder.glob("*.json") if found.name not in listed | {MANIFEST})
    if unlisted:
        raise ModelPageError(f"{folder / unlisted[0]}: not in the catalogue's manifest (not a reviewed page)")
    pages = []
    for name, expected in sorted(manifest.items()):
        file = folder / name
        try:
            text = file.read_bytes()
        except OSError as exc:
            raise ModelPageError(f"{file}: listed in the manifest but cannot be read ({exc})") from exc
        if hashlib.sha256(text).hexdigest() != expected:
            raise ModelPageError(f"{file}: changed since it was reviewed (its digest is not the manifest's)")
        pages.append(page_from(orjson.loads(text), f"bundled:{CATALOGUE_FOLDER}/{name}"))
    return tuple(pages)


def matches(model_id: str, patterns: Iterable[str]) -> bool:
    """Whether a model id matches any of `patterns` (globs such as `kling*`)."""
    return any(fnmatch.fnmatchcase(model_id, pattern) for pattern in patterns)
