"""``stepdr-index search`` and ``stepdr-index open``: the index from a terminal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from stepdr.core.cli import data_option

from .options import pop_rank_config, rank_options
from .results import Scores


@click.command()
@data_option
@click.argument("query")
@click.option("-k", "topk", type=click.IntRange(1, 100), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object with all results.")
@click.option("--explain", is_flag=True, help="Show every stage's score behind each hit.")
@rank_options
def search(
    data_dir: Path, query: str, topk: int, as_json: bool, explain: bool, **rank: Any
) -> None:
    """Search the live index; print ranked passages with URL, title, site and snippet.

    Ranking: BM25 and dense candidates, fused (reciprocal rank by default), with the
    authority prior of domains.yaml; see --explain for the numbers.
    """
    from .surfer import Surfer

    config = pop_rank_config(rank)
    results = Surfer.open(data_dir, config).search(query, topk)
    if as_json:
        rows = [r.to_dict() for r in results]
        if not explain:
            for row in rows:
                row.pop("scores")
        click.echo(json.dumps({"query": query, "results": rows}, ensure_ascii=False, indent=2))
        return
    if not results:
        click.echo("no results")
    for i, r in enumerate(results, 1):
        click.echo(f"{i:>2}. {click.style(r.title, bold=True)}  [{r.site}]  {r.score:.4f}")
        click.echo(f"    {r.url}")
        if r.headings:
            click.echo(f"    § {' › '.join(r.headings[-2:])}")
        click.echo(f"    {r.snippet}")
        if explain:
            click.echo(f"    {explain_line(r.scores)}")


def explain_line(s: Scores) -> str:
    def part(name: str, score: float | None, rank: int | None, fmt: str) -> str:
        return f"{name} -" if score is None else f"{name} {score:{fmt}} (#{rank})"

    cross = "-" if s.cross is None else f"{s.cross:.3f}"
    return (
        f"{part('bm25', s.bm25, s.bm25_rank, '.2f')}  {part('dense', s.dense, s.dense_rank, '.3f')}"
        f"  authority {s.authority:.2f} → π {s.factor:.3f}  fused {s.fused:.4f}"
        f"  cross {cross}  final {s.final:.4f}"
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
