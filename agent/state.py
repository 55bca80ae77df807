"""A run's state, and the small judgements the loop makes over it.

The state lives in memory; everything in it can be rebuilt from the trajectory, which
is how ``Agent.resume`` gets it back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .parse import parse_reply
from .prompt import EXAMPLE_QUERIES, nudge
from .records import Message, ParsedReply, Source
from .text import Gram, grams, words

PROSE_ANSWER_WORDS = 40


@dataclass
class RunState:
    question: str
    messages: list[Message] = field(default_factory=list)
    step: int = 0
    forced: str | None = None
    sources: dict[str, Source] = field(default_factory=dict)
    slowest_step: float = 0.0
    searches: dict[str, str] = field(default_factory=dict)  # signature -> first call id


def learn_sources(known: dict[str, Source], found: Sequence[Source]) -> None:
    """Add retrieved sources; an opened page keeps the authority its search hit brought."""
    for s in found:
        old = known.get(s.cite_id)
        if old is not None and s.authority is None:
            s = replace(s, authority=old.authority, published=s.published or old.published)
        known[s.cite_id] = s


def reads_as_prose(text: str) -> bool:
    """Whether text reads as an answer: some words outside code blocks and JSON objects."""
    return answer_words(text) >= 5


def answer_words(text: str) -> int:
    """Words of prose outside code blocks and JSON objects."""
    bare = re.sub(r"```.*?(```|$)|\{.*\}", " ", text, flags=re.S)
    return len(re.findall(r"[^\W\d_]{2,}", bare))


_TOOL_RESPONSE = re.compile(r"<tool_response>.*?(?:</tool_response>|$)", re.S)


def instructions(messages: Sequence[Message]) -> list[str]:
    """What the agent itself said to the model: the system prompt and its [agent] notes."""
    said = [
        m.content
        for m in messages
        if m.role == "system" or (m.role == "user" and m.content.startswith("[agent]"))
    ]
    # Tool results are the sources' words, which a report may rightly repeat.
    return [_TOOL_RESPONSE.sub(" ", text) for text in said]


def echoed(answer: str, instructions: Sequence[str], n: int = 6) -> bool:
    """Whether an answer only repeats the agent's own instructions.

    Small models asked for the report sometimes copy the request instead of answering it.
    Words inside a run of ``n`` words that also occurs in the instructions are echo; cite
    ids are neither.  An answer with echo and fewer than ``n`` other words says nothing of
    its own.
    """
    said: set[Gram] = set().union(*(grams(text, n) for text in instructions))
    ws = words(answer)
    covered = [False] * len(ws)
    for i in range(len(ws) - n + 1):
        if tuple(ws[i : i + n]) in said:
            covered[i : i + n] = [True] * n
    own = [w for w, c in zip(ws, covered, strict=True) if not c]
    own = [w for w in own if not w.startswith("web_") and w not in ("cite", "answer")]
    return any(covered) and len(own) < n


def search_signature(args: dict[str, Any]) -> str:
    """A search call's identity: its action, queries or URLs (in any order) and topk."""
    items = args.get("queries") or args.get("query") or args.get("urls") or args.get("url")
    listed = sorted(map(str, items)) if isinstance(items, list) else [str(items)]
    key = {"action": str(args.get("action")), "items": listed, "topk": str(args.get("topk", 5))}
    return json.dumps(key, sort_keys=True)


def is_placeholder_search(args: dict[str, Any]) -> bool:
    """A search for nothing but the prompt example's own placeholder queries."""
    items = args.get("queries") or args.get("query")
    listed = items if isinstance(items, list) else [items]
    return bool(listed) and all(str(q).strip().lower() in EXAMPLE_QUERIES for q in listed)


def last_plain_answer(messages: Sequence[Message]) -> str | None:
    """The model's latest reply that reads as an answer, with no tool call and no echo.

    A small model that answered in plain text early, and then, asked for its report,
    called a tool instead, has still answered: that reply is kept rather than nothing.
    """
    said = instructions(messages)
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


def accepted_answer(st: RunState, parsed: ParsedReply) -> tuple[str | None, str, bool]:
    """The answer in a reply without tool calls, why it counts, and whether it was an echo.

    Small models often answer in plain text: when asked for the answer, or when reminded
    of the format and answering plainly again, plain text is the answer.  So is a reply
    of several sentences written after sources came back.  A copy of the agent's own
    instructions is never a report.
    """
    answer, reason = parsed.answer, "answered"
    reminded = len(st.messages) > 1 and st.messages[-2].content == nudge()
    plain = reads_as_prose(parsed.thought) and not parsed.errors
    full = bool(st.sources) and answer_words(parsed.thought) >= PROSE_ANSWER_WORDS
    if answer is None and plain and (st.forced or reminded or full):
        answer, reason = parsed.thought, "answered without <answer> tags"
    if answer and echoed(answer, instructions(st.messages)):
        return None, reason, True
    return answer or None, reason, False
