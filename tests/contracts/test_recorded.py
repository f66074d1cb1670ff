"""`apikley-contract validate`: recorded traffic (schemathesis' own HAR and VCR reports from a
run against the mock) checked offline; tampered recordings are caught."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mock_server import Settings, ThreadedServer, create_app

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    folder = tmp_path_factory.mktemp("recordings")
    with ThreadedServer(create_app(Settings(api_keys=("k",), speed=0))) as server:
        subprocess.run([sys.executable, "-m", "schemathesis.cli", "--no-color", "run",
                        str(ROOT / "openapi" / "apikley.yaml"), "--url", server.base_url,
                        "-H", "Authorization: Bearer k", "--phases", "examples", "--max-examples", "2",
                        "--include-operation-id", "get-account-credits",
                        "--include-operation-id", "bytedance-v1-pro-fast-image-to-video",
                        "--report", "vcr,har", "--report-dir", str(folder)],
                       capture_output=True, text=True, timeout=300, cwd=folder)
    yield next(folder.glob("*.json")), next(folder.glob("*.yaml"))


def validate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "contracts.cli", "validate", *args],
                          capture_output=True, text=True, timeout=120)


def test_recordings_of_the_mock_are_clean_even_strictly(recordings: tuple[Path, Path]) -> None:
    done = validate(*map(str, recordings), "--strict")
    assert done.returncode == 0, done.stdout
    assert " 0 failed" in done.stdout and int(done.stdout.split()[-5]) >= 4


def tampered(har: Path, tmp_path: Path, change: str) -> Path:
    document = json.loads(har.read_text())
    entries = [entry for entry in document["log"]["entries"]
               if entry["request"]["url"].endswith("/api/v1/jobs/createTask")]
    assert entries, "the recording has no createTask answer to tamper with"
    for entry in entries:
        body = json.loads(entry["response"]["content"]["text"])
        if change == "type":
            body["data"] = {"taskId": 12345}
        else:
            body["balanceCurrency"] = "credits"
        entry["response"]["content"]["text"] = json.dumps(body)
    target = tmp_path / f"{change}.har"
    target.write_text(json.dumps(document))
    return target


def test_a_wrong_type_is_caught(recordings: tuple[Path, Path], tmp_path: Path) -> None:
    done = validate(str(tampered(recordings[0], tmp_path, "type")))
    assert done.returncode == 1
    assert "conforms_to_spec" in done.stdout and "reproduce: curl" in done.stdout


def test_undocumented_fields_only_fail_strictly(recordings: tuple[Path, Path], tmp_path: Path) -> None:
    path = str(tampered(recordings[0], tmp_path, "extra"))
    assert validate(path).returncode == 0
    strict = validate(path, "--strict")
    assert strict.returncode == 1 and "balanceCurrency" in strict.stdout


def test_a_json_body_for_an_operation(tmp_path: Path) -> None:
    record = {"taskId": "task_bytedance_1765182752206", "model": "m", "state": "success", "param": "{}",
              "resultJson": {"resultUrls": ["https://x/y.mp4"]}, "createTime": 1765182752206,
              "updateTime": 1765182752206}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"code": 200, "msg": "success", "data": record}))
    done = validate(str(bad), "--operation", "get-task-details")
    assert done.returncode == 1 and "resultJson" in done.stdout
    record["resultJson"] = json.dumps(record["resultJson"])
    bad.write_text(json.dumps({"code": 200, "msg": "success", "data": record}))
    assert validate(str(bad), "--operation", "get-task-details").returncode == 0


def test_unreadable_files_exit_2(tmp_path: Path) -> None:
    junk = tmp_path / "junk.txt"
    junk.write_text("just: [text")
    done = validate(str(junk))
    assert done.returncode == 2 and "neither JSON nor YAML" in done.stderr


def test_another_apis_recording_is_held_to_its_own_spec(tmp_path: Path) -> None:
    with ThreadedServer(create_app(Settings(api_keys=("k",), speed=0))) as server:
        subprocess.run([sys.executable, "-m", "schemathesis.cli", "--no-color", "run",
                        str(ROOT / "openapi" / "apis" / "veo.yaml"), "--url", server.base_url,
                        "-H", "Authorization: Bearer k", "--phases", "examples", "--max-examples", "2",
                        "--include-operation-id", "veo-generate", "--report", "har", "--report-dir", str(tmp_path)],
                       capture_output=True, text=True, timeout=300, cwd=tmp_path)
    har = next(tmp_path.glob("*.json"))
    clean = validate(str(har))
    assert clean.returncode == 0 and int(clean.stdout.split()[-5]) >= 3, clean.stdout
    document = json.loads(har.read_text())
    created = [entry for entry in document["log"]["entries"] if entry["request"]["url"].endswith("/veo/generate")
               and json.loads(entry["response"]["content"]["text"])["code"] == 200]
    assert created, "the recording has no Veo task created"
    for entry in created:
        entry["response"]["content"]["text"] = json.dumps({"code": 200, "msg": "success", "data": {"taskId": 1}})
    broken = tmp_path / "broken.har"
    broken.write_text(json.dumps(document))
    done = validate(str(broken))
    assert done.returncode == 1 and "conforms_to_spec" in done.stdout and "/api/v1/veo/generate" in done.stdout
