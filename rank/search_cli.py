"""``stepdr-index search`` and ``stepdr-index open``: the index from a terminal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from stepdr.core.cli import data_option

from .options import pop_rank_config, rank_options
from .pages import url_variants
from .results import Scores


@click.command()
@data_option
@click.argument("query")
@click.option("-k", "topk", type=click.IntRange(1, 100), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object with all results.")
@click.option("--explain", is_flag=True, help="Show every stage's score behind each hit.")
@click.option(
    "--expect",
    metavar="URL",
    help="Say where the page at URL ranks (the demo checks its own answers with it).",
)
@rank_options
def search(
    data_dir: Path,
    query: str,
    topk: int,
    as_json: bool,
    explain: bool,
    expect: str | None,
    **rank: Any,
) -> None:
    """Search the live index; print ranked passages with URL, title, site and snippet.

    Ranking: BM25 and dense candidates, fused (reciprocal rank by default), with the
    authority prior of domains.yaml; see --explain for the numbers.
    """
    from .surfer import Surfer

    config = pop_rank_config(rank)
    results = Surfer.open(data_dir, config).search(query, topk)
    urls = list(dict.fromkeys(r.url for r in results))
    rank_of = (
        None
        if expect is None
        else next((i for i, u in enumerate(urls, 1) if u in url_variants(expect)), None)
    )
    if as_json:
        rows = [r.to_dict() for r in results]
        if not explain:
            for row in rows:
                row.pop("scores")
        out: dict[str, Any] = {"query": query, "results": rows}
        if expect is not None:
            out["expected"] = {"url": expect, "page_rank": rank_of}
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    if not results:
        click.echo("no results")
    for i, r in enumerate(results, 1):
        click.echo(f"{i:>2}. {click.style(r.title, bold=True)}  [{r.site}]  {r.score:.4f}")
        click.echo(f"    {r.url}")
        if r.headings:
            click.echo(f"    § {' › '.join(r.headings[-2:])}")
        click.echo("    " + r.snippet.replace("\n", "\n    "))
        if explain:
            click.echo(f"    {explain_line(r.scores)}")
    if expect is not None:
        click.echo(expectation(expect, rank_of, len(urls)))


def expectation(url: str, rank: int | None, pages: int) -> str:
    """Where the expected page came: first, at a later page rank, or not at all."""
    if rank == 1:
        return click.style(f"expected page first: {url}", fg="green")
    where = f"page {rank} of {pages}" if rank else f"not among the {pages} pages shown"
    return click.style(f"expected page NOT first ({where}): {url}", fg="red")


def explain_line(s: Scores) -> str:
    def part(name: str, score: float | None, rank: int | None, fmt: str) -> str:
        return f"{name} -" if score is None else f"{name} {score:{fmt}} (#{rank})"

    cross = "-" if s.cross is None else f"{s.cross:.3f}"
    page = "-" if s.page is None else f"+{s.page:.4f}"
    title = "-" if s.title is None else f"×{1 + s.title:.2f}"
    return (
        f"{part('bm25', s.bm25, s.bm25_rank, '.2f')}  {part('dense', s.dense, s.dense_rank, '.3f')}"
        f"  authority {s.authority:.2f} → π {s.factor:.3f}  fused {s.fused:.4f}"
        f"  page {page}  title {title}  cross {cross}  final {s.final:.4f}"
    )


@click.command("open")
@data_option
@click.argument("urls", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True)
def open_(data_dir: Path, urls: tuple[str, ...], as_json: bool) -> None:
    """Print the stored text of pages by URL."""
    from .surfer import Surfer

    results = Surfer.open(data_dir).batch_open(list(urls))
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in results], ensure_ascii=False, indent=2))
        return
    for r in results:
        if r.error:
            click.echo(f"{r.url}: {r.error}", err=True)
            continue
        click.echo(f"# {r.title}\n{r.url}  ({r.cite_id})\n\n{r.content}\n")
    if all(r.error for r in results):
        raise click.ClickException("none of the URLs is in the index")
