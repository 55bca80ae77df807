"""Query-biased snippets: the window of a passage that holds most query words."""

from __future__ import annotations

import re

from stepdr.index.bm25 import query_terms

_WORD = re.compile(r"\w+")


def tidy(text: str) -> str:
    """Runs of spaces folded within each line; line breaks and indentation kept (code)."""
    lines = []
    for line in text.strip("\n").splitlines():
        if line.strip():
            indent = line[: len(line) - len(line.lstrip())].replace("\t", "    ")
            lines.append(indent + " ".join(line.split()))
    return "\n".join(lines)


def snippet(text: str, query: str, width: int = 240) -> str:
    flat = tidy(text)
    if len(flat) <= width:
        return flat
    terms = {t for t in query_terms(query) if len(t) > 1}
    starts = [m.start() for m in _WORD.finditer(flat) if m.group().lower() in terms]
    best, best_hits = 0, -1
    for s in starts:
        begin = max(0, s - width // 4)
        hits = sum(1 for x in starts if begin <= x < begin + width)
        if hits > best_hits:
            best, best_hits = begin, hits
    if best > 0:
        space = flat.find(" ", best)
        best = space + 1 if 0 <= space < best + 20 else best
    piece = flat[best : best + width]
    if best + width < len(flat):
        cut = piece.rfind(" ")
        piece = (piece[:cut] if cut > width // 2 else piece) + " …"
    return ("… " if best > 0 else "") + piece
