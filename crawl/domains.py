"""The domain list as records, and the matching of URLs to the entry that scopes them.

An entry scopes a host (and its subdomains) plus an optional path prefix.  When
several entries match a URL, the most specific wins: the longest host, then the
longest path.  This module is the one place that knows which domains are in
the list; every other module asks it (``stepdr.crawl.domains_yaml`` reads the
file).  The priors themselves, and how pages inherit them, are documented in
``stepdr.crawl.authority``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from stepdr.core.errors import ConfigError
from stepdr.core.urls import host_in

from .authority import ABOUT_ELSEWHERE, KNOWN_BAD, TIER_AUTHORITY, UNLISTED_AUTHORITY, prior


@dataclass(frozen=True)
class MirrorSpec:
    """A local copy of a scope: ``path`` inside ``package`` (a Debian package
    unpacked under the mirrors dir), or a directory of its own when no package."""

    path: str
    package: str | None = None

    def locate(self, mirrors_dir: Path, holds: tuple[str, ...] = ()) -> Path | None:
        """The directory holding the copy, or None when it is not there.

        With ``holds`` (paths relative to the copy), a directory counts only when it holds
        one of them: ``/usr/share/doc/sqlite3`` of the ``sqlite3`` package (a changelog)
        is not the SQLite site of ``sqlite3-doc``.
        """
        rel = self.path.lstrip("/")
        candidates = []
        if self.package:
            candidates.append(mirrors_dir / self.package / rel)
            candidates.append(Path("/") / rel)  # installed system-wide
        else:
            candidates.append(
                Path(self.path) if Path(self.path).is_absolute() else mirrors_dir / rel
            )
        return next((c for c in candidates if c.is_dir() and _holds(c, holds)), None)

    @property
    def local_url_prefix(self) -> str:
        """How the packaged copy links to itself (Debian rewrites some links to file://)."""
        return "file:///" + self.path.strip("/") + "/"


_INDEX_PAGE = re.compile(r"/index\.html?$")


def _twin(host: str) -> str:
    return host[4:] if host.startswith("www.") else "www." + host


def _origins(domains: Iterable[Domain]) -> dict[str, tuple[str, str]]:
    """Host -> (scheme, host) of its canonical spelling: seed hosts first, then entry
    domains, then the www-twin of either (``sqlite.org`` for ``www.sqlite.org``)."""
    out: dict[str, tuple[str, str]] = {}
    entries = list(domains)
    for d in entries:
        for seed in d.seeds:
            parts = urlsplit(seed)
            if parts.hostname and parts.scheme in ("http", "https"):
                out.setdefault(parts.hostname.lower(), (parts.scheme, parts.hostname.lower()))
    for d in entries:
        scheme = urlsplit(d.seeds[0]).scheme if d.seeds else "https"
        twin = out.get(_twin(d.domain))
        out.setdefault(d.domain, twin if twin else (scheme, d.domain))
    for host, origin in list(out.items()):
        out.setdefault(_twin(host), origin)
    return out


def _holds(root: Path, files: tuple[str, ...]) -> bool:
    """One of ``files`` is there; with none named, anything is (an empty copy is none)."""
    if files:
        return any((root / f).is_file() for f in files)
    return next(root.iterdir(), None) is not None


@dataclass(frozen=True)
class Domain:
    domain: str
    name: str
    category: str
    tier: int
    path: str = "/"
    lang: str = "en"
    region: str = "intl"
    seeds: tuple[str, ...] = ()
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    budget: int | None = None
    authority_override: float | None = None
    mirror: MirrorSpec | None = None
    outdated: bool = False  # ``version: outdated``: a release past its end of life
    about: tuple[str, ...] = ()  # authoritative only about these names (its own products)

    @property
    def key(self) -> str:
        return self.domain + self.path.rstrip("/")

    @property
    def authority(self) -> float:
        return prior(self.tier, self.authority_override, self.outdated)

    @property
    def authority_elsewhere(self) -> float:
        """The prior on a query that names none of ``about``: capped at ABOUT_ELSEWHERE."""
        return min(self.authority, ABOUT_ELSEWHERE) if self.about else self.authority

    @property
    def crawled(self) -> bool:
        """Known-bad entries are there to rank their pages last, never to be crawled."""
        return self.tier != KNOWN_BAD

    @property
    def base_url(self) -> str:
        return f"https://{self.domain}{self.path}"

    def seed_files(self) -> tuple[str, ...]:
        """Where the declared seed pages lie in a local copy of the scope (``index.html``
        for a directory URL)."""
        out = []
        for seed in self.seeds:
            path = urlsplit(seed).path or "/"
            if not path.startswith(self.path):
                continue
            rel = path[len(self.path) :].lstrip("/")
            out.append(rel + "index.html" if rel.endswith("/") or not rel else rel)
        return tuple(out)

    def mirror_root(self, mirrors_dir: Path) -> Path | None:
        """The local copy of this scope, where one holds its seed pages; else None."""
        if self.mirror is None:
            return None
        return self.mirror.locate(mirrors_dir, self.seed_files())

    def host_matches(self, host: str) -> bool:
        return host_in(host, (self.domain,))

    def in_scope(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            return False
        host = (parts.hostname or "").lower()
        if not self.host_matches(host) or not (parts.path or "/").startswith(self.path):
            return False
        return self.patterns_admit(url)

    def patterns_admit(self, url: str) -> bool:
        """Whether ``allow``/``deny`` let ``url`` in (the host and path already match)."""
        if self.allow and not any(re.search(p, url) for p in self.allow):
            return False
        return not any(re.search(p, url) for p in self.deny)


@dataclass(frozen=True)
class DomainSet:
    domains: tuple[Domain, ...]
    source: str = "<memory>"
    _by_host: Mapping[str, tuple[Domain, ...]] = field(init=False, repr=False, compare=False)
    suffixes: Mapping[str, int] = field(default_factory=dict)  # suffix -> tier, ranking only
    _origins: Mapping[str, tuple[str, str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Entries keyed by host, longest path first: match() looks up each suffix
        # of a URL's host, longest first, instead of scanning a thousand entries.
        by_host: dict[str, list[Domain]] = {}
        for d in sorted(self.domains, key=lambda d: -len(d.path)):
            by_host.setdefault(d.domain, []).append(d)
        object.__setattr__(self, "_by_host", {h: tuple(ds) for h, ds in by_host.items()})
        object.__setattr__(self, "_origins", _origins(self.domains))

    def __len__(self) -> int:
        return len(self.domains)

    def __iter__(self) -> Any:
        return iter(self.domains)

    def match(self, url: str) -> Domain | None:
        """The most specific entry whose scope holds ``url`` (allow/deny applied):
        the longest matching host, then the longest matching path."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            return None
        labels = (parts.hostname or "").lower().split(".")
        path = parts.path or "/"
        for i in range(len(labels)):
            for d in self._by_host.get(".".join(labels[i:]), ()):
                if path.startswith(d.path) and d.patterns_admit(url):
                    return d
        return None

    def canonical(self, url: str) -> str:
        """The one spelling of a listed page, so it has one URL and one cite id.

        A listed host takes the scheme its seeds use and the spelling they use (with or
        without ``www.``), and a trailing ``index.html`` goes: ``http://sqlite.org/
        index.html`` is ``https://www.sqlite.org/`` when the entry's seed is
        ``https://www.sqlite.org/index.html``.  ``url`` is already canonical in the
        sense of ``stepdr.core.urls.canonical``; URLs of unlisted hosts are unchanged.
        """
        fast = self._canonical_listed(url)
        return fast if fast is not None else self._canonical_split(url)

    def _canonical_split(self, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            return url
        host = (parts.hostname or "").lower()
        origin = self._origins.get(host)
        if origin is None and self.match(url) is None:
            return url
        scheme, host = origin or (parts.scheme, host)
        netloc = host if parts.port is None else f"{host}:{parts.port}"
        path = _INDEX_PAGE.sub("/", parts.path or "/")
        return urlunsplit((scheme, netloc, path, parts.query, ""))

    def _canonical_listed(self, url: str) -> str | None:
        """``canonical`` by string slicing, for the common case (a plain host that is
        listed, no port, user or fragment); None for anything else.  The crawl
        spells every link it admits, and urlsplit twice a link was most of that."""
        start = 8 if url.startswith("https://") else 7 if url.startswith("http://") else 0
        if not start or "#" in url:
            return None
        slash = url.find("/", start)
        host = url[start:] if slash < 0 else url[start:slash]
        origin = self._origins.get(host)
        if origin is None:  # unlisted, or a port, user or upper case in the host
            return None
        path, _, query = ("/" if slash < 0 else url[slash:]).partition("?")
        return (
            f"{origin[0]}://{origin[1]}{_INDEX_PAGE.sub('/', path)}{'?' + query if query else ''}"
        )

    def authority(self, url: str) -> float:
        """The authority prior of ``url``: its most specific entry's, else its host's
        longest suffix default's, else unlisted."""
        d = self.match(url)
        if d is not None:
            return d.authority
        tier = self.suffix_tier((urlsplit(url).hostname or "").lower())
        return TIER_AUTHORITY[tier] if tier is not None else UNLISTED_AUTHORITY

    def suffix_tier(self, host: str) -> int | None:
        """The tier of the longest suffix default ``host`` ends in (never a crawl scope)."""
        labels = host.split(".")
        for i in range(len(labels)):
            tier = self.suffixes.get(".".join(labels[i:]))
            if tier is not None:
                return tier
        return None

    def mirrored(self) -> tuple[Domain, ...]:
        return tuple(d for d in self.domains if d.mirror is not None)

    def select(self, names: Iterable[str]) -> DomainSet:
        """Entries whose domain or key is in ``names`` (for crawling a subset)."""
        wanted = set(names)
        picked = tuple(d for d in self.domains if d.domain in wanted or d.key in wanted)
        missing = wanted - {d.domain for d in picked} - {d.key for d in picked}
        if missing:
            raise ConfigError(f"{self.source}: no entry for {', '.join(sorted(missing))}")
        return DomainSet(picked, self.source, self.suffixes)

    def crawlable(self) -> DomainSet:
        """The entries a crawl visits: all but the known-bad."""
        return DomainSet(tuple(d for d in self.domains if d.crawled), self.source, self.suffixes)
