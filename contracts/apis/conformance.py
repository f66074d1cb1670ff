"""openapi-core's verdict on an exchange of any API of the family: the market's spec first,
then each other API's (the one whose operation the request is)."""

from __future__ import annotations

import functools
from collections.abc import Mapping

from openapi_core import OpenAPI

from contracts.apis.bundled import bundled_apis
from contracts.spec.conformance import openapi, problems_in


@functools.cache
def api_openapi(name: str) -> OpenAPI:
    return OpenAPI.from_dict(bundled_apis()[name].document)


def family_response_problems(method: str, url: str, *, request_headers: Mapping[str, str],
                             request_body: bytes | None, status: int, response_headers: Mapping[str, str],
                             response_body: bytes) -> list[str]:
    """Why the response breaks the spec of the API it belongs to; empty when it conforms or
    no API of the family has the operation."""
    for spec in (openapi(), *(api_openapi(name) for name in bundled_apis())):
        found = problems_in(spec, method, url, request_headers=request_headers, request_body=request_body,
                            status=status, response_headers=response_headers, response_body=response_body)
        if found is not None:
            return found
    return []
