"""The serve, mcp and eval commands of stepdr-index (heavy imports inside each)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from stepdr.crawl.options import data_option, default_domains_file, domains_option, mirrors_option

from .options import default_workers, pop_rank_config, rank_options, resolve_token, server_options


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
    show_default="cores, 2 to 8",
    help="Searches answered at once.",
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
    **rank: Any,
) -> None:
    """Serve the index over HTTP on loopback, as Step-DeepResearch's search API.

    POST /v1/search {"query", "n"} with a Bearer token answers as Step-DeepResearch's
    search client expects; set its STEP_SEARCH_API_BASE to http://HOST:PORT.  Also
    POST /v1/batch_search, POST /v1/open, GET /v1/stats and GET /v1/health.
    """
    from .live import LiveSurfer
    from .server import ServerSettings
    from .server import serve as run

    surfers = LiveSurfer(data_dir, pop_rank_config(rank))
    token, generated = resolve_token(token, no_auth)
    settings = ServerSettings(
        port=port,
        token=token,
        max_body=max_body,
        rate=rate,
        burst=max(1, int(rate * 2)),
        workers=workers,
    )
    click.echo(f"serving {surfers.get().version.name} on http://{host}:{port}/v1/", err=True)
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
@rank_options
def mcp(
    data_dir: Path,
    transport: str,
    host: str,
    port: int,
    token: str | None,
    no_auth: bool,
    **rank: Any,
) -> None:
    """Serve the batch_web_surfer tool over MCP (stdio, or streamable HTTP on loopback)."""
    from .live import LiveSurfer
    from .mcp import create_server, serve_http, serve_stdio

    server = create_server(LiveSurfer(data_dir, pop_rank_config(rank)))
    if transport == "stdio":
        serve_stdio(server)
        return
    token, generated = resolve_token(token, no_auth)
    click.echo(f"MCP (streamable HTTP) on http://{host}:{port}/mcp", err=True)
    _announce_token(token, generated)
    serve_http(server, host, port, token)


@click.command("eval")
@data_option
@domains_option
@mirrors_option
@click.option(
    "--beir",
    "beir_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="A BEIR data set directory (queries.jsonl, qrels/test.tsv).",
)
@click.option(
    "--queries",
    "queries_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Queries: BEIR jsonl, id<TAB>text, or TREC topics.",
)
@click.option(
    "--qrels",
    "qrels_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Judgments: TREC qrels or BEIR tsv (docs: page URLs, web_ ids, passage ids).",
)
@click.option(
    "--pipelines",
    default="bm25,dense,hybrid,hybrid+authority",
    show_default=True,
    help="Comma-separated; '+cross' variants need --cross-encoder.",
)
@click.option(
    "--runs",
    "runs_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write one TREC run file per pipeline here.",
)
@click.option(
    "--per-site",
    type=click.IntRange(1),
    default=200,
    show_default=True,
    help="Known items sampled per mirrored site (without --beir/--queries).",
)
@click.option(
    "--save-set",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write the generated known-item set here, in BEIR form.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
@rank_options
def eval_(
    data_dir: Path,
    domains_file: Path | None,
    mirrors_dir: Path | None,
    beir_dir: Path | None,
    queries_file: Path | None,
    qrels_file: Path | None,
    pipelines: str,
    runs_dir: Path | None,
    per_site: int,
    save_set: Path | None,
    as_json: bool,
    **rank: Any,
) -> None:
    """Evaluate ranking pipelines: nDCG@10, MRR@10 and Recall@100 per pipeline.

    Without --beir or --queries/--qrels, the judgments are a known-item set drawn
    from the Sphinx inventories (objects.inv) of the mirrored documentation sites:
    each API name, section title, page title or setting asks for its own page.
    """
    from stepdr.crawl.errors import ConfigError

    from .evaluate import EvalSet, answerable, evaluate, read_beir, read_qrels, read_queries, table
    from .surfer import Surfer

    base = pop_rank_config(rank)
    names = [n.strip() for n in pipelines.split(",") if n.strip()]
    if base.cross_encoder and not any(n.endswith("+cross") for n in names):
        names.append("hybrid+authority+cross")
    if beir_dir is not None:
        data = read_beir(beir_dir)
    elif queries_file is not None and qrels_file is not None:
        data = EvalSet(read_queries(queries_file), read_qrels(qrels_file))
    elif queries_file is not None or qrels_file is not None:
        raise ConfigError("--queries and --qrels go together")
    else:
        data = _known_items(data_dir, domains_file, mirrors_dir, per_site, save_set)
    surfer = Surfer.open(data_dir, base)
    if surfer.dense is None:
        dropped = [n for n in names if n != "bm25" and not n.startswith("bm25")]
        if dropped:
            click.echo(f"no dense vectors in this index: skipping {', '.join(dropped)}", err=True)
        names = [n for n in names if n not in dropped]
    usable = answerable(surfer, data)
    missing = len(data.queries) - len(usable.queries)
    if missing:
        click.echo(
            f"{missing} of {len(data.queries)} queries judge only pages not in the index; left out",
            err=True,
        )
    rows = evaluate(surfer, usable, names, base, runs_dir)
    if as_json:
        click.echo(json.dumps([r.__dict__ for r in rows], indent=2))
    else:
        click.echo(table(rows))
    if runs_dir is not None:
        click.echo(f"run files in {runs_dir}", err=True)


def _known_items(
    data_dir: Path,
    domains_file: Path | None,
    mirrors_dir: Path | None,
    per_site: int,
    save_set: Path | None,
) -> Any:
    from stepdr.crawl.domains import load_domains
    from stepdr.crawl.errors import ConfigError

    from .evaluate import EvalSet
    from .known_items import generate, write_beir

    domains = load_domains(domains_file or default_domains_file())
    items = generate(domains, mirrors_dir or data_dir / "mirrors", per_site)
    if not items:
        raise ConfigError("no Sphinx inventory (objects.inv) in any mirror: nothing to evaluate")
    if save_set is not None:
        write_beir(items, save_set)
    return EvalSet({i.qid: i.query for i in items}, {i.qid: {i.url: 1} for i in items})
