"""Read domains.yaml into a DomainSet, collecting every problem with its entry and field.

``load_domains`` stops at the first problem; ``domains check`` reports them all.
Both read through here, so they never disagree on what is valid.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from stepdr.core.errors import ConfigError

from .authority import TIERS
from .domains import Domain, DomainSet, MirrorSpec

_HOST_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_REQUIRED = ("domain", "name", "category", "tier")
VERSIONS = ("current", "outdated")
# libyaml's loader reads the shipped list in a tenth of the pure-Python time.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a domains file, located as precisely as is known."""

    source: str
    message: str
    entry: int | None = None
    domain: str | None = None
    field: str | None = None
    severity: str = "error"  # or "warning": worth a curator's look, but the file is sound

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def __str__(self) -> str:
        where = ("warning: " if not self.is_error else "") + self.source
        if self.entry is not None:
            where += f": entry {self.entry}" + (f" ({self.domain})" if self.domain else "")
        if self.field is not None:
            where += f": field '{self.field}'"
        return f"{where}: {self.message}"


def read_domains_yaml(p: Path) -> Any:
    """The parsed YAML of a domains file; ConfigError when it cannot be read as YAML."""
    if not p.is_file():
        raise ConfigError(f"{p}: domains file not found")
    try:
        return yaml.load(p.read_text(encoding="utf-8"), Loader=_SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{p}: not valid YAML{where}: {getattr(e, 'problem', e)}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: not UTF-8 text") from None


def parse_entries(data: Any, source: str) -> tuple[list[tuple[int, Domain]], list[Problem]]:
    """Every entry that parses (with its 1-based number) and every problem, in file order."""
    if not isinstance(data, dict) or not isinstance(data.get("domains"), list):
        return [], [Problem(source, "expected a mapping with a 'domains' list")]
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        return [], [Problem(source, "'defaults' must be a mapping")]
    budgets = data.get("budgets") or {}
    if not isinstance(budgets, dict) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in budgets.values()
    ):
        return [], [Problem(source, "'budgets' must map categories to positive page counts")]
    if not data["domains"]:
        return [], [Problem(source, "the 'domains' list is empty")]
    seen: dict[str, int] = {}
    out: list[tuple[int, Domain]] = []
    problems: list[Problem] = []
    for i, raw in enumerate(data["domains"], start=1):
        if isinstance(raw, dict) and "budget" not in raw and raw.get("category") in budgets:
            raw = {**raw, "budget": budgets[raw["category"]]}  # the category's, over the default
        d, found = _parse_entry(raw, defaults, source, i)
        problems.extend(found)
        if d is None:
            continue
        if d.key in seen:
            why = f"duplicate of entry {seen[d.key]} (same domain and path)"
            problems.append(Problem(source, why, i, d.domain, "domain"))
            continue
        seen[d.key] = i
        out.append((i, d))
    return out, problems


def _parse_entry(
    raw: Any, defaults: Mapping[str, Any], source: str, i: int
) -> tuple[Domain | None, list[Problem]]:
    if not isinstance(raw, dict):
        return None, [Problem(source, f"must be a mapping, got {type(raw).__name__}", i)]
    entry = {**defaults, **raw}
    label = str(entry.get("domain") or "?")
    problems: list[Problem] = []

    def fail(fieldname: str, why: str) -> None:
        problems.append(Problem(source, why, i, label, fieldname))

    for name in _REQUIRED:
        if entry.get(name) in (None, ""):
            fail(name, "missing")
    domain = str(entry.get("domain") or "").strip().lower()
    if domain and not _HOST_RE.match(domain):
        fail("domain", f"not a host name: {entry['domain']!r}")
    tier: Any = entry.get("tier")
    if tier not in (None, "") and (
        not isinstance(tier, int) or isinstance(tier, bool) or tier not in TIERS
    ):
        fail("tier", f"must be an integer {TIERS[0]}-{TIERS[-1]}, got {tier!r}")
    path = str(entry.get("path") or "/")
    if not path.startswith("/"):
        fail("path", f"must start with '/', got {path!r}")
    # Without a sound domain, tier and path there is no scope to check seeds against.
    scoped = not problems
    authority = entry.get("authority")
    if authority is not None and (
        not isinstance(authority, int | float)
        or isinstance(authority, bool)
        or not 0.0 <= float(authority) <= 1.0
    ):
        fail("authority", f"must be a number in [0, 1], got {authority!r}")
        authority = None
    budget = entry.get("budget")
    if budget is not None and (
        not isinstance(budget, int) or isinstance(budget, bool) or budget < 1
    ):
        fail("budget", f"must be a positive integer, got {budget!r}")
        budget = None
    lists = {
        name: _str_list(entry.get(name), fail, name) for name in ("seeds", "allow", "deny", "about")
    }
    for name in ("allow", "deny"):
        compiled = []
        for pat in lists[name]:
            try:
                re.compile(pat)
                compiled.append(pat)
            except re.error as e:
                fail(name, f"pattern {pat!r} does not compile: {e}")
        lists[name] = tuple(compiled)
    mirror = _parse_mirror(entry.get("mirror"), fail)
    version = entry.get("version", "current")
    if version not in VERSIONS:
        fail("version", f"must be one of {', '.join(VERSIONS)}, got {version!r}")
    if not scoped:
        return None, problems
    d = Domain(
        domain=domain,
        name=str(entry["name"]),
        category=str(entry["category"]),
        tier=tier,
        path=path,
        lang=str(entry.get("lang") or "en"),
        region=str(entry.get("region") or "intl"),
        seeds=lists["seeds"],
        allow=lists["allow"],
        deny=lists["deny"],
        budget=budget,
        authority_override=float(authority) if authority is not None else None,
        mirror=mirror,
        outdated=version == "outdated",
        about=tuple(t.strip() for t in lists["about"] if t.strip()),
    )
    for seed in d.seeds or (d.base_url,):
        if not d.in_scope(seed):
            fail("seeds", f"{seed} is outside the entry's scope {d.base_url}")
    return (None if problems else d), problems


