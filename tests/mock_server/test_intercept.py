"""Clients that hard-code the family's https hosts, by environment alone: the mock's local CA,
its forward proxy (`--proxy-port`, the fixture's `apikley_mock_intercept`) and `serve --tls`,
with real clients: requests, httpx, curl, Node's fetch."""

from __future__ import annotations

import base64
import json
import logging
import os
import shutil
import ssl
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import requests

from mock_server.intercept import ForwardProxy
from mock_server.testing import MockProcess
from mock_server.tls import LocalCA, local_ca
from mock_server.urls import FAMILY_HOSTS
from tests.conftest import API_KEY, RunningMock, start_mock, valid_body
from tests.mock_server.test_files import png

AUTH = {"Authorization": f"Bearer {API_KEY}"}


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> LocalCA:
    return local_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def routed(ca: LocalCA) -> Iterator[tuple[RunningMock, str]]:
    """A mock and a forward proxy in front of it: (the mock, the proxy's URL)."""
    for mock in start_mock():
        forward = ForwardProxy(target=(mock.server.host, mock.server.port), hosts=FAMILY_HOSTS,
                               server_tls=ca.server_context())
        port = forward.start("127.0.0.1", 0)
        try:
            yield mock, f"http://127.0.0.1:{port}"
        finally:
            forward.stop()


