"""The report: the answer's ``\\cite{web_…}`` markers as numbered references.

A cite id counts only when the run retrieved that page or passage (it is in the run's
sources); every other id is removed from the text and listed, so a report holds no
fabricated citation by construction.  So is a bare ``[3]`` the model wrote itself (small
models copy the numbering of search results): it would read as a reference number.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .records import ExitStatus, Source

# \cite{a, b} as asked; [web_…] and bare web_… ids, which small models write instead.
_MARKER = re.compile(
    r"[ \t]?\\cite[pt]?\{([^{}]*)\}|\[\s*(web_[0-9a-fA-F]{8}(?:\s*[,;]\s*web_[0-9a-fA-F]{8})*)\s*\]"
    r"|(?<![\w/])(web_[0-9a-fA-F]{8})\b"
)
_ID = re.compile(r"[^\s,;]+")
# "[3]" written by the model itself: it would read as one of our reference numbers.
_BARE_NUMBER = re.compile(r"([ \t]?)(?<![\w\])`])\[(\d{1,3})\](?![(:\[])([ \t]?)")
_FENCED = re.compile(r"(```.*?(?:```|$)|`[^`\n]*`)", re.S)
TIER_NAMES = {1: "primary/official", 2: "authoritative secondary", 3: "reputable", 4: "weaker"}


@dataclass(frozen=True)
class Report:
    markdown: str
    cited: tuple[Source, ...]
    removed: tuple[str, ...]


def tier_label(source: Source) -> str:
    """The source's standing as the domain list gives it: its tier, or unlisted."""
    if source.tier is not None:
        return f"tier {source.tier}, {TIER_NAMES.get(source.tier, '')}".rstrip(", ")
    if source.authority is None:
        return "authority unknown"
    return "unlisted source"


def resolve_citations(text: str, sources: Mapping[str, Source]) -> Report:
    """Number the retrieved ids in order of first use; drop the others."""
    numbers: dict[str, int] = {}
    removed: list[str] = []

    def replace(m: re.Match[str]) -> str:
        ids = _ID.findall(m.group(1) or m.group(2) or m.group(3) or "")
        marks = []
        for cid in ids:
            cid = cid.strip().lower() if cid.lower().startswith("web_") else cid.strip()
            if cid in sources:
                n = numbers.setdefault(cid, len(numbers) + 1)
                if n not in marks:
                    marks.append(n)
            elif cid not in removed:
                removed.append(cid)
        if not marks:
            return ""
        lead = " " if m.group(0)[:1] in (" ", "\t") else ""
        return lead + "".join(f"[{n}]" for n in marks)

    def bare(m: re.Match[str]) -> str:
        mark = f"[{m.group(2)}]"
        if mark not in removed:
            removed.append(mark)
        return m.group(1) if m.group(3) else ""

    # Code keeps its brackets; prose loses numbers that no reference stands behind.
    text = "".join(
        part if i % 2 else _BARE_NUMBER.sub(bare, part)
        for i, part in enumerate(_FENCED.split(text))
    )
    body = _MARKER.sub(replace, text)
    cited = tuple(sources[cid] for cid in sorted(numbers, key=numbers.__getitem__))
    return Report(body, cited, tuple(removed))


def references(cited: tuple[Source, ...]) -> str:
    lines = ["## References", ""]
    for i, s in enumerate(cited, 1):
        title = s.title.replace("[", "(").replace("]", ")") or s.url
        lines.append(f"{i}. [{title}]({s.url}) — {s.site} · {tier_label(s)}")
    return "\n".join(lines)


def render_report(
    question: str,
    answer: str | None,
    sources: Mapping[str, Source],
    status: ExitStatus,
    reason: str,
) -> Report:
    head = f"# {' '.join(question.split())}\n"
    if answer is None:
        body = f"_No answer: the run stopped ({status.value}): {reason}._\n"
        if sources:
            body += f"\n{consulted(sources)}\n"
        return Report(f"{head}\n{body}", (), ())
    resolved = resolve_citations(answer.strip(), sources)
    parts = [head, resolved.markdown, ""]
    if resolved.cited:
        parts += [references(resolved.cited), ""]
    else:
        # A reader must still be able to check it: say so, and show what the run read.
        parts.append("_This report cites no source: none of its claims is tied to one._\n")
        if sources:
            parts += [consulted(sources), ""]
    if resolved.removed:
        parts.append(
            f"_{len(resolved.removed)} citation(s) removed, pointing at nothing this run "
            f"retrieved: {', '.join(resolved.removed)}._\n"
        )
    if status is not ExitStatus.ANSWERED:
        parts.append(f"_Answer written early ({status.value}): {reason}._\n")
    return Report("\n".join(parts), resolved.cited, resolved.removed)


def consulted(sources: Mapping[str, Source]) -> str:
    """The pages the run retrieved, for a report that cites none of them."""
    lines = [
        f"- [{s.title or s.url}]({s.url}) — {s.site} · {tier_label(s)}" for s in sources.values()
    ]
    return "## Sources consulted\n\n" + "\n".join(lines)


def write_report(run_dir: Path, report: Report, name: str = "report.md") -> Path:
    """Write the report whole or not at all: a crash never leaves half of one."""
    path = run_dir / name
    tmp = path.with_suffix(".tmp")
    tmp.write_text(report.markdown, encoding="utf-8")
    tmp.replace(path)
    return path
