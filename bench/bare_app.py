"""The baseline: a bare Starlette app with one trivial JSON route, served like the mock."""

from __future__ import annotations

import argparse

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def hello(request: Request) -> JSONResponse:
    return JSONResponse({"code": 200, "msg": "success", "data": None})


async def read_and_answer(request: Request) -> JSONResponse:
    """The same HTTP work as createTask (a JSON body read and parsed), none of the mock's."""
    await request.json()
    return JSONResponse({"code": 200, "msg": "success", "data": None})


app = Starlette(routes=[Route("/json", hello, methods=["GET"]), Route("/json", read_and_answer, methods=["POST"])])

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    # Same server settings as `apikley-mock serve`.
    uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=args.port, log_level="warning",
                                  access_log=False)).run()
