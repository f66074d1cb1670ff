"""`apikley-mock serve` as a user runs it: a real process, its banner, its port, its errors."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from mock_server.testing import MockProcess

BANNER_LINES = 9  # see mock_server.cli.banner


@pytest.fixture
def served() -> Iterator[tuple[str, list[str]]]:
    with MockProcess("--port", "0", "--speed", "0", "--api-key", "cli-key", "--log-level", "warning") as mock:
        lines = mock.output().splitlines()[:BANNER_LINES]
        assert re.search(r"listening on (http://127\.0\.0\.1:\d+)", lines[0]), lines
        yield mock.base_url, lines


def test_serve_prints_url_key_and_a_working_curl_line(served: tuple[str, list[str]]) -> None:
    base_url, lines = served
    assert lines[1].strip() == "API key: cli-key"
    apis = re.search(r"Also: .*Veo 3\.1 at their own paths \(GET (\S+)\)", "\n".join(lines))
    assert apis and len(httpx.get(apis.group(1), timeout=10).json()) == 6, lines
    curl = next(line for line in lines if line.strip().startswith("curl") and "createTask" in line)
    assert "Authorization: Bearer cli-key" in curl and base_url in curl
    pages = re.search(r"Dashboard: (\S+)\s+API docs: (\S+)", lines[-1])
    assert pages, lines
    assert [httpx.get(url, timeout=10).status_code for url in pages.groups()] == [200, 200]
    assert pages.group(1) == f"{base_url}/__mock__/"
    health = httpx.get(f"{base_url}/__mock__/health", timeout=10).json()
    assert health["data"]["status"] == "ok"
    answer = httpx.get(f"{base_url}/api/v1/chat/credit",
                       headers={"Authorization": "Bearer cli-key"}, timeout=10).json()
    assert answer["code"] == 200


@pytest.mark.parametrize(("args", "message"), [
    (["--speed", "-2"], "speed: -2 must be from 0 (frozen) to 1e+06"),
    (["--speed", "1e15"], "speed: 1e+15 must be from 0 (frozen) to 1e+06"),
    (["--admin-token", "  "], "admin_token: must be a non-empty token"),
    (["--admin-token", ""], "admin_token: must be a non-empty token"),
    (["--port", "99999"], "port: 99999 is not between"),
    (["--config", "/nonexistent/mock.toml"], "config file /nonexistent/mock.toml"),
    (["--workers", "0"], "workers: 0 is not between 1 and 64"),
    (["--store", "memcached://x"], "store: 'memcached://x' is not a redis:// URL"),
    (["--store", "redis://127.0.0.1:1/0", "--port", "0"], "store redis://127.0.0.1:1/0"),  # nothing answers
    (["--db", "/nonexistent/dir/state.db", "--port", "0"], "db /nonexistent/dir/state.db"),
])
def test_bad_settings_exit_2_with_the_setting_named(args: list[str], message: str) -> None:
    done = subprocess.run([sys.executable, "-m", "mock_server", "serve", *args],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_every_setting_flag_reaches_the_settings(tmp_path: object) -> None:
    from mock_server.cli import parser, settings_from

    args = parser().parse_args([
        "serve", "--create-rate-limit", "5/1", "--query-rate-limit", "off", "--maintenance",
        "--disable-feature", "resolution=1080p", "--webhook-hmac-key", "k",
        "--callback-allow-host", "hooks.example.com", "--admin-token", "t", "--db", "x.db",
        "--api-key", "a", "--api-key", "b", "--status-policy", "mirror", "--data-dir", "/tmp/d",
        "--files-dir", "/tmp/f", "--public-url", "https://m.test/", "--access-log", "--workers", "3",
        "--lease-seconds", "2.5"])
    settings = settings_from(args)
    assert (settings.create_rate_limit, settings.query_rate_limit) == ("5/1", "off")
    assert settings.maintenance is True and settings.disabled_features == ("resolution=1080p",)
    assert settings.webhook_hmac_key == "k" and settings.callback_allow_hosts == ("hooks.example.com",)
    assert (settings.admin_token, settings.db, settings.api_keys) == ("t", "x.db", ("a", "b"))
    assert settings.status_policy == "mirror"
    assert (settings.data_dir, settings.files_dir) == ("/tmp/d", "/tmp/f")
    assert settings.public_url == "https://m.test" and settings.access_log is True
    assert (settings.workers, settings.lease_seconds) == (3, 2.5)


def test_access_log_prints_one_line_per_request() -> None:
    with MockProcess("--port", "0", "--speed", "0", "--api-key", "cli-key", "--log-level", "warning",
                     "--access-log", "--public-url", "https://apikley-mock.test") as mock:
        banner = mock.output().splitlines()[:BANNER_LINES + 1]
        assert "start with https://apikley-mock.test" in banner[1]
        base_url = mock.base_url
        auth = {"Authorization": "Bearer cli-key"}
        created = httpx.post(f"{base_url}/api/v1/jobs/createTask", headers=auth, timeout=10, json={
            "model": "bytedance/v1-pro-fast-image-to-video",
            "input": {"prompt": "x", "image_url": "https://example.com/a.png"}}).json()
        task_id = created["data"]["taskId"]
        httpx.get(f"{base_url}/api/v1/jobs/recordInfo", params={"taskId": task_id}, headers=auth, timeout=10)
        httpx.get(f"{base_url}/api/v1/chat/credit", timeout=10)  # no key: 401 in the envelope, HTTP 200
    lines = [line for line in mock.output().splitlines() if line.startswith(("GET /api", "POST /api"))]
    pattern = r"^{} {} code={} status={} \d+\.\d\dms task={}$"
    assert re.match(pattern.format("POST", "/api/v1/jobs/createTask", 200, 200, task_id), lines[0]), lines
    assert re.match(pattern.format("GET", "/api/v1/jobs/recordInfo", 200, 200, task_id), lines[1]), lines
    assert re.match(pattern.format("GET", "/api/v1/chat/credit", 401, 200, "-"), lines[2]), lines


def test_binding_beyond_loopback_warns_what_is_exposed() -> None:
    # Asserted on the message the CLI prints before binding: tests bind to 127.0.0.1 only.
    from mock_server.cli import exposure_warning
    from mock_server.settings import Settings

    assert exposure_warning(Settings(host="127.0.0.1")) is None
    assert exposure_warning(Settings(host="::1")) is None
    warning = exposure_warning(Settings(host="0.0.0.0"))
    assert warning is not None and "listening on 0.0.0.0" in warning and "loopback clients only" in warning
    with_token = str(exposure_warning(Settings(host="0.0.0.0", admin_token="t")))
    assert "to clients presenting --admin-token as the X-Mock-Admin-Token header" in with_token
    assert "Bearer" not in with_token  # the header the control API reads, not the API's
