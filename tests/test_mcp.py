"""The MCP server, through the SDK's own client: in memory, over stdio, over HTTP."""

from __future__ import annotations

import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from stepdr.rank import Surfer
from stepdr.rank.mcp import create_server, http_app

from .rankutil import GOV

mcp = pytest.importorskip("mcp")


def _text(result: Any) -> str:
    return "\n".join(block.text for block in result.content if hasattr(block, "text"))


async def _exercise(client: Any) -> None:
    tools = (await client.list_tools()).tools
    assert [t.name for t in tools] == ["batch_web_surfer"]
    schema = tools[0].input_schema
    assert set(schema["properties"]) >= {"action", "queries", "urls", "topk"}
    assert schema["required"] == ["action"]

    args = {"action": "batch_search", "queries": ["cod stocks", "tide tables"], "topk": 2}
    found = await client.call_tool("batch_web_surfer", args)
    text = _text(found)
    assert not found.is_error and text.startswith("<batch_search_results>")
    assert text.count("<query_result ") == 2 and text.count("<item ") == 4
    assert "<cite_index>web_" in text and "<url>https://" in text

    opened = await client.call_tool("batch_web_surfer", {"action": "batch_open",
                                                          "urls": [f"{GOV}/cod.html"]})  # fmt: skip
    assert "<success_count>1</success_count>" in _text(opened) and "Cod stocks" in _text(opened)

    empty = await client.call_tool("batch_web_surfer", {"action": "batch_search"})
    assert empty.is_error and 'needs "queries"' in _text(empty)
    bad = await client.call_tool("batch_web_surfer", {"action": "search", "queries": ["x"]})
    assert bad.is_error
    too_many = await client.call_tool(
        "batch_web_surfer", {"action": "batch_search", "queries": ["cod"], "topk": 1000}
    )
    assert too_many.is_error and "topk" in _text(too_many)


def test_in_memory_session(surfer: Surfer) -> None:
    async def main() -> None:
        # legacy mode: the initialize handshake and JSON-RPC over in-memory streams
        async with mcp.Client(create_server(surfer), mode="legacy") as client:
            await _exercise(client)

    anyio.run(main)


def test_stdio_session(corpus: Path) -> None:
    params = mcp.StdioServerParameters(
        command=sys.executable,
        args=["-m", "stepdr.rank.cli", "mcp", "--data", str(corpus), "--bm25-only"],
    )

    async def main() -> None:
        with anyio.fail_after(120):
            async with mcp.Client(params) as client:
                await _exercise(client)

    anyio.run(main)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_streamable_http_session_needs_the_token(surfer: Surfer) -> None:
    import httpx2
    import uvicorn
    from mcp.client.streamable_http import streamable_http_client

    port, token = _free_port(), "mcp-token"
    app = http_app(create_server(surfer), "127.0.0.1", port, token)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        for _ in range(100):  # bounded wait for startup
            if server.started:
                break
            time.sleep(0.05)

        async def main() -> None:
            with anyio.fail_after(60):
                auth = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"})
                async with mcp.Client(streamable_http_client(url, http_client=auth)) as client:
                    await _exercise(client)
                async with httpx2.AsyncClient() as raw:
                    r = await raw.post(url, json={})
                    assert r.status_code == 401
                    r = await raw.post(url, json={}, headers={"Host": "evil.example"})
                    assert r.status_code == 421

        anyio.run(main)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
