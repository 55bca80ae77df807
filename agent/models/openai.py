"""Any OpenAI-compatible chat endpoint (vLLM, SGLang, a hosted model), over urllib."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from stepdr.core.errors import ModelError

from ..context import estimate_tokens
from ..http import HttpFailure, request_json
from ..records import Completion, Message
from .base import STOP


class OpenAIChatModel:
    def __init__(
        self,
        endpoint: str,
        model: str | None = None,
        api_key: str | None = None,
        temperature: float = 0.0,
        timeout: float = 600.0,
    ) -> None:
        base = endpoint.rstrip("/")
        if base.endswith("/chat/completions"):
            base = base[: -len("/chat/completions")]
        self.base = base
        self.api_key = api_key
        self.temperature = temperature
        self.timeout = timeout
        self.name = model or self._served_model()
        self._chars_per_token = 3.0

    def _request(self, path: str, body: dict[str, Any] | None, timeout: float) -> Any:
        try:
            return request_json(self.base + path, body, self.api_key, timeout)
        except HttpFailure as e:
            if e.status is None:
                raise ModelError(f"{self.base}{path}: {e.detail}") from None
            raise ModelError(f"{self.base}{path} answered {e.status}: {e.detail}") from None

    def _served_model(self) -> str:
        """The first model the server lists (vLLM and SGLang serve one)."""
        try:
            listed = self._request("/models", None, 30.0)
            return str(listed["data"][0]["id"])
        except (ModelError, KeyError, IndexError, TypeError):
            return "default"

    def count_tokens(self, messages: Sequence[Message]) -> int:
        chars = sum(len(m.content) + 16 for m in messages)
        return int(chars / self._chars_per_token) + 1

    def complete(
        self, messages: Sequence[Message], max_tokens: int, deadline: float | None = None
    ) -> Completion:
        start = time.monotonic()
        timeout = self.timeout if deadline is None else max(1.0, deadline - start)
        body = {
            "model": self.name,
            "messages": [m.to_dict() for m in messages],
            "max_tokens": max_tokens,
            "temperature": self.temperature,
            "stop": list(STOP),
        }
        data = self._request("/chat/completions", body, timeout)
        try:
            text = data["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            raise ModelError(f"{self.base}: reply without choices[0].message.content") from None
        usage = data.get("usage") or {}
        prompt = int(usage.get("prompt_tokens") or self.count_tokens(messages))
        if usage.get("prompt_tokens"):
            # Learn the server's characters per token so later estimates track its tokenizer.
            chars = sum(len(m.content) + 16 for m in messages)
            self._chars_per_token = max(1.0, chars / max(prompt, 1))
        done = int(usage.get("completion_tokens") or estimate_tokens(text))
        return Completion(text, prompt, done, time.monotonic() - start)
