"""Request guards shared by the HTTP and MCP servers: loopback Host and Origin
checks against DNS rebinding, a Bearer token, and a per-client rate limit.

A web page the user visits can make their browser send requests to 127.0.0.1,
and with DNS rebinding even under a name of the attacker's (``evil.example``
resolving to 127.0.0.1).  The browser then sends ``Host: evil.example`` and an
``Origin`` of that page; both must name this server on loopback, or the
request is refused before any other work.
"""

from __future__ import annotations

import hmac
import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


def is_loopback(host: str) -> bool:
    return host.strip("[]") in ("127.0.0.1", "localhost", "::1")


def allowed_hosts(port: int) -> frozenset[str]:
    names = {f"{h}:{port}" for h in LOOPBACK}
    if port == 80:
        names |= set(LOOPBACK)
    return frozenset(names)


def allowed_origins(port: int) -> frozenset[str]:
    return frozenset(f"{scheme}://{h}" for scheme in ("http", "https") for h in allowed_hosts(port))


def json_bytes(payload: Any) -> bytes:
    # Queries may hold lone surrogates (legal in JSON escapes, not in UTF-8).
    return json.dumps(payload, ensure_ascii=False).encode("utf-8", "replace")


def error_body(code: str, message: str) -> bytes:
    return json_bytes({"error": {"code": code, "message": message}})


async def send_json(
    send: Send, status: int, body: bytes, headers: dict[str, str] | None = None
) -> None:
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class RateLimiter:
    """A token bucket per client address: ``rate`` requests a second, bursts of ``burst``."""

    def __init__(self, rate: float, burst: int, max_clients: int = 1024) -> None:
        self.rate = rate
        self.burst = burst
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, client: str, now: float | None = None) -> float:
        """0 when the request may go ahead, else the seconds to wait."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.pop(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            wait = 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate
            if wait == 0.0:
                tokens -= 1.0
            self._buckets[client] = (tokens, now)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
        return wait


@dataclass(frozen=True)
class GuardSettings:
    port: int
    token: str | None  # None: no authentication (explicitly asked for)
    rate: float = 20.0
    burst: int = 40
    open_paths: tuple[str, ...] = ("/v1/health",)  # no token needed


class Guard:
    """ASGI middleware: Host, Origin, token and rate checks, answered as JSON errors."""

    def __init__(self, app: ASGIApp, settings: GuardSettings) -> None:
        self.app = app
        self.settings = settings
        self.hosts = allowed_hosts(settings.port)
        self.origins = allowed_origins(settings.port)
        self.limiter = RateLimiter(settings.rate, settings.burst)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = self.check(scope, headers)
        if refusal is not None:
            status, code, message, extra = refusal
            await send_json(send, status, error_body(code, message), extra)
            return
        await self.app(scope, receive, send)

    def check(
        self, scope: Scope, headers: dict[str, str]
    ) -> tuple[int, str, str, dict[str, str]] | None:
        host = headers.get("host", "").lower()
        if host not in self.hosts:
            return 421, "bad_host", f"Host {host!r} is not this server's loopback address", {}
        origin = headers.get("origin")
        if origin is not None and origin.lower() not in self.origins:
            return 403, "bad_origin", f"requests from origin {origin!r} are not allowed", {}
        token = self.settings.token
        if token is not None and scope.get("path") not in self.settings.open_paths:
            given = headers.get("authorization", "")
            scheme, _, value = given.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                value.strip().encode(), token.encode()
            ):
                why = "missing or wrong Bearer token"
                return 401, "unauthorized", why, {"WWW-Authenticate": "Bearer"}
        client = scope.get("client")
        wait = self.limiter.allow(client[0] if client else "?")
        if wait > 0:
            retry = str(max(1, round(wait)))
            return 429, "rate_limited", "too many requests", {"Retry-After": retry}
        return None
