"""Load and validate domains.yaml, and match URLs to the entry that scopes them.

An entry scopes a host (and its subdomains) plus an optional path prefix.  When
several entries match a URL, the most specific wins: the longest host, then the
longest path.  This module is the one place that knows which domains are in
the list; every other module asks it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from .errors import ConfigError

TIER_AUTHORITY: Mapping[int, float] = {1: 1.0, 2: 0.8, 3: 0.6, 4: 0.4}
"""Authority prior of each tier: 1 primary/official … 4 useful but weaker."""

UNLISTED_AUTHORITY = 0.2
"""Prior of a page outside every entry (WARCs users bring still index)."""

_HOST_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_REQUIRED = ("domain", "name", "category", "tier")


@dataclass(frozen=True)
class MirrorSpec:
    """A local copy of a scope: ``path`` inside ``package`` (a Debian package
    unpacked under the mirrors dir), or a directory of its own when no package."""

    path: str
    package: str | None = None

    def locate(self, mirrors_dir: Path) -> Path | None:
        """The directory holding the copy, or None when it is not there."""
        rel = self.path.lstrip("/")
        candidates = []
        if self.package:
            candidates.append(mirrors_dir / self.package / rel)
            candidates.append(Path("/") / rel)  # installed system-wide
        else:
            candidates.append(
                Path(self.path) if Path(self.path).is_absolute() else mirrors_dir / rel
            )
        return next((c for c in candidates if c.is_dir()), None)

    @property
    def local_url_prefix(self) -> str:
        """How the packaged copy links to itself (Debian rewrites some links to file://)."""
        return "file:///" + self.path.strip("/") + "/"


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

    @property
    def key(self) -> str:
        return self.domain + self.path.rstrip("/")

    @property
    def authority(self) -> float:
        if self.authority_override is not None:
            return self.authority_override
        return TIER_AUTHORITY[self.tier]

    @property
    def base_url(self) -> str:
        return f"https://{self.domain}{self.path}"

    def host_matches(self, host: str) -> bool:
        return host == self.domain or host.endswith("." + self.domain)

    def in_scope(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            return False
        host = (parts.hostname or "").lower()
        if not self.host_matches(host) or not (parts.path or "/").startswith(self.path):
            return False
        if self.allow and not any(re.search(p, url) for p in self.allow):
            return False
        return not any(re.search(p, url) for p in self.deny)


@dataclass(frozen=True)
class DomainSet:
    domains: tuple[Domain, ...]
    source: str = "<memory>"
    _by_specificity: tuple[Domain, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ordered = sorted(self.domains, key=lambda d: (-len(d.domain), -len(d.path)))
        object.__setattr__(self, "_by_specificity", tuple(ordered))

    def __len__(self) -> int:
        return len(self.domains)

    def __iter__(self) -> Any:
        return iter(self.domains)

    def match(self, url: str) -> Domain | None:
        """The most specific entry whose scope holds ``url`` (allow/deny applied)."""
        for d in self._by_specificity:
            if d.in_scope(url):
                return d
        return None

    def authority(self, url: str) -> float:
        d = self.match(url)
        return d.authority if d else UNLISTED_AUTHORITY

    def mirrored(self) -> tuple[Domain, ...]:
        return tuple(d for d in self.domains if d.mirror is not None)

    def select(self, names: Iterable[str]) -> DomainSet:
        """Entries whose domain or key is in ``names`` (for crawling a subset)."""
        wanted = set(names)
        picked = tuple(d for d in self.domains if d.domain in wanted or d.key in wanted)
        missing = wanted - {d.domain for d in picked} - {d.key for d in picked}
        if missing:
            raise ConfigError(f"{self.source}: no entry for {', '.join(sorted(missing))}")
        return DomainSet(picked, self.source)


def load_domains(path: str | Path) -> DomainSet:
    """Read and validate a domains file; raise ConfigError naming entry and field."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: domains file not found")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{p}: not valid YAML{where}: {getattr(e, 'problem', e)}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: not UTF-8 text") from None
    return parse_domains(data, str(p))


def parse_domains(data: Any, source: str = "<memory>") -> DomainSet:
    if not isinstance(data, dict) or not isinstance(data.get("domains"), list):
        raise ConfigError(f"{source}: expected a mapping with a 'domains' list")
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise ConfigError(f"{source}: 'defaults' must be a mapping")
    seen: dict[str, int] = {}
    out = []
    for i, raw in enumerate(data["domains"], start=1):
        d = _parse_entry(raw, defaults, f"{source}: entry {i}")
        if d.key in seen:
            raise ConfigError(
                f"{source}: entry {i} ({d.domain}): duplicate of entry {seen[d.key]} "
                f"(same domain and path)"
            )
        seen[d.key] = i
        out.append(d)
    if not out:
        raise ConfigError(f"{source}: the 'domains' list is empty")
    return DomainSet(tuple(out), source)


def _parse_entry(raw: Any, defaults: Mapping[str, Any], where: str) -> Domain:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must be a mapping, got {type(raw).__name__}")
    entry = {**defaults, **raw}
    label = f"{where} ({entry.get('domain', '?')})"

    def fail(fieldname: str, why: str) -> ConfigError:
        return ConfigError(f"{label}: field '{fieldname}': {why}")

    for name in _REQUIRED:
        if entry.get(name) in (None, ""):
            raise fail(name, "missing")
    domain = str(entry["domain"]).strip().lower()
    if not _HOST_RE.match(domain):
        raise fail("domain", f"not a host name: {entry['domain']!r}")
    tier = entry["tier"]
    if not isinstance(tier, int) or isinstance(tier, bool) or tier not in TIER_AUTHORITY:
        raise fail("tier", f"must be an integer 1-4, got {tier!r}")
    path = str(entry.get("path") or "/")
    if not path.startswith("/"):
        raise fail("path", f"must start with '/', got {path!r}")
    authority = entry.get("authority")
    if authority is not None and (
        not isinstance(authority, int | float) or not 0.0 <= float(authority) <= 1.0
    ):
        raise fail("authority", f"must be a number in [0, 1], got {authority!r}")
    budget = entry.get("budget")
    if budget is not None and (not isinstance(budget, int) or budget < 1):
        raise fail("budget", f"must be a positive integer, got {budget!r}")
    patterns: dict[str, tuple[str, ...]] = {}
    for name in ("allow", "deny"):
        patterns[name] = _str_list(entry.get(name), fail, name)
        for pat in patterns[name]:
            try:
                re.compile(pat)
            except re.error as e:
                raise fail(name, f"pattern {pat!r} does not compile: {e}") from None
    d = Domain(
        domain=domain,
        name=str(entry["name"]),
        category=str(entry["category"]),
        tier=tier,
        path=path,
        lang=str(entry.get("lang") or "en"),
        region=str(entry.get("region") or "intl"),
        seeds=_str_list(entry.get("seeds"), fail, "seeds"),
        allow=patterns["allow"],
        deny=patterns["deny"],
        budget=budget,
        authority_override=float(authority) if authority is not None else None,
        mirror=_parse_mirror(entry.get("mirror"), fail),
    )
    for seed in d.seeds or (d.base_url,):
        if not d.in_scope(seed):
            raise fail("seeds", f"{seed} is outside the entry's scope {d.base_url}")
    return d


def _str_list(value: Any, fail: Any, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise fail(name, "must be a list of strings")
    return tuple(value)


def _parse_mirror(value: Any, fail: Any) -> MirrorSpec | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = {"path": value}
    if not isinstance(value, dict) or not isinstance(value.get("path"), str):
        raise fail("mirror", "must be a path or a mapping with 'path' (and optional 'package')")
    package = value.get("package")
    if package is not None and not re.fullmatch(r"[a-z0-9][a-z0-9+.-]+", str(package)):
        raise fail("mirror", f"not a Debian package name: {package!r}")
    return MirrorSpec(path=value["path"], package=str(package) if package else None)
