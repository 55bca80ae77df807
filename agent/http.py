"""One small JSON-over-HTTP client (urllib) for the model endpoint and the search server."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


class HttpFailure(Exception):
    """A request that failed: ``status`` is None when no answer came at all."""

    def __init__(self, status: int | None, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def request_json(
    url: str, body: dict[str, Any] | None, token: str | None, timeout: float, detail: int = 500
) -> Any:
    """POST ``body`` (GET when None) with an optional Bearer token; the decoded JSON reply."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data, method="POST" if data else "GET")
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as e:
        raise HttpFailure(e.code, e.read()[:detail].decode("utf-8", "replace")) from None
    except (urllib.error.URLError, TimeoutError, ValueError) as e:
        raise HttpFailure(None, str(e)) from None
