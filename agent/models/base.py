"""The model seam: a chat model that completes a conversation and counts its tokens."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ..records import Completion, Message

# Where a reply should end: a model that goes on to write a <tool_response> is inventing one.
STOP = ("<tool_response>",)


class Model(Protocol):
    name: str

    def complete(
        self, messages: Sequence[Message], max_tokens: int, deadline: float | None = None
    ) -> Completion:
        """The next assistant reply; ``deadline`` is a time.monotonic() it must not pass."""
        ...

    def count_tokens(self, messages: Sequence[Message]) -> int:
        """Prompt tokens the conversation takes, as the model will see it."""
        ...
