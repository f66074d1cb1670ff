"""catalogue: createTask validated by the page of the body's `model`, and the spec it serves."""

from __future__ import annotations

import pytest

from contracts.family.catalogue import ModelCatalogue
from contracts.spec.validators import RequestInvalid
from tests.contracts.test_checks import BODY
from tests.mock_server.test_models import EXAMPLES, IMAGE_MODEL


def test_the_seed_alone_keeps_the_seeds_own_messages() -> None:
    seed = ModelCatalogue.load(bundled=False)
    assert list(seed.pages) == [BODY["model"]]
    with pytest.raises(RequestInvalid, match=r"input\.image_url: is required"):
        seed.check({**BODY, "input": {"prompt": "x"}})


def test_each_body_is_checked_by_its_models_page_and_unknown_models_are_named() -> None:
    family = ModelCatalogue.load([EXAMPLES])
    family.check({"model": IMAGE_MODEL, "input": {"prompt": "a cat"}})
    with pytest.raises(RequestInvalid, match=r"model: .no/such-model. is not a loaded model \(GET /__mock__"):
        family.check({"model": "no/such-model", "input": {}})
    with pytest.raises(RequestInvalid, match=r".nano-banana2. is not a loaded model; did you mean nano-banana-2 "):
        family.check({"model": "nano-banana2", "input": {}})
    assert family.accepts(BODY) and not family.accepts({"model": IMAGE_MODEL, "input": {}})


def test_the_served_spec_offers_every_loaded_model() -> None:
    family = ModelCatalogue.load([EXAMPLES])
    document = family.openapi({"paths": {"/api/v1/jobs/createTask": {"post": {"operationId": "x"}}}})
    schema = document["paths"]["/api/v1/jobs/createTask"]["post"]["requestBody"]["content"]["application/json"][
        "schema"]
    models = [branch["properties"]["model"]["enum"][0] for branch in schema["oneOf"]]
    assert models == list(family.pages) and schema["discriminator"] == {"propertyName": "model"}
