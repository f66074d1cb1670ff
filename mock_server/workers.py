"""`serve --workers N`: N processes on one listening socket, sharing one state.

The parent binds the socket and picks the shared store (SQLite: `--db`, or a temporary file,
beside a temporary data directory, so uploads and results are shared too); the CLI builds
one app there first, which checks the settings and sets the store's clock and switches;
then uvicorn's supervisor starts the workers, restarts any that dies, and stops them on
SIGINT/SIGTERM. Each worker builds its own app and joins the store's clock and switches.
"""

from __future__ import annotations

import contextlib
import functools
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

from mock_server.settings import Settings


@contextlib.contextmanager
def shared_settings(settings: Settings) -> Iterator[Settings]:
    """The settings every worker gets: a SQLite file and a data directory they all use."""
    with contextlib.ExitStack() as owned:
        if not settings.store and not settings.db:
            folder = Path(owned.enter_context(tempfile.TemporaryDirectory(prefix="apikley-mock-workers-")))
            settings = settings.replace(db=str(folder / "state.db"), db_durable=False)  # gone at exit
        if not settings.data_dir:
            folder = Path(owned.enter_context(tempfile.TemporaryDirectory(prefix="apikley-mock-data-")))
            settings = settings.replace(data_dir=str(folder))
        yield settings


def run_workers(settings: Settings, sock: socket.socket, *, log_level: str,
                tls: tuple[str, str] | None = None) -> None:
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from mock_server.app import create_app
    from mock_server.http.guard import guarded_config

    config = uvicorn.Config(functools.partial(create_app, settings, join=True), factory=True,
                            workers=settings.workers, log_level=log_level, access_log=False)
    Multiprocess(guarded_config(config, settings.header_timeout_seconds, tls), sockets=[sock]).run()
