"""A local chat model through transformers: bf16 across the GPUs when there are any, else CPU.

torch and transformers are imported when a model is built, so the CLI starts at once.

Prefix reuse.  An agent's conversation only grows: each step sends the same prompt plus
the last reply and observation.  The model keeps the key/value cache of what it last
saw and, on the next call, keeps the part of it whose tokens the new prompt starts with
and encodes only the rest; a prompt that changed earlier (a trimmed conversation, a
reply that tokenizes differently once templated) keeps the cache only up to the first
token that differs.  Greedy replies are the same with and without it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from stepdr.core.errors import ModelError

from ..records import Completion, Message
from .base import STOP


class TransformersModel:
    def __init__(
        self,
        path: Path,
        device: str | None = None,
        dtype: str | None = None,
        temperature: float = 0.0,
        repetition_penalty: float = 1.05,
        reuse_prefix: bool = True,
    ) -> None:
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as e:
            raise ModelError(
                f"a local model needs transformers: pip install 'stepdr[agent]' ({e})"
            ) from None
        self.torch = torch
        if not path.exists():
            raise ModelError(f"no model at {path}")
        gguf = path.name if path.is_file() and path.suffix == ".gguf" else None
        where = path.parent if gguf else path
        cuda = torch.cuda.is_available() and device in (None, "cuda", "auto")
        # bf16 halves memory on GPUs; on CPUs without AMX its matmuls are far slower than fp32.
        torch_dtype = (
            getattr(torch, dtype) if dtype else (torch.bfloat16 if cuda else torch.float32)
        )
        kwargs: dict[str, Any] = {"dtype": torch_dtype}
        if gguf:
            kwargs["gguf_file"] = gguf
        if cuda:
            kwargs["device_map"] = "auto"
        try:
            self.tokenizer: Any = AutoTokenizer.from_pretrained(where, gguf_file=gguf)
            self.model: Any = cast(Any, AutoModelForCausalLM.from_pretrained(where, **kwargs))
        except (OSError, ValueError) as e:
            raise ModelError(f"cannot load the model at {path}: {e}") from None
        if device and not cuda and device != "auto":
            self.model.to(device)
        self.model.eval()
        if not getattr(self.tokenizer, "chat_template", None):
            raise ModelError(f"{path} has no chat template; a chat (instruct) model is needed")
        self.name = path.name
        self.temperature = temperature
        self.repetition_penalty = repetition_penalty
        self.reuse_prefix = reuse_prefix
        from transformers.generation.utils import GenerateDecoderOnlyOutput

        # transformers 5 names the cache ``cache``; earlier ones ``past_key_values``.
        fields = getattr(GenerateDecoderOnlyOutput, "__dataclass_fields__", {})
        self._cache_arg = "cache" if "cache" in fields else "past_key_values"
        self._cache: Any = None  # the DynamicCache of the last call
        self._cached: list[int] = []  # the tokens it holds keys and values for

    def _encode(self, messages: Sequence[Message]) -> Any:
        return self.tokenizer.apply_chat_template(
            [m.to_dict() for m in messages],
            add_generation_prompt=True,
            return_tensors="pt",
            return_dict=True,
        )

    def count_tokens(self, messages: Sequence[Message]) -> int:
        return int(self._encode(messages)["input_ids"].shape[1])

    def complete(
        self, messages: Sequence[Message], max_tokens: int, deadline: float | None = None
    ) -> Completion:
        start = time.monotonic()
        enc = self._encode(messages).to(self.model.device)
        n_prompt = int(enc["input_ids"].shape[1])
        gen: dict[str, Any] = {
            "max_new_tokens": max_tokens,
            "stop_strings": list(STOP),
            "tokenizer": self.tokenizer,
            "repetition_penalty": self.repetition_penalty,
            "pad_token_id": self.tokenizer.pad_token_id or self.tokenizer.eos_token_id,
        }
        if self.temperature > 0:
            gen.update(do_sample=True, temperature=self.temperature)
        else:
            gen.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if deadline is not None:
            gen["max_time"] = max(1.0, deadline - time.monotonic())
        reused = self._reuse(enc["input_ids"][0].tolist()) if self.reuse_prefix else 0
        if self.reuse_prefix:
            from transformers import DynamicCache

            gen.update({self._cache_arg: self._cache if reused else DynamicCache()}, use_cache=True)
        try:
            with self.torch.inference_mode():
                out = self.model.generate(**enc, **gen, return_dict_in_generate=True)
        except RuntimeError as e:
            self._forget()
            raise ModelError(f"generation failed: {e}") from None
        seq = out.sequences[0]
        if self.reuse_prefix:
            self._cache = getattr(out, self._cache_arg)
            self._cached = seq[: self._cache.get_seq_length()].tolist()
        new = seq[n_prompt:]
        text = self.tokenizer.decode(new, skip_special_tokens=True)
        return Completion(
            text, n_prompt, int(new.shape[0]), time.monotonic() - start, reused_tokens=reused
        )

    def _reuse(self, ids: list[int]) -> int:
        """Crop the cache to the prefix ``ids`` shares with it; how many tokens it keeps.

        At least the last prompt token is always encoded anew: its logits start the reply.
        """
        if self._cache is None:
            return 0
        keep = 0
        limit = min(len(self._cached), len(ids) - 1)
        while keep < limit and self._cached[keep] == ids[keep]:
            keep += 1
        if keep == 0:
            self._forget()
            return 0
        drop = self._cache.get_seq_length() - keep
        if drop > 0:  # a negative count removes that many tokens, in old and new transformers
            self._cache.crop(-drop)
        self._cached = self._cached[:keep]
        return keep

    def _forget(self) -> None:
        self._cache, self._cached = None, []
