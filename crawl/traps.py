"""Crawler traps: URL spaces that never end (``/a/a/a/…``, calendars, endless
query variants, chains of links).  Each rule names the reason it rejects a URL,
so the crawl stats can count rejections by reason.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

# A year in a path segment or query value, alone or as the start of a date.
_DATEISH = re.compile(r"(?<!\d)(1[89]\d\d|2[01]\d\d)(?:[-/_.]?\d{1,2}){0,2}(?!\d)")
_DATE_KEYS = re.compile(r"^(date|day|week|month|year|cal|calendar|from|to|start|end)$", re.I)
_DIGITS = re.compile(r"\d+")


@dataclass(frozen=True)
class TrapRules:
    max_repeats: int = 2
    """A path segment may occur this many times in one path; one more is a trap."""
    max_segments: int = 20
    max_depth: int = 20
    """Links followed from a seed."""
    max_query_params: int = 12
    max_query_variants: int = 100
    """Distinct queries of one path (sort orders, filters, session ids...)."""
    max_calendar_pages: int = 60
    """Distinct dates under one URL shape (two pages per month for two and a half years)."""
    max_url_length: int = 2083


class TrapGuard:
    """Judges URLs against TrapRules; remembers what it admitted to count variants."""

    def __init__(self, rules: TrapRules) -> None:
        self.rules = rules
        self._variants: Counter[str] = Counter()
        self._calendar: Counter[str] = Counter()

    def check(self, url: str, depth: int, max_depth: int | None = None) -> str | None:
        """The reason ``url`` (``depth`` links from a seed) is a trap, or None.

        A URL that passes is counted, so later variants of it may not.
        """
        r = self.rules
        if len(url) > r.max_url_length:
            return "url_length"
        if depth > (max_depth if max_depth is not None else r.max_depth):
            return "depth"
        parts = urlsplit(url)
        segments = [s for s in parts.path.split("/") if s]
        if len(segments) > r.max_segments:
            return "too_many_segments"
        if segments and max(Counter(segments).values()) > r.max_repeats:
            return "repeated_segment"
        params = parse_qsl(parts.query, keep_blank_values=True)
        if len(params) > r.max_query_params:
            return "query_params"
        calendar = _calendar_shape(parts.netloc, parts.path, params)
        path_key = parts.netloc + parts.path
        if parts.query and self._variants[path_key] >= r.max_query_variants:
            return "query_variants"
        if calendar is not None and self._calendar[calendar] >= r.max_calendar_pages:
            return "calendar"
        self.observe(url)
        return None

    def observe(self, url: str) -> None:
        """Count ``url`` as admitted (also used to replay a journal on resume)."""
        parts = urlsplit(url)
        if parts.query:
            self._variants[parts.netloc + parts.path] += 1
        params = parse_qsl(parts.query, keep_blank_values=True)
        calendar = _calendar_shape(parts.netloc, parts.path, params)
        if calendar is not None:
            self._calendar[calendar] += 1


def _calendar_shape(netloc: str, path: str, params: list[tuple[str, str]]) -> str | None:
    """The URL with its numbers blanked when it looks like a date page, else None."""
    dated = bool(_DATEISH.search(path)) or any(
        _DATE_KEYS.match(k) or _DATEISH.search(v) for k, v in params
    )
    if not dated:
        return None
    query = "&".join(f"{k}={_DIGITS.sub('#', v)}" for k, v in sorted(params))
    return f"{netloc}{_DIGITS.sub('#', path)}?{query}"


__all__ = ["TrapGuard", "TrapRules"]
