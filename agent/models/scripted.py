"""A model that replays a script: the loop's tests run on it, with no mocks."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from stepdr.core.errors import ModelError

from ..context import estimate_tokens
from ..records import Completion, Message

Step = str | Callable[[Sequence[Message]], str]


class ScriptedModel:
    """Replies in order; a step may be a function of the conversation so far.

    With ``repeat_last`` the final step is replayed forever, which is how tests build a
    model that would loop without end.
    """

    name = "scripted"

    def __init__(self, steps: Sequence[Step], repeat_last: bool = False, delay: float = 0.0):
        self.steps = list(steps)
        self.repeat_last = repeat_last
        self.delay = delay
        self.calls = 0
        self.seen: list[list[Message]] = []

    def complete(
        self, messages: Sequence[Message], max_tokens: int, deadline: float | None = None
    ) -> Completion:
        start = time.monotonic()
        if self.calls >= len(self.steps) and not (self.repeat_last and self.steps):
            raise ModelError(f"the script has only {len(self.steps)} replies")
        step = self.steps[min(self.calls, len(self.steps) - 1)]
        self.calls += 1
        self.seen.append(list(messages))
        text = step(messages) if callable(step) else step
        if self.delay:
            time.sleep(self.delay)
        # Like a real model, the reply is cut at its token limit.
        text = text[: max_tokens * 3]
        return Completion(
            text,
            self.count_tokens(messages),
            estimate_tokens(text),
            time.monotonic() - start,
        )

    def count_tokens(self, messages: Sequence[Message]) -> int:
        return sum(estimate_tokens(m.content) + 4 for m in messages)
