"""outputs: what a request asks a model to make, worked out once per shape and kept small."""

from __future__ import annotations

from contracts.family.outputs import MAX_SHAPE_VALUE, Outputs, OutputSpec, output_for
from contracts.family.pages import load_pages, seed_page
from tests.mock_server.test_models import EXAMPLES as MODELS_DIR


def test_the_seed_model_makes_the_video_its_request_asks_for() -> None:
    assert output_for(seed_page(), {}) == OutputSpec("video", "mp4", 1280, 720, 5)
    assert output_for(seed_page(), {"resolution": "1080p", "duration": "10"}) == OutputSpec("video", "mp4", 1920,
                                                                                             1080, 10)
    assert (output_for(seed_page(), {}).resolution, output_for(seed_page(), {}).duration) == ("720p", "5")


def test_an_output_survives_the_store_as_it_was() -> None:
    spec = OutputSpec("image", "webp", 768, 1024, 0)
    assert OutputSpec.decode(spec.encode()) == spec


def test_the_shape_cache_keys_only_short_values_of_the_pages_shape_fields() -> None:
    image = next(page for page in load_pages([MODELS_DIR]) if page.output == "image")
    outputs = Outputs()
    first = outputs(image, {"aspect_ratio": "3:4", "prompt": "one"})
    assert outputs(image, {"aspect_ratio": "3:4", "prompt": "another"}) is first  # the prompt is not a shape field
    long = "1:1" + " " * MAX_SHAPE_VALUE
    outputs(image, {"aspect_ratio": long})
    assert all(len(str(value)) <= MAX_SHAPE_VALUE for shapes in outputs._shapes.values()
               for shape in shapes for value in shape)
    outputs.clear()
    assert outputs(image, {"aspect_ratio": "3:4"}) is not first
