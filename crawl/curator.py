"""What a curator of domains.yaml needs from a crawl: which seeds answered, and which
redirects left the list's scope, and where to (a site that moved yields nothing, and
without this nothing says so).

Both go into the crawl's stats, so ``crawl/stats.json`` keeps them and the summary
warns about them::

    stepdr/seeds           {seed URL: HTTP status, or "error: …"}
    stepdr/moved           {entry key: [{"from": URL, "to": URL, "status": 301}, …]}
    stepdr/robots          {robots.txt URL: "rules" | "none" | "unreachable"}

Pages stored per entry are ``pages_by_entry`` in the same stats.  ``stepdr-index
domains probe`` asks the same questions of the seeds alone, without a crawl.
"""

from __future__ import annotations

from typing import Any

from stepdr.core.urls import canonical

from .domains import DomainSet

MAX_MOVED = 20  # redirects kept per entry: enough to see where a site went


def _table(stats: Any, key: str) -> dict[str, Any]:
    """A dict kept in the stats, created on first use and then changed in place."""
    table = stats.get_value(key)
    if table is None:
        table = {}
        stats.set_value(key, table)
    return table  # type: ignore[no-any-return]


def note_seed(stats: Any, url: str, outcome: int | str) -> None:
    _table(stats, "stepdr/seeds")[url] = outcome


def note_robots(stats: Any, robots_url: str, verdict: str) -> None:
    if stats is not None:
        _table(stats, "stepdr/robots")[robots_url] = verdict


def note_redirect(stats: Any, domains: DomainSet, source: str, target: str, status: int) -> None:
    """Record a redirect whose target no entry scopes (admit() will refuse it)."""
    canon = canonical(target)
    if canon is not None and domains.match(domains.canonical(canon)) is not None:
        return
    entry = domains.match(source)
    key = entry.key if entry is not None else "-"
    kept = _table(stats, "stepdr/moved").setdefault(key, [])
    if len(kept) < MAX_MOVED:
        kept.append({"from": source, "to": target, "status": status})


def curator_lines(summary: dict[str, Any]) -> list[str]:
    """Warnings for the crawl summary: seeds that did not answer, sites that moved."""
    lines = []
    for url, outcome in sorted(summary.get("seeds", {}).items()):
        if not (isinstance(outcome, int) and 200 <= outcome < 400):
            lines.append(f"warning: seed {url} answered {outcome}")
    for url, verdict in sorted(summary.get("robots", {}).items()):
        if verdict.startswith("unreachable"):
            lines.append(f"warning: {url} is {verdict}: nothing on its host is fetched for now")
    for key, moves in sorted(summary.get("moved", {}).items()):
        for m in moves[:3]:
            lines.append(
                f"warning: {key}: {m['from']} redirects ({m['status']}) out of the list "
                f"to {m['to']}"
            )
        if len(moves) > 3:
            lines.append(f"warning: {key}: {len(moves) - 3} more redirects out of the list")
    return lines
