"""A checklist judge: a report graded one rubric item at a time by any Model.

Each item gets a binary verdict with a short justification quoting the report.  The score
is ResearchRubrics' definition: the weight of the satisfied items over the total positive
weight.  An item of negative weight describes a flaw; when the report shows it, its weight
is subtracted.  The score is clamped at 0, so it lies in [0, 1].

A verdict of *satisfied* must be backed by the report: unless its justification quotes a
run of at least ``QUOTE_WORDS`` words of the report (a run not found in the criterion or
the question, which a judge could copy instead), it counts as not satisfied.  Small judge
models call almost everything satisfied, restating the criterion as the reason; this is
what keeps their grades meaningful.  A strong judge quotes anyway and loses nothing.

Small judge models reply loosely, so parsing is lenient: a JSON object anywhere in the
reply, ``verdict: yes`` lines and a leading yes/no all count.  A reply that says nothing
readable, or a judge model that fails, counts as *not satisfied* with that reason; grading
never stops on a bad reply.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from stepdr.core.errors import ModelError

from .models.base import Model
from .ngrams import grams
from .records import Message
from .rubric import RubricItem, Task

SYSTEM = (
    "You are a strict grader of research reports. You check one criterion at a time and "
    "judge only what the report says, not what is true elsewhere."
)
ASK = """Question the report answers:
{question}

<report>
{report}
</report>

Criterion: {criterion}

Is the criterion true of this report? A criterion that describes a mistake is true when the
report makes that mistake. Justify a true verdict by quoting the words of the report that
make it true; when no words of the report do, it is false. Reply with one JSON object and
nothing else:
{{"satisfied": true or false, "justification": "the words of the report, in quotes"}}"""

_THINK = re.compile(r"<think>.*?(?:</think>|$)", re.S)
_OBJECT = re.compile(r"\{[^{}]*\}", re.S)
_VERDICT_KEYS = ("satisfied", "supported", "met", "verdict", "pass", "passed", "answer", "result")
_WHY_KEYS = ("quote", "justification", "reason", "explanation", "rationale", "evidence")
_LABELLED = re.compile(
    r"\b(?:satisfied|supported|verdict|answer|met|result)[\"']?\s*[:=]\s*[\"'*]*\s*"
    r"(yes|no|true|false|not satisfied|unsatisfied|satisfied|not supported|supported"
    r"|met|not met)\b",
    re.I,
)
_LEADING = re.compile(r"^\W*(yes|no|true|false)\b", re.I)
_NEGATIVE = re.compile(
    r"\b(not (?:satisfied|met|supported)|unsatisfied|unsupported"
    r"|does not (?:satisfy|meet|support))\b",
    re.I,
)
_POSITIVE = re.compile(
    r"\b(satisfied|satisfies|is met|meets the criterion|supports?|supported)\b", re.I
)
TRUE_WORDS = {"yes", "true", "satisfied", "supported", "met", "pass", "passed", "1", "y"}
FALSE_WORDS = {
    "no",
    "false",
    "not satisfied",
    "not supported",
    "unsupported",
    "unsatisfied",
    "not met",
    "fail",
    "failed",
    "0",
}
JUSTIFICATION_CHARS = 300
QUOTE_WORDS = 4
UNBACKED = "no quote from the report backs this verdict"


@dataclass(frozen=True)
class Verdict:
    item: RubricItem
    satisfied: bool
    justification: str
    parsed: bool = True  # False: the reply was unreadable or the judge failed
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.item.to_dict(),
            "satisfied": self.satisfied,
            "justification": self.justification,
            "parsed": self.parsed,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class Grading:
    task_id: str
    verdicts: tuple[Verdict, ...]
    judge: str = ""

    @property
    def total_positive(self) -> float:
        return sum(v.item.weight for v in self.verdicts if v.item.weight > 0)

    @property
    def earned(self) -> float:
        """Satisfied weight, penalties included (may be negative before clamping)."""
        return sum(v.item.weight for v in self.verdicts if v.satisfied)

    @property
    def score(self) -> float:
        return score(self.verdicts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "judge": self.judge,
            "score": round(self.score, 4),
            "earned": self.earned,
            "total_positive": self.total_positive,
            "penalties": sum(
                v.item.weight for v in self.verdicts if v.satisfied and v.item.weight < 0
            ),
            "unparsed": sum(1 for v in self.verdicts if not v.parsed),
            "unbacked": sum(1 for v in self.verdicts if v.justification.startswith(UNBACKED)),
            "items": [v.to_dict() for v in self.verdicts],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Grading:
        verdicts = tuple(
            Verdict(
                RubricItem(str(i["text"]), float(i["weight"]), str(i.get("category") or "")),
                bool(i["satisfied"]),
                str(i.get("justification") or ""),
                bool(i.get("parsed", True)),
                float(i.get("seconds") or 0.0),
            )
            for i in d["items"]
        )
        return cls(str(d["task_id"]), verdicts, str(d.get("judge") or ""))


def score(verdicts: Sequence[Verdict]) -> float:
    positive = sum(v.item.weight for v in verdicts if v.item.weight > 0)
    if positive <= 0:
        return 0.0
    earned = sum(v.item.weight for v in verdicts if v.satisfied)
    return max(0.0, min(1.0, earned / positive))


def _word(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value > 0
    if isinstance(value, str):
        w = " ".join(value.lower().strip(" .!*'\"").split())
        if w in TRUE_WORDS:
            return True
        if w in FALSE_WORDS:
            return False
    return None


def parse_verdict(reply: str) -> tuple[bool, str] | None:
    """(satisfied, justification) from a judge's reply, or None when it says nothing readable."""
    text = _THINK.sub("", reply).strip()
    for m in _OBJECT.finditer(text):
        try:
            obj = json.loads(m.group(0))
        except ValueError:
            continue
        if not isinstance(obj, dict):
            continue
        lowered = {str(k).lower(): v for k, v in obj.items()}
        for key in _VERDICT_KEYS:
            verdict = _word(lowered.get(key))
            if verdict is not None:
                why = " ".join(str(lowered[k]) for k in _WHY_KEYS if lowered.get(k))
                return verdict, _short(str(why))
    labelled = _LABELLED.search(text)
    found = _word(labelled.group(1)) if labelled else None
    if found is None:
        leading = _LEADING.search(text)
        found = _word(leading.group(1)) if leading else None
    if found is None:
        neg, pos = _NEGATIVE.search(text), _POSITIVE.search(_NEGATIVE.sub("", text))
        if bool(neg) != bool(pos):
            found = bool(pos)
    if found is None:
        return None
    return found, _short(text)


