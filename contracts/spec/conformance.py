"""openapi-core as the authority: does a request/response pair conform to the bundled spec?

Used by the test suite on every response it receives, and by the contract toolkit. Slow
(milliseconds per call): never on a server's request path.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from urllib.parse import parse_qs, urlsplit

from openapi_core import OpenAPI
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from openapi_core.testing import MockRequest, MockResponse

from contracts.spec.document import load_spec


@functools.cache
def openapi() -> OpenAPI:
    """The bundled spec, validated by openapi-core once per process."""
    return OpenAPI.from_dict(load_spec())


def mock_request(method: str, url: str, *, headers: Mapping[str, str], body: bytes | None,
                 content_type: str | None) -> MockRequest:
    parts = urlsplit(url)
    args = {key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
    return MockRequest(f"{parts.scheme}://{parts.netloc}", method.lower(), parts.path,
                       args=args, headers=dict(headers), data=body or b"",
                       content_type=content_type or "application/json")


def response_problems(method: str, url: str, *, request_headers: Mapping[str, str],
                      request_body: bytes | None, status: int, response_headers: Mapping[str, str],
                      response_body: bytes) -> list[str]:
    """Why the response breaks the spec; empty when it conforms or the path is not in the spec."""
    return problems_in(openapi(), method, url, request_headers=request_headers, request_body=request_body,
                       status=status, response_headers=response_headers, response_body=response_body) or []


def problems_in(spec: OpenAPI, method: str, url: str, *, request_headers: Mapping[str, str],
                request_body: bytes | None, status: int, response_headers: Mapping[str, str],
                response_body: bytes) -> list[str] | None:
    """Why the response breaks `spec`: empty when it conforms, None when `spec` has no such operation."""
    request = mock_request(method, url, headers=request_headers, body=request_body,
                           content_type=request_headers.get("content-type"))
    content_type = response_headers.get("content-type", "").split(";")[0]
    response = MockResponse(response_body, status_code=status, headers=dict(response_headers),
                            content_type=content_type)
    try:
        spec.validate_response(request, response)
    except (PathNotFound, OperationNotFound):
        return None
    except Exception as exc:  # openapi-core raises one family per problem kind
        causes = [str(cause) for cause in getattr(exc, "schema_errors", [])]
        inner = exc.__cause__
        causes += [str(error) for error in getattr(inner, "schema_errors", [])]
        return [f"{type(exc).__name__}: {exc}", *causes]
    return []
