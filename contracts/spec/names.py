"""The API's names and fixed facts, in one place, looked up in the bundled spec: operation ids
and paths, the callback's messages and how long a receiver has to answer, and how callbacks
are signed. Everything else (the contract toolkit and the mock) imports them from here instead
of spelling a path, an operationId or a message again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from contracts.spec.document import JSON, dereference, load_spec, operation, operation_at, operations

CREATE_TASK_PATH = "/api/v1/jobs/createTask"  # one path for every model of the family
API_PREFIX = "/api/"

# createTask's operationId is the seed model's own (each model page names its operation).
CREATE_TASK = operation_at("POST", CREATE_TASK_PATH).operation_id
GET_TASK_DETAILS = "get-task-details"
GET_ACCOUNT_CREDITS = "get-account-credits"
GET_DOWNLOAD_URL = "get-download-url"
GET_MODEL_PATHS = "get-model-paths"
FILE_STREAM_UPLOAD = "file-stream-upload"
FILE_URL_UPLOAD = "file-url-upload"
FILE_BASE64_UPLOAD = "file-base64-upload"
UPLOADS = (FILE_STREAM_UPLOAD, FILE_URL_UPLOAD, FILE_BASE64_UPLOAD)
CALLBACK = "task-completed-callback"

TASK_DETAILS_PATH = operation(GET_TASK_DETAILS).path
CREDIT_PATH = operation(GET_ACCOUNT_CREDITS).path
DOWNLOAD_URL_PATH = operation(GET_DOWNLOAD_URL).path
# The market API's first paths, which older clients still call: the same operations.
LEGACY_PATHS = {"/api/v1/playground/createTask": CREATE_TASK_PATH, "/api/v1/playground/recordInfo": TASK_DETAILS_PATH}

TIMESTAMP_HEADER = "X-Webhook-Timestamp"
SIGNATURE_HEADER = "X-Webhook-Signature"


def callback_operation() -> JSON:
    """createTask's callback operation (OpenAPI `callbacks`), dereferenced."""
    callbacks = operation_at("POST", CREATE_TASK_PATH).definition["callbacks"]
    for expressions in callbacks.values():
        for path_item in expressions.values():
            if path_item.get("post", {}).get("operationId") == CALLBACK:
                found: JSON = dereference(load_spec(), path_item["post"])
                return found
    raise KeyError(f"no callback {CALLBACK!r} on createTask")


def _callback_example(name: str) -> tuple[int, str]:
    example = callback_operation()["requestBody"]["content"]["application/json"]["examples"][name]["value"]
    return int(example["code"]), str(example["msg"])


# The callback's envelope for a task that succeeded or failed, as the spec's examples show it.
CALLBACK_SUCCESS = _callback_example("success")
CALLBACK_FAIL = _callback_example("failure")
RECEIVER_TIMEOUT_SECONDS = float(callback_operation()["x-apikley-receiver-timeout-seconds"])


def callback_envelope(state: str) -> tuple[int, str]:
    """(code, msg) of the callback for a task that ended in `state`."""
    return CALLBACK_SUCCESS if state == "success" else CALLBACK_FAIL


def sign_callback(key: str, task_id: str, timestamp: str) -> str:
    """base64(HMAC-SHA256(key, taskId + "." + timestamp)): how upstream signs callbacks (the
    signature covers the task id and the timestamp, not the body)."""
    digest = hmac.new(key.encode(), f"{task_id}.{timestamp}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def short_name(operation_id: str) -> str:
    """`createTask`, `recordInfo`, `credit` ...: the last segment of an operation's path."""
    return operation(operation_id).path.rstrip("/").rsplit("/", 1)[-1]


def operation_names() -> dict[str, str]:
    """Every name an operation goes by (its operationId, its path's last segment) -> operationId."""
    names: dict[str, str] = {}
    for found in operations():
        names[found.operation_id] = found.operation_id
        names[short_name(found.operation_id)] = found.operation_id
    return names


def operation_id_of(name: str) -> str:
    """The operationId `name` stands for (`createTask` or the operationId alike); a ValueError
    listing the valid names otherwise."""
    names = operation_names()
    if name not in names:
        raise ValueError(f"operation: {name!r} is not one of {sorted(names)}")
    return names[name]
