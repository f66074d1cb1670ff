"""`apikley-mock serve ...` (settings from flags, env and TOML, then uvicorn) and `apikley-mock proxy ...`."""

from __future__ import annotations

import argparse
import contextlib
import logging
import shlex
import socket
import ssl
import sys
from collections.abc import Sequence
from pathlib import Path

from contracts.apis import bundled_apis
from contracts.family.catalogue import ModelCatalogue
from contracts.family.pages import ModelPageError
from contracts.spec.names import CREATE_TASK_PATH, TASK_DETAILS_PATH
from contracts.spec.package import version
from contracts.traffic.exchanges import RecordingError
from mock_server.net import is_loopback
from mock_server.settings import Settings, SettingsError, load_settings
from mock_server.settings.table import add_flags, flag_values
from mock_server.store.base import StoreError
from mock_server.store.sqlite import served_alone
from mock_server.tls import CAError, local_ca
from mock_server.workers import run_workers, shared_settings

EXAMPLE_BODY = ('{"model": "bytedance/v1-pro-fast-image-to-video", '
                '"input": {"prompt": "A cup of coffee on a wooden table", '
                '"image_url": "https://example.com/cup.png"}}')


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="apikley-mock", description=__doc__)
    root.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    commands = root.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the mock server")
    add_flags(serve)  # one per setting that has a flag: the Settings fields are the table
    serve.add_argument("--config", type=Path, help="TOML file with any of these settings")
    serve.add_argument("--log-level", default="info", help="uvicorn log level (default info)")
    ca = commands.add_parser("ca", help="the mock's local certificate authority (for --tls and --proxy-port)")
    ca.add_argument("what", choices=("path", "env"), help="path: create the CA if needed and print its certificate's "
                    "path; env: the exports that make common clients trust it")
    ca.add_argument("--ca-dir", metavar="DIR",
                    help="where it lives (default ~/.apikley-mock/ca, or $APIKLEY_MOCK_CA_DIR)")
    proxy = commands.add_parser("proxy", help="a validating proxy in front of the real API: check and record")
    proxy.add_argument("--upstream", required=True, help="the real API's base URL, e.g. https://api.apikley.ru")
    proxy.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    proxy.add_argument("--port", type=int, default=8010, help="port (default 8010; 0 picks a free one)")
    proxy.add_argument("--record", type=Path, metavar="DIR", help="write every exchange (secrets redacted) here")
    proxy.add_argument("--callback-relay", metavar="PUBLIC_URL",
                       help="swap callBackUrl for this proxy's relay at PUBLIC_URL, check callbacks, forward them")
    proxy.add_argument("--hmac-key", help="check relayed callbacks' signatures with this key")
    proxy.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the upstream (60)")
    proxy.add_argument("--report", type=Path, help="write the findings as JSON on exit")
    proxy.add_argument("--junit", type=Path, help="write the findings as JUnit XML on exit")
    proxy.add_argument("--log-level", default="warning", help="uvicorn log level (default warning)")
    return root


def banner(settings: Settings, port: int, catalogue: ModelCatalogue | None = None) -> str:
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    scheme = "https" if settings.tls else "http"
    base = f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"
    key = settings.api_keys[0]
    curl = (f"curl -s {base}{CREATE_TASK_PATH} -H {shlex.quote('Authorization: Bearer ' + key)}"
            f" -H 'Content-Type: application/json' -d {shlex.quote(EXAMPLE_BODY)}")
    return "\n".join([
        f"apikley-mock listening on {base}",
        *([f"Minted URLs (results, uploads, download-url) start with {settings.public_url}"]
          if settings.public_url else []),
        f"API key: {key}",
        *([f"Models: {len(catalogue.pages)} loaded (GET {base}/__mock__/models)", *catalogue.notices]
          if catalogue is not None else []),
        f"Also: {', '.join(api.title for api in bundled_apis().values())} at their own paths "
        f"(GET {base}/openapi/apis.json)",
        *([f"{settings.workers} worker(s) sharing " + (settings.store or f"SQLite {settings.db}")]
          if settings.workers > 1 or settings.store else []),
        "Create a task:",
        f"  {curl}",
        "Then poll it:",
        f"  curl -s '{base}{TASK_DETAILS_PATH}?taskId=<taskId>' "
        f"-H {shlex.quote('Authorization: Bearer ' + key)}",
        f"Dashboard: {base}/__mock__/   API docs: {base}/docs",
    ])


def settings_from(args: argparse.Namespace) -> Settings:
    return load_settings(flag_values(args), config_file=args.config)


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from mock_server.app import create_app
    from mock_server.http.guard import guarded_config

    try:
        settings = settings_from(args)
    except SettingsError as exc:
        print(f"apikley-mock: {exc}", file=sys.stderr)
        return 2
    sock = listening(settings.host, settings.port)
    if sock is None:
        return 2
    port = sock.getsockname()[1]
    try:
        tls, proxy_line = intercepting(settings, port)
    except (CAError, OSError) as exc:
        print(f"apikley-mock: {exc}", file=sys.stderr)
        return 2
    with contextlib.ExitStack() as held:
        try:
            if settings.workers > 1:
                settings = held.enter_context(shared_settings(settings))
            if settings.db:
                held.enter_context(served_alone(settings.db))
            app = create_app(settings)  # the workers' own apps are built in them: this checks the settings
        except (ModelPageError, RecordingError, StoreError) as exc:
            print(f"apikley-mock: {exc}", file=sys.stderr)
            return 2
        print(banner(settings, port, app.state.services.catalogue) + proxy_line, flush=True)
        if (warning := exposure_warning(settings)) is not None:
            print(warning, file=sys.stderr, flush=True)
        if settings.access_log:
            show_access_log()
        if settings.workers > 1:
            app.state.services.close()
            run_workers(settings, sock, log_level=args.log_level, tls=tls)
        else:
            config = uvicorn.Config(app, log_level=args.log_level, access_log=False)
            uvicorn.Server(guarded_config(config, settings.header_timeout_seconds, tls)).run(sockets=[sock])
    return 0


