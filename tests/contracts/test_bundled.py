"""The bundled catalogue: every page loads (a broken or unreviewed one is an error, never a
skip), every page's example is accepted, and every page refuses what it forbids, naming the
field. All through the cheap path (the catalogue's validators); test_catalogue renders."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, find, settings

from contracts.family.bundled import MANIFEST, bundled_pages, catalogue_folder, reviewed_pages
from contracts.family.catalogue import ModelCatalogue
from contracts.family.pages import ModelPageError
from contracts.family.registry import main as write_registry_pages
from contracts.family.registry import page_name
from contracts.spec.validators import RequestInvalid

PAGES = bundled_pages()
CATALOGUE = ModelCatalogue.load()


def test_every_bundled_page_loads_and_names_its_source_and_date() -> None:
    assert len(PAGES) >= 120
    manifest = json.loads((catalogue_folder() / MANIFEST).read_text())
    assert len(manifest) == len(PAGES) == len(set(page.model_id for page in PAGES))
    for page in PAGES:
        assert page.document["x-apikley-source"].startswith("https://"), page.model_id
        assert page.document["x-apikley-facts-date"] == "2026-08-19"
        assert page.output in ("video", "image", "audio", "text")
    kinds = {page.output for page in PAGES}
    assert kinds == {"video", "image", "audio", "text"}


def test_a_changed_or_unreviewed_page_is_refused_naming_it(tmp_path: Path) -> None:
    folder = tmp_path / "catalogue"
    shutil.copytree(catalogue_folder(), folder)
    assert len(reviewed_pages(folder)) == len(PAGES)
    page = folder / page_name("nano-banana-pro")
    page.write_text(page.read_text().replace('"2K"', '"3K"'))
    with pytest.raises(ModelPageError, match=r"nano-banana-pro\.json: changed since it was reviewed"):
        reviewed_pages(folder)
    shutil.copy(catalogue_folder() / page.name, page)
    (folder / "sneaky.json").write_text("{}")
    with pytest.raises(ModelPageError, match=r"sneaky\.json: not in the catalogue's manifest"):
        reviewed_pages(folder)


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.model_id)
def test_each_pages_example_is_accepted_and_what_it_forbids_refused(page: Any) -> None:
    example = page.example_body()
    CATALOGUE.check(example)
    CATALOGUE.check({**example, "callBackUrl": ""})  # upstream's "no callback"
    fields = page.input_schema.get("properties", {})
    for name in page.input_schema.get("required", []):
        dropped = {**example, "input": {k: v for k, v in example["input"].items() if k != name}}
        with pytest.raises(RequestInvalid, match=rf"^input\.{name}: is required"):
            CATALOGUE.check(dropped)
    for name, field in fields.items():
        if "enum" in field and field.get("type") == "string":
            bad = {**example, "input": {**example["input"], name: "not-a-listed-value"}}
            with pytest.raises(RequestInvalid, match=rf"^input\.{name}: 'not-a-listed-value' is not one of"):
                CATALOGUE.check(bad)


def test_durations_are_accepted_in_both_published_forms() -> None:
    body = PAGES_BY_ID["bytedance/seedance-1.5-pro"].example_body()
    for duration in (8, "8", 8.0):
        CATALOGUE.check({**body, "input": {**body["input"], "duration": duration}})
    with pytest.raises(RequestInvalid, match=r"^input\.duration"):
        CATALOGUE.check({**body, "input": {**body["input"], "duration": "eight"}})


PAGES_BY_ID = {page.model_id: page for page in PAGES}


def test_models_narrow_the_catalogue_and_a_pattern_that_matches_nothing_is_named() -> None:
    kling = ModelCatalogue.load(models=("kling*",))
    assert next(iter(kling.pages)) == "bytedance/v1-pro-fast-image-to-video"
    assert all(model.startswith("kling") for model in list(kling.pages)[1:]) and len(kling.pages) > 10
    with pytest.raises(ModelPageError, match=r"models 'klong\*': matches no model"):
        ModelCatalogue.load(models=("klong*",))


def test_a_given_page_replaces_the_bundled_one_and_says_so() -> None:
    examples = Path(__file__).resolve().parents[2] / "openapi" / "models"
    loaded = ModelCatalogue.load([examples])
    assert loaded.pages["bytedance/v1-pro-text-to-video"].source.endswith("bytedance-v1-pro-text-to-video.yaml")
    assert loaded.notices == [f"{examples / 'bytedance-v1-pro-text-to-video.yaml'}: replaces the bundled page of "
                              "bytedance/v1-pro-text-to-video"]


def test_the_registry_script_writes_valid_reviewed_pages(tmp_path: Path) -> None:
    registry = {"models": [
        {"title": "Example Clip", "operationId": "example-clip", "model_values": ["example/clip-video"],
         "source_url": "https://docs.example/clip.md", "input_fields": [
             {"name": "prompt", "required": True, "type": "string", "maxLength": 100},
             {"name": "duration", "required": False, "type": "string", "enum": ["5", "10"], "default": "5"},
             {"name": "image_urls", "required": False, "type": "array", "maxItems": 2, "itemType": "string"}]},
        {"title": "Undocumented", "model_values": ["example/nothing"], "input_fields": []}]}
    source = tmp_path / "registry.json"
    source.write_text(json.dumps(registry))
    assert write_registry_pages([str(source), str(tmp_path / "out"), "--date", "2026-01-02"]) == 0
    pages = reviewed_pages(tmp_path / "out")
    assert [page.model_id for page in pages] == ["example/clip-video"]  # no fields: no page
    page = pages[0]
    assert page.output == "video" and page.document["x-apikley-facts-date"] == "2026-01-02"
    catalogue = ModelCatalogue([*ModelCatalogue.load(bundled=False).pages.values(), page])
    catalogue.check({"model": "example/clip-video", "input": {"prompt": "x", "duration": 10}})  # both forms
    with pytest.raises(RequestInvalid, match=r"^input\.prompt: is required"):
        catalogue.check({"model": "example/clip-video", "input": {}})
    assert page.input_schema["properties"]["image_urls"]["description"] == "Image urls (a list of at most 2 items)."


@pytest.mark.parametrize("page", PAGES[::10], ids=lambda page: page.model_id)
def test_strategies_generate_bodies_for_bundled_models(page: Any) -> None:
    from contracts.strategies import create_task_bodies

    body = find(create_task_bodies(model=page.model_id), lambda body: True,
                settings=settings(suppress_health_check=list(HealthCheck), deadline=None, max_examples=50))
    assert body["model"] == page.model_id and CATALOGUE.accepts(json.loads(json.dumps(body)))
