"""What an answer to ``/robots.txt`` means (RFC 9309 section 2.3.1), free of Scrapy so
that a probe of the seeds can use it as the crawl does."""

from __future__ import annotations

import time
from dataclasses import dataclass

from protego import Protego

UA_TOKEN = "stepdr"


@dataclass(frozen=True)
class Rules:
    parser: Protego | None
    """None: no rules (allow all) or, when ``reachable`` is False, nothing allowed."""
    reachable: bool
    expires: float

    def allows(self, url: str) -> bool:
        if not self.reachable:
            return False
        return self.parser is None or self.parser.can_fetch(url, UA_TOKEN)


def rules_from(
    status: int,
    body: bytes,
    fetched: float,
    ttl: float = 86400.0,
    retry: float = 600.0,
    max_bytes: int = 512 * 1024,
) -> Rules:
    """What an answer to ``/robots.txt`` means (RFC 9309 section 2.3.1)."""
    if 200 <= status < 300:
        text = body[:max_bytes].decode("utf-8", errors="replace")
        return Rules(Protego.parse(text), True, fetched + ttl)
    if 400 <= status < 500 and status != 429:
        return Rules(None, True, fetched + ttl)
    return Rules(None, False, time.time() + retry)


def verdict(status: int | None, rules: Rules) -> str:
    """One word for a curator: rules, none (no robots.txt: all allowed), unreachable."""
    if not rules.reachable:
        return "unreachable" if status is None else f"unreachable ({status})"
    if rules.parser is not None:
        return "rules"
    return "none" if status is None else f"none ({status})"
