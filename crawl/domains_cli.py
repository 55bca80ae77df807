"""`stepdr-index domains …`: check, list and count the entries of domains.yaml."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import click

from stepdr.core.cli import domains_option

from .authority import TIERS
from .domains import Domain
from .domains_check import check_file, count_registrable
from .domains_yaml import default_domains_file, load_domains


@click.group()
def domains() -> None:
    """Check, list and count the authoritative domains in domains.yaml."""


@domains.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--warnings", "show_warnings", is_flag=True, help="List every warning too.")
def check(file: Path | None, show_warnings: bool) -> None:
    """Check FILE (default: ./domains.yaml, else the shipped list) and report every problem.

    Errors: the schema, tiers, seeds inside their own scope, allow/deny patterns
    that compile, registrable domains (with tldextract's bundled public suffix
    list: no bare public suffixes, no two entries for the same scope), tier-1
    entries that scope user-written corners (forums, lists, wikis, trackers) and
    entries ranked below their host's suffix default.  Prints one line per error,
    naming the entry and the field, and exits 1 when there is any.

    Warnings leave the file sound and are counted; --warnings lists them: large
    sites seeded only at their homepage.
    """
    path = file or default_domains_file()
    problems = check_file(path)
    errors = [p for p in problems if p.is_error]
    warnings = [p for p in problems if not p.is_error]
    for problem in errors + (warnings if show_warnings else []):
        click.echo(str(problem))
    if errors:
        click.echo(f"{path}: {len(errors)} problem(s)", err=True)
        raise SystemExit(1)
    listed = load_domains(path)
    line = f"{path}: ok, {len(listed)} entries over {count_registrable(listed)} registrable domains"
    if warnings:
        line += f"; {len(warnings)} warning(s)" + ("" if show_warnings else " (--warnings)")
    click.echo(line)


@domains.command("list")
@domains_option
@click.option("--category", help="Only this category.")
@click.option("--tier", type=click.IntRange(TIERS[0], TIERS[-1]), help="Only this tier.")
@click.option("--lang", help="Only this language code.")
@click.option("--region", help="Only this region code.")
@click.option("--json", "as_json", is_flag=True, help="A JSON list, for scripts.")
def list_(
    domains_file: Path | None,
    category: str | None,
    tier: int | None,
    lang: str | None,
    region: str | None,
    as_json: bool,
) -> None:
    """List the entries as a table: tier, authority, scope, category, lang, region, name."""
    wanted: list[Callable[[Domain], bool]] = []
    if category is not None:
        wanted.append(lambda d: d.category == category)
    if tier is not None:
        wanted.append(lambda d: d.tier == tier)
    if lang is not None:
        wanted.append(lambda d: d.lang == lang)
    if region is not None:
        wanted.append(lambda d: d.region == region)
    listed = load_domains(domains_file)
    picked = [d for d in listed if all(w(d) for w in wanted)]
    if as_json:
        click.echo(json.dumps([_as_dict(d) for d in picked], ensure_ascii=False, indent=2))
        return
    rows = [_row(d) for d in picked]
    header = ("tier", "auth", "scope", "category", "lang", "region", "name")
    for line in _table(header, rows):
        click.echo(line)
    click.echo(f"{len(picked)} of {len(listed)} entries", err=True)


# The areas a Chinese research task spans, as groups of categories.
AREAS: dict[str, frozenset[str]] = {
    "policy": frozenset(
        {"government", "legislature", "law", "statistics", "intergovernmental", "health"}
        | {"policy-research"}
    ),
    "commercial": frozenset({"finance"}),
    "standards": frozenset({"standards"}),
    "software": frozenset({"software-docs"}),
    "science": frozenset({"science", "academia", "ai-research"}),
    "reference": frozenset({"reference", "archives"}),
    "news": frozenset({"news"}),
}


def area_of(category: str) -> str:
    return next((a for a, cats in AREAS.items() if category in cats), "other")


@domains.command("stats")
@domains_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object, for scripts.")
def stats_(domains_file: Path | None, as_json: bool) -> None:
    """Count the entries by category, tier, lang and region, and the Chinese ones by area
    (policy, commercial, standards, software, science, reference, news)."""
    listed = load_domains(domains_file)
    counts = {
        "category": Counter(d.category for d in listed),
        "tier": Counter(str(d.tier) for d in listed),
        "lang": Counter(d.lang for d in listed),
        "region": Counter(d.region for d in listed),
        "chinese_area": Counter(area_of(d.category) for d in listed if d.lang.startswith("zh")),
    }
    registrable = count_registrable(listed)
    if as_json:
        payload: dict[str, object] = {"entries": len(listed), "registrable_domains": registrable}
        payload |= {f"by_{k}": dict(c.most_common()) for k, c in counts.items()}
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    click.echo(f"{len(listed)} entries over {registrable} registrable domains")
    for key, counter in counts.items():
        ordered = sorted(counter.items()) if key == "tier" else counter.most_common()
        click.echo("")
        for line in _table((key, "entries"), [(k, str(n)) for k, n in ordered], numeric={1}):
            click.echo(line)


@domains.command("probe")
@domains_option
@click.option("--only", multiple=True, help="Only this entry (domain or domain+path); repeatable.")
@click.option("--timeout", type=click.FloatRange(0.1, 120), default=10.0, show_default=True)
@click.option(
    "--delay", type=click.FloatRange(0, 60), default=1.0, show_default=True,
    help="Seconds between two requests to one host.",
)  # fmt: skip
@click.option("--workers", type=click.IntRange(1, 256), default=16, show_default=True)
@click.option(
    "--resolve", multiple=True, metavar="HOST:ADDRESS",
    help="Pin a host name to an address (plain http only), like curl --resolve.",
)  # fmt: skip
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write JSON here.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON list, for scripts.")
def probe_(
    domains_file: Path | None,
    only: tuple[str, ...],
    timeout: float,
    delay: float,
    workers: int,
    resolve: tuple[str, ...],
    out: Path | None,
    as_json: bool,
) -> None:
    """Ask every seed whether it still answers, without crawling (needs the network).

    Per seed: its host's robots.txt verdict, whether the seed may be fetched, the
    status it answers, where it ends after redirects inside the list, and the first
    redirect out of the list, with its target.  Prints the seeds that need a
    curator's look (dead, moved, disallowed) and a count.
    """
    from .config import CrawlConfig
    from .probe import http_fetcher, probe, probe_lines

    listed = load_domains(domains_file)
    if only:
        listed = listed.select(only)
    pinned = {}
    for item in resolve:
        host, sep, address = item.partition(":")
        if not sep or not host or not address:
            raise click.BadParameter(f"expected HOST:ADDRESS, got {item!r}", param_hint="--resolve")
        pinned[host.lower()] = address
    agent = CrawlConfig(Path(listed.source), Path("."), Path(".")).agent
    results = probe(listed, http_fetcher(agent, timeout, pinned), delay=delay, workers=workers)
    payload = [r.as_dict() for r in results]
    if out is not None:
        out.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    if as_json:
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    for line in probe_lines(results):
        click.echo(line)


def _row(d: Domain) -> tuple[str, ...]:
    scope = d.domain + d.path.rstrip("/")
    return (str(d.tier), f"{d.authority:.2f}", scope, d.category, d.lang, d.region, d.name)


def _as_dict(d: Domain) -> dict[str, object]:
    return {
        "domain": d.domain,
        "path": d.path,
        "name": d.name,
        "category": d.category,
        "tier": d.tier,
        "authority": d.authority,
        "lang": d.lang,
        "region": d.region,
        "seeds": list(d.seeds or (d.base_url,)),
        "allow": list(d.allow),
        "deny": list(d.deny),
        "budget": d.budget,
        "mirror": d.mirror.path if d.mirror else None,
    }


def _table(
    header: Sequence[str], rows: Iterable[Sequence[str]], numeric: Iterable[int] = ()
) -> list[str]:
    rows = [tuple(header), *(tuple(r) for r in rows)]
    widths = [max(len(r[c]) for r in rows) for c in range(len(header))]
    right = set(numeric)
    lines = []
    for row in rows:
        cells = [
            cell.rjust(w) if c in right else cell.ljust(w)
            for c, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return lines