def intercepting(settings: Settings, port: int) -> tuple[tuple[str, str] | None, str]:
    """For clients that hard-code the family's hosts: the listener's TLS files (`--tls`), and
    the forward proxy started (`--proxy-port`); what the banner adds. Raises CAError or OSError."""
    if not settings.tls and settings.proxy_port is None:
        return None, ""
    from mock_server.intercept import ForwardProxy
    from mock_server.urls import FAMILY_HOSTS

    ca = local_ca(settings.ca_dir)
    cert, key = ca.server_files(settings.tls_hosts)
    tls = (str(cert), str(key)) if settings.tls else None
    if settings.proxy_port is None:
        return tls, f"\nHTTPS with the mock's CA: {ca.cert_path} (apikley-mock ca env)"
    listener = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    forward = ForwardProxy(target=(listener, port), hosts=(*FAMILY_HOSTS, *settings.tls_hosts),
                           server_tls=ca.server_context(settings.tls_hosts),
                           listener_tls=ssl.create_default_context(cafile=ca.cert_path) if settings.tls else None)
    bound = forward.start(settings.host, settings.proxy_port)
    return tls, (f"\nForward proxy on http://{listener}:{bound} for the family's hosts: "
                 f"HTTPS_PROXY=http://{listener}:{bound} and `apikley-mock ca env` (CA {ca.cert_path})")


def ca_command(args: argparse.Namespace) -> int:
    try:
        settings = load_settings({"ca_dir": args.ca_dir} if args.ca_dir else {})
        ca = local_ca(settings.ca_dir)
    except (SettingsError, CAError) as exc:
        print(f"apikley-mock: {exc}", file=sys.stderr)
        return 2
    if args.what == "path":
        print(ca.cert_path)
    else:
        print("\n".join(f"export {name}={shlex.quote(value)}" for name, value in ca.env().items()))
    return 0


def listening(host: str, port: int) -> socket.socket | None:
    """Listening before the banner: a client that reads the URL and connects at once waits in
    the backlog until uvicorn accepts, instead of being refused."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        print(f"apikley-mock: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        sock.close()
        return None
    return sock


def proxy(args: argparse.Namespace) -> int:
    import uvicorn

    try:
        from mock_server.proxy.app import ProxySettings, create_proxy_app
    except ImportError as exc:  # its client towards the upstream is an extra
        print(f"apikley-mock: the proxy needs aiohttp: pip install 'apikley-mock[proxy]' ({exc})", file=sys.stderr)
        return 2

    if not args.upstream.startswith(("http://", "https://")):
        print(f"apikley-mock: --upstream must be an http(s) URL, got {args.upstream!r}", file=sys.stderr)
        return 2
    settings = ProxySettings(upstream=args.upstream, record=args.record, callback_relay=args.callback_relay,
                             hmac_key=args.hmac_key, timeout_seconds=args.timeout, report=args.report,
                             junit=args.junit)
    sock = listening(args.host, args.port)
    if sock is None:
        return 2
    app = create_proxy_app(settings)
    base = f"http://{args.host}:{sock.getsockname()[1]}"
    print(f"apikley-mock proxy listening on {base} -> {settings.upstream}\n"
          f"Point your application at {base}; findings: {base}/__mock__/proxy/findings"
          + (f"\nRecording to {settings.record}" if settings.record else ""), flush=True)
    # The upstream's own Date and Server headers are forwarded: uvicorn adds none of its own.
    uvicorn.Server(uvicorn.Config(app, log_level=args.log_level, access_log=False, server_header=False,
                                  date_header=False)).run(sockets=[sock])
    return 0


def exposure_warning(settings: Settings) -> str | None:
    """What binding beyond loopback exposes, said plainly before the mock starts."""
    if is_loopback(settings.host):
        return None
    control = ("to clients presenting --admin-token as the X-Mock-Admin-Token header" if settings.admin_token
               else "still to loopback clients only (no --admin-token)")
    return (f"warning: listening on {settings.host}: every machine that can reach this host can call the API "
            f"with the keys above, upload files and download every result and upload; the control API "
            f"(/__mock__) stays open {control}. The mock is a test tool: do not expose it to the internet.")


def show_access_log() -> None:
    from mock_server.http.access_log import LOGGER

    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    LOGGER.addHandler(handler)
    LOGGER.setLevel(logging.INFO)
    LOGGER.propagate = False


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return {"proxy": proxy, "ca": ca_command}.get(args.command, serve)(args)


if __name__ == "__main__":
    sys.exit(main())
