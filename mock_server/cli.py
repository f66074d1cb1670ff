"""`apikley-mock serve ...`: settings from flags, env and TOML, then uvicorn."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from contracts.api import CREATE_TASK_PATH, TASK_DETAILS_PATH
from mock_server.settings import STATUS_POLICIES, Settings, SettingsError, load_settings

EXAMPLE_BODY = ('{"model": "bytedance/v1-pro-fast-image-to-video", '
                '"input": {"prompt": "A cup of coffee on a wooden table", '
                '"image_url": "https://example.com/cup.png"}}')


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="apikley-mock", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the mock server")
    serve.add_argument("--host", help="interface to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8000; 0 picks a free one)")
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
    serve.add_argument("--config", type=Path, help="TOML file with any of these settings")
    serve.add_argument("--log-level", default="info", help="uvicorn log level (default info)")
    return root


def banner(settings: Settings, port: int) -> str:
    base = f"http://{settings.host}:{port}"
    key = settings.api_keys[0]
    curl = (f"curl -s {base}{CREATE_TASK_PATH} -H {shlex.quote('Authorization: Bearer ' + key)}"
            f" -H 'Content-Type: application/json' -d {shlex.quote(EXAMPLE_BODY)}")
    return "\n".join([
        f"apikley-mock listening on {base}",
        f"API key: {key}",
        "Create a task:",
        f"  {curl}",
        "Then poll it:",
        f"  curl -s '{base}{TASK_DETAILS_PATH}?taskId=<taskId>' "
        f"-H {shlex.quote('Authorization: Bearer ' + key)}",
    ])


SETTING_FLAGS = ("host", "port", "seed", "speed", "epoch_ms", "api_keys", "status_policy",
                 "create_rate_limit", "query_rate_limit", "maintenance", "disabled_features",
                 "webhook_hmac_key", "callback_allow_hosts", "admin_token", "db", "data_dir",
                 "files_dir")


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
    except OSError as exc:
        print(f"apikley-mock: cannot listen on {settings.host}:{settings.port}: {exc}",
              file=sys.stderr)
        return 2
    port = sock.getsockname()[1]
    app = create_app(settings)
    print(banner(settings, port), flush=True)
    if settings.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: listening on {settings.host}, not loopback only", file=sys.stderr)
    config = uvicorn.Config(app, log_level=args.log_level, access_log=False)
    uvicorn.Server(config).run(sockets=[sock])
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return serve(args)


if __name__ == "__main__":
    sys.exit(main())
