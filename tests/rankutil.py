"""A small ranking corpus: near-identical reports from sources of every tier, and tides.

The ``corpus`` and ``surfer`` session fixtures (in conftest.py) build it once; the
ranking, server, MCP, CLI and hostile-query tests all search it.
"""

from __future__ import annotations

from pathlib import Path

from stepdr.crawl.domains_yaml import parse_domains
from stepdr.index.build import BuildConfig, build_index

from .warcutil import html_page, write_warc

GOV, BLOG, WIKI, DOCS = (
    "https://gov.example.org", "https://blog.example.com", "https://wiki.example.net",
    "https://tides.example.org",
)  # fmt: skip
DOMAINS = parse_domains(
    {
        "domains": [
            {"domain": "gov.example.org", "name": "G", "category": "gov", "tier": 1},
            {"domain": "tides.example.org", "name": "T", "category": "gov", "tier": 2},
            {"domain": "wiki.example.net", "name": "W", "category": "ref", "tier": 3},
            {"domain": "blog.example.com", "name": "B", "category": "news", "tier": 4},
        ]
    }
)
# Near-identical reports of one finding; the blog's repeats "cod" once more, so it
# is the (slightly) better BM25 match.
COD_GOV = (
    "Cod stocks in the northern sea recovered to their highest level in thirty years after "
    "fishing quotas were cut by half in 2019, the national fisheries agency reported on Monday."
)
COD_BLOG = (
    "Cod stocks in the northern sea have recovered to the highest cod level seen in thirty years "
    "since fishing quotas were cut by half in 2019, the fisheries agency said on Monday."
)
HERRING_BLOG = (
    "Herring quotas in the North Sea rise by ten percent: the herring quota decision follows "
    "a survey that found the herring spawning stock biomass well above its precautionary level."
)
HERRING_GOV = (
    "The agency publishes annual reports on many species, from mackerel and sprat to plaice, "
    "and its advice covers fleets, ports, licences, inspections and, occasionally, herring."
)
TIDE = "Tide tables for the harbour list high and low water times, heights and the tidal range"


def _pages() -> dict[str, tuple[str, bytes]]:
    html = "text/html; charset=utf-8"
    pages = {
        f"{BLOG}/cod.html": (html, html_page("Cod stocks recover", COD_BLOG)),
        f"{GOV}/cod.html": (html, html_page("Cod stocks recover", COD_GOV)),
        f"{BLOG}/herring.html": (html, html_page("Herring quotas", HERRING_BLOG)),
        f"{GOV}/agency.html": (html, html_page("About the agency", HERRING_GOV)),
        f"{GOV}/zh.html": (
            html,
            html_page("货币政策", "中国人民银行负责制定和执行货币政策。", lang="zh"),
        ),
    }
    for i in range(4):  # one domain, many pages and passages about tides
        paras = [
            f"{TIDE} for port {i}, section {j}: entry {i * 10 + j} of the almanac."
            for j in range(3)
        ]
        pages[f"{DOCS}/port{i}.html"] = (html, html_page(f"Port {i} tides", *paras))
    pages[f"{WIKI}/tides.html"] = (html, html_page("Tide", f"{TIDE} explained for sailors."))
    return pages


def build_corpus(root: Path) -> Path:
    """Build the corpus index under ``root``; returns the data dir."""
    root.mkdir(parents=True, exist_ok=True)
    warc = write_warc(root / "corpus.warc.gz", _pages())
    data = root / "data"
    config = BuildConfig(data, warcs=(warc,), workers=1, min_words=5, max_words=60)
    build_index(config, DOMAINS)
    return data