def _str_list(value: Any, fail: Callable[[str, str], None], name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        fail(name, "must be a list of strings")
        return ()
    return tuple(value)


def _parse_mirror(value: Any, fail: Callable[[str, str], None]) -> MirrorSpec | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = {"path": value}
    if not isinstance(value, dict) or not isinstance(value.get("path"), str):
        fail("mirror", "must be a path or a mapping with 'path' (and optional 'package')")
        return None
    package = value.get("package")
    if package is not None and not re.fullmatch(r"[a-z0-9][a-z0-9+.-]+", str(package)):
        fail("mirror", f"not a Debian package name: {package!r}")
        return None
    return MirrorSpec(path=value["path"], package=str(package) if package else None)


def shipped_domains_file() -> Path:
    """The domain list installed with stepdr (``stepdr/crawl/domains.yaml``)."""
    return Path(str(resources.files("stepdr.crawl").joinpath("domains.yaml")))


def default_domains_file() -> Path:
    """$STEPDR_DOMAINS, else ./domains.yaml when present, else the list shipped with stepdr."""
    env = os.environ.get("STEPDR_DOMAINS")
    if env:
        return Path(env)
    local = Path("domains.yaml")
    return local if local.is_file() else shipped_domains_file()


def load_domains(path: str | Path | None = None) -> DomainSet:
    """Read and validate a domains file (None: ``default_domains_file()``); raise
    ConfigError naming entry and field."""
    p = Path(path) if path is not None else default_domains_file()
    return parse_domains(read_domains_yaml(p), str(p))


def parse_domains(data: Any, source: str = "<memory>") -> DomainSet:
    """Validate parsed YAML; raise ConfigError naming the first bad entry and field."""
    entries, problems = parse_entries(data, source)
    suffixes, more = parse_suffix_defaults(data, source)
    problems += more
    if problems:
        raise ConfigError(str(problems[0]))
    return DomainSet(tuple(d for _, d in entries), source, suffixes)


def parse_suffix_defaults(data: Any, source: str) -> tuple[dict[str, int], list[Problem]]:
    """``suffix_defaults: {gov.cn: 2, edu: 3}``: a tier for unlisted pages by host suffix."""
    raw = data.get("suffix_defaults") if isinstance(data, dict) else None
    if raw is None:
        return {}, []
    if not isinstance(raw, dict):
        return {}, [Problem(source, "'suffix_defaults' must map host suffixes to tiers")]
    out: dict[str, int] = {}
    problems = []
    for suffix, tier in raw.items():
        name = str(suffix).strip(".").lower()
        if not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)*", name):
            problems.append(Problem(source, f"'suffix_defaults': not a host suffix: {suffix!r}"))
        elif not isinstance(tier, int) or isinstance(tier, bool) or tier not in TIERS:
            why = f"'suffix_defaults': {suffix}: tier must be one of {TIERS}, got {tier!r}"
            problems.append(Problem(source, why))
        else:
            out[name] = tier
    return out, problems
