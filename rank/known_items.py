"""A known-item evaluation set from the Sphinx inventories of mirrored documentation.

Sphinx writes ``objects.inv``: every documented object, section label and page
with the page that holds it.  Each becomes a query whose one relevant document
is that page: an API name ("functools.lru_cache"), a section title ("Write your
first view"), a page title, a setting or glossary term.  Queries that name more
than one page (across all sites) are ambiguous and dropped; a seeded sample
per site keeps the set the same from build to build.
"""

from __future__ import annotations

import random
import re
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

from stepdr.core.errors import ConfigError
from stepdr.crawl.domains import Domain, DomainSet

INVENTORY = "objects.inv"
_LINE = re.compile(r"(.+?)\s+(\S+)\s+(-?\d+)\s+?(\S*)\s+(.*)")
_WORD = re.compile(r"\w+")

# What share of a site's sample each kind of item gets.
MIX = {"api": 0.4, "section": 0.3, "page": 0.15, "term": 0.15}
_TERM_ROLES = {
    "std:setting", "std:envvar", "std:term", "std:templatetag", "std:templatefilter",
    "std:fieldlookup", "std:django-admin", "std:signal", "std:command", "std:reqmeta",
    "std:opcode", "std:pdbcommand",
}  # fmt: skip


@dataclass(frozen=True)
class InventoryItem:
    name: str
    role: str  # domain:role, e.g. py:function
    uri: str  # relative to the documentation root, with the anchor
    dispname: str


@dataclass(frozen=True)
class KnownItem:
    qid: str
    query: str
    url: str  # the one relevant page
    kind: str
    site: str


def read_inventory(path: Path) -> list[InventoryItem]:
    """Items of a version-2 Sphinx inventory (the format since Sphinx 1.0)."""
    raw = path.read_bytes()
    header = raw.split(b"\n", 4)
    if len(header) < 5 or not header[0].startswith(b"# Sphinx inventory version 2"):
        raise ConfigError(f"{path}: not a version-2 Sphinx inventory")
    try:
        body = zlib.decompress(header[4]).decode("utf-8")
    except (zlib.error, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: corrupt inventory ({e})") from None
    out = []
    for line in body.splitlines():
        m = _LINE.fullmatch(line.rstrip())
        if not m:
            continue
        name, role, _prio, uri, disp = m.groups()
        if uri.endswith("$"):
            uri = uri[:-1] + name
        out.append(InventoryItem(name, role, uri, disp))
    return out


def _kind(item: InventoryItem) -> str | None:
    if item.role.startswith("py:"):
        return "api"
    if item.role == "std:doc":
        return "page"
    if item.role == "std:label" and item.dispname != "-":
        return "section"
    if item.role in _TERM_ROLES:
        return "term"
    return None


def _query(item: InventoryItem, kind: str) -> str | None:
    text = item.dispname if kind in ("page", "section") else item.name
    text = " ".join(text.split())
    words = _WORD.findall(text)
    if not words or len(text) > 200:
        return None
    if kind in ("page", "section") and len(words) < 2:
        return None  # "Introduction", "Examples": a title, not a known item
    return text


def inventory_entries(root: Path) -> list[tuple[str, str, str]]:
    """(kind, query, page) for each usable item of a Sphinx ``objects.inv``."""
    inv = root / INVENTORY
    if not inv.is_file():
        return []
    out = []
    for item in read_inventory(inv):
        kind = _kind(item)
        query = _query(item, kind) if kind is not None else None
        if kind is not None and query is not None:
            out.append((kind, query, item.uri.split("#", 1)[0]))
    return out


def _sources() -> dict[str, tuple[Callable[[Path], list[tuple[str, str, str]]], dict[str, float]]]:
    from .index_pages import READERS

    return {"known-items": (inventory_entries, MIX), **READERS}


SOURCES = ("known-items", "book-index", "keyword-index")


def site_items(
    domain: Domain, root: Path, source: str = "known-items"
) -> list[tuple[str, str, str]]:
    """(kind, query, page URL) for each usable item of one mirrored site, from the
    Sphinx inventory ("known-items"), a DocBook book index or a SQLite keyword index."""
    read, _ = _sources()[source]
    out = []
    for kind, query, page in read(root):
        if not page or not (root / page).is_file():
            continue
        url = urljoin(domain.base_url, page)
        if domain.in_scope(url):
            out.append((kind, query, url))
    return out


def generate(
    domains: DomainSet,
    mirrors_dir: Path,
    per_site: int = 200,
    seed: int = 13,
    source: str = "known-items",
) -> list[KnownItem]:
    """A seeded sample of unambiguous known items from every mirrored site's inventory
    (or, with ``source``, its book index or keyword index)."""
    if source not in SOURCES:
        raise ConfigError(f"unknown known-item source {source!r}: choose from {', '.join(SOURCES)}")
    mix = _sources()[source][1]
    by_site: dict[str, list[tuple[str, str, str]]] = {}
    pages_of: defaultdict[str, set[str]] = defaultdict(set)
    for d in domains.mirrored():
        root = d.mirror_root(mirrors_dir)
        if root is None:
            continue
        # Judged under the one spelling the index stores pages by.
        found = site_items(d, root, source)
        items = [(kind, q, domains.canonical(url)) for kind, q, url in found]
        if items:
            by_site[d.key] = items
        for _, query, url in items:
            pages_of[query.casefold()].add(url)
    out: list[KnownItem] = []
    for site, items in sorted(by_site.items()):
        first: dict[str, tuple[str, str, str]] = {}
        for it in sorted(items):  # one item per query text, whatever its kinds
            if len(pages_of[it[1].casefold()]) == 1:
                first.setdefault(it[1].casefold(), it)
        unique = sorted(first.values())
        out.extend(_sample(site, unique, per_site, random.Random(f"{seed}:{site}"), mix))
    return out


def _sample(
    site: str,
    items: list[tuple[str, str, str]],
    n: int,
    rng: random.Random,
    mix: dict[str, float],
) -> list[KnownItem]:
    groups: dict[str, list[tuple[str, str, str]]] = {k: [] for k in mix}
    for it in items:
        groups[it[0]].append(it)
    for g in groups.values():
        rng.shuffle(g)
    quota = {k: int(n * share) for k, share in mix.items()}
    picked: list[tuple[str, str, str]] = []
    for k in mix:  # a kind short of its quota leaves the rest to the others
        picked += groups[k][: quota[k]]
    spare = [it for k in mix for it in groups[k][quota[k] :]]
    rng.shuffle(spare)
    picked += spare[: max(0, n - len(picked))]
    slug = re.sub(r"[^a-z0-9]+", "-", site.lower()).strip("-")
    return [
        KnownItem(f"{slug}-{i:04d}", query, url, kind, site)
        for i, (kind, query, url) in enumerate(sorted(picked, key=lambda t: (t[0], t[1])), 1)
    ]


def write_beir(items: Iterable[KnownItem], out_dir: Path) -> Path:
    """BEIR layout: queries.jsonl and qrels/test.tsv (corpus ids are page URLs)."""
    import json

    items = list(items)
    (out_dir / "qrels").mkdir(parents=True, exist_ok=True)
    with (out_dir / "queries.jsonl").open("w", encoding="utf-8") as fh:
        for it in items:
            meta = {"kind": it.kind, "site": it.site}
            row = {"_id": it.qid, "text": it.query, "metadata": meta}
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    with (out_dir / "qrels" / "test.tsv").open("w", encoding="utf-8") as fh:
        fh.write("query-id\tcorpus-id\tscore\n")
        for it in items:
            fh.write(f"{it.qid}\t{it.url}\t1\n")
    return out_dir
