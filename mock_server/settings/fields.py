"""`Settings`: one frozen object, and the one table of every setting. Each field carries, in
its metadata, what it means, its `apikley-mock serve` flag (if it has one) and how its
default reads; the CLI's flags, the environment and TOML keys, and the README's settings table
are all made from these fields (`settings.table`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from mock_server.bounded import LATEST_MS
from mock_server.errors import STATUS_POLICIES
from mock_server.sim.ratelimit import Rate

DEFAULT_API_KEY = "apikley-mock-key"


class SettingsError(ValueError):
    """A setting that cannot be used; the message names it."""


def setting(default: Any = dataclasses.MISSING, *, meaning: str, flag: str | None = None, metavar: str | None = None,
            shown: str | None = None, factory: Any = dataclasses.MISSING) -> Any:
    """A field of the table: what it means, its `--flag` of `apikley-mock serve` (none: only
    the environment and TOML set it), and `shown`, how the README writes its default."""
    metadata = {"meaning": meaning, "flag": f"--{flag}" if flag else None, "metavar": metavar, "shown": shown}
    if factory is not dataclasses.MISSING:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


MiB = 1024 * 1024
MAX_SPEED = 1e6  # as the control API allows
HOUR = 3600.0


@dataclass(frozen=True, kw_only=True)
class Settings:
    host: str = setting("127.0.0.1", flag="host", meaning=(
        "interface to bind (loopback only by default; `0.0.0.0` prints a warning of what it exposes: the API, "
        "uploads and results to anyone who can reach the host; the control API stays loopback-or-`--admin-token`)"))
    port: int = setting(8000, flag="port", meaning="port; `0` picks a free one")
    public_url: str | None = setting(None, flag="public-url", metavar="URL", meaning=(
        "base of every URL the mock mints (result URLs, upload `downloadUrl`, download-url links), e.g. "
        "`https://apikley-mock.test` behind a reverse proxy or in a compose network; the listener keeps serving "
        "those paths and recognises its URLs in both forms"))
    model_specs: tuple[str, ...] = setting((), flag="model-spec", metavar="PATH", meaning=(
        "your own model pages (files, or directories of `.json`/`.yaml` pages) beside the bundled ones; one "
        "for a bundled model replaces it (start-up says so); repeatable (see \"The model family\")"))
    models: tuple[str, ...] = setting((), flag="models", metavar="PATTERN", meaning=(
        "load only the bundled models matching these globs (`kling*`, `nano-banana-pro`); the seed model and "
        "your own pages always load; a pattern matching nothing stops start-up; repeatable"))
    cors_origins: tuple[str, ...] = setting((), flag="cors-origin", metavar="ORIGIN", meaning=(
        "browser origins (`https://app.example`, or `*`) the API, its results and files answer, preflights "
        "included; repeatable. The control API and the dashboard never answer another origin"))
    tls: bool = setting(False, flag="tls", meaning=(
        "the listener speaks HTTPS, with a certificate of the mock's CA (`apikley-mock ca`) for loopback, the "
        "family's hosts (`api.kie.ai`, `api.apikley.ru`, `kieai.redpandaai.co`, `tempfile.aiquickdraw.com`, "
        "`tempfile.redpandaai.co`, `file.aiquickdraw.com`) and every `--tls-host` (see \"Clients you cannot change\")"))
    tls_hosts: tuple[str, ...] = setting((), flag="tls-host", metavar="NAME", meaning=(
        "one more host name the mock stands in for (its certificate and the forward proxy); repeatable"))
    proxy_port: int | None = setting(None, flag="proxy-port", metavar="PORT", meaning=(
        "also an HTTP forward proxy on this port: `CONNECT` (and plain `http://`) to the family's hosts lands on "
        "the mock, any other host is refused; `0` picks a free one"))
    ca_dir: str = setting("~/.apikley-mock/ca", flag="ca-dir", metavar="DIR", meaning=(
        "where the mock's certificate authority lives (created on first use, mode 0700)"))
    access_log: bool = setting(False, flag="access-log", meaning=(
        "one line per request on stdout: method, path, envelope `code`, HTTP status, latency, task id"))
    api_keys: tuple[str, ...] = setting((DEFAULT_API_KEY,), flag="api-key", metavar="KEY",
                                        meaning="accepted Bearer keys; repeatable")
    seed: int = setting(0, flag="seed", meaning="seed for stage timings (same seed, same timeline)")
    speed: float = setting(15.0, flag="speed", meaning=(
        "virtual seconds per wall second (a 720p/5 s task, about 50 s, ends in about 3.5 s); `0` freezes the clock"))
    epoch_ms: int | None = setting(None, flag="epoch-ms", shown="now",
                                   meaning="where the virtual clock starts (Unix ms)")
    status_policy: str = setting("upstream", flag="status-policy", meaning=(
        "`upstream`: errors are HTTP 200 with the code in the body (createTask's rate limit is a real HTTP 429); "
        "`mirror`: HTTP status = `code`"))
    max_body_bytes: int = setting(10 * MiB, shown="10 MiB", meaning="larger request bodies are refused")
    header_timeout_seconds: float = setting(10.0, meaning=(
        "a connection that has not sent a request's headers in full this long after its first byte is closed "
        "(`serve`; slow clients hold nothing for ever)"))
    body_timeout_seconds: float = setting(60.0, meaning="a request body not received in full by then answers 408")
    max_create_body_bytes: int = setting(1 * MiB, shown="1 MiB", meaning=(
        "a createTask body is kept with its task (`param`): larger ones are refused (upstream caps prompts at "
        "10,000 characters; a `data:` URL image of up to about 750 KB still fits)"))
    max_tasks: int = setting(100_000, meaning=(
        "tasks kept per key: beyond it the oldest ended tasks are forgotten (their record is gone); when none "
        "has ended, createTask answers 429"))
    max_task_bytes: int = setting(512 * MiB, shown="512 MiB", meaning=(
        "characters of requests (`param`) kept per key, bounded as `max_tasks` is"))
    initial_balance: float = setting(10_000.0, meaning="credits each key starts with")
    prices: Mapping[str, float] = setting(
        factory=lambda: {"720p/5": 20.0, "720p/10": 40.0, "1080p/5": 45.0, "1080p/10": 90.0},
        shown="20 / 40 / 45 / 90", meaning="credits per task by `\"resolution/duration\"` (a TOML table)")
    create_rate_limit: str = setting("20/10", flag="create-rate-limit", metavar="N/SECONDS", meaning=(
        "createTask per key, `count/seconds` of virtual time, or `off`"))
    query_rate_limit: str = setting("10/1", flag="query-rate-limit", metavar="N/SECONDS",
                                    meaning="Get Task Details per key, or `off`")
    maintenance: bool = setting(False, flag="maintenance", meaning="every API call answers 455")
    disabled_features: tuple[str, ...] = setting((), flag="disable-feature", metavar="FIELD=VALUE", meaning=(
        "e.g. `resolution=1080p` or `model=<id>`: such tasks answer 505; repeatable"))
    webhook_hmac_key: str | None = setting(None, flag="webhook-hmac-key", metavar="KEY", meaning="sign callbacks")
    callback_allow_hosts: tuple[str, ...] = setting((), flag="callback-allow-host", metavar="HOST", meaning=(
        "non-loopback hosts callbacks may reach; repeatable"))
    callback_max_attempts: int = setting(3, meaning="callback delivery attempts")
    callback_backoff_seconds: float = setting(5.0, meaning="first callback retry delay, virtual seconds (doubles)")
    admin_token: str | None = setting(None, flag="admin-token", meaning=(
        "lets non-loopback clients use the control API (as `X-Mock-Admin-Token`)"))
    db: str | None = setting(None, flag="db", shown="memory", meaning=(
        "SQLite file (WAL) for the whole state: tasks, balances, deliveries, queues, buckets, journals, clock; "
        "survives restarts"))
    db_durable: bool = setting(True, meaning=(
        "`false`: the SQLite file is not fsynced (`synchronous=OFF`, about half the cost of a write); it still "
        "survives the mock's crash, `kill -9` included, but may not survive the machine's (`true`, `synchronous="
        "NORMAL`: consistent after one, the last commits may be lost). `--workers` without `--db` uses a "
        "temporary file this way"))
    workers: int = setting(1, flag="workers", meaning=(
        "processes on one port sharing one state (SQLite: `--db`, or a temporary file); see \"Running it for a team\""))
    store: str | None = setting(None, flag="store", metavar="URL", meaning=(
        "`redis://HOST:PORT/DB`: the whole state in Redis, shared by replicas on several machines"))
    lease_seconds: float = setting(10.0, flag="lease-seconds", meaning=(
        "wall seconds after which a dead worker's or replica's claimed callbacks are sent by another"))
    journal_size: int = setting(1000, meaning="request journal entries kept per key (the newest)")
    replay: str | None = setting(None, flag="replay", metavar="DIR", meaning=(
        "serve back the traffic recorded by `apikley-mock proxy --record DIR` (see \"Record and replay\")"))
    replay_strict: bool = setting(False, flag="replay-strict", meaning=(
        "with `--replay`: an API request the recording has no answer for is refused (code 500, naming it) "
        "instead of meeting the simulation"))
    data_dir: str | None = setting(None, flag="data-dir", shown="temporary", meaning=(
        "uploads and rendered results (a temporary directory per run by default)"))
    max_data_bytes: int = setting(2 * 1024 * MiB, shown="2 GiB", meaning=(
        "disk budget of the data directory: half for uploads, half for renders"))
    files_dir: str | None = setting(None, flag="files-dir", meaning=(
        "a directory whose files `file://` URLs and `image_url` may name (offline inputs)"))
    max_upload_bytes: int = setting(10 * MiB, shown="10 MiB", meaning="largest upload")
    fetch_timeout_seconds: float = setting(30.0, meaning=(
        "`file-url-upload` gives up on a URL not answered in full by then (upstream: 30 s)"))
    result_ttl_seconds: float = setting(24 * HOUR, shown="24 h", meaning=(
        "result URLs answer 404 this long (virtual time) after the task ended"))
    record_ttl_seconds: float = setting(14 * 24 * HOUR, shown="14 d", meaning=(
        "records answer `recordInfo is null` this long after creation"))
    upload_ttl_seconds: float = setting(3 * 24 * HOUR, shown="3 d", meaning="uploads vanish after this")
    download_url_ttl_seconds: float = setting(20 * 60.0, shown="20 min", meaning="download-url links last this long")

    def __post_init__(self) -> None:
        if not self.api_keys or any(not key or any(c.isspace() for c in key) for key in self.api_keys):
            raise SettingsError("api_keys: give at least one key, without white space")
        if self.public_url is not None:
            object.__setattr__(self, "public_url", _checked_public_url(self.public_url))
        if not 0 <= self.port <= 65535:
            raise SettingsError(f"port: {self.port} is not between 0 and 65535")
        if self.proxy_port is not None and not 0 <= self.proxy_port <= 65535:
            raise SettingsError(f"proxy_port: {self.proxy_port} is not between 0 and 65535")
        if not 0 <= self.speed <= MAX_SPEED:
            raise SettingsError(f"speed: {self.speed:g} must be from 0 (frozen) to {MAX_SPEED:g}")
        if self.epoch_ms is not None and not 0 <= self.epoch_ms <= LATEST_MS:
            raise SettingsError(f"epoch_ms: {self.epoch_ms} is not between 0 and {LATEST_MS} (year 9999)")
        token = self.admin_token
        if token is not None and (not token.strip() or token != token.strip()):
            raise SettingsError("admin_token: must be a non-empty token without surrounding white space "
                                "(an empty one would protect nothing)")
        if self.status_policy not in STATUS_POLICIES:
            raise SettingsError(f"status_policy: {self.status_policy!r} is not one of {list(STATUS_POLICIES)}")
        for name in ("max_body_bytes", "max_create_body_bytes", "max_tasks", "max_task_bytes", "header_timeout_seconds",
                     "body_timeout_seconds"):
            if getattr(self, name) <= 0:
                raise SettingsError(f"{name}: must be positive")
        for name in ("create_rate_limit", "query_rate_limit"):
            try:
                Rate.parse(getattr(self, name))
            except ValueError as exc:
                raise SettingsError(f"{name}: {exc} (use \"count/seconds\" or \"off\")") from exc
        for feature in self.disabled_features:
            if "=" not in feature:
                raise SettingsError(f"disabled_features: {feature!r} is not field=value")
        if self.callback_max_attempts < 1 or self.callback_backoff_seconds < 0:
            raise SettingsError("callback_max_attempts must be >= 1, callback_backoff_seconds >= 0")
        if self.store is not None and not self.store.startswith(("redis://", "rediss://", "unix://")):
            raise SettingsError(f"store: {self.store!r} is not a redis:// URL")
        if self.store is not None and self.db is not None:
            raise SettingsError("store and db: choose one (Redis for replicas, SQLite for one machine)")
        if not 1 <= self.workers <= 64:
            raise SettingsError(f"workers: {self.workers} is not between 1 and 64")
        if self.lease_seconds <= 0:
            raise SettingsError("lease_seconds: must be positive")
        if self.journal_size < 1:
            raise SettingsError("journal_size: must be positive")
        for name in ("max_data_bytes", "max_upload_bytes", "fetch_timeout_seconds", "result_ttl_seconds",
                     "record_ttl_seconds", "upload_ttl_seconds", "download_url_ttl_seconds"):
            if getattr(self, name) <= 0:
                raise SettingsError(f"{name}: must be positive")

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def _checked_public_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError on a port that is not a number
    except ValueError as exc:
        raise SettingsError(f"public_url: {url!r} is not a URL ({exc})") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise SettingsError(f"public_url: {url!r} must be http(s)://host[:port][/path], without query or fragment")
    return url.rstrip("/")
