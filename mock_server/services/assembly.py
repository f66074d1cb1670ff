"""The services of one mock, built from its settings: each receives only what it needs.

`Services.build` is the composition root below HTTP; `lifespan()` runs the scheduler and
releases what the mock opened (its store, its temporary data directory) when it stops.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from contracts.apis import bundled_apis
from contracts.family.catalogue import ModelCatalogue
from contracts.spec.document import operations
from contracts.spec.names import CREATE_TASK, GET_TASK_DETAILS
from contracts.spec.validators import forget_format_checks
from mock_server.delivery.callbacks import CallbackDispatcher, CallbackPolicy
from mock_server.media.cache import MediaCache
from mock_server.net import OwnAddresses
from mock_server.services.accounts import Accounts
from mock_server.services.admission import Admission, forget_targets
from mock_server.services.apis import ApiService
from mock_server.services.links import ResultLinks
from mock_server.services.replay import ReplayBook
from mock_server.services.retention import Retention
from mock_server.services.scheduler import Scheduler
from mock_server.services.seeding import Seeding
from mock_server.services.settlement import Settlement
from mock_server.services.shared import SharedState, Toggles
from mock_server.services.tasks import TaskService
from mock_server.services.uploads import UploadService
from mock_server.settings import Settings
from mock_server.sim.api_records import ApiRecords
from mock_server.sim.clock import VirtualClock
from mock_server.sim.ratelimit import Rate
from mock_server.sim.timelines import Timelines
from mock_server.sim.tokens import Tokens
from mock_server.store.base import RequestLog, StoreError, TaskStore
from mock_server.store.memory import MemoryTaskStore
from mock_server.store.sqlite import SqliteTaskStore
from mock_server.store.uploads import OfflineFiles, UploadStore


def open_store(settings: Settings) -> TaskStore:
    """Memory (one process), SQLite (`db`: one machine's workers) or Redis (`store`: replicas)."""
    if settings.store:
        try:
            from mock_server.store.redis_store import RedisTaskStore  # redis-py only when asked for
        except ImportError as exc:
            raise StoreError(f"store {settings.store}: the Redis client is not installed "
                             "(pip install 'apikley-mock[redis]')") from exc

        return RedisTaskStore(settings.store, journal_size=settings.journal_size)
    if settings.db:
        return SqliteTaskStore(settings.db, journal_size=settings.journal_size, durable=settings.db_durable)
    return MemoryTaskStore(journal_size=settings.journal_size)


def start_clock(settings: Settings, store: TaskStore, replay: ReplayBook | None = None) -> VirtualClock:
    """Real time (or --epoch-ms, or a replayed recording's first instant), but never before the
    virtual time a stored run had reached: a task that ended before a restart stays ended.
    A store other processes share tells wall time as Unix time, which they all share."""
    start = settings.epoch_ms if settings.epoch_ms is not None else (
        replay.first_ms if replay is not None and replay.first_ms is not None else int(time.time() * 1000))
    return VirtualClock(start_ms=max(start, store.load_clock() or 0), speed=settings.speed,
                        monotonic=time.time if store.shared else time.monotonic)


def process_name() -> str:
    """This process among the workers and replicas: in delivery claims and the callback journal."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(2)}"


@dataclass
class Services:
    clock: VirtualClock
    shared: SharedState
    admission: Admission
    accounts: Accounts
    settlement: Settlement
    tasks: TaskService
    links: ResultLinks
    uploads: UploadService
    dispatcher: CallbackDispatcher
    scheduler: Scheduler
    requests: RequestLog
    media: MediaCache
    files: OfflineFiles
    catalogue: ModelCatalogue
    apis: ApiService
    seeding: Seeding
    replay: ReplayBook | None
    own: OwnAddresses
    _store: TaskStore
    _owned: contextlib.ExitStack

    @classmethod
    def build(cls, settings: Settings, *, clock: VirtualClock | None = None, store: TaskStore | None = None,
              transport: httpx.AsyncBaseTransport | None = None, join: bool = False) -> Services:
        """`join`: other processes already serve this store (workers, replicas): adopt its clock
        and switches rather than set them, and leave their delivery claims alone."""
        catalogue = ModelCatalogue.load(settings.model_specs, models=settings.models)  # a bad page stops start-up
        owned = contextlib.ExitStack()
        if store is None:
            store = open_store(settings)
            owned.callback(store.close)
        replay = ReplayBook.load(Path(settings.replay), strict=settings.replay_strict) if settings.replay else None
        clock = clock or start_clock(settings, store, replay)
        join = join or bool(settings.store)  # a replica on Redis joins whatever runs already
        shared = SharedState(store, clock)
        shared.start(Toggles(settings.maintenance, frozenset(settings.disabled_features)), join=join)
        if not join:
            store.release_claims()  # every claim left in the store is from a process that stopped
        if settings.data_dir:
            data_dir = Path(settings.data_dir)
        else:
            data_dir = Path(owned.enter_context(tempfile.TemporaryDirectory(prefix="apikley-mock-")))
        timelines = Timelines(settings.seed)
        tokens = Tokens(shared.secret)
        accounts = Accounts(store, initial_balance=settings.initial_balance, prices=settings.prices)
        own = OwnAddresses(settings.public_url)  # the listeners are learnt from the requests served
        apis = bundled_apis()
        api_records = {name: ApiRecords(api, tokens) for name, api in apis.items()}
        api_operations = [found for api in apis.values() for found in api.operations.values()]
        admission = Admission(store=store, shared=shared, clock=clock, accounts=accounts, own=own,
                              documented={op.operation_id: op.statuses for op in (*operations(), *api_operations)},
                              creates=(CREATE_TASK, *(name for api in apis.values() for name in api.create)),
                              queries=(GET_TASK_DETAILS, *(api.status.operation_id for api in apis.values())),
                              create_rate=Rate.parse(settings.create_rate_limit),
                              query_rate=Rate.parse(settings.query_rate_limit),
                              callback_allow_hosts=settings.callback_allow_hosts)
        dispatcher = CallbackDispatcher(
            CallbackPolicy(max_attempts=settings.callback_max_attempts,
                           backoff_seconds=settings.callback_backoff_seconds,
                           allow_hosts=settings.callback_allow_hosts, hmac_key=settings.webhook_hmac_key),
            clock=clock, store=store, owner=process_name(), transport=transport,
            lease_seconds=settings.lease_seconds, own=own)
        settlement = Settlement(store=store, clock=clock, timelines=timelines, accounts=accounts,
                                dispatcher=dispatcher, tokens=tokens, api_records=api_records)
        retention = Retention(store=store, clock=clock, timelines=timelines, max_tasks=settings.max_tasks,
                              max_bytes=settings.max_task_bytes)
        tasks = TaskService(store=store, clock=clock, timelines=timelines, accounts=accounts, admission=admission,
                            tokens=tokens, retention=retention,
                            settlement=settlement, catalogue=catalogue, record_ttl_seconds=settings.record_ttl_seconds,
                            replay=replay, api_records=api_records)
        links = ResultLinks(tasks=tasks, clock=clock, tokens=tokens,
                            result_ttl_seconds=settings.result_ttl_seconds,
                            link_ttl_seconds=settings.download_url_ttl_seconds)
        # Half the disk budget for uploads, half for rendered results (which can be rendered again).
        upload_store = UploadStore(data_dir / "uploads", clock=clock, ttl_seconds=settings.upload_ttl_seconds,
                                   max_file_bytes=settings.max_upload_bytes,
                                   max_total_bytes=settings.max_data_bytes // 2)
        files = OfflineFiles(upload_store, Path(settings.files_dir) if settings.files_dir else None)
        return cls(clock=clock, shared=shared, admission=admission, accounts=accounts, settlement=settlement,
                   tasks=tasks, links=links, uploads=UploadService(store=upload_store, files=files, clock=clock,
                                                      transport=transport, own=own, tokens=tokens,
                                                      fetch_timeout_seconds=settings.fetch_timeout_seconds),
                   dispatcher=dispatcher, scheduler=Scheduler(shared=shared, settlement=settlement,
                                                              dispatcher=dispatcher, store=store, clock=clock),
                   requests=store.requests,
                   media=MediaCache(data_dir / "results", settings.max_data_bytes // 2), files=files,
                   catalogue=catalogue, replay=replay, own=own, _store=store, _owned=owned,
                   apis=ApiService(apis, tasks=tasks, clock=clock),
                   seeding=Seeding(catalogue=catalogue, accounts=accounts, clock=clock, tokens=tokens))

    def reset(self, api_key: str | None = None) -> None:
        """Everything changed at run time back to the start settings: tasks, balances, queues,
        limits, deliveries, journals, switches (maintenance, features, rate limits), the clock's
        speed and offset. With `api_key`: that key's part only (the clock and switches are shared)."""
        self._store.clear(api_key)
        self.tasks.forget_caches()
        self.apis.forget_caches()
        forget_targets()
        forget_format_checks()
        if api_key is None:
            self.shared.restore()
        self.shared.refresh()

    def close(self) -> None:
        """Release what the mock opened, when it is built but never served."""
        self._owned.close()

    @contextlib.asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        with self._owned:
            async with self.scheduler.running():
                yield
