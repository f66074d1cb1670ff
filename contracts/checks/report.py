"""What a contract run found: failures that name the check, what was expected, what came
back and a curl line that reproduces it; plus what passed and how many billable calls ran."""

from __future__ import annotations

import json
import shlex
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

import httpx

REDACTED_KEY = "$APIKLEY_API_KEY"


@dataclass(frozen=True)
class Failure:
    check: str
    expected: str
    got: str
    reproducer: str


@dataclass
class Report:
    failures: list[Failure] = field(default_factory=list)
    passed: Counter[str] = field(default_factory=Counter)
    billable_calls: int = 0  # schema-valid createTask calls the server accepted (answered a taskId)
    billable_sent: int = 0  # schema-valid createTask calls sent, accepted or not

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        lines = [f"{sum(self.passed.values())} checks passed, {len(self.failures)} failed; "
                 f"billable calls (accepted by the server): {self.billable_calls}"]
        for failure in self.failures:
            lines += [f"{failure.check}: expected {failure.expected}; got {failure.got}",
                      f"  reproduce: {failure.reproducer}"]
        return "\n".join(lines)

    def to_json(self) -> str:
        return json.dumps({"ok": self.ok, "billableCalls": self.billable_calls, "billableSent": self.billable_sent,
                           "passed": dict(self.passed), "failures": [asdict(f) for f in self.failures]},
                          indent=2)

    def write_junit(self, path: Path) -> None:
        """One test case per verdict, each named uniquely (`check #n`, a failure by what it
        reproduces), so that CI systems do not fold them into one."""
        quoted = {chr(34): "&quot;"}
        cases = [f'<testcase classname="apikley-contract" name="{escape(name)} #{number}"/>'
                 for name, count in sorted(self.passed.items()) for number in range(1, count + 1)]
        cases += [f'<testcase classname="apikley-contract" name="{escape(failure.check, quoted)} failed #{number}: '
                  f'{escape(failure.reproducer[:120], quoted)}"><failure message="{escape(failure.expected, quoted)}">'
                  f"{escape(failure.got)}\n{escape(failure.reproducer)}</failure></testcase>"
                  for number, failure in enumerate(self.failures, 1)]
        total = sum(self.passed.values()) + len(self.failures)
        path.write_text('<?xml version="1.0" encoding="utf-8"?>\n'
                        f'<testsuite name="apikley-contract" tests="{total}" failures="{len(self.failures)}">'
                        + "".join(cases) + "</testsuite>\n", encoding="utf-8")


CREDENTIAL_HEADERS = frozenset({"cookie", "proxy-authorization", "x-mock-admin-token", "x-api-key"})
LEFT_OUT = frozenset({"host", "content-length", "accept-encoding", "connection", "user-agent", "accept"})


def curl(request: httpx.Request, api_key: str | None = None) -> str:
    """A copy-paste reproducer that never carries a credential: the Bearer key is always
    `$APIKLEY_API_KEY` (and `api_key` is replaced wherever else it appears), other credential
    headers are left out; the URL and every value are quoted for the shell."""
    def clean(text: str) -> str:
        return text.replace(api_key, REDACTED_KEY) if api_key else text

    parts = ["curl", "-sS", "-X", request.method, shlex.quote(clean(str(request.url)))]
    for name, value in request.headers.items():
        lowered = name.lower()
        if lowered in LEFT_OUT or lowered in CREDENTIAL_HEADERS:
            continue
        if lowered == "authorization":
            scheme = value.split(" ", 1)[0] or "Bearer"
            parts += ["-H", f'"{name}: {scheme} {REDACTED_KEY}"']  # double quotes: the shell expands it
            continue
        parts += ["-H", shlex.quote(f"{name}: {clean(value)}")]
    try:
        body = request.content
    except httpx.RequestNotRead:
        body = b""
    if body:
        text = clean(body.decode("utf-8", "replace"))
        parts += ["--data-raw", shlex.quote(text if len(text) < 2000 else text[:2000] + "...")]
    return " ".join(parts)
