"""When a reply is the answer: the policy the loop asks, lenient for small models.

Strong models answer inside ``<answer>`` tags and ``StrictAnswers`` takes only that.
Small models often answer in plain text, copy the agent's own instructions back, or
call a tool when asked for their report; ``LenientAnswers`` takes plain prose where it
clearly is the answer, never an echo, and keeps the last plain answer when the model
calls a tool where it was asked to answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from .ngrams import Gram, grams, words
from .parse import parse_reply
from .records import ExitStatus, Message, ParsedReply
from .state import RunEnded, RunState

PROSE_ANSWER_WORDS = 40
PLAIN = "answered without <answer> tags"
FORCED_STATUS = {
    "steps": ExitStatus.MAX_STEPS,
    "time": ExitStatus.WALL_TIME,
    "context": ExitStatus.MAX_CONTEXT,
}


@dataclass(frozen=True)
class Verdict:
    answer: str | None  # None: not an answer, the run goes on
    reason: str
    echo: bool = False  # the reply only repeated the agent's own words


class AnswerPolicy(Protocol):
    def accept(self, state: RunState, parsed: ParsedReply) -> Verdict:
        """Whether a reply without tool calls answers the question."""
        ...

    def fallback(self, state: RunState) -> str | None:
        """The report to keep when the model was asked to answer and did not."""
        ...


class StrictAnswers:
    """Only an ``<answer>`` counts, for models that follow the format."""

    def accept(self, state: RunState, parsed: ParsedReply) -> Verdict:
        return Verdict(parsed.answer or None, "answered")

    def fallback(self, state: RunState) -> str | None:
        return None


class LenientAnswers:
    """Plain prose is the answer when asked for it, when reminded of the format and
    answering plainly again, or when several sentences come after sources did."""

    def accept(self, state: RunState, parsed: ParsedReply) -> Verdict:
        answer, reason = parsed.answer, "answered"
        plain = reads_as_prose(parsed.thought) and not parsed.errors
        full = bool(state.sources) and answer_words(parsed.thought) >= PROSE_ANSWER_WORDS
        if answer is None and plain and (state.forced or state.nudged or full):
            answer, reason = parsed.thought, PLAIN
        if answer and echoed(answer, state.said):
            return Verdict(None, reason, echo=True)
        return Verdict(answer or None, reason)

    def fallback(self, state: RunState) -> str | None:
        return last_plain_answer(state.messages, state.said)


def conclude(policy: AnswerPolicy, state: RunState, parsed: ParsedReply) -> bool:
    """Raise ``RunEnded`` when a reply ends the run: an accepted answer, or no answer
    where one was asked for.  Otherwise whether the reply only echoed the agent."""
    verdict = Verdict(None, "")
    if not parsed.calls:
        verdict = policy.accept(state, parsed)
        if verdict.answer and state.forced:
            why = f"{verdict.reason} when {state.forced} ran low"
            raise RunEnded(ExitStatus.FORCED_ANSWER, why, verdict.answer)
        if verdict.answer:
            raise RunEnded(ExitStatus.ANSWERED, verdict.reason, verdict.answer)
    if state.forced is not None:
        why = f"asked to answer as the {state.forced} budget ran low, the model did not answer"
        kept = policy.fallback(state)
        if kept is not None:
            why += "; its last plain reply is the report"
            raise RunEnded(ExitStatus.FORCED_ANSWER, why, kept)
        raise RunEnded(FORCED_STATUS[state.forced], why)
    return verdict.echo


def reads_as_prose(text: str) -> bool:
    """Whether text reads as an answer: some words outside code blocks and JSON objects."""
    return answer_words(text) >= 5


def answer_words(text: str) -> int:
    """Words of prose outside code blocks and JSON objects."""
    bare = re.sub(r"```.*?(```|$)|\{.*\}", " ", text, flags=re.S)
    return len(re.findall(r"[^\W\d_]{2,}", bare))


def echoed(answer: str, said: Sequence[str], n: int = 6) -> bool:
    """Whether an answer only repeats the agent's own instructions.

    Small models asked for the report sometimes copy the request instead of answering it.
    Words inside a run of ``n`` words that also occurs in the instructions are echo; cite
    ids are neither.  An answer with echo and fewer than ``n`` other words says nothing of
    its own.
    """
    known: set[Gram] = set().union(*(grams(text, n) for text in said))
    ws = words(answer)
    covered = [False] * len(ws)
    for i in range(len(ws) - n + 1):
        if tuple(ws[i : i + n]) in known:
            covered[i : i + n] = [True] * n
    own = [w for w, c in zip(ws, covered, strict=True) if not c]
    own = [w for w in own if not w.startswith("web_") and w not in ("cite", "answer")]
    return any(covered) and len(own) < n


def last_plain_answer(messages: Sequence[Message], said: Sequence[str]) -> str | None:
    """The model's latest reply that reads as an answer, with no tool call and no echo.

    A small model that answered in plain text early, and then, asked for its report,
    called a tool instead, has still answered: that reply is kept rather than nothing.
    """
    for m in reversed(messages):
        if m.role != "assistant":
            continue
        parsed = parse_reply(m.content)
        if parsed.calls or (parsed.answer is None and parsed.errors):
            continue
        text = parsed.thought if parsed.answer is None else parsed.answer
        if reads_as_prose(text) and not echoed(text, said):
            return text
    return None
