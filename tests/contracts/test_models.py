"""The contract run over the model family: clean on every loaded model, and a server that
breaks one model's contract is caught on that model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from starlette.types import Scope

from contracts.checks.report import Report
from contracts.family.catalogue import ModelCatalogue
from mock_server import Settings, ThreadedServer, create_app
from tests.contracts.test_engine import KEY, breaking, failed_checks, run_against

ROOT = Path(__file__).resolve().parents[2]
SPECS = (str(ROOT / "openapi" / "models"), str(ROOT / "tests" / "fixtures" / "models"))
IMAGE_MODEL = "example/text-to-image"


def family_app(**settings: Any) -> Any:
    return create_app(Settings(api_keys=(KEY,), speed=0, model_specs=SPECS, **settings))


SEED_ONLY = ("bytedance/v1-pro-fast-image-to-video",)  # --models naming the seed: no bundled page loads


def test_every_loaded_model_passes_clean() -> None:
    report = run_against(family_app(), model_specs=SPECS, schemathesis=False)
    assert report.failures == [], report.summary()
    assert report.passed["result_media"] == 4 and report.passed["callback"] == 4
    assert report.billable_calls == 4  # one task per model, counted together


def test_a_server_that_does_not_know_a_model_is_caught() -> None:
    seed_only = create_app(Settings(api_keys=(KEY,), speed=0, models=SEED_ONLY))
    report = run_against(seed_only, model_specs=SPECS, models=(IMAGE_MODEL,), schemathesis=False)
    failure = next(f for f in report.failures if f.check == "create_task")
    assert "is not one of" in failure.got and IMAGE_MODEL in failure.reproducer


def test_a_result_of_the_wrong_kind_is_caught_on_that_model() -> None:
    def png_as_mp4(scope: Scope, status: int, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        record = body.get("data") if isinstance(body.get("data"), dict) else None
        if record and record.get("model") == IMAGE_MODEL and record.get("resultJson"):
            record["resultJson"] = record["resultJson"].replace(".png", ".mp4")
        return status, body

    report: Report = run_against(breaking(family_app(), png_as_mp4), model_specs=SPECS, schemathesis=False)
    # The result is not the image the page promises; the callback (unbroken) no longer agrees
    # with the broken record either. The other three models still pass.
    assert failed_checks(report) == {"result_media", "callback"}
    assert report.passed["result_media"] == 3


def test_the_cli_checks_the_models_named() -> None:
    with ThreadedServer(family_app()) as server:
        done = subprocess.run(
            [sys.executable, "-m", "contracts.cli", "run", "--base-url", server.base_url, "--api-key", KEY,
             "--no-schemathesis", "--model-spec", SPECS[0], "--model", IMAGE_MODEL],
            capture_output=True, text=True, timeout=120)
        unknown = subprocess.run(
            [sys.executable, "-m", "contracts.cli", "run", "--base-url", server.base_url, "--api-key", KEY,
             "--model", "nope/nothing"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout
    assert f"== lifecycle and callbacks: {IMAGE_MODEL}" in done.stdout
    assert "lifecycle and callbacks: bytedance" not in done.stdout
    assert unknown.returncode == 2 and "models 'nope/nothing': matches no loaded model" in unknown.stderr


@settings(max_examples=15, deadline=None)
@given(body=__import__("contracts.strategies", fromlist=["x"]).create_task_bodies(model=IMAGE_MODEL,
                                                                                   model_specs=SPECS))
def test_strategies_generate_bodies_for_any_loaded_model(body: Any) -> None:
    catalogue = ModelCatalogue.load(SPECS)
    assert body["model"] == IMAGE_MODEL and catalogue.accepts(json.loads(json.dumps(body)))


SAMPLE = ("nano-banana-pro", "wan/2-7-image", "kling-2.6/text-to-video", "elevenlabs/text-to-speech-turbo-2-5",
          "omnihuman-1-5/human-identification")  # an image, a set, a video, audio, text


def test_the_run_checks_bundled_models_chosen_by_pattern() -> None:
    mock = create_app(Settings(api_keys=(KEY,), speed=0))
    report = run_against(mock, models=(*SAMPLE, "grok-imagine/text-to-*"), schemathesis=False)
    assert report.failures == [], report.summary()
    checked = len(SAMPLE) + 2  # the pattern: grok's text-to-image and text-to-video
    assert report.billable_calls == checked and report.passed["result_set"] == checked
    files = {"nano-banana-pro": 1, "wan/2-7-image": 1, "kling-2.6/text-to-video": 1, "elevenlabs": 1,
             "omnihuman (text)": 0, "grok-imagine/text-to-image": 6, "grok-imagine/text-to-video": 1}
    assert report.passed["result_media"] == sum(files.values())
