"""Why a request was not fetched: settled for good, or to be tried by a later crawl."""

from __future__ import annotations

from scrapy.exceptions import IgnoreRequest


class Refused(IgnoreRequest):
    """Settled without storing anything (robots.txt rule, SSRF, content type...)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


class RetryLater(Refused):
    """Not fetched now; the next crawl tries again (robots.txt unreachable...)."""


__all__ = ["Refused", "RetryLater"]
