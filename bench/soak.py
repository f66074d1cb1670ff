"""`make soak`: the mock under fault, three figures (not part of `make test`).

1. fuzz: schemathesis over every operation, every phase, all built-in checks plus this API's
   own, against a running mock in `mirror` and in `upstream` policy (>= 5,000 cases in all),
   and a raw HTTP fuzzer for what schemathesis keeps to the spec (random paths, methods,
   headers and bodies): 0 server errors, 0 schema violations, no traceback in the mock's log.
2. soak: 60 s of steady mixed load (createTask with callbacks, polling on the upstream
   schedule, uploads, download-url) while the callback receiver fails 30% of deliveries
   (HTTP 500, answers after 15 s, connection refused) and answers duplicates idempotently.
3. kill: with `--db`, kill -9 under createTask load at a random instant and restart on the
   same file, 20 times: acknowledged tasks, the clock, callbacks and the database survive.

Every random choice comes from `--seed` (printed), so a failure can be replayed.
"""

from __future__ import annotations

import argparse
import random
import sys
import time

from bench.faults import fuzz, kill, soak


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=("fuzz", "soak", "kill"), help="run one figure only")
    parser.add_argument("--seed", type=int, default=None, help="seed for every random choice (default: random)")
    parser.add_argument("--seconds", type=float, default=60.0, help="soak duration (default 60)")
    parser.add_argument("--kills", type=int, default=20, help="kill -9 rounds (default 20)")
    parser.add_argument("--cases", type=int, default=5000, help="fuzzing cases at least (default 5000)")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    print(f"seed {seed} (replay with: python -m bench.soak --seed {seed})", flush=True)
    figures: list[tuple[str, bool, list[str]]] = []
    started = time.monotonic()
    if args.only in (None, "fuzz"):
        figures.append(("fuzzing at scale", *fuzz.run(seed, min_cases=args.cases)))
    if args.only in (None, "soak"):
        figures.append(("soak with failing receivers", *soak.run(seed, seconds=args.seconds)))
    if args.only in (None, "kill"):
        figures.append(("hard kill", *kill.run(seed, rounds=args.kills)))
    print(f"\n== figures (seed {seed}, {time.monotonic() - started:.0f} s)")
    for name, ok, lines in figures:
        print(f"{'PASS' if ok else 'FAIL'} {name}")
        for line in lines:
            print(f"     {line}")
    return 0 if all(ok for _, ok, _ in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