def test_the_ca_is_made_once_kept_private_and_bundled_with_the_systems(tmp_path: Path) -> None:
    folder = tmp_path / "ca"
    done = subprocess.run([sys.executable, "-m", "mock_server", "ca", "path", "--ca-dir", str(folder)],
                          capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.splitlines()[-1] == str(folder / "ca.pem")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "ca-key.pem").stat().st_mode) == 0o600
    first = (folder / "ca.pem").read_bytes()
    exports = subprocess.run([sys.executable, "-m", "mock_server", "ca", "env"], capture_output=True, text=True,
                             timeout=60, check=True, env={**os.environ, "APIKLEY_MOCK_CA_DIR": str(folder)}).stdout
    assert (folder / "ca.pem").read_bytes() == first  # made once
    for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS"):
        assert f"export {name}={folder / 'bundle.pem'}" in exports
    bundle = (folder / "bundle.pem").read_bytes()
    assert first in bundle and bundle.count(b"BEGIN CERTIFICATE") > 50  # the system's CAs too
    (tmp_path / "blocked").write_text("a file, not a directory")
    refused = subprocess.run([sys.executable, "-m", "mock_server", "ca", "path", "--ca-dir",
                              str(tmp_path / "blocked" / "ca")], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and f"CA directory {tmp_path / 'blocked' / 'ca'}" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_requests_creates_polls_downloads_and_uploads_against_the_hard_coded_hosts(
        routed: tuple[RunningMock, str], ca: LocalCA, monkeypatch: pytest.MonkeyPatch) -> None:
    mock, proxy = routed
    for name, value in {"HTTPS_PROXY": proxy, "NO_PROXY": "127.0.0.1", **ca.env()}.items():
        monkeypatch.setenv(name, value)  # what `apikley-mock ca env` and the proxy's banner say to export
    with requests.Session() as session:
        session.headers.update(AUTH)
        created = session.post("https://api.kie.ai/api/v1/jobs/createTask", json=valid_body(), timeout=30).json()
        task_id = created["data"]["taskId"]
        mock.clock.advance(600)
        record = session.get("https://api.kie.ai/api/v1/jobs/recordInfo", params={"taskId": task_id},
                             timeout=30).json()["data"]
        url = json.loads(record["resultJson"])["resultUrls"][0]
        assert url.startswith("https://tempfile.aiquickdraw.com/results/")  # where upstream's results are
        video = session.get(url, timeout=120)
        assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
        assert video.content[4:8] == b"ftyp"
        uploaded = session.post("https://kieai.redpandaai.co/api/file-stream-upload",
                                files={"file": ("cup.png", png(), "image/png")},
                                data={"uploadPath": "images", "fileName": "cup.png"}, timeout=30).json()
        download = uploaded["data"]["downloadUrl"]
        assert download.startswith("https://tempfile.redpandaai.co/files/")
        assert session.get(download, timeout=30).content == png()
        apikley = session.post("https://api.apikley.ru/file-upload/api/file-base64-upload", timeout=30, json={
            "base64Data": "data:image/png;base64," + __import__("base64").b64encode(png()).decode(),
            "uploadPath": "images", "fileName": "b.png"}).json()
        assert apikley["code"] == 200 and apikley["data"]["downloadUrl"].startswith("https://tempfile.redpandaai.co/")
    # Loopback clients keep today's URLs.
    local = mock.client.post("/api/v1/jobs/createTask", json=valid_body()).json()["data"]["taskId"]
    mock.clock.advance(600)
    direct = mock.client.get("/api/v1/jobs/recordInfo", params={"taskId": local}).json()["data"]
    assert json.loads(direct["resultJson"])["resultUrls"][0].startswith(mock.base_url)


def test_httpx_and_curl_by_environment_alone(routed: tuple[RunningMock, str], ca: LocalCA) -> None:
    _, proxy = routed
    environment = {**os.environ, "HTTPS_PROXY": proxy, "https_proxy": proxy, **ca.env()}
    with httpx.Client(proxy=proxy, verify=ssl.create_default_context(cafile=ca.bundle_path)) as client:
        answer = client.get("https://api.apikley.ru/api/v1/chat/credit", headers=AUTH).json()
    assert answer["code"] == 200
    done = subprocess.run(["curl", "-sS", "https://api.kie.ai/api/v1/jobs/createTask", "-H",
                           f"Authorization: Bearer {API_KEY}", "-H", "Content-Type: application/json",
                           "-d", json.dumps(valid_body())], capture_output=True, text=True, timeout=60,
                          env=environment, check=True)
    assert json.loads(done.stdout)["code"] == 200


AIOHTTP_CLIENT = """
import asyncio, json, sys
import aiohttp

async def credit():
    async with aiohttp.ClientSession(trust_env=True) as session, \\
            session.get("https://api.kie.ai/api/v1/chat/credit", headers={"Authorization": sys.argv[1]}) as answer:
        return await answer.json()

print(json.dumps(asyncio.run(credit())))
"""


def test_aiohttp_with_trust_env_follows_the_environment(routed: tuple[RunningMock, str], ca: LocalCA) -> None:
    """As an application runs: the exports set before it starts (aiohttp reads the CAs once)."""
    _, proxy = routed
    environment = {**os.environ, "HTTPS_PROXY": proxy, **ca.env()}
    done = subprocess.run([sys.executable, "-c", AIOHTTP_CLIENT, AUTH["Authorization"]], capture_output=True,
                          text=True, timeout=60, env=environment, check=True)
    assert json.loads(done.stdout)["code"] == 200


def test_any_other_host_is_refused_at_once_and_an_untrusting_client_is_told_the_fix(
        routed: tuple[RunningMock, str], ca: LocalCA, caplog: pytest.LogCaptureFixture) -> None:
    _, proxy = routed
    refused = httpx.get("http://example.org/", proxy=proxy, timeout=10)
    assert refused.status_code == 403 and "does not reach the network" in refused.text
    with pytest.raises(httpx.ProxyError):
        httpx.get("https://example.org/", proxy=proxy, timeout=10)
    with caplog.at_level(logging.WARNING, logger="apikley_mock.tls"):
        for _ in range(2):  # the system's CAs only: the mock's certificate is not trusted
            with pytest.raises(httpx.ConnectError):
                httpx.get("https://api.kie.ai/api/v1/chat/credit", proxy=proxy, timeout=10)
    warnings = [record.getMessage() for record in caplog.records if "TLS handshake" in record.getMessage()]
    assert len(warnings) == 1 and "apikley-mock ca env" in warnings[0]  # once per client
    with httpx.Client(proxy=proxy, verify=ssl.create_default_context(cafile=ca.bundle_path)) as client:
        assert client.get("https://api.kie.ai/api/v1/chat/credit", headers=AUTH).json()["code"] == 200


def node_fetch(url: str) -> str:
    return (f"fetch({json.dumps(url)}, {{headers: {{Authorization: 'Bearer {API_KEY}'}}}})"
            ".then(r => r.json()).then(j => console.log(JSON.stringify(j)))"
            ".catch(e => {{ console.error(String(e.cause || e)); process.exit(1); }})")


@pytest.mark.intercept
def test_serve_tls_for_curl_resolve_and_node_fetch_with_the_names_mapped(tmp_path: Path) -> None:
    folder = tmp_path / "ca"
    with MockProcess("--port", "0", "--tls", "--ca-dir", str(folder), "--api-key", API_KEY,
                     verify=str(folder / "ca.pem")) as mock:
        assert mock.base_url.startswith("https://127.0.0.1:")
        port = mock.base_url.rsplit(":", 1)[1]
        ca = local_ca(folder)
        environment = {**os.environ, **ca.env()}
        curl = subprocess.run(["curl", "-sS", "--resolve", f"api.kie.ai:{port}:127.0.0.1",
                               f"https://api.kie.ai:{port}/api/v1/chat/credit", "-H",
                               f"Authorization: Bearer {API_KEY}"], capture_output=True, text=True, timeout=60,
                              env=environment, check=True)
        assert json.loads(curl.stdout)["code"] == 200
        for _ in range(2):  # a client trusting only the system's CAs, twice; the listener lives on
            with pytest.raises(httpx.ConnectError):
                httpx.get(f"{mock.base_url}/__mock__/health", verify=ssl.create_default_context(), timeout=10)
        with pytest.raises(httpx.RemoteProtocolError):  # plain HTTP to the TLS listener
            httpx.get(mock.base_url.replace("https:", "http:") + "/__mock__/health", timeout=10)
        assert httpx.get(f"{mock.base_url}/__mock__/health", timeout=10,
                         verify=ssl.create_default_context(cafile=ca.cert_path)).status_code == 200
        said = mock.output()  # the failed handshakes were read before the last one succeeded
        assert said.count("a TLS handshake from 127.0.0.1 failed") == 1, said[-2000:]
        assert "apikley-mock ca env" in said and "sent plain HTTP to the mock's TLS listener" in said
        if shutil.which("node") is None or shutil.which("unshare") is None:
            pytest.skip("Node's fetch needs node and unshare (a mount namespace maps api.kie.ai); CI has both")
        hosts = tmp_path / "hosts"
        hosts.write_text("127.0.0.1 localhost\n127.0.0.1 api.kie.ai\n")
        script = node_fetch(f"https://api.kie.ai:{port}/api/v1/chat/credit")
        done = subprocess.run(["unshare", "-m", "sh", "-c", f'mount --bind "{hosts}" /etc/hosts && exec node -e "$0"',
                               script], capture_output=True, text=True, timeout=60, env=environment)
        if done.returncode != 0 and "mount" in done.stderr and not os.environ.get("APIKLEY_TESTS_REQUIRE_INTERCEPT"):
            pytest.skip(f"no private mount namespace here ({done.stderr.strip()[:200]})")
        assert done.returncode == 0, done.stderr + mock.output()[-2000:]
        assert json.loads(done.stdout)["code"] == 200


def test_a_proxy_port_in_use_exits_2_naming_it(tmp_path: Path) -> None:
    import socket

    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        taken = held.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "mock_server", "serve", "--port", "0", "--proxy-port",
                               str(taken), "--ca-dir", str(tmp_path / "ca")], capture_output=True, text=True,
                              timeout=60)
    assert done.returncode == 2 and f"127.0.0.1:{taken}" in done.stderr and "Traceback" not in done.stderr


