"""The model family: extra model pages load beside the seed model, each model is validated by
its own page, makes its own kind of result, and bad pages stop start-up with a clear message."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import wave
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from PIL import Image

from tests.conftest import MODEL, RunningMock, start_mock, valid_body
from tests.mock_server.test_files import ORANGE, png, probe, upload

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "openapi" / "models"
SEEDANCE = ROOT / "tests" / "fixtures" / "models" / "bytedance-seedance-2-5.json"
CREATE = "/api/v1/jobs/createTask"
DETAILS = "/api/v1/jobs/recordInfo"
TEXT_TO_VIDEO = "bytedance/v1-pro-text-to-video"
IMAGE_MODEL = "example/text-to-image"


def audio_page(tmp: Path) -> Path:
    """An audio model page, written like the examples (its kind said by the extension)."""
    page = yaml.safe_load((EXAMPLES / "example-text-to-image.yaml").read_text())
    post = page["paths"]["/api/v1/jobs/createTask"]["post"]
    post["x-apikley-output"] = "audio"
    schema = post["requestBody"]["content"]["application/json"]["schema"]
    schema["properties"]["model"]["enum"] = ["example/soundtrack"]
    schema["properties"]["input"]["properties"] = {"prompt": {"type": "string"},
                                                   "duration": {"type": "integer", "minimum": 1, "maximum": 30}}
    post["requestBody"]["content"]["application/json"].pop("example")
    path = tmp / "soundtrack.yaml"
    path.write_text(yaml.safe_dump(page))
    return path


@pytest.fixture
def family(tmp_path: Path) -> Iterator[RunningMock]:
    # Narrowed to the seed: the bundled pages stay out, so these are the models loaded.
    yield from start_mock(model_specs=(str(EXAMPLES), str(SEEDANCE), str(audio_page(tmp_path))), models=(MODEL,))


def create(mock: RunningMock, body: dict) -> dict:
    return dict(mock.client.post(CREATE, json=body).json())


def finished(mock: RunningMock, body: dict) -> tuple[str, str]:
    answer = create(mock, body)
    assert answer["code"] == 200, answer
    task_id = answer["data"]["taskId"]
    mock.clock.advance(900)
    record = mock.client.get(DETAILS, params={"taskId": task_id}).json()["data"]
    assert record["state"] == "success" and record["model"] == body["model"]
    return task_id, json.loads(record["resultJson"])["resultUrls"][0]


def test_the_control_api_lists_every_loaded_model(family: RunningMock) -> None:
    models = {entry["model"]: entry for entry in family.client.get("/__mock__/models").json()["data"]}
    assert list(models) == [MODEL, TEXT_TO_VIDEO, IMAGE_MODEL, "bytedance/seedance-2-5", "example/soundtrack"]
    assert models[MODEL]["source"].startswith("bundled:")
    assert models[IMAGE_MODEL]["source"].endswith("example-text-to-image.yaml")
    assert [models[name]["output"] for name in models] == ["video", "video", "image", "video", "audio"]
    assert models["bytedance/seedance-2-5"]["inputFields"][:2] == ["prompt", "first_frame_url"]


def test_each_model_is_validated_by_its_own_page(family: RunningMock) -> None:
    seedance: dict = {"model": "bytedance/seedance-2-5",
                      "input": {"prompt": "x", "first_frame_url": "u", "duration": 5}}
    text: dict = {"model": TEXT_TO_VIDEO, "input": {"prompt": "x", "duration": 5}}
    assert create(family, seedance)["code"] == 200  # the third-party client's first call
    refused = create(family, text)
    assert refused == {"code": 422, "msg": "input.duration: must be of type string (got integer)", "data": None}
    assert create(family, {**text, "input": {"prompt": "x", "aspect_ratio": "21:9"}})["code"] == 200
    wide = create(family, {**seedance, "input": {**seedance["input"], "aspect_ratio": "21:9"}})
    assert wide["code"] == 422 and wide["msg"].startswith("input.aspect_ratio: '21:9' is not one of")
    assert create(family, valid_body())["code"] == 200  # the seed model, as before
    assert create(family, {"model": TEXT_TO_VIDEO, "input": {"image_url": "u"}})["msg"] == "input.prompt: is required"


@pytest.mark.parametrize(("body", "message"), [
    ({"model": "sora", "input": {"prompt": "x"}},
     "model: 'sora' is not a loaded model (GET /__mock__/models lists them)"),
    ({"model": "example/text-to-imag", "input": {"prompt": "x"}},
     "model: 'example/text-to-imag' is not a loaded model; did you mean example/text-to-image?"),
    ({"model": 7}, "model: must be of type string (got integer)"),
    ({"input": {"prompt": "x"}}, "model: is required"),
])
def test_a_model_missing_unknown_or_not_a_string(family: RunningMock, body: dict, message: str) -> None:
    balance = family.client.get("/api/v1/chat/credit").json()["data"]
    assert create(family, body) == {"code": 422, "msg": message, "data": None}
    assert family.task_count() == 0
    assert family.client.get("/api/v1/chat/credit").json()["data"] == balance


def test_a_text_to_video_task_makes_a_video_of_the_asked_shape(family: RunningMock) -> None:
    task_id, url = finished(family, {"model": TEXT_TO_VIDEO, "input": {
        "prompt": "a paper boat", "aspect_ratio": "9:16", "duration": "10"}})
    assert re.fullmatch(r"task_bytedance_\d{13}", task_id) and re.search(rf"/results/\w+/{task_id}\.mp4$", url)
    video = httpx.get(url, timeout=60)
    assert video.headers["content-type"] == "video/mp4"
    codec, width, height, _, duration, _ = probe(video.content)
    assert (codec, width, height) == ("h264", 720, 1280)
    assert duration == pytest.approx(10.0, abs=0.1)


def test_the_seedance_page_takes_its_image_from_first_frame_url(family: RunningMock) -> None:
    source = upload(family, png())["data"]["downloadUrl"]
    _, url = finished(family, {"model": "bytedance/seedance-2-5", "input": {
        "prompt": "x", "first_frame_url": source, "duration": 4, "resolution": "480p", "aspect_ratio": "1:1"}})
    _, width, height, _, duration, mean = probe(httpx.get(url, timeout=60).content)
    assert (width, height) == (480, 480) and duration == pytest.approx(4.0, abs=0.1)
    assert all(abs(got - want) < 25 for got, want in zip(mean, ORANGE, strict=True))  # made from the upload


@pytest.mark.parametrize(("fields", "kind", "size"), [
    ({"aspect_ratio": "16:9"}, "PNG", (1024, 576)),
    ({"output_format": "jpeg", "aspect_ratio": "3:4"}, "JPEG", (768, 1024)),
    ({"output_format": "webp"}, "WEBP", (1024, 1024)),
])
def test_an_image_model_makes_an_image(family: RunningMock, fields: dict, kind: str, size: tuple[int, int]) -> None:
    task_id, url = finished(family, {"model": IMAGE_MODEL, "input": {"prompt": "a lighthouse", **fields}})
    assert re.fullmatch(r"[0-9a-f]{32}", task_id)  # another vendor: 32 lowercase hex
    response = httpx.get(url, timeout=60)
    assert response.headers["content-type"] == f"image/{kind.lower()}"
    image = Image.open(io.BytesIO(response.content))
    assert (image.format, image.size) == (kind, size)
    assert family.client.get(DETAILS, params={"taskId": task_id}).json()["data"]["creditsConsumed"] == 4.0


def test_an_audio_model_makes_a_playable_wav(family: RunningMock) -> None:
    _, url = finished(family, {"model": "example/soundtrack", "input": {"prompt": "rain", "duration": 3}})
    response = httpx.get(url, timeout=60)
    assert response.headers["content-type"] == "audio/wav" and url.endswith(".wav")
    with wave.open(io.BytesIO(response.content)) as sound:
        assert sound.getnchannels() == 1 and sound.getnframes() == 3 * sound.getframerate()
        assert max(sound.readframes(sound.getnframes())) > 0  # not silence


def test_a_model_can_be_switched_off(tmp_path: Path) -> None:
    for mock in start_mock(model_specs=(str(EXAMPLES),), disabled_features=(f"model={IMAGE_MODEL}",)):
        assert create(mock, {"model": IMAGE_MODEL, "input": {"prompt": "x"}})["code"] == 505
        assert create(mock, valid_body())["code"] == 200


def test_the_served_spec_shows_every_model(family: RunningMock) -> None:
    served = family.client.get("/openapi.json").json()
    schema = served["paths"][CREATE]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert schema["discriminator"] == {"propertyName": "model"}
    assert [option["properties"]["model"]["enum"][0] for option in schema["oneOf"]][:3] == [
        MODEL, TEXT_TO_VIDEO, IMAGE_MODEL]
    assert served["servers"][0]["url"] == family.base_url


def test_with_the_seed_alone_the_served_spec_is_the_bundled_one() -> None:
    from contracts.spec.document import load_spec

    for mock in start_mock(models=(MODEL,)):
        served = mock.client.get("/openapi.json").json()
        assert served["paths"] == load_spec()["paths"]


def bad_pages(tmp: Path) -> dict[str, tuple[Path, str]]:
    seed = yaml.safe_load((EXAMPLES / "bytedance-v1-pro-text-to-video.yaml").read_text())
    schema = seed["paths"][CREATE]["post"]["requestBody"]["content"]["application/json"]["schema"]
    pages: dict[str, tuple[str, str]] = {
        "not-openapi.yaml": ("just: text\n", "not an OpenAPI 3.0 document"),
        "broken.json": ("{not json", "cannot be read as JSON"),
        "no-create.yaml": (yaml.safe_dump({**seed, "paths": {"/other": seed["paths"][CREATE]}}),
                           f"defines no POST {CREATE}"),
    }
    two = json.loads(json.dumps(seed))
    two["paths"][CREATE]["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"]["model"][
        "enum"] = ["a/one", "a/two"]
    pages["two-models.yaml"] = (yaml.safe_dump(two), "must be an enum of exactly one id")
    colon = json.loads(json.dumps(seed))
    colon["paths"][CREATE]["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"]["model"][
        "enum"] = ["veo:mine"]
    pages["colon.yaml"] = (yaml.safe_dump(colon), "may not contain ':'")  # `<api>:<model>` is another API's
    again = json.loads(json.dumps(seed))
    again["paths"][CREATE]["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"]["model"][
        "enum"] = [MODEL]
    pages["seed-again.yaml"] = (yaml.safe_dump(again), f"model {MODEL!r} is already defined by bundled:")
    assert schema  # the example page is the base of each broken one
    result = {}
    for name, (text, message) in pages.items():
        (tmp / name).write_text(text)
        result[name] = (tmp / name, message)
    (tmp / "empty").mkdir()
    result["empty-dir"] = (tmp / "empty", "a directory with no model pages")
    return result


def test_bad_pages_stop_start_up_with_the_file_and_the_problem(tmp_path: Path) -> None:
    from contracts.family.pages import ModelPageError
    from mock_server import Settings, create_app

    for path, message in bad_pages(tmp_path).values():
        with pytest.raises(ModelPageError) as raised:
            create_app(Settings(model_specs=(str(path),)))
        assert str(path) in str(raised.value) and message in str(raised.value), raised.value


def test_the_cli_loads_pages_and_refuses_a_bad_one(tmp_path: Path) -> None:
    path, message = bad_pages(tmp_path)["two-models.yaml"]
    done = subprocess.run([sys.executable, "-m", "mock_server", "serve", "--port", "0", "--model-spec", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and str(path) in done.stderr and message in done.stderr
    assert "Traceback" not in done.stderr


def test_model_specs_from_the_environment_and_toml(tmp_path: Path) -> None:
    from mock_server.settings import load_settings

    from_env = load_settings(env={"APIKLEY_MOCK_MODEL_SPECS": f"{EXAMPLES},{SEEDANCE}"})
    assert from_env.model_specs == (str(EXAMPLES), str(SEEDANCE))
    config = tmp_path / "mock.toml"
    config.write_text(f'model_specs = ["{EXAMPLES}"]\n')
    assert load_settings(env={}, config_file=config).model_specs == (str(EXAMPLES),)
