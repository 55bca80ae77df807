"""The search server: Step-DeepResearch's search API, and more, over loopback HTTP.

    POST /v1/search        {"query": str, "n": int}        Step-DeepResearch's shape:
                           -> {"query", "results": [{"url", "position", "title",
                                                      "time", "snippet", "content"}]}
    POST /v1/batch_search  {"queries": [str], "topk": int, "explain": bool, "format": "json"|"text"}
    POST /v1/open          {"urls": [str], "format": "json"|"text"}
    GET  /v1/stats         index counts and version
    GET  /v1/health        liveness (no token)

Point Step-DeepResearch at it with ``STEP_SEARCH_API_BASE=http://127.0.0.1:PORT`` and
``STEP_SEARCH_API_KEY=<token>``.  Every error is JSON: ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from stepdr.core.errors import (
    ApiError,
    IndexCorruptError,
    IndexNotFoundError,
    QueryError,
    StepdrError,
)

from .format import format_open_results, format_search_results
from .guard import Guard, GuardSettings, error_body, json_bytes
from .live import LiveSurfer
from .surfer import MAX_TOPK, Surfer

log = logging.getLogger(__name__)

DEFAULT_N = 10


@dataclass(frozen=True)
class ServerSettings:
    port: int = 8765
    token: str | None = None  # None: no authentication
    max_body: int = 256 * 1024  # bytes of one request
    rate: float = 20.0  # requests a second per client, bursts of ``burst``
    burst: int = 40
    workers: int = 4  # searches running at once
    max_pending: int = 64  # searches running or waiting; beyond: 503


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json_bytes(payload), status, headers, media_type="application/json")


class SearchApi:
    def __init__(self, surfers: LiveSurfer | Surfer, settings: ServerSettings) -> None:
        self.surfers = surfers
        self.settings = settings
        self.limiter = anyio.CapacityLimiter(settings.workers)
        self.pending = 0

    def surfer(self) -> Surfer:
        return self.surfers.current()

    async def body(self, request: Request) -> dict[str, Any]:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.settings.max_body:
            raise ApiError(413, "too_large", f"request body over {self.settings.max_body} bytes")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.settings.max_body:
                raise ApiError(
                    413, "too_large", f"request body over {self.settings.max_body} bytes"
                )
            chunks.append(chunk)
        try:
            data = json.loads(b"".join(chunks))
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "bad_json", "request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise ApiError(400, "bad_request", "request body must be a JSON object")
        return data

    async def run(self, fn: Callable[[], Any]) -> Any:
        if self.pending >= self.settings.max_pending:
            raise ApiError(503, "busy", "too many searches in progress; retry shortly")
        self.pending += 1
        try:
            return await anyio.to_thread.run_sync(fn, limiter=self.limiter)
        finally:
            self.pending -= 1

    async def search(self, request: Request) -> Response:
        data = await self.body(request)
        query = data.get("query")
        if not isinstance(query, str):
            raise ApiError(400, "bad_request", '"query" must be a string')
        n = _int(data.get("n", DEFAULT_N), "n")
        rows = await self.run(lambda: self.surfer().search(query, n))
        results = [
            {
                "url": r.url,
                "position": i,
                "title": r.title,
                "time": r.published or "",
                "snippet": r.snippet,
                "content": r.content,
                # Beyond Step-DR's fields, which its client ignores: what a report cites.
                "cite_index": r.cite_id,
                "site": r.site,
                "tier": r.tier,
                "authority": r.authority,
            }
            for i, r in enumerate(rows, 1)
        ]
        return _json({"query": query, "results": results})

    async def batch_search(self, request: Request) -> Response:
        data = await self.body(request)
        queries = data.get("queries")
        if not isinstance(queries, list) or not all(isinstance(q, str) for q in queries):
            raise ApiError(400, "bad_request", '"queries" must be a list of strings')
        topk = _int(data.get("topk", DEFAULT_N), "topk")
        rows = await self.run(lambda: self.surfer().batch_search(queries, topk))
        if data.get("format") == "text":
            return _json({"text": format_search_results(queries, rows)})
        explain = bool(data.get("explain"))
        out = []
        for q, hits in zip(queries, rows, strict=True):
            items = []
            for i, r in enumerate(hits, 1):
                d = r.to_dict()
                if not explain:
                    d.pop("scores")
                items.append({"position": i, **d})
            out.append({"query": q, "results": items})
        return _json({"results": out})

    async def open(self, request: Request) -> Response:
        data = await self.body(request)
        urls = data.get("urls")
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            raise ApiError(400, "bad_request", '"urls" must be a list of strings')
        pages = await self.run(lambda: self.surfer().batch_open(urls))
        if data.get("format") == "text":
            return _json({"text": format_open_results(pages)})
        return _json({"results": [p.to_dict() for p in pages]})

    async def stats(self, request: Request) -> Response:
        return _json(await self.run(lambda: self.surfer().stats()))

    async def health(self, request: Request) -> Response:
        return _json({"status": "ok", "version": self.surfer().version.name})


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, "bad_request", f'"{name}" must be an integer from 1 to {MAX_TOPK}')
    return value


def _endpoint(fn: Callable[[Request], Awaitable[Response]]) -> Callable[..., Awaitable[Response]]:
    async def handle(request: Request) -> Response:
        try:
            return await fn(request)
        except ApiError as e:
            return Response(error_body(e.code, str(e)), e.status, media_type="application/json")
        except QueryError as e:
            return Response(error_body("bad_query", str(e)), 400, media_type="application/json")
        except (IndexNotFoundError, IndexCorruptError) as e:
            body = error_body("index_unavailable", str(e))
            return Response(body, 503, media_type="application/json")
        except StepdrError as e:
            return Response(error_body("bad_request", str(e)), 400, media_type="application/json")
        except Exception:
            log.exception("error answering %s", request.url.path)
            body = error_body("internal", "internal error; see the server log")
            return Response(body, 500, media_type="application/json")

    return handle


async def _not_found(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 404)
    code = "method_not_allowed" if status == 405 else "not_found"
    message = f"{request.method} {request.url.path}: " + (
        "method not allowed" if status == 405 else "no such endpoint"
    )
    return Response(error_body(code, message), status, media_type="application/json")


def create_app(surfers: LiveSurfer | Surfer, settings: ServerSettings) -> Guard:
    api = SearchApi(surfers, settings)
    routes = [
        Route("/v1/search", _endpoint(api.search), methods=["POST"]),
        Route("/v1/batch_search", _endpoint(api.batch_search), methods=["POST"]),
        Route("/v1/open", _endpoint(api.open), methods=["POST"]),
        Route("/v1/stats", _endpoint(api.stats), methods=["GET"]),
        Route("/v1/health", _endpoint(api.health), methods=["GET"]),
    ]
    app = Starlette(routes=routes, exception_handlers={404: _not_found, 405: _not_found})
    guard = GuardSettings(settings.port, settings.token, settings.rate, settings.burst)
    return Guard(app, guard)


def serve(surfers: LiveSurfer | Surfer, host: str, settings: ServerSettings) -> None:
    """Run until interrupted; ``host`` must be a loopback address."""
    import uvicorn

    config = uvicorn.Config(
        create_app(surfers, settings),
        host=host,
        port=settings.port,
        log_level="warning",
        limit_concurrency=settings.max_pending + 32,
        timeout_keep_alive=5,
        server_header=False,
    )
    uvicorn.Server(config).run()