def quotes_report(justification: str, report: str, *not_from: str, n: int = QUOTE_WORDS) -> bool:
    """Whether the justification repeats ``n`` words in a row of the report, not of not_from."""
    own = grams(report, n)
    for text in not_from:
        own -= grams(text, n)
    return not own.isdisjoint(grams(justification, n))


def _short(text: str, n: int = JUSTIFICATION_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= n else flat[: n - 1] + "…"


class Judge:
    """Grades reports with a chat model; one model call per rubric item."""

    def __init__(
        self,
        model: Model,
        max_report_chars: int = 12_000,
        max_tokens: int = 200,
        require_quote: bool = True,
    ):
        self.model = model
        self.max_report_chars = max_report_chars
        self.max_tokens = max_tokens
        self.require_quote = require_quote

    def ask(self, prompt: str) -> str:
        messages = [Message("system", SYSTEM), Message("user", prompt)]
        return self.model.complete(messages, self.max_tokens).text

    def verdict(self, question: str, report: str, item: RubricItem) -> Verdict:
        if len(report) > self.max_report_chars:
            report = report[: self.max_report_chars] + "\n[… report cut for the judge]"
        prompt = ASK.format(question=question, report=report, criterion=item.text)
        start = time.monotonic()
        try:
            reply = self.ask(prompt)
        except ModelError as e:
            return Verdict(item, False, f"judge model failed: {e}", False)
        seconds = time.monotonic() - start
        parsed = parse_verdict(reply)
        if parsed is None:
            why = f"unreadable judge reply, counted as not satisfied: {_short(reply, 160)!r}"
            return Verdict(item, False, why, False, seconds)
        satisfied, why = parsed
        if satisfied and self.require_quote and not quotes_report(why, report, item.text, question):
            return Verdict(
                item,
                False,
                f"{UNBACKED} ({why or 'no justification'})"[:JUSTIFICATION_CHARS],
                True,
                seconds,
            )
        return Verdict(item, satisfied, why, True, seconds)

    def grade(self, task: Task, report: str) -> Grading:
        verdicts = tuple(self.verdict(task.prompt, report, item) for item in task.items)
        return Grading(task.id, verdicts, self.model.name)


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table, readable as plain text (columns padded)."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]

    def cells(r: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"

    lines = [cells(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    return "\n".join([*lines, *(cells(r) for r in rows)])


def grading_table(g: Grading) -> str:
    rows = [
        [
            str(i),
            f"{v.item.weight:g}",
            v.item.category or "-",
            "yes" if v.satisfied else ("no" if v.parsed else "no (?)"),
            _short(v.item.text, 60),
            _short(v.justification, 80).replace("|", "/"),
        ]
        for i, v in enumerate(g.verdicts, 1)
    ]
    table = format_table(["#", "weight", "category", "met", "criterion", "justification"], rows)
    return (
        f"{table}\n\nscore {g.score:.3f} = max(0, {g.earned:g}) / {g.total_positive:g}"
        f"  (task {g.task_id}, judge {g.judge or '?'})"
    )
