"""The README's walk-through works exactly as written (only the port differs)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import av
import httpx
import pytest

from contracts.spec.document import operations
from mock_server import Settings, ThreadedServer, create_app

README = Path(__file__).resolve().parents[1] / "README.md"


def snippet(name: str) -> str:
    text = README.read_text(encoding="utf-8")
    block = re.search(rf"<!-- {name}:start -->\s*```sh\n(.*?)```\s*<!-- {name}:end -->", text, re.S)
    assert block, f"README lost its {name} markers"
    return block.group(1)


@pytest.mark.skipif(shutil.which("curl") is None, reason="the walk-through uses curl")
def test_readme_walkthrough_runs_to_a_playable_video(tmp_path: Path) -> None:
    script = snippet("walkthrough")
    assert "http://127.0.0.1:8000" in script and "apikley-mock-key" in script
    # A fast virtual clock: the task has finished by the first poll, so the loop never sleeps,
    # and its result is kept for 24 virtual hours (8.6 s here).
    with ThreadedServer(create_app(Settings(speed=10_000))) as server:
        done = subprocess.run(["bash", "-c",
                               script.replace("http://127.0.0.1:8000", server.base_url)],
                              capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"created task_bytedance_\d{13}", done.stdout)
    assert re.search(r"saved result.mp4: \d+ bytes$", done.stdout.strip())
    assert '"state":"success"' in done.stderr and "resultUrls" in done.stderr
    # Successive polls printed one per line: every JSON answer ends with a newline.
    polls = [line for line in done.stderr.splitlines() if line]
    assert polls and all(line.startswith('{"code":') and line.endswith("}") for line in polls)
    with av.open(str(tmp_path / "result.mp4")) as video:
        stream = video.streams.video[0]
        assert (stream.codec_context.name, stream.width, stream.height) == ("h264", 1280, 720)
        assert float(video.duration or 0) / av.time_base == pytest.approx(5.0, abs=0.1)


@pytest.mark.skipif(shutil.which("curl") is None, reason="the recipe uses curl")
def test_readme_schemathesis_recipe_runs_clean_against_the_defaults() -> None:
    script = snippet("schemathesis")
    # make run's defaults (upstream policy, rate limits on, the default key); only the port differs.
    with ThreadedServer(create_app(Settings())) as server:
        done = subprocess.run(["bash", "-c", script.replace("http://127.0.0.1:8000", server.base_url).strip()
                               + " --seed 7 --no-color"],
                              capture_output=True, text=True, timeout=600, cwd=README.parent)
        toggles = httpx.get(f"{server.base_url}/__mock__/toggles").json()["data"]
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert toggles["rateLimits"] is False
    cases = re.search(r"(\d+) generated, (\d+) passed", done.stdout)
    assert cases and cases.group(1) == cases.group(2) and int(cases.group(1)) > 500, done.stdout[-2000:]
    assert f"Tested: {len(list(operations()))}" in done.stdout and "No issues found" in done.stdout


def test_the_settings_table_is_the_settings_fields() -> None:
    """The README's table is generated from the fields (python -m mock_server.settings.table),
    so every setting appears, with its flag, env and TOML names and default."""
    import dataclasses

    from mock_server.settings import Settings
    from mock_server.settings.table import markdown_table

    text = README.read_text(encoding="utf-8")
    block = re.search(r"<!-- settings:start[^>]*-->\n(.*?)<!-- settings:end -->", text, re.S)
    assert block, "README lost its settings markers"
    assert block.group(1) == markdown_table(), "regenerate: python -m mock_server.settings.table"
    for item in dataclasses.fields(Settings):
        assert f"/ `{item.name}` |" in block.group(1)


def readme_command_lines() -> list[str]:
    """Every `apikley-mock ...` and `apikley-contract ...` line of the README's sh blocks, with
    its continuation lines joined and comments cut."""
    text = README.read_text(encoding="utf-8")
    lines: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for line in block.splitlines():
            line = line.split(" # ")[0].rstrip()
            if line.startswith(("apikley-mock ", "apikley-contract ")):
                lines.append(line)
            elif lines and line.startswith(" ") and lines[-1] and line.strip().startswith("["):
                lines[-1] += " " + line.strip()
    return lines


def test_every_cli_line_of_the_readme_is_one_the_cli_takes() -> None:
    """Each documented flag exists on its command; lines without placeholders parse whole."""
    import argparse
    import shlex

    from contracts.cli import parser as contract_parser
    from mock_server.cli import parser as mock_parser

    lines = readme_command_lines()
    assert len(lines) >= 8, lines
    for line in lines:
        program, command, *rest = shlex.split(line)
        root = mock_parser() if program == "apikley-mock" else contract_parser()
        sub = next(action for action in root._actions if isinstance(action, argparse._SubParsersAction))
        options = {flag for action in sub.choices[command]._actions for flag in action.option_strings}
        documented = set(re.findall(r"(--[a-z][a-z-]*)", " ".join(rest)))
        assert documented <= options, (line, documented - options)
        if not re.search(r"[\[\]|]|\.\.\.", line):
            root.parse_args([command, *rest])  # SystemExit (a usage error) fails the test


def test_the_readme_catalogue_table_is_the_bundled_pages() -> None:
    from contracts.family.table import catalogue_table

    text = README.read_text(encoding="utf-8")
    block = re.search(r"<!-- catalogue:start[^>]*-->\n(.*?)<!-- catalogue:end -->", text, re.S)
    assert block, "README lost its catalogue table"
    assert block.group(1) == catalogue_table(), "run: python -m contracts.family.table"
