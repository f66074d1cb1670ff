"""The README's walk-through works exactly as written (only the port differs)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from mock_server import Settings, ThreadedServer, create_app

README = Path(__file__).resolve().parents[1] / "README.md"


def walkthrough() -> str:
    text = README.read_text(encoding="utf-8")
    block = re.search(r"<!-- walkthrough:start -->\s*```sh\n(.*?)```\s*<!-- walkthrough:end -->",
                      text, re.S)
    assert block, "README lost its walk-through markers"
    return block.group(1)


@pytest.mark.skipif(shutil.which("curl") is None, reason="the walk-through uses curl")
def test_readme_walkthrough_runs_to_success() -> None:
    script = walkthrough()
    assert "http://127.0.0.1:8000" in script and "apikley-mock-key" in script
    # A fast virtual clock: the task has finished by the first poll, so the loop never sleeps.
    with ThreadedServer(create_app(Settings(speed=1_000_000))) as server:
        done = subprocess.run(["bash", "-c",
                               script.replace("http://127.0.0.1:8000", server.base_url)],
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"created task_bytedance_\d{13}", done.stdout)
    assert done.stdout.strip().endswith("done")
    assert '"state":"success"' in done.stderr and "resultUrls" in done.stderr
