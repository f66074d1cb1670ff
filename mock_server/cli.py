"""`apikley-mock serve ...`: settings from flags, env and TOML, then uvicorn."""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from contracts.api import CREATE_TASK_PATH, TASK_DETAILS_PATH
from contracts.models import ModelPageError
from mock_server.net import is_loopback
from mock_server.settings import STATUS_POLICIES, Settings, SettingsError, load_settings

EXAMPLE_BODY = ('{"model": "bytedance/v1-pro-fast-image-to-video", '
                '"input": {"prompt": "A cup of coffee on a wooden table", '
                '"image_url": "https://example.com/cup.png"}}')


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="apikley-mock", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the mock server")
    serve.add_argument("--host", help="interface to bind (default 127.0.0.1; 0.0.0.0 exposes the mock)")
    serve.add_argument("--port", type=int, help="port (default 8000; 0 picks a free one)")
    serve.add_argument("--public-url", dest="public_url", metavar="URL",
                       help="base of every URL the mock mints, e.g. https://apikley-mock.test "
                            "(default: the base URL each client used)")
    serve.add_argument("--access-log", dest="access_log", action="store_const", const=True, default=None,
                       help="print one line per request: method, path, code, HTTP status, latency, task id")
    serve.add_argument("--seed", type=int, help="seed for timings and outcomes (default 0)")
    serve.add_argument("--speed", type=float,
                       help="virtual seconds per wall second (default 15; 0 freezes the clock)")
    serve.add_argument("--epoch-ms", type=int, dest="epoch_ms",
                       help="virtual clock start, Unix ms (default: now)")
    serve.add_argument("--api-key", action="append", dest="api_keys", metavar="KEY",
                       help="accepted API key; repeat for several (default apikley-mock-key)")
    serve.add_argument("--status-policy", choices=STATUS_POLICIES, dest="status_policy",
                       help="upstream: errors as HTTP 200 (default); mirror: HTTP status = code")
    serve.add_argument("--create-rate-limit", dest="create_rate_limit", metavar="N/SECONDS",
                       help='createTask per key (default "20/10"; "off" disables)')
    serve.add_argument("--query-rate-limit", dest="query_rate_limit", metavar="N/SECONDS",
                       help='Get Task Details per key (default "10/1"; "off" disables)')
    serve.add_argument("--maintenance", action="store_const", const=True, default=None,
                       help="answer every API call with 455")
    serve.add_argument("--disable-feature", action="append", dest="disabled_features",
                       metavar="FIELD=VALUE", help="e.g. resolution=1080p: such tasks answer 505")
    serve.add_argument("--webhook-hmac-key", dest="webhook_hmac_key", metavar="KEY",
                       help="sign callbacks with this key")
    serve.add_argument("--callback-allow-host", action="append", dest="callback_allow_hosts",
                       metavar="HOST", help="a non-loopback host callbacks may reach")
    serve.add_argument("--admin-token", dest="admin_token",
                       help="lets non-loopback clients use the control API")
    serve.add_argument("--db", help="SQLite file for tasks, balances and deliveries")
    serve.add_argument("--data-dir", dest="data_dir",
                       help="where uploads and rendered videos live (default: a temporary directory)")
    serve.add_argument("--files-dir", dest="files_dir",
                       help="a directory whose files file:// URLs and image_url may name")
    serve.add_argument("--model-spec", action="append", dest="model_specs", metavar="PATH",
                       help="a model page (OpenAPI, the seed's format) or a directory of them; repeatable")
    serve.add_argument("--config", type=Path, help="TOML file with any of these settings")
    serve.add_argument("--log-level", default="info", help="uvicorn log level (default info)")
    return root


def banner(settings: Settings, port: int) -> str:
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    base = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    key = settings.api_keys[0]
    curl = (f"curl -s {base}{CREATE_TASK_PATH} -H {shlex.quote('Authorization: Bearer ' + key)}"
            f" -H 'Content-Type: application/json' -d {shlex.quote(EXAMPLE_BODY)}")
    return "\n".join([
        f"apikley-mock listening on {base}",
        *([f"Minted URLs (results, uploads, download-url) start with {settings.public_url}"]
          if settings.public_url else []),
        f"API key: {key}",
        "Create a task:",
        f"  {curl}",
        "Then poll it:",
        f"  curl -s '{base}{TASK_DETAILS_PATH}?taskId=<taskId>' "
        f"-H {shlex.quote('Authorization: Bearer ' + key)}",
    ])


SETTING_FLAGS = ("host", "port", "public_url", "access_log", "model_specs", "seed", "speed", "epoch_ms",
                 "api_keys", "status_policy", "create_rate_limit", "query_rate_limit", "maintenance",
                 "disabled_features", "webhook_hmac_key", "callback_allow_hosts", "admin_token", "db",
                 "data_dir", "files_dir")


def settings_from(args: argparse.Namespace) -> Settings:
    return load_settings({name: getattr(args, name) for name in SETTING_FLAGS},
                         config_file=args.config)


def serve(args: argparse.Namespace) -> int:
    import socket

    import uvicorn

    from mock_server.app import create_app

    try:
        settings = settings_from(args)
    except SettingsError as exc:
        print(f"apikley-mock: {exc}", file=sys.stderr)
        return 2
    sock = socket.socket(socket.AF_INET6 if ":" in settings.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((settings.host, settings.port))
        # Listening before the banner: a client that reads the URL and connects at once waits
        # in the backlog until uvicorn accepts, instead of being refused.
        sock.listen(2048)
    except OSError as exc:
        print(f"apikley-mock: cannot listen on {settings.host}:{settings.port}: {exc}",
              file=sys.stderr)
        return 2
    port = sock.getsockname()[1]
    try:
        app = create_app(settings)
    except ModelPageError as exc:
        print(f"apikley-mock: {exc}", file=sys.stderr)
        return 2
    print(banner(settings, port), flush=True)
    if (warning := exposure_warning(settings)) is not None:
        print(warning, file=sys.stderr, flush=True)
    if settings.access_log:
        show_access_log()
    config = uvicorn.Config(app, log_level=args.log_level, access_log=False)
    uvicorn.Server(config).run(sockets=[sock])
    return 0


def exposure_warning(settings: Settings) -> str | None:
    """What binding beyond loopback exposes, said plainly before the mock starts."""
    if is_loopback(settings.host):
        return None
    control = ("with --admin-token as a Bearer token" if settings.admin_token
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
    return serve(args)


if __name__ == "__main__":
    sys.exit(main())
