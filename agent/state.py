"""A run's state: what happened, recorded as facts, never read back out of message text.

The state lives in memory; everything in it can be rebuilt from the trajectory, which
is how ``Agent.resume`` gets it back (``RunState.replay``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .records import ExitStatus, Message, Source

_TOOL_RESPONSE = re.compile(r"<tool_response>.*?(?:</tool_response>|$)", re.S)


class RunEnded(Exception):
    """Raised wherever a run ends; the loop catches it once and writes the report."""

    def __init__(self, status: ExitStatus, reason: str, answer: str | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.answer = answer


@dataclass
class RunState:
    question: str
    messages: list[Message] = field(default_factory=list)
    step: int = 0
    forced: str | None = None  # which budget asked for the answer, once one has
    sources: dict[str, Source] = field(default_factory=dict)
    slowest_step: float = 0.0
    said: list[str] = field(default_factory=list)  # what the agent itself told the model
    nudged: bool = False  # the latest message to the model was the format reminder

    def add(
        self, role: str, content: str, own: bool | str = "", note: str | None = None
    ) -> dict[str, Any]:
        """Add a message; ``own`` is what of it the agent itself wrote (True: all of it).
        Returns the facts the trajectory records with it, for ``replay``."""
        self.messages.append(Message(role, content))
        said = content if own is True else own or None
        if role != "assistant":
            self.nudged = note == "nudge"
        if said:
            self.said.append(said)
        facts: dict[str, Any] = {"note": note} if note else {}
        if said and role == "user":
            facts["said"] = True if own is True else said
        return facts

    def learn(self, found: Sequence[Source]) -> None:
        learn_sources(self.sources, found)

    @classmethod
    def replay(cls, events: Sequence[dict[str, Any]]) -> RunState:
        """The state a trajectory's events leave behind (for ``resume``)."""
        st = cls(str(events[0]["question"]))
        for e in events:
            if e["type"] == "message":
                st.messages.append(Message(e["role"], e["content"]))
                st.step = max(st.step, int(e.get("step", 0)))
                if e["role"] != "assistant":
                    st.nudged = e.get("note") == "nudge"
                said = e.get("said", e["role"] == "system")
                if said:
                    st.said.append(e["content"] if said is True else str(said))
            elif e["type"] == "observation":
                st.learn([Source.from_dict(s) for s in e["sources"]])
            elif e["type"] == "model":
                st.slowest_step = max(st.slowest_step, float(e["seconds"]))
        return st


def learn_sources(known: dict[str, Source], found: Sequence[Source]) -> None:
    """Add retrieved sources; an opened page keeps the authority its search hit brought."""
    for s in found:
        old = known.get(s.cite_id)
        if old is not None and s.authority is None:
            s = replace(
                s,
                authority=old.authority,
                tier=s.tier if s.tier is not None else old.tier,
                published=s.published or old.published,
            )
        known[s.cite_id] = s


def own_words(text: str) -> str:
    """A message to the model without the tool results in it: the sources' words are not
    the agent's, and a report may rightly repeat them."""
    return _TOOL_RESPONSE.sub(" ", text)
