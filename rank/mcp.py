"""The MCP server: the ``batch_web_surfer`` tool over the index, for any MCP client.

Built on the official ``mcp`` SDK (the ``server`` extra).  Over stdio it serves
one client (the process that started it); over streamable HTTP it listens on
loopback behind the same Host/Origin, token and rate checks as the search server.
Tool output uses Step-DeepResearch's layout (``stepdr.rank.format``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import anyio

from stepdr.core.errors import ConfigError, StepdrError

from .format import format_open_results, format_search_results
from .guard import Guard, GuardSettings, allowed_hosts, allowed_origins
from .live import LiveSurfer
from .surfer import MAX_QUERIES, MAX_URLS, Surfer

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

DESCRIPTION = """Search the local index of trusted sources, or open pages from it.

batch_search: run several search queries at once; each result carries a cite_index
(web_ + 8 hex digits) that stays the same for its page. Cite sources by that id.
batch_open: read the stored text of pages by URL; passages that matched recent
searches are wrapped in <mark> ... </mark>.

Examples:
  action="batch_search", queries=["sqlite write-ahead log", "WAL checkpoint"], topk=5
  action="batch_open", urls=["https://www.sqlite.org/wal.html"]"""


def _mcp() -> type[MCPServer]:
    try:
        from mcp.server.mcpserver import MCPServer
    except ImportError:
        raise ConfigError(
            "the MCP server needs the mcp package: pip install 'stepdr[server]'"
        ) from None
    return MCPServer


def create_server(surfers: LiveSurfer | Surfer, topk_default: int = 10) -> MCPServer:
    from mcp.server.mcpserver.exceptions import ToolError

    server = _mcp()(
        "stepdr",
        instructions="A local, citable index of authoritative sources. "
        "Use batch_web_surfer to search it and to open pages.",
        log_level="WARNING",
    )

    def surfer() -> Surfer:
        return surfers.current()

    def run(action: str, queries: list[str] | None, urls: list[str] | None, topk: int) -> str:
        if action == "batch_search":
            if not queries:
                raise ToolError('batch_search needs "queries": a list of search strings')
            if len(queries) > MAX_QUERIES:
                raise ToolError(f"at most {MAX_QUERIES} queries per call, got {len(queries)}")
            return format_search_results(queries, surfer().batch_search(queries, topk))
        if action == "batch_open":
            if not urls:
                raise ToolError('batch_open needs "urls": a list of page URLs')
            if len(urls) > MAX_URLS:
                raise ToolError(f"at most {MAX_URLS} URLs per call, got {len(urls)}")
            return format_open_results(surfer().batch_open(urls))
        raise ToolError(f"unknown action {action!r}: use batch_search or batch_open")

    async def batch_web_surfer(
        action: Literal["batch_search", "batch_open"],
        queries: list[str] | None = None,
        urls: list[str] | None = None,
        topk: int = topk_default,
    ) -> str:
        try:
            return await anyio.to_thread.run_sync(lambda: run(action, queries, urls, topk))
        except StepdrError as e:
            raise ToolError(str(e)) from None

    server.add_tool(
        batch_web_surfer,
        name="batch_web_surfer",
        description=DESCRIPTION,
        structured_output=False,
    )
    return server


def serve_stdio(server: MCPServer) -> None:
    server.run("stdio")


def http_app(server: MCPServer, host: str, port: int, token: str | None) -> Guard:
    """Streamable HTTP at /mcp, behind the search server's Host/Origin, token and rate checks."""
    from mcp.server.transport_security import TransportSecuritySettings

    security = TransportSecuritySettings(
        allowed_hosts=sorted(allowed_hosts(port)), allowed_origins=sorted(allowed_origins(port))
    )
    app = server.streamable_http_app(transport_security=security, host=host)
    return Guard(app, GuardSettings(port, token, open_paths=()))


def serve_http(server: MCPServer, host: str, port: int, token: str | None) -> None:
    import uvicorn

    app = http_app(server, host, port, token)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
    uvicorn.Server(config).run()
