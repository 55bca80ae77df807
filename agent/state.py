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

from .records import Message, Source


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
    bare = re.sub(r"```.*?(```|$)|\{.*\}", " ", text, flags=re.S)
    return len(re.findall(r"[^\W\d_]{2,}", bare)) >= 5


def search_signature(args: dict[str, Any]) -> str:
    """A search call's identity: its action, queries or URLs (in any order) and topk."""
    items = args.get("queries") or args.get("query") or args.get("urls") or args.get("url")
    listed = sorted(map(str, items)) if isinstance(items, list) else [str(items)]
    key = {"action": str(args.get("action")), "items": listed, "topk": str(args.get("topk", 5))}
    return json.dumps(key, sort_keys=True)
