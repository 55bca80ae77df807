"""Runs of words: how the echo check and the judge's quote check tell copied text."""

from __future__ import annotations

import re

Gram = tuple[str, ...]


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def grams(text: str, n: int) -> set[Gram]:
    """Every run of ``n`` consecutive words of ``text``, lower-cased."""
    w = words(text)
    return {tuple(w[i : i + n]) for i in range(len(w) - n + 1)}
