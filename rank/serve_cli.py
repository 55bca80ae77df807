"""The serve and mcp commands of stepdr-index (heavy imports inside each)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click

from stepdr.core.cli import data_option

from .options import default_workers, pop_rank_config, rank_options, resolve_token, server_options

F = TypeVar("F", bound=Callable[..., Any])


def ray_options(f: F) -> F:
    """--ray and --shard-replicas: a sharded index served from Ray Serve."""
    f = click.option(
        "--shard-replicas",
        type=click.IntRange(1, 64),
        default=1,
        show_default=True,
        help="With --ray: copies of each shard's deployment (for throughput).",
    )(f)
    return click.option(
        "--ray",
        "ray_address",
        metavar="ADDRESS",
        help="Serve the live sharded version from Ray Serve (one deployment per shard, "
        "this process the broker): a head's HOST:PORT, or auto for a local cluster.",
    )(f)


@contextlib.contextmanager
def backend(
    data_dir: Path, rank: dict[str, Any], ray: str | None, replicas: int, window: float | None
) -> Iterator[Any]:
    """What the servers search: the live version (followed as builds publish), or with
    ``ray`` the live sharded version's shards on Ray Serve behind a broker."""
    from .live import LiveSurfer

    config = pop_rank_config(rank)
    if ray is None:
        yield LiveSurfer(data_dir, config, micro_batch=window)
        return
    from stepdr.index.ray_serve import serve_shards
    from stepdr.index.versions import IndexDir

    from .surfer import Surfer

    with serve_shards(IndexDir(data_dir).current(), ray, replicas) as broker:
        broker.set_micro_batch(window)
        click.echo(f"{len(broker.shards)} shards on Ray Serve ({ray})", err=True)
        yield Surfer(broker, config)


def _announce_token(token: str | None, generated: bool) -> None:
    if token is None:
        click.echo("warning: no authentication (--no-auth): any local process can search", err=True)
    elif generated:
        click.echo(f"token (send as 'Authorization: Bearer …'): {token}", err=True)


@click.command()
@data_option
@server_options
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=default_workers,
    show_default=True,
    help="Searches answered at once (they share query-embedding passes).",
)
@click.option(
    "--rate",
    type=click.FloatRange(0),
    default=20.0,
    show_default=True,
    help="Requests a second per client (0: no limit).",
)
@click.option(
    "--max-body",
    type=click.IntRange(1024),
    default=256 * 1024,
    show_default=True,
    help="Largest request body in bytes.",
)
@click.option(
    "--micro-batch-ms",
    type=click.FloatRange(0, 100),
    default=2.0,
    show_default=True,
    help="Concurrent searches share one query-embedding pass, waiting this long for "
    "company when the model is idle.",
)
@click.option(
    "--no-micro-batch", is_flag=True, help="One query-embedding pass per search, in turn."
)
@ray_options
@rank_options
def serve(
    data_dir: Path,
    host: str,
    port: int,
    token: str | None,
    no_auth: bool,
    workers: int,
    rate: float,
    max_body: int,
    micro_batch_ms: float,
    no_micro_batch: bool,
    ray_address: str | None,
    shard_replicas: int,
    **rank: Any,
) -> None:
    """Serve the index over HTTP on loopback, as Step-DeepResearch's search API.

    POST /v1/search {"query", "n"} with a Bearer token answers as Step-DeepResearch's
    search client expects; set its STEP_SEARCH_API_BASE to http://HOST:PORT.  Also
    POST /v1/batch_search, POST /v1/open, GET /v1/stats and GET /v1/health.
    """
    from .server import ServerSettings
    from .server import serve as run

    window = None if no_micro_batch else micro_batch_ms / 1000
    token, generated = resolve_token(token, no_auth)
    settings = ServerSettings(
        port=port,
        token=token,
        max_body=max_body,
        rate=rate,
        burst=max(1, int(rate * 2)),
        workers=workers,
    )
    with backend(data_dir, rank, ray_address, shard_replicas, window) as surfers:
        name = surfers.current().version.name
        click.echo(f"serving {name} on http://{host}:{port}/v1/", err=True)
        _announce_token(token, generated)
        run(surfers, host, settings)


@click.command()
@data_option
@click.option(
    "--transport",
    type=click.Choice(["stdio", "http"]),
    default="stdio",
    show_default=True,
    help="stdio for a client that starts us; http: streamable HTTP at /mcp.",
)
@server_options
@ray_options
@rank_options
def mcp(
    data_dir: Path,
    transport: str,
    host: str,
    port: int,
    token: str | None,
    no_auth: bool,
    ray_address: str | None,
    shard_replicas: int,
    **rank: Any,
) -> None:
    """Serve the batch_web_surfer tool over MCP (stdio, or streamable HTTP on loopback)."""
    from .mcp import create_server, serve_http, serve_stdio

    with backend(data_dir, rank, ray_address, shard_replicas, 0.0) as surfers:
        server = create_server(surfers)
        if transport == "stdio":
            serve_stdio(server)
            return
        token, generated = resolve_token(token, no_auth)
        click.echo(f"MCP (streamable HTTP) on http://{host}:{port}/mcp", err=True)
        _announce_token(token, generated)
        serve_http(server, host, port, token)
