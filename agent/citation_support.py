"""Citation support: does the passage a sentence cites actually say what the sentence says?

The report's ``[n]`` markers are numbered in the order of the end event's ``cited`` ids, so
each cited sentence maps to the pages it cites.  The evidence is what the run itself saw
of that page (the search snippets and opened text in its observations), narrowed to the
paragraphs sharing most words with the sentence; when the run kept nothing of a page, an
optional opener (the index) supplies its text.  A sample of (sentence, citation) pairs
goes to the judge; the share it finds supported is reported.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from stepdr.core.errors import ModelError

from .judge import Judge, parse_verdict

EVIDENCE_CHARS = 1500
_MARK = re.compile(r"\[(\d+)\]")
_SENTENCE_END = re.compile(r"(?<=[.!?])(?:\[\d+\])*\s+|\n+")
_WORD = re.compile(r"[a-z0-9_]{3,}")
SUPPORT_ASK = """Passage from {url}:
<passage>
{passage}
</passage>

Sentence from a report that cites this passage:
{sentence}

Does the passage support the sentence (say the same thing, or clearly imply it)? Reply with
one JSON object and nothing else:
{{"supported": true or false, "justification": "one short sentence quoting the passage"}}"""


class Opener(Protocol):
    """Page text by URL; the agent's search backends fit."""

    def open(self, urls: Sequence[str]) -> Sequence[Any]: ...


@dataclass(frozen=True)
class CitedClaim:
    sentence: str
    cite_id: str
    url: str


@dataclass(frozen=True)
class SupportCheck:
    claim: CitedClaim
    supported: bool
    justification: str
    parsed: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "sentence": self.claim.sentence,
            "cite_id": self.claim.cite_id,
            "url": self.claim.url,
            "supported": self.supported,
            "justification": self.justification,
            "parsed": self.parsed,
        }


@dataclass(frozen=True)
class SupportResult:
    claims: int  # cited (sentence, citation) pairs in the report
    checks: tuple[SupportCheck, ...]

    @property
    def share(self) -> float | None:
        if not self.checks:
            return None
        return sum(c.supported for c in self.checks) / len(self.checks)

    def to_dict(self) -> dict[str, Any]:
        share = self.share
        return {
            "claims": self.claims,
            "checked": len(self.checks),
            "supported": sum(c.supported for c in self.checks),
            "share": None if share is None else round(share, 4),
            "checks": [c.to_dict() for c in self.checks],
        }


def report_body(markdown: str) -> str:
    """The answer text: without the title line, the references and the closing notes."""
    body = re.split(r"\n## (?:References|Sources consulted)", markdown, maxsplit=1)[0]
    lines = body.splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    return "\n".join(line for line in lines if not line.startswith("_"))


def cited_claims(markdown: str, cited: Sequence[str], urls: dict[str, str]) -> list[CitedClaim]:
    """(sentence, cite id) for every citation marker; ``cited[n-1]`` is reference n."""
    claims: list[CitedClaim] = []
    for piece in _SENTENCE_END.split(report_body(markdown)):
        numbers = [int(n) for n in _MARK.findall(piece)]
        sentence = " ".join(_MARK.sub("", piece).split()).lstrip("-*# ").strip()
        if not sentence:
            continue
        for n in dict.fromkeys(numbers):
            if 1 <= n <= len(cited):
                cid = cited[n - 1]
                claims.append(CitedClaim(sentence, cid, urls.get(cid, "")))
    return claims


def seen_text(events: Sequence[dict[str, Any]]) -> dict[str, str]:
    """What the run's observations showed of each source, by cite id (their evidence)."""
    out: dict[str, list[str]] = {}
    for e in events:
        if e.get("type") == "observation":
            for cid, text in (e.get("evidence") or {}).items():
                out.setdefault(str(cid), []).append(str(text))
    return {cid: "\n\n".join(parts) for cid, parts in out.items()}


def best_passage(text: str, sentence: str, limit: int = EVIDENCE_CHARS) -> str:
    """The paragraphs of ``text`` sharing most words with ``sentence``, in their order."""
    paras = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    if not paras:
        return ""
    want = set(_WORD.findall(sentence.lower()))
    ranked = sorted(
        range(len(paras)), key=lambda i: -len(want & set(_WORD.findall(paras[i].lower())))
    )
    keep: list[int] = []
    used = 0
    for i in ranked:
        if used and used + len(paras[i]) > limit:
            continue
        keep.append(i)
        used += len(paras[i])
        if used >= limit:
            break
    return "\n\n".join(paras[i] for i in sorted(keep))[:limit]


class SupportChecker:
    def __init__(self, judge: Judge, opener: Opener | None = None, sample: int = 5, seed: int = 0):
        self.judge = judge
        self.opener = opener
        self.sample = sample
        self.seed = seed

    def _page(self, url: str) -> str:
        if self.opener is None or not url:
            return ""
        try:
            pages = self.opener.open([url])
        except Exception:  # the index is an optional extra here: the check goes on without it
            return ""
        return str(getattr(pages[0], "content", "") or "") if pages else ""

    def check(
        self,
        markdown: str,
        events: Sequence[dict[str, Any]],
        cited: Sequence[str],
        urls: dict[str, str],
    ) -> SupportResult:
        claims = cited_claims(markdown, cited, urls)
        rng = random.Random(f"{self.seed}:{len(claims)}")
        chosen = sorted(rng.sample(range(len(claims)), min(self.sample, len(claims))))
        seen = seen_text(events)
        checks = []
        for i in chosen:
            claim = claims[i]
            text = seen.get(claim.cite_id) or self._page(claim.url)
            if not text:
                checks.append(
                    SupportCheck(claim, False, "no text of the cited page to check", False)
                )
                continue
            passage = best_passage(text, claim.sentence)
            prompt = SUPPORT_ASK.format(url=claim.url, passage=passage, sentence=claim.sentence)
            try:
                reply = self.judge.ask(prompt)
            except ModelError as e:
                checks.append(SupportCheck(claim, False, f"judge model failed: {e}", False))
                continue
            parsed = parse_verdict(reply)
            if parsed is None:
                checks.append(SupportCheck(claim, False, "unreadable judge reply", False))
            else:
                checks.append(SupportCheck(claim, parsed[0], parsed[1]))
        return SupportResult(len(claims), tuple(checks))
