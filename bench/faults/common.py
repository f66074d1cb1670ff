"""What the fault figures share: a mock in its own process (so it can be killed), its log and
memory, a callback receiver, and small HTTP helpers."""

from __future__ import annotations

import base64
import io
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from mock_server.testing import MockProcess

MODEL = "bytedance/v1-pro-fast-image-to-video"
ROOT = Path(__file__).resolve().parents[2]


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    return repr(value)


@contextmanager
def mock_process(workdir: Path, **settings: Any) -> Iterator[MockProcess]:
    """`apikley-mock serve` with these settings (as a TOML file), until the block ends; its
    output in a log under `workdir` (tracebacks are counted from it)."""
    config = Path(tempfile.mkstemp(dir=workdir, prefix="mock-", suffix=".toml")[1])
    config.write_text("".join(f"{name} = {toml_value(value)}\n" for name, value in settings.items()))
    with MockProcess("--port", "0", "--config", str(config), "--log-level", "warning", cwd=ROOT,
                     log=config.with_suffix(".log")) as mock:
        yield mock


def count_tracebacks(mock: MockProcess) -> int:
    return mock.output().count("Traceback")


def workdir() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="apikley-soak-")


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def create_body(rng: Any, callback_url: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"model": MODEL, "input": {
        "prompt": f"soak {rng.randrange(10**6)}", "image_url": "https://example.com/cup.png",
        "resolution": rng.choice(["720p", "1080p"]), "duration": rng.choice(["5", "10"])}}
    if callback_url:
        body["callBackUrl"] = callback_url
    return body


def tiny_png() -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 36), (240, 120, 20)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def control(mock: MockProcess, method: str, path: str, **kwargs: Any) -> Any:
    response = httpx.request(method, f"{mock.base_url}/__mock__{path}", timeout=60, **kwargs)
    response.raise_for_status()
    return response.json()["data"]


def settle_everything(mock: MockProcess, *, rounds: int = 12) -> list[dict[str, Any]]:
    """Move the clock far enough for every task and retry to fall due, and wait for in-flight
    deliveries; returns what is still pending (empty when everything settled)."""
    pending: list[dict[str, Any]] = []
    for _ in range(rounds):
        control(mock, "POST", "/clock/advance", json={"seconds": 3600})
        pending = control(mock, "POST", "/callbacks/flush")["pending"]
        if not pending:
            break
    return pending

