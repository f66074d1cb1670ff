"""`apikley-contract run ...`: a thin layer over `contracts.engine.run_contract`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from contracts.checks.report import Report
from contracts.engine import RunOptions, run_contract
from contracts.run.progress import PhaseProgress
from contracts.spec.names import operation_id_of
from contracts.spec.package import version
from contracts.traffic.exchanges import RecordingError, load_exchanges
from contracts.traffic.recorded import check_body_file, check_exchanges
from contracts.webhook import check_webhook


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="apikley-contract", description=__doc__)
    root.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    commands = root.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="check a server (the real one or a mock) against the spec")
    run.add_argument("--base-url", required=True)
    run.add_argument("--api-key", required=True)
    run.add_argument("--profile", choices=("mock", "real"), default="mock",
                     help="mock: everything; real: at most --max-billable paid calls (default mock)")
    run.add_argument("--max-billable", type=int,
                     help="hard cap on valid createTask calls, all models together (default: real 1, mock 25)")
    run.add_argument("--hmac-key", help="verify callback signatures with this key")
    run.add_argument("--callback-url", help="a public receiver to pass as callBackUrl (real service)")
    run.add_argument("--junit", type=Path, help="write a JUnit XML report")
    run.add_argument("--report", type=Path, help="write a JSON report")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--deadline", type=float, default=900.0, help="seconds a task may take (default 900)")
    run.add_argument("--no-schemathesis", action="store_true", help="skip the schemathesis phase")
    run.add_argument("--model-spec", action="append", default=[], metavar="PATH",
                     help="your own model pages (files or directories) beside the bundled ones; repeatable")
    run.add_argument("--models", "--model", action="append", default=[], metavar="PATTERN", dest="models",
                     help="check the loaded models matching this glob (`kling*`, `nano-banana-pro`; repeatable; "
                          "default: the seed model and those of your own pages). Each costs one billable task")
    run.add_argument("--api", action="append", default=[], metavar="NAME", dest="apis",
                     help="which of the family's APIs to check: market (createTask, the default), veo, suno, "
                          "runway, aleph, gpt4o-image, flux-kontext; repeatable. Each task costs one billable call")
    webhook = commands.add_parser("webhook", help="test your own callback handler")
    webhook.add_argument("--target", required=True, help="your handler's URL")
    webhook.add_argument("--hmac-key", help="sign callbacks (and send a forged one) with this key")
    webhook.add_argument("--examples", type=int, default=3, help="success and failure callbacks each (3)")
    webhook.add_argument("--seed", type=int, default=0)
    validate = commands.add_parser("validate", help="check recorded traffic against the spec, offline")
    validate.add_argument("files", nargs="+", type=Path,
                          help="HAR files, VCR cassettes (or directories of them: apikley-mock proxy --record), "
                               "or JSON bodies")
    validate.add_argument("--operation", help="the files are JSON response bodies of this operation "
                                               "(its operationId, or its path's last segment: recordInfo)")
    validate.add_argument("--status", type=int, default=200, help="with --operation: the HTTP status (200)")
    validate.add_argument("--strict", action="store_true", help="also flag fields the spec does not document")
    return root


def print_report(report: Report) -> None:
    for failure in report.failures:
        print(f"\n{failure.check}\n  expected: {failure.expected}\n  got:      {failure.got}")
        if failure.reproducer:
            print(f"  reproduce: {failure.reproducer}")


def validate(args: argparse.Namespace) -> int:
    report = Report()
    try:
        for path in args.files:
            if args.operation:
                found = check_body_file(path, operation_id_of(args.operation), status=args.status,
                                        strict=args.strict)
                report.failures += found.failures
                report.passed.update(found.passed)
            else:
                check_exchanges(load_exchanges(path), strict=args.strict, report=report)
    except (RecordingError, OSError, KeyError, ValueError) as exc:
        print(f"apikley-contract: {exc}", file=sys.stderr)
        return 2
    print_report(report)
    print(f"{sum(report.passed.values())} checks passed, {len(report.failures)} failed")
    return 0 if report.ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "validate":
        return validate(args)
    target = args.target if args.command == "webhook" else args.base_url
    if (problem := unusable_target(target)) is not None:
        print(f"apikley-contract: {problem}", file=sys.stderr)
        return 2
    try:
        return webhook(args) if args.command == "webhook" else run(args)
    except httpx.TransportError as exc:  # no server there, or it hung up: one line, no traceback
        print(f"apikley-contract: {target} does not answer ({type(exc).__name__}: {exc})"[:300], file=sys.stderr)
        return 2


def unusable_target(url: str) -> str | None:
    """Why `url` cannot be a server to check, if it cannot."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError on a port that is not a number
    except ValueError as exc:
        return f"{url!r} is not a URL ({exc})"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{url!r} is not an http(s):// URL"
    return None


def webhook(args: argparse.Namespace) -> int:
    report = check_webhook(args.target, hmac_key=args.hmac_key, examples=args.examples, seed=args.seed)
    print_report(report)
    print(f"{sum(report.passed.values())} checks passed, {len(report.failures)} failed")
    return 0 if report.ok else 1


def run(args: argparse.Namespace) -> int:
    try:
        options = RunOptions(base_url=args.base_url.rstrip("/"), api_key=args.api_key, profile=args.profile,
                             max_billable=args.max_billable, hmac_key=args.hmac_key, seed=args.seed,
                             callback_url=args.callback_url, deadline_seconds=args.deadline,
                             schemathesis=not args.no_schemathesis, model_specs=tuple(args.model_spec),
                             models=tuple(args.models), apis=tuple(args.apis) or ("market",))
    except ValueError as exc:
        print(f"apikley-contract: {exc}", file=sys.stderr)
        return 2

    try:
        with PhaseProgress() as progress:
            report = run_contract(options, listener=progress)
    except ValueError as exc:  # a bad model page, or --model naming one not loaded
        print(f"apikley-contract: {exc}", file=sys.stderr)
        return 2
    print_report(report)
    if args.report:
        args.report.write_text(report.to_json(), encoding="utf-8")
    if args.junit:
        report.write_junit(args.junit)
    print(f"\nbillable calls made: {report.billable_calls} (createTask calls the server accepted with a "
          f"taskId; {report.billable_sent} schema-valid createTask sent in all)")
    print(f"{sum(report.passed.values())} checks passed, {len(report.failures)} failed")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
