"""The whole family out of the box, as real clients call it: every bundled model's example
accepted over HTTP and ending in a result of its kind; outputs as each model makes them (size
classes, formats, sets of results, sound, still frames, text); the family's old paths; an
empty callBackUrl; did-you-mean; --models. Real media is rendered for a sample."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from PIL import Image

from contracts.family.bundled import bundled_pages
from mock_server.testing import MockProcess
from tests.conftest import MODEL, RunningMock, start_mock, valid_body

CREATE = "/api/v1/jobs/createTask"
DETAILS = "/api/v1/jobs/recordInfo"
EXTENSIONS = {"video": {"mp4"}, "image": {"png", "jpeg", "jpg", "webp"}, "audio": {"wav", "mp3", "opus"}}


@pytest.fixture(scope="module")
def family() -> Iterator[RunningMock]:
    yield from start_mock()


def result(mock: RunningMock, body: dict, *, path: str = CREATE) -> tuple[str, dict]:
    answer = mock.client.post(path, json=body).json()
    assert answer["code"] == 200, (body, answer)
    task_id = answer["data"]["taskId"]
    mock.clock.advance(3600)
    record = mock.client.get(DETAILS, params={"taskId": task_id}).json()["data"]
    assert record["state"] == "success", record
    return task_id, json.loads(record["resultJson"])


def test_every_bundled_models_example_ends_in_a_result_of_its_kind(family: RunningMock) -> None:
    listed = {entry["model"]: entry for entry in family.client.get("/__mock__/models").json()["data"]}
    for page in bundled_pages():
        assert listed[page.model_id]["factsDate"] == "2026-08-19"
        _, made = result(family, page.example_body())
        if page.output == "text":
            assert made["resultObject"]["model"] == page.model_id and "resultUrls" not in made
        else:
            assert made["resultUrls"] and all(url.rsplit(".", 1)[1] in EXTENSIONS[page.output]
                                              for url in made["resultUrls"]), (page.model_id, made)


def fetch(url: str) -> httpx.Response:
    response = httpx.get(url, timeout=120)
    assert response.status_code == 200, url
    return response


@pytest.mark.parametrize(("fields", "size", "kind"), [
    ({"resolution": "1K", "aspect_ratio": "1:1"}, (1024, 1024), "PNG"),
    ({"resolution": "2K", "aspect_ratio": "16:9", "output_format": "jpg"}, (2048, 1152), "JPEG"),
    ({"resolution": "4K", "aspect_ratio": "9:16"}, (2304, 4096), "PNG"),
])
def test_image_size_classes_and_formats(family: RunningMock, fields: dict, size: tuple[int, int], kind: str) -> None:
    _, made = result(family, {"model": "nano-banana-pro", "input": {"prompt": "a lighthouse", **fields}})
    response = fetch(made["resultUrls"][0])
    image = Image.open(io.BytesIO(response.content))
    assert (image.format, image.size) == (kind, size)
    assert response.headers["content-type"] == f"image/{kind.lower()}"


def test_image_size_presets(family: RunningMock) -> None:
    _, made = result(family, {"model": "qwen/text-to-image", "input": {"prompt": "x", "image_size": "landscape_16_9",
                                                                       "output_format": "jpeg"}})
    assert Image.open(io.BytesIO(fetch(made["resultUrls"][0]).content)).size == (1024, 576)


def test_several_results_where_the_model_makes_several(family: RunningMock) -> None:
    _, asked = result(family, {"model": "wan/2-7-image", "input": {"prompt": "three cats", "n": 3}})
    _, fixed = result(family, {"model": "grok-imagine/text-to-image", "input": {"prompt": "a fox"}})
    assert len(asked["resultUrls"]) == 3 and len(fixed["resultUrls"]) == 6
    contents = [fetch(url).content for url in asked["resultUrls"]]
    assert len(set(contents)) == 3  # three files, each its own
    assert all(Image.open(io.BytesIO(content)).size == Image.open(io.BytesIO(contents[0])).size
               for content in contents)


def streams(content: bytes) -> list[str]:
    with av.open(io.BytesIO(content)) as container:
        return [stream.type for stream in container.streams]


def test_a_video_asked_with_sound_has_a_sound_track(family: RunningMock) -> None:
    body: dict[str, Any] = {"model": "kling-2.6/text-to-video", "input": {"prompt": "rain", "aspect_ratio": "16:9",
                                                          "duration": "5", "sound": True}}
    _, loud = result(family, body)
    _, quiet = result(family, {**body, "input": {**body["input"], "sound": False}})
    assert streams(fetch(loud["resultUrls"][0]).content) == ["video", "audio"]
    assert streams(fetch(quiet["resultUrls"][0]).content) == ["video"]


def test_seedance_returns_its_first_and_last_frames_when_asked(family: RunningMock) -> None:
    _, made = result(family, {"model": "bytedance/seedance-2", "input": {
        "prompt": "a paper boat", "resolution": "480p", "aspect_ratio": "16:9", "duration": 4,
        "return_last_frame": True}})
    assert len(made["firstFrameUrl"]) == len(made["lastFrameUrl"]) == 1
    first, last = (Image.open(io.BytesIO(fetch(made[name][0]).content)) for name in ("firstFrameUrl", "lastFrameUrl"))
    assert first.format == last.format == "PNG" and first.size == last.size == (854, 480)


def test_a_text_model_answers_a_result_object(family: RunningMock) -> None:
    _, made = result(family, {"model": "omnihuman-1-5/human-identification",
                              "input": {"image_url": "https://example.com/person.png"}})
    assert made["resultObject"]["model"] == "omnihuman-1-5/human-identification"


def test_an_empty_callback_url_is_no_callback(family: RunningMock) -> None:
    task_id, _ = result(family, {**valid_body(), "callBackUrl": ""})
    assert family.client.get("/__mock__/callbacks", params={"taskId": task_id}).json()["data"] == []
    assert json.loads(family.client.get(DETAILS, params={"taskId": task_id}).json()["data"]["param"])[
        "callBackUrl"] == ""  # param keeps what was sent


def test_the_playground_paths_older_clients_call(family: RunningMock) -> None:
    answer = family.client.post("/api/v1/playground/createTask", json=valid_body()).json()
    task_id = answer["data"]["taskId"]
    family.clock.advance(600)
    record = family.client.get("/api/v1/playground/recordInfo", params={"taskId": task_id}).json()
    assert record["data"]["state"] == "success" and record["data"]["model"] == MODEL
    listed = family.client.get("/api/v1/playground/model-paths").json()
    assert listed["code"] == 200 and MODEL in listed["data"] and "nano-banana-pro" in listed["data"]
    assert len(listed["data"]) == len(bundled_pages()) + 1
    assert httpx.get(f"{family.base_url}/api/v1/playground/model-paths").json()["code"] == 401


def test_a_misspelled_model_is_answered_with_the_closest_ids(family: RunningMock) -> None:
    answer = family.client.post(CREATE, json={"model": "nano-banana2", "input": {"prompt": "x"}}).json()
    assert answer == {"code": 422, "data": None, "msg": "model: 'nano-banana2' is not a loaded model; did you mean "
                                                        "nano-banana-2 or nano-banana-pro or nano-banana-2-lite?"}


def test_models_narrow_what_loads() -> None:
    for mock in start_mock(models=("kling*",)):
        loaded = [entry["model"] for entry in mock.client.get("/__mock__/models").json()["data"]]
        assert loaded[0] == MODEL and all(model.startswith("kling") for model in loaded[1:])
        refused = mock.client.post(CREATE, json={"model": "nano-banana-pro", "input": {"prompt": "x"}}).json()
        assert refused["code"] == 422 and "is not a loaded model" in refused["msg"]


def test_the_cli_says_which_bundled_page_yours_replaces_and_refuses_unknown_patterns() -> None:
    examples = Path(__file__).resolve().parents[2] / "openapi" / "models"
    with MockProcess("--port", "0", "--speed", "0", "--model-spec", str(examples)) as mock:
        banner = mock.output()
    assert f"Models: {len(bundled_pages()) + 2} loaded" in banner
    assert "bytedance-v1-pro-text-to-video.yaml: replaces the bundled page of bytedance/v1-pro-text-to-video" in banner
    done = subprocess.run([sys.executable, "-m", "mock_server", "serve", "--models", "klong*"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "models 'klong*': matches no model" in done.stderr
    assert "Traceback" not in done.stderr


def speech_page(folder: Path) -> Path:
    """An audio model whose page offers the family's audio formats (as elevenlabs' do)."""
    page = json.loads((Path(__file__).resolve().parents[2] / "openapi" / "catalogue" /
                       "elevenlabs--text-to-speech-turbo-2-5.json").read_text())
    schema = page["paths"][CREATE]["post"]["requestBody"]["content"]["application/json"]["schema"]
    schema["properties"]["model"]["enum"] = ["example/speech"]
    schema["properties"]["input"]["properties"]["output_format"] = {
        "type": "string", "enum": ["mp3_44100_128", "opus_48000_64", "pcm_16000"]}
    path = folder / "speech.json"
    path.write_text(json.dumps(page))
    return path


@pytest.mark.parametrize(("given", "extension", "media", "codec"), [
    ("mp3_44100_128", "mp3", "audio/mpeg", "mp3float"), ("opus_48000_64", "opus", "audio/ogg", "opus"),
    ("pcm_16000", "wav", "audio/wav", "pcm_s16le")])
def test_audio_formats_as_the_page_offers_them(tmp_path: Path, given: str, extension: str, media: str,
                                               codec: str) -> None:
    for mock in start_mock(model_specs=(str(speech_page(tmp_path)),), models=(MODEL,)):
        _, made = result(mock, {"model": "example/speech", "input": {"text": "hello", "output_format": given}})
        url = made["resultUrls"][0]
        response = fetch(url)
        assert url.endswith(f".{extension}") and response.headers["content-type"] == media
        with av.open(io.BytesIO(response.content), mode="r") as container:
            assert container.streams.audio[0].codec_context.name == codec
            assert abs(float(container.duration or 0) / av.time_base - 10) < 0.2  # the default length


def test_requests_alike_share_one_render(family: RunningMock) -> None:
    body = {"model": "flux-2/pro-text-to-image", "input": {"prompt": "a red kite", "aspect_ratio": "1:1",
                                                            "resolution": "1K"}}
    media = family.server.app.state.services.media.root
    before = set(media.iterdir())
    first, second = (result(family, body)[1]["resultUrls"][0] for _ in range(2))
    assert first != second and fetch(first).content == fetch(second).content
    assert len(set(media.iterdir()) - before) == 1  # rendered once
