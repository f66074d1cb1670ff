"""Where the mock's own files live on its origin: the paths it mints in answers and routes."""

RESULTS_PREFIX = "/results/"
RESULT_ROUTE = RESULTS_PREFIX + "{token}/{name}"  # <unguessable token>/<taskId>[.<variant>].<extension>
FILES_PREFIX = "/files/"
FILE_ROUTE = FILES_PREFIX + "{path:path}"  # <the key's unguessable folder>/<uploadPath>/<fileName>


def result_url(origin: str, token: str, task_id: str, extension: str, variant: str = "") -> str:
    """A task's result file; `variant` names the others of a set (`2`...) or a still frame."""
    return f"{origin}{RESULTS_PREFIX}{token}/{task_id}{'.' + variant if variant else ''}.{extension}"
