"""Split a page's blocks into paragraph-level passages.

One passage per paragraph, with two corrections: paragraphs shorter than
``min_words`` merge with their neighbours under the same heading path, and
paragraphs longer than ``max_words`` split at sentence boundaries (code blocks at
line ends, so their lines stay lines).  No text is
dropped or repeated, and the result depends on the input alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import groupby

from .records import Block

# Latin sentences end at punctuation plus space; Chinese ones at 。！？ with no space.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？；])")
_UNIT = re.compile(r"[\u3400-\u9fff]|[^\s\u3400-\u9fff]+")


@dataclass(frozen=True)
class Chunk:
    text: str
    headings: tuple[str, ...]


def _words(text: str) -> int:
    """Length in words, counting each Chinese character as one (no spaces to split on)."""
    return len(_UNIT.findall(text))


def _split_long(text: str, max_words: int) -> Iterator[str]:
    """Pieces of at most ``max_words`` words, cut at sentences where possible."""
    piece: list[str] = []
    count = 0
    for sentence in filter(None, (s.strip() for s in _SENTENCE_END.split(text))):
        n = _words(sentence)
        while n > max_words:  # one sentence longer than the limit: cut it
            if piece:
                yield _join(piece)
                piece, count = [], 0
            head, sentence = _cut(sentence, max_words)
            yield head
            n = _words(sentence)
        if count + n > max_words and piece:
            yield _join(piece)
            piece, count = [], 0
        if n:
            piece.append(sentence)
            count += n
    if piece:
        yield _join(piece)


def _split_lines(code: str, max_words: int) -> Iterator[str]:
    """Code in pieces of whole lines (a line longer than the limit is cut as prose)."""
    piece: list[str] = []
    count = 0
    for line in code.split("\n"):
        n = _words(line)
        if piece and count + n > max_words:
            text = "\n".join(piece).strip("\n")
            if text.strip():
                yield text
            piece, count = [], 0
        if n > max_words:
            yield from _split_long(line, max_words)
            continue
        piece.append(line)
        count += n
    text = "\n".join(piece).strip("\n")
    if text.strip():
        yield text


def _cut(sentence: str, max_words: int) -> tuple[str, str]:
    """The first ``max_words`` words of a sentence, and the rest."""
    end = list(_UNIT.finditer(sentence))[max_words - 1].end()
    return sentence[:end].strip(), sentence[end:].strip()


def _join(sentences: list[str]) -> str:
    out = sentences[0]
    for s in sentences[1:]:
        # Chinese sentences join without a space, as they were written.
        out += s if _UNIT.match(s) and "\u3400" <= s[0] <= "\u9fff" else " " + s
    return out


def chunk_blocks(blocks: Sequence[Block], min_words: int = 25, max_words: int = 200) -> list[Chunk]:
    out: list[Chunk] = []
    kept = [b for b in blocks if b.text.strip()]
    for headings, group in groupby(kept, key=lambda b: b.headings):
        pieces: list[str] = []
        for block in group:
            code = block.kind == "code"  # its first line keeps its indentation
            text = block.text.strip("\n").rstrip() if code else block.text.strip()
            if not text.strip():
                continue
            if _words(text) > max_words:
                split = _split_lines if code else _split_long
                pieces.extend(split(text, max_words))
            else:
                pieces.append(text)
        merged: list[str] = []
        for piece in pieces:
            if (
                merged
                and (_words(merged[-1]) < min_words or _words(piece) < min_words)
                and _words(merged[-1]) + _words(piece) <= max_words
            ):
                merged[-1] = merged[-1] + "\n" + piece
            else:
                merged.append(piece)
        out.extend(Chunk(text, headings) for text in merged)
    return out
