"""Where the mock's own files live on its origin: the paths it mints in answers and routes,
and the family's own hosts it stands in for (clients that hard-code them reach it through
`serve --tls` or `--proxy-port`)."""

# The API's hosts (the family's and Apikley's) and its uploads' host ...
API_HOSTS = ("api.kie.ai", "api.apikley.ru", "kieai.redpandaai.co")
# ... and the file hosts their answers name: results, and uploads' downloadUrl.
RESULT_HOST = "tempfile.aiquickdraw.com"
UPLOAD_FILE_HOST = "tempfile.redpandaai.co"
FAMILY_HOSTS = (*API_HOSTS, RESULT_HOST, UPLOAD_FILE_HOST, "file.aiquickdraw.com")
UPLOAD_PREFIX = "/file-upload"  # Apikley serves the uploads under api.apikley.ru/file-upload/api/...

RESULTS_PREFIX = "/results/"
RESULT_ROUTE = RESULTS_PREFIX + "{token}/{name}"  # <unguessable token>/<taskId>[.<variant>].<extension>
FILES_PREFIX = "/files/"
FILE_ROUTE = FILES_PREFIX + "{path:path}"  # <the key's unguessable folder>/<uploadPath>/<fileName>


def result_url(origin: str, token: str, task_id: str, extension: str, variant: str = "") -> str:
    """A task's result file; `variant` names the others of a set (`2`...) or a still frame."""
    return f"{origin}{RESULTS_PREFIX}{token}/{task_id}{'.' + variant if variant else ''}.{extension}"


def family_origin(host: str | None, *, files: bool = False) -> str | None:
    """The https origin upstream would mint for a request that came in under one of the
    family's hosts (`Host` header, port aside): results on its result host, uploads on its
    upload file host; None for any other host."""
    name = (host or "").rsplit(":", 1)[0].lower().rstrip(".")
    if name not in FAMILY_HOSTS:
        return None
    return f"https://{UPLOAD_FILE_HOST if files else RESULT_HOST}"
