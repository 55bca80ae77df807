"""``stepdr-index eval``: the ranking pipelines measured on a query set with judged pages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from stepdr.core.cli import data_option, domains_option, mirrors_option

from .options import pop_rank_config, rank_options


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
    "--set",
    "set_names",
    multiple=True,
    type=click.Choice(
        ["all", "known-items", "book-index", "keyword-index", "docs-nl", "handbook-zh"]
    ),
    help="Shipped sets to run (repeatable) [all: the known items and every dev set].",
)
@click.option(
    "--pipelines",
    default="bm25,dense,hybrid,hybrid+authority,hybrid+authority+page,hybrid+authority+page+title",
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
    help="Also write the generated known-item sets here (one folder each), in BEIR form.",
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
    set_names: tuple[str, ...],
    pipelines: str,
    runs_dir: Path | None,
    per_site: int,
    save_set: Path | None,
    as_json: bool,
    **rank: Any,
) -> None:
    """Evaluate ranking pipelines: nDCG@10, MRR@10 and Recall@100 per pipeline.

    Without --beir or --queries/--qrels, the shipped sets run (--set): known items drawn
    from the mirrored documentation sites, where each entry asks for its own page (from
    Sphinx inventories, objects.inv: API names, section and page titles, settings; from a
    DocBook book index, as PostgreSQL's: commands, settings, functions, terms; from a
    keyword index, as SQLite's: C API names, compile options, pragmas, releases); docs-nl,
    natural-language questions over the same sites with their judged pages; and
    handbook-zh, Chinese questions over the Chinese pages of the Debian handbook.
    """
    from stepdr.core.errors import ConfigError

    from .dev_sets import DEV_SETS, dev_set
    from .evaluate import EvalSet, answerable, evaluate, read_beir, read_qrels, read_queries, table
    from .known_items import SOURCES
    from .pipeline import SHIPPED
    from .surfer import Surfer

    base = pop_rank_config(rank)
    names = [n.strip() for n in pipelines.split(",") if n.strip()]
    if base.cross_encoder and not any(n.endswith("+cross") for n in names):
        names.append(f"{SHIPPED}+cross")
    sets: dict[str, EvalSet] = {}
    if beir_dir is not None:
        sets[beir_dir.name] = read_beir(beir_dir)
    elif queries_file is not None and qrels_file is not None:
        sets[queries_file.stem] = EvalSet(read_queries(queries_file), read_qrels(qrels_file))
    elif queries_file is not None or qrels_file is not None:
        raise ConfigError("--queries and --qrels go together")
    else:
        wanted = set(set_names or ("all",))
        for name in (*SOURCES, *DEV_SETS):
            if name in DEV_SETS and ("all" in wanted or name in wanted):
                sets[name] = dev_set(name)
            elif name in wanted or "all" in wanted:
                save = save_set / name if save_set is not None else None
                found = _known_items(data_dir, domains_file, mirrors_dir, per_site, save, name)
                if found is not None:
                    sets[name] = found
                elif name in wanted:
                    raise ConfigError(
                        f"{name}: {_NO_SOURCE[name]} in any mirror: nothing to evaluate"
                    )
    surfer = Surfer.open(data_dir, base)
    if surfer.dense is None:
        dropped = [n for n in names if n != "bm25" and not n.startswith("bm25")]
        if dropped:
            click.echo(f"no dense vectors in this index: skipping {', '.join(dropped)}", err=True)
        names = [n for n in names if n not in dropped]
    results: dict[str, list[Any]] = {}
    for set_name, data in sets.items():
        usable = answerable(surfer, data)
        missing = len(data.queries) - len(usable.queries)
        if missing:
            click.echo(
                f"{set_name}: {missing} of {len(data.queries)} queries judge only pages not in "
                "the index; left out",
                err=True,
            )
        if not usable.queries:
            continue
        runs = runs_dir / set_name if runs_dir is not None and len(sets) > 1 else runs_dir
        results[set_name] = evaluate(surfer, usable, names, base, runs)
    if as_json:
        dumped = {k: [r.__dict__ for r in rows] for k, rows in results.items()}
        one = len(sets) == 1
        click.echo(json.dumps(next(iter(dumped.values()), []) if one else dumped, indent=2))
    else:
        for set_name, rows in results.items():
            if len(sets) > 1:
                click.echo(f"\n{set_name}")
            click.echo(table(rows))
    if runs_dir is not None:
        click.echo(f"run files in {runs_dir}", err=True)


_NO_SOURCE = {
    "known-items": "no Sphinx inventory (objects.inv)",
    "book-index": "no DocBook book index (bookindex.html)",
    "keyword-index": "no keyword index (keyword_index.html)",
}


def _known_items(
    data_dir: Path,
    domains_file: Path | None,
    mirrors_dir: Path | None,
    per_site: int,
    save_set: Path | None,
    source: str,
) -> Any:
    """The known items of one source over the mirrors; None when no mirror has it."""
    from stepdr.crawl.domains_yaml import load_domains

    from .evaluate import EvalSet
    from .known_items import generate, write_beir

    domains = load_domains(domains_file)
    items = generate(domains, mirrors_dir or data_dir / "mirrors", per_site, source=source)
    if not items:
        return None
    if save_set is not None:
        write_beir(items, save_set)
    return EvalSet({i.qid: i.query for i in items}, {i.qid: {i.url: 1} for i in items})
