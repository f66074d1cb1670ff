"""Where the mock's own files live on its origin: the paths it mints in answers and routes."""

RESULTS_PREFIX = "/results/"
RESULT_ROUTE = RESULTS_PREFIX + "{name}"  # <taskId>.<extension of its model's output>
FILES_PREFIX = "/files/"
FILE_ROUTE = FILES_PREFIX + "{path:path}"


def result_url(origin: str, task_id: str, extension: str = "mp4") -> str:
    return f"{origin}{RESULTS_PREFIX}{task_id}.{extension}"
