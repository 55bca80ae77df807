"""Optional cross-encoder reranking with a local sentence-transformers CrossEncoder.

None ships with stepdr: the user points ``--cross-encoder`` at a model directory
of their own (for instance a copy of ms-marco-MiniLM-L-6-v2).  Nothing is ever
fetched from a model hub.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from stepdr.core.errors import ConfigError


class Reranker(Protocol):
    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        """Relevance of each text to the query, in [0, 1], in input order."""
        ...


def to_unit(raw: Sequence[float]) -> list[float]:
    """Scores already in [0, 1] stay; logits go through a sigmoid, all of a batch alike."""
    values = [float(x) for x in raw]
    if all(0.0 <= x <= 1.0 for x in values):
        return values
    return [1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, x)))) for x in values]


class CrossEncoderReranker:
    """A CrossEncoder from a local directory; one predict call per query."""

    def __init__(self, model_dir: str | Path, device: str | None = None, batch_size: int = 32):
        path = Path(model_dir).expanduser()
        if not (path / "config.json").is_file():
            raise ConfigError(
                f"cross-encoder {model_dir}: not a local model directory with a config.json "
                "(models are never downloaded)"
            )
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import CrossEncoder

        from stepdr.index.embed import pick_device, quiet_unused_weights

        self.name = path.name
        self.batch_size = batch_size
        quiet_unused_weights()
        self._model: Any = CrossEncoder(str(path), device=pick_device(device))
        self._lock = threading.Lock()

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        if not texts:
            return []
        with self._lock:  # one model, one forward pass at a time
            raw = self._model.predict(
                [(query, t) for t in texts],
                batch_size=self.batch_size,
                show_progress_bar=False,
                convert_to_numpy=True,
            )
        return to_unit([float(x) for x in raw])