def test_serve_proxy_port_routes_a_hard_coded_client(tmp_path: Path) -> None:
    folder = tmp_path / "ca"
    with MockProcess("--port", "0", "--proxy-port", "0", "--ca-dir", str(folder), "--api-key", API_KEY) as mock:
        line = next(text for text in mock.output().splitlines() if text.startswith("Forward proxy on"))
        proxy = line.split()[3]
        with httpx.Client(proxy=proxy, verify=ssl.create_default_context(cafile=folder / "bundle.pem")) as client:
            assert client.get("https://api.kie.ai/api/v1/chat/credit", headers=AUTH).json()["code"] == 200


def test_the_fixture_routes_a_subprocess_by_environment(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_hardcoded='''
import json, subprocess, sys

CLIENT = """
import requests
body = {"model": "nano-banana-pro", "input": {"prompt": "a lighthouse"}}
answer = requests.post("https://api.kie.ai/api/v1/jobs/createTask", json=body,
                       headers={"Authorization": "Bearer apikley-mock-test-key"}, timeout=30)
print(answer.text)
"""


def test_an_unchanged_client(apikley_mock, apikley_mock_intercept):
    done = subprocess.run([sys.executable, "-c", CLIENT], capture_output=True, text=True, timeout=60, check=True)
    task_id = json.loads(done.stdout)["data"]["taskId"]
    assert [task["record"]["taskId"] for task in apikley_mock.tasks()] == [task_id]
    assert apikley_mock_intercept["HTTPS_PROXY"].startswith("http://127.0.0.1:")
''')
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_serve_tls_with_workers_speaks_tls_in_each_and_a_task_is_seen_by_both(tmp_path: Path) -> None:
    folder = tmp_path / "ca"
    mock = MockProcess("--port", "0", "--tls", "--workers", "2", "--ca-dir", str(folder), "--api-key", API_KEY,
                       verify=str(folder / "ca.pem"))
    try:
        mock.start(processes=2)  # each worker answered its health check over TLS
        with httpx.Client(base_url=mock.base_url, headers=AUTH, timeout=30,
                          verify=ssl.create_default_context(cafile=folder / "ca.pem")) as client:
            task_id = client.post("/api/v1/jobs/createTask", json=valid_body()).json()["data"]["taskId"]
            answers = [client.get("/api/v1/jobs/recordInfo", params={"taskId": task_id},
                                  headers={"Connection": "close"}) for _ in range(6)]  # new connections each
            upload = client.post("/api/file-base64-upload", json={
                "base64Data": base64.b64encode(png()).decode(), "uploadPath": "tls"}).json()["data"]
            assert upload["downloadUrl"].startswith(mock.base_url + "/")  # minted as https: the request's scheme
            assert client.get(upload["downloadUrl"]).content == png()
        assert {answer.json()["data"]["taskId"] for answer in answers} == {task_id}
    finally:
        mock.stop()
