"""The full check of a domains file: every problem in it, one per line.

``load_domains`` stops at the first problem, which is what a crawl wants; an
editor of a 600-entry list wants them all at once, plus the checks that only
matter while editing:

* the schema: unknown keys (typos such as ``seed:``), the shape of ``lang``
  and ``region`` codes, and, when the file declares ``categories:``, that each
  entry's category is one of them;
* registrable domains, found with the public suffix list bundled in
  tldextract (never fetched): an entry must name a real registrable domain or
  a host under one, not a bare public suffix (``gov.cn``, ``github.io``) that
  would scope thousands of unrelated sites; and two entries must not scope the
  same part of one registrable domain under different spellings
  (``www.who.int`` and ``who.int``).  Entries *may* share a registrable
  domain when they scope different parts of it, a subdomain or a path, since
  that is how a part gets an authority of its own;
* everything ``load_domains`` checks (required fields, tiers in range, seeds
  inside their scope, patterns that compile, …), for every entry;
* what a reviewer of the list found by hand: a tier-1 entry scoping a forum, list,
  wiki or tracker, and an entry ranked below its host's suffix default (errors);
  a large site seeded only at its homepage (a warning: the file is sound, but a
  breadth-first crawl from there mostly yields navigation and news).
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import tldextract

from stepdr.core.errors import ConfigError

from .authority import KNOWN_BAD
from .domains import Domain, DomainSet
from .domains_yaml import Problem, parse_entries, parse_suffix_defaults, read_domains_yaml

ENTRY_FIELDS = frozenset(
    {"domain", "path", "name", "category", "tier", "authority", "lang", "region"}
    | {"seeds", "allow", "deny", "budget", "mirror", "version", "about"}
)
DEFAULT_FIELDS = ENTRY_FIELDS - {"domain", "path", "name", "seeds", "about"}
TOP_LEVEL_KEYS = frozenset(
    {"version", "defaults", "categories", "domains", "budgets", "suffix_defaults"}
)
SCHEMA_VERSION = 1

_LANG_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_REGION_RE = re.compile(r"^(intl|[a-z]{2}(-[a-z0-9]{1,3})?)$")


@functools.cache
def _extractor() -> tldextract.TLDExtract:
    # No URLs and no cache dir: the suffix list snapshot shipped inside the
    # package, so a check is repeatable and never touches the network.  Private
    # suffixes count, so that github.io or readthedocs.io alone is refused.
    return tldextract.TLDExtract(
        suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True
    )


def registrable_domain(host: str) -> str:
    """The registrable domain of ``host`` ('' for a bare public suffix or unknown TLD)."""
    return _extractor().extract_str(host).top_domain_under_public_suffix


def count_registrable(domains: Iterable[Domain]) -> int:
    """How many distinct registrable domains the entries name."""
    return len({registrable_domain(d.domain) or d.domain for d in domains})


def check_file(path: str | Path) -> list[Problem]:
    """Every problem in the domains file at ``path``; an empty list when it is sound."""
    p = Path(path)
    try:
        data = read_domains_yaml(p)
    except ConfigError as e:
        return [Problem(str(p), str(e).removeprefix(f"{p}: "))]
    return check_data(data, str(p))


def check_data(data: Any, source: str = "<memory>") -> list[Problem]:
    """Every problem in parsed domains YAML, ordered by entry (file-wide ones first)."""
    entries, problems = parse_entries(data, source)
    if not isinstance(data, dict) or not isinstance(data.get("domains"), list):
        return problems
    categories, found = _top_level(data, source)
    problems += found
    suffixes, found = parse_suffix_defaults(data, source)
    problems += found
    for i, raw in enumerate(data["domains"], start=1):
        if isinstance(raw, dict):
            problems += _entry_fields(raw, categories, source, i)
    problems += _registrable(entries, source)
    problems += _user_content(entries, source)
    problems += _shadowed_by_suffix(entries, suffixes, source)
    problems += _homepage_seeds(entries, source)
    return sorted(problems, key=lambda p: p.entry or 0)


# Sites whose content lies deep under navigation: statutes, releases, papers, standards.
DEEP_CATEGORIES = frozenset(
    {"government", "legislature", "law", "statistics", "intergovernmental", "standards"}
    | {"science", "health", "archives"}
)
LARGE_BUDGET = 1000  # pages: from here on a homepage seed is a poor start


def _homepage_seeds(entries: Iterable[tuple[int, Domain]], source: str) -> list[Problem]:
    """A large whole-site entry whose every seed is its bare homepage (a warning)."""
    problems = []
    for i, d in entries:
        budget = d.budget or 0
        if d.path != "/" or budget < LARGE_BUDGET or d.category not in DEEP_CATEGORIES:
            continue
        seeds = d.seeds or (d.base_url,)
        if all(_is_homepage(seed) for seed in seeds):
            why = (
                f"every seed is the bare homepage of a large site (budget {budget}): a crawl "
                "from there mostly yields navigation and news; add a content seed "
                "(a document library, a sitemap, a release calendar)"
            )
            problems.append(Problem(source, why, i, d.domain, "seeds", severity="warning"))
    return problems


def _is_homepage(url: str) -> bool:
    parts = urlsplit(url)
    return not parts.query and parts.path in ("", "/", "/index.html", "/index.htm")


# Hosts and paths where users write: forums, lists, wikis, trackers, Q&A.
_USER_HOST = re.compile(
    r"^(discuss|discourse|forums?|community|users|internals|lists?|lore|mail|bugs|bugzilla|"
    r"issues|answers|ask|wiki|cwiki)\."
)
_USER_PATH = re.compile(r"/(forums?|community|discussions?|questions|answers|wiki|issues)(/|$)")


def _user_content(entries: Iterable[tuple[int, Domain]], source: str) -> list[Problem]:
    """A tier-1 entry whose scope is a user-written corner (a forum, a wiki, a tracker)."""
    problems = []
    for i, d in entries:
        if d.tier == 1 and (_USER_HOST.match(d.domain) or _USER_PATH.search(d.path)):
            why = f"{d.domain}{d.path} holds user-written content; tier 1 is for primary sources"
            problems.append(Problem(source, why, i, d.domain, "tier"))
    return problems


def _shadowed_by_suffix(
    entries: Iterable[tuple[int, Domain]], suffixes: Mapping[str, int], source: str
) -> list[Problem]:
    """An entry ranked below its suffix default: unlisted pages there would outrank it."""
    problems = []
    ds = DomainSet((), source, suffixes)
    for i, d in entries:
        tier = ds.suffix_tier(d.domain)
        if tier is not None and d.tier != KNOWN_BAD and tier < d.tier:
            why = (
                f"tier {d.tier} is below the suffix default (tier {tier}) for its host: "
                "unlisted pages there would outrank it"
            )
            problems.append(Problem(source, why, i, d.domain, "tier"))
    return problems


def _top_level(data: Mapping[Any, Any], source: str) -> tuple[frozenset[str] | None, list[Problem]]:
    problems = [
        Problem(source, f"unknown top-level key {key!r}{_did_you_mean(key, TOP_LEVEL_KEYS)}")
        for key in data
        if key not in TOP_LEVEL_KEYS
    ]
    version = data.get("version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        problems.append(Problem(source, f"'version' must be {SCHEMA_VERSION}, got {version!r}"))
    defaults = data.get("defaults") or {}
    if isinstance(defaults, dict):
        for key, value in defaults.items():
            if key not in DEFAULT_FIELDS:
                why = f"'defaults': unknown or per-entry key {key!r}"
                problems.append(Problem(source, why + _did_you_mean(key, DEFAULT_FIELDS)))
            else:
                problems += [
                    Problem(source, f"'defaults': {why}") for why in _code_problems(key, value)
                ]
    categories = data.get("categories")
    if categories is None:
        return None, problems
    if isinstance(categories, dict):
        categories = list(categories)
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        problems.append(Problem(source, "'categories' must be a list (or mapping) of names"))
        return None, problems
    return frozenset(categories), problems


def _entry_fields(
    raw: Mapping[Any, Any], categories: frozenset[str] | None, source: str, i: int
) -> list[Problem]:
    label = str(raw.get("domain") or "?")
    problems = [
        Problem(source, f"unknown field{_did_you_mean(key, ENTRY_FIELDS)}", i, label, str(key))
        for key in raw
        if key not in ENTRY_FIELDS
    ]
    for key in ("lang", "region"):
        for why in _code_problems(key, raw[key]) if key in raw else ():
            problems.append(Problem(source, why, i, label, key))
    category = raw.get("category")
    if categories is not None and category not in (None, "") and category not in categories:
        why = f"{category!r} is not one of the file's categories"
        problems.append(
            Problem(source, why + _did_you_mean(category, categories), i, label, "category")
        )
    return problems


def _code_problems(key: str, value: Any) -> list[str]:
    if key == "lang" and not (isinstance(value, str) and _LANG_RE.match(value)):
        return [f"not a language code such as en, zh or pt-BR: {value!r}"]
    if key == "region" and not (isinstance(value, str) and _REGION_RE.match(value)):
        return [f"not a region code such as us, cn, eu or intl: {value!r}"]
    return []


def _registrable(entries: Iterable[tuple[int, Domain]], source: str) -> list[Problem]:
    problems: list[Problem] = []
    scopes: dict[tuple[str, str, str], int] = {}
    for i, d in entries:
        parts = _extractor().extract_str(d.domain)
        if not parts.suffix:
            why = f"{d.domain} does not end in a known public suffix"
            problems.append(Problem(source, why, i, d.domain, "domain"))
            continue
        if not parts.domain:
            why = f"{d.domain} is a public suffix, not a registrable domain or a host under one"
            problems.append(Problem(source, why, i, d.domain, "domain"))
            continue
        # www. names the same site as the bare domain; a trailing slash the same path.
        labels = parts.subdomain.split(".") if parts.subdomain else []
        sub = ".".join(labels[1:] if labels[:1] == ["www"] else labels)
        scope = (parts.top_domain_under_public_suffix, sub, d.path.rstrip("/") + "/")
        if scope in scopes:
            why = (
                f"same registrable domain and scope as entry {scopes[scope]} "
                f"({parts.top_domain_under_public_suffix}{scope[2]})"
            )
            problems.append(Problem(source, why, i, d.domain, "domain"))
        else:
            scopes[scope] = i
    return problems


def _did_you_mean(word: object, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(word), sorted(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
