"""The HTTP search server: Step-DeepResearch's schema, auth, DNS rebinding, limits, errors."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from stepdr.rank import Surfer
from stepdr.rank.guard import RateLimiter
from stepdr.rank.server import ServerSettings, create_app

from .rankutil import GOV

PORT = 8765
TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _client(surfer: Surfer, **kw: Any) -> TestClient:
    settings = ServerSettings(**{"port": PORT, "token": TOKEN, **kw})
    return TestClient(create_app(surfer, settings), base_url=f"http://127.0.0.1:{PORT}")


@pytest.fixture
def client(surfer: Surfer) -> Iterator[TestClient]:
    with _client(surfer) as c:
        yield c


def test_search_answers_in_step_deepresearch_shape(client: TestClient) -> None:
    r = client.post("/v1/search", json={"query": "cod stocks quotas", "n": 3}, headers=AUTH)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    body = r.json()
    assert set(body) == {"query", "results"} and body["query"] == "cod stocks quotas"
    assert 1 <= len(body["results"]) <= 3
    for i, item in enumerate(body["results"], 1):
        step_dr = {"url", "position", "title", "time", "snippet", "content"}
        assert set(item) == step_dr | {"cite_index", "site", "tier", "authority"}
        assert item["position"] == i and isinstance(item["time"], str)
        assert re.fullmatch(r"web_[0-9a-f]{8}", item["cite_index"]) and item["site"]
        assert item["url"].startswith("https://") and item["content"]
    default = client.post("/v1/search", json={"query": "cod"}, headers=AUTH).json()
    ten = client.post("/v1/search", json={"query": "cod", "n": 10}, headers=AUTH).json()
    one = client.post("/v1/search", json={"query": "cod", "n": 1}, headers=AUTH).json()
    assert default == ten and len(ten["results"]) > 1 and len(one["results"]) == 1


def test_batch_search_open_stats_health(client: TestClient) -> None:
    r = client.post("/v1/batch_search", headers=AUTH,
                    json={"queries": ["cod", "货币政策"], "topk": 2, "explain": True})  # fmt: skip
    out = r.json()["results"]
    assert [q["query"] for q in out] == ["cod", "货币政策"]
    first = out[0]["results"][0]
    assert first["position"] == 1 and first["cite_id"].startswith("web_") and "scores" in first
    text = client.post("/v1/batch_search", headers=AUTH,
                       json={"queries": ["cod"], "format": "text"}).json()["text"]  # fmt: skip
    assert text.startswith("<batch_search_results>") and "<cite_index>web_" in text
    urls = [f"{GOV}/cod.html", "https://x.example/"]
    pages = client.post("/v1/open", headers=AUTH, json={"urls": urls}).json()
    assert pages["results"][0]["title"] and pages["results"][0]["error"] is None
    assert "not in the index" in pages["results"][1]["error"]
    stats = client.get("/v1/stats", headers=AUTH).json()
    assert stats["passages"] > 10 and stats["dense"] is True
    assert client.get("/v1/health").json()["status"] == "ok"  # no token needed


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}, {"Authorization": "Basic x"}],
)
def test_requests_without_the_token_are_refused(
    client: TestClient, headers: dict[str, str]
) -> None:
    r = client.post("/v1/search", json={"query": "cod"}, headers=headers)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert r.json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Host": "evil.example:8765"}, 421),
        ({"Host": "127.0.0.1:9999"}, 421),
        ({"Host": "localhost.evil.example"}, 421),
        ({"Origin": "http://evil.example"}, 403),
        ({"Origin": "http://127.0.0.1:9999"}, 403),
        ({"Origin": "null"}, 403),
    ],
)
def test_dns_rebinding_is_refused(client: TestClient, headers: dict[str, str], status: int) -> None:
    r = client.post("/v1/search", json={"query": "cod"}, headers={**AUTH, **headers})
    assert r.status_code == status and "error" in r.json()
    assert client.get("/v1/health", headers=headers).status_code == status


def test_loopback_names_and_same_origin_pass(client: TestClient) -> None:
    for host in (f"localhost:{PORT}", f"[::1]:{PORT}"):
        r = client.post("/v1/search", json={"query": "cod"}, headers={**AUTH, "Host": host})
        assert r.status_code == 200, host
    r = client.post("/v1/search", json={"query": "cod"},
                    headers={**AUTH, "Origin": f"http://localhost:{PORT}"})  # fmt: skip
    assert r.status_code == 200


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"not json", "bad_json"),
        (b"[1, 2]", "bad_request"),
        (b'{"query": 7}', "bad_request"),
        (b'{"query": "cod", "n": "ten"}', "bad_request"),
        (b'{"query": "cod", "n": 0}', "bad_query"),
        (b'{"query": "cod", "n": 101}', "bad_query"),
        (b'{"query": "   "}', "bad_query"),
        (json.dumps({"query": "x" * 20_000}).encode(), "bad_query"),
        (json.dumps({"queries": ["q"] * 65}).encode(), "bad_query"),
    ],
)
def test_bad_requests_get_json_errors(client: TestClient, body: bytes, code: str) -> None:
    path = "/v1/batch_search" if b"queries" in body else "/v1/search"
    r = client.post(path, content=body, headers=AUTH)
    assert r.status_code == 400 and r.json()["error"]["code"] == code
    assert "\n" not in r.json()["error"]["message"]


def test_hostile_queries_answer(client: TestClient) -> None:
    for q in ['title:"(cod', "-", "\ud800 lone surrogate", "😀", "a" * 10_000, "\x00"]:
        body = json.dumps({"query": q}).encode()  # a lone surrogate travels as an escape
        r = client.post("/v1/search", content=body, headers=AUTH)
        assert r.status_code == 200 and isinstance(r.json()["results"], list), q


def test_size_and_routing_limits(surfer: Surfer) -> None:
    with _client(surfer, max_body=2048) as c:
        big = json.dumps({"query": "cod " * 1000}).encode()
        r = c.post("/v1/search", content=big, headers=AUTH)
        assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
        r = c.get("/v1/search", headers=AUTH)
        assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"
        r = c.get("/v1/nothing", headers=AUTH)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_rate_limit(surfer: Surfer) -> None:
    with _client(surfer, rate=1.0, burst=3) as c:
        codes = [c.get("/v1/health").status_code for _ in range(5)]
        assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]
        r = c.get("/v1/health")
        assert r.headers["retry-after"] == "1" and r.json()["error"]["code"] == "rate_limited"
    bucket = RateLimiter(rate=2.0, burst=2)
    assert [bucket.allow("a", now=0.0) for _ in range(3)] == [0.0, 0.0, 0.5]
    assert bucket.allow("a", now=1.0) == 0.0 and bucket.allow("b", now=1.0) == 0.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _serving(surfers: Any, workers: int) -> Iterator[int]:
    """uvicorn on an ephemeral loopback port in a thread; the port, until the block ends."""
    import uvicorn

    port = _free_port()
    settings = ServerSettings(port=port, token=TOKEN, workers=workers)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(surfers, settings), host="127.0.0.1", port=port, log_level="error"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(100):  # bounded wait for startup
            if server.started:
                break
            time.sleep(0.05)
        assert server.started
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_a_real_server_on_loopback(surfer: Surfer) -> None:
    """uvicorn on an ephemeral loopback port, queried the way Step-DeepResearch does."""

    with _serving(surfer, workers=2) as port:

        def post(query: str) -> dict[str, Any]:
            req = urllib.request.Request(
                f"http://127.0.0.1:{port}/v1/search",
                json.dumps({"query": query, "n": 3}).encode(),
                {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
            )
            with urllib.request.urlopen(req, timeout=30) as resp:
                return dict(json.loads(resp.read()))

        results: list[dict[str, Any]] = []
        workers = [
            threading.Thread(target=lambda: results.append(post("tide tables"))) for _ in range(6)
        ]
        for t in workers:
            t.start()
        for t in workers:
            t.join(timeout=60)
        assert len(results) == 6 and all(len(r["results"]) == 3 for r in results)
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/stats", timeout=10)
        assert e.value.code == 401


def test_concurrent_searches_share_embedding_passes(corpus: Path) -> None:
    """Micro-batching: concurrent requests answer as sequential ones, in fewer passes."""

    from stepdr.rank.live import LiveSurfer

    live = LiveSurfer(corpus, micro_batch=0.02)
    queries = ["tide tables", "cod stocks quotas", "货币政策", "harbour dues", "fishing permits",
               "monetary policy rate", "tidal range", "quota allocation"]  # fmt: skip
    expected = {q: [r.url for r in live.current().search(q, 3)] for q in queries}
    before = live.current().index.micro_batches
    with _serving(live, workers=8) as port:
        got: dict[str, list[str]] = {}

        def post(query: str) -> None:
            req = urllib.request.Request(
                f"http://127.0.0.1:{port}/v1/search",
                json.dumps({"query": query, "n": 3}).encode(),
                {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
            )
            with urllib.request.urlopen(req, timeout=30) as resp:
                got[query] = [r["url"] for r in json.loads(resp.read())["results"]]

        threads = [threading.Thread(target=post, args=(q,)) for q in queries]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    assert got == expected
    after = live.current().index.micro_batches
    batches, items = after[0] - before[0], after[1] - before[1]
    assert items >= len(queries) - 1 and batches < items  # some searches shared a pass
