"""Task ids as the real service issues them: `task_bytedance_<13-digit ms>` for ByteDance
models, 32 lowercase hex for other vendors' (derived from the same increasing number).

The numbers come from the store (`next_number`), so ids are unique even when many tasks
share a millisecond (the number then runs a little ahead of the clock), across workers and
replicas sharing the store, and after a restart on a persistent store.
"""

from __future__ import annotations

import hashlib

PREFIX = "task_bytedance_"
TIMESTAMPED_VENDOR = "bytedance"


def task_id(number: int, vendor: str = TIMESTAMPED_VENDOR) -> str:
    """The id of the task numbered `number` (the store hands the numbers out)."""
    if vendor == TIMESTAMPED_VENDOR:
        return f"{PREFIX}{number}"
    return hashlib.blake2b(f"{vendor}:{number}".encode(), digest_size=16).hexdigest()


def id_number(task_id: str) -> int | None:
    """The numeric part of an id this generator could have issued, else None."""
    digits = task_id.removeprefix(PREFIX)
    return int(digits) if digits != task_id and digits.isdigit() else None


def styled_id(number: int, *, api: str, prefix: str = "", style: str = "hex") -> str:
    """An id of another API's task: `prefix` then 32 hex (Veo's `veo_task_...`, Suno's) or a
    UUID (Runway's), derived from the store's number as the market's are."""
    digest = hashlib.blake2b(f"{api}:{number}".encode(), digest_size=16).hexdigest()
    if style == "uuid":
        digest = f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:]}"
    return prefix + digest
