"""One contract run's state: its options, the HTTP client every check goes through (budget
guard and response checks included), how it waits between polls, and what it found."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from contracts.apis import bundled_apis
from contracts.checks.report import Report, curl
from contracts.checks.responses import RESPONSE_CHECKS, is_api_call
from contracts.checks.verdicts import Verdict, Verdicts
from contracts.family.catalogue import ModelCatalogue
from contracts.run.budget import BillableGuard

MARKET = "market"  # the market API (createTask), beside the family's other APIs

Listener = Callable[[str, str, str], None]  # (event, check, detail)


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    base_url: str
    api_key: str
    profile: str = "mock"  # "mock": everything; "real": nothing that spends more than the budget
    max_billable: int | None = None  # default: 1 for real, 25 for mock (billable_cap)
    hmac_key: str | None = None
    seed: int = 0
    callback_url: str | None = None  # a public receiver for the real service (not checked here)
    deadline_seconds: float = 900.0
    callback_wait_seconds: float = 30.0
    schemathesis: bool = True
    model_specs: tuple[str, ...] = ()  # more model pages beside the bundled seed model
    models: tuple[str, ...] = ()  # the models to check (default: every loaded one)
    apis: tuple[str, ...] = (MARKET,)  # which of the family's APIs to check: `market`, `veo`, `suno` ...

    def __post_init__(self) -> None:
        if self.profile not in ("mock", "real"):
            raise ValueError(f"profile: {self.profile!r} is not one of ['mock', 'real']")
        if self.max_billable is not None and self.max_billable < 0:
            raise ValueError("max_billable: must be >= 0")
        unknown = [name for name in self.apis if name != MARKET and name not in bundled_apis()]
        if unknown or not self.apis:
            raise ValueError(f"--api: {', '.join(unknown) or 'none'} is not one of "
                             f"{', '.join([MARKET, *bundled_apis()])}")

    @property
    def billable_cap(self) -> int:
        """Over all models together: by default 1 against the real service; against a mock,
        which costs nothing, 25 (a task of each model checked)."""
        if self.max_billable is not None:
            return self.max_billable
        return 1 if self.profile == "real" else 25


class WallClock:
    def wait(self, seconds: float) -> None:
        time.sleep(seconds)


class MockClock:
    """Against apikley-mock, waiting moves its virtual clock instead of sleeping."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def wait(self, seconds: float) -> None:
        self.client.post("/__mock__/clock/advance", json={"seconds": seconds})

    @staticmethod
    def available(client: httpx.Client) -> bool:
        try:
            return client.get("/__mock__/clock").status_code == 200
        except httpx.HTTPError:
            return False


class Waiter(Protocol):
    def wait(self, seconds: float) -> None: ...


class ContractRun:
    def __init__(self, options: RunOptions, *, transport: httpx.BaseTransport | None = None,
                 listener: Listener | None = None, waiter: Waiter | None = None) -> None:
        self.options = options
        self.listener = listener or (lambda event, check, detail: None)
        self.verdicts = Verdicts(
            on_failure=lambda failure: self.listener("failed", failure.check,
                                                     f"expected {failure.expected}; got {failure.got}"),
            on_pass=lambda check: self.listener("passed", check, ""), once_per_place=True)
        self.report: Report = self.verdicts.report
        self.catalogue = ModelCatalogue.load(options.model_specs)
        # Checked: the models named (globs over every loaded one, bundled included), else the
        # seed and the user's own pages; each checked model costs a billable task.
        chosen = self.catalogue.narrowed(options.models) if options.models else \
            [self.catalogue.default.model_id, *self.catalogue.given]
        self.pages = [self.catalogue.pages[model_id] for model_id in chosen]
        self.guard = BillableGuard(transport or httpx.HTTPTransport(), api_key=options.api_key,
                                   max_billable=options.billable_cap, accepts=self.catalogue.accepts)
        self.client = httpx.Client(base_url=options.base_url, transport=self.guard, timeout=60,
                                   event_hooks={"response": [self._check_response]})
        self.plain = httpx.Client(base_url=options.base_url, transport=transport, timeout=60)
        self.waiter: Waiter = waiter or (MockClock(self.plain) if options.profile == "mock" and
                                         MockClock.available(self.plain) else WallClock())
        self.mirrors_statuses = False  # learnt by probe_auth

    def api(self, method: str, path: str, *, key: str | None = "", **kwargs: Any) -> httpx.Response:
        """An API call, authorized with the run's key unless `key` says otherwise (None: no key)."""
        headers = dict(kwargs.pop("headers", {}))
        chosen = self.options.api_key if key == "" else key
        if chosen is not None:
            headers["Authorization"] = f"Bearer {chosen}"
        for _ in range(RATE_LIMIT_RETRIES):
            response = self.client.request(method, path, headers=headers, **kwargs)
            wait = retry_after(response)
            if wait is None:
                return response
            self.waiter.wait(wait)  # rate limited, as any client would be: wait as told, then again
        return self.client.request(method, path, headers=headers, **kwargs)

    def download(self, url: str) -> httpx.Response:
        return self.plain.get(url, follow_redirects=True)

    def verify(self, check: str, rule: Callable[..., object], *args: Any,
               request: httpx.Request | None = None) -> Verdict:
        """Run one rule through the run's verdicts: a pass counted, or a failure (once per
        check and endpoint) with a reproducer for `request`."""
        place = (request.method, request.url.path) if request is not None else ()
        reproducer = (lambda: curl(request, self.options.api_key)) if request is not None else ""
        return self.verdicts.check(check, rule, *args, reproducer=reproducer, place=place)

    def _check_response(self, response: httpx.Response) -> None:
        response.read()
        if not is_api_call(response):
            return
        for name, check in RESPONSE_CHECKS.items():
            self.verify(name, check, response, request=response.request)

    def close(self) -> None:
        self.client.close()
        self.plain.close()


RATE_LIMIT_RETRIES = 3
RATE_WINDOW_SECONDS = 10.0  # createTask's documented window, when an answer names no Retry-After
MAX_RETRY_AFTER = 60.0


def retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait before asking again when `response` says the run was rate limited
    (HTTP 429, or code 429 in the envelope), else None."""
    limited = response.status_code == 429
    if not limited and response.headers.get("content-type", "").startswith("application/json"):
        try:
            limited = response.json().get("code") == 429
        except (ValueError, AttributeError):
            return None
    if not limited:
        return None
    try:
        return min(MAX_RETRY_AFTER, max(0.0, float(response.headers.get("Retry-After", RATE_WINDOW_SECONDS))))
    except ValueError:
        return RATE_WINDOW_SECONDS
