"""Passage embeddings through ONNX Runtime: the same model, exported once, run without torch.

The sentence-transformers model is exported to ONNX the first time it is used (torch
does the export) and kept under the data directory's cache, named by a hash of the
model's files, so a changed model is exported again and a kill during export leaves
no half-written graph behind.  Pooling and normalisation, which sentence-transformers
runs in Python, are done here in numpy, read from the model's own module config.

Only models made of Transformer, Pooling (mean or CLS) and Normalize modules can be
run this way; any other module (a Dense projection, say) is refused with the reason.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stepdr.core.errors import ConfigError

from .embed import DEFAULT_MAX_TOKENS, DEFAULT_MODEL, resolve_model

if TYPE_CHECKING:
    import numpy as np

OPSET = 17
SUPPORTED = {"Transformer", "Pooling", "Normalize"}
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def _modules(path: Path) -> list[str]:
    spec = path / "modules.json"
    if not spec.is_file():  # a bare transformers directory: mean pooling, as ST would do
        return ["Transformer", "Pooling"]
    return [str(m["type"]).rsplit(".", 1)[-1] for m in json.loads(spec.read_text())]


def _pooling(path: Path) -> str:
    for cfg in sorted(path.glob("*Pooling/config.json")):
        c = json.loads(cfg.read_text())
        if c.get("pooling_mode_cls_token"):
            return "cls"
        if c.get("pooling_mode_mean_tokens", True):
            return "mean"
        raise ConfigError(f"embedding model {path.name}: only mean or CLS pooling runs on ONNX")
    return "mean"


def _max_tokens(name: str, path: Path) -> int:
    if name == DEFAULT_MODEL:
        return DEFAULT_MAX_TOKENS
    cfg = path / "sentence_bert_config.json"
    if cfg.is_file():
        n = json.loads(cfg.read_text()).get("max_seq_length")
        if n:
            return int(n)
    return 512


def model_fingerprint(path: Path) -> str:
    """A hash of the model's config and weights, naming its exported graph."""
    h = hashlib.sha256()
    for f in sorted(path.iterdir()):
        if f.is_file() and f.suffix in (".json", ".safetensors", ".bin", ".txt"):
            h.update(f.name.encode())
            with f.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
    return h.hexdigest()[:16]


def export_onnx(path: Path, out: Path) -> Path:
    """Export the model's transformer to ``out`` (atomically); returns ``out``."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from .embed import quiet_unused_weights

    quiet_unused_weights()
    tok = AutoTokenizer.from_pretrained(str(path))
    # Eager attention traces the padding mask into the graph; the fused kernels may
    # drop it when the example batch has no padding, which silently breaks batches.
    model = AutoModel.from_pretrained(str(path), attn_implementation="eager").eval()
    example = tok(["a short text", "a longer example text, so the batch has padding"],
                  padding=True, return_tensors="pt")  # fmt: skip
    names = [n for n in _INPUTS if n in example]

    class Hidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.m = model

        def forward(self, *args: Any) -> Any:
            return self.m(**dict(zip(names, args, strict=True))).last_hidden_state

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".tmp{os.getpid()}")
    axes = {n: {0: "batch", 1: "tokens"} for n in [*names, "hidden"]}
    # The tracer warns about Python-side shape checks; the padded example and the
    # equality test against torch are what show the graph is right, so keep it quiet.
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Hidden(), tuple(example[n] for n in names), str(tmp),
                          input_names=names, output_names=["hidden"], dynamic_axes=axes,
                          opset_version=OPSET, dynamo=False)  # fmt: skip
    os.replace(tmp, out)
    return out


def _quiet(record: logging.LogRecord) -> bool:
    return "pre-processing before quantization" not in record.getMessage()


def quantize(graph: Path, out: Path) -> Path:
    """Dynamic int8 weights of ``graph`` to ``out`` (atomically); returns ``out``."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = out.with_suffix(f".tmp{os.getpid()}")
    logging.getLogger().addFilter(_quiet)  # its advice on pre-processing, once per graph
    # Per output channel, 7-bit: per-tensor scales moved MiniLM's vectors to a mean cosine
    # of 0.96 against float32; per channel keeps it above 0.99 at the same speed.
    quantize_dynamic(str(graph), str(tmp), weight_type=QuantType.QInt8, per_channel=True,
                     reduce_range=True)  # fmt: skip
    logging.getLogger().removeFilter(_quiet)
    os.replace(tmp, out)
    return out


def providers(device: str) -> list[str]:
    import onnxruntime as ort

    have = ort.get_available_providers()
    if device == "cuda" and "CUDAExecutionProvider" in have:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


class OnnxEmbedder:
    """The Embedder of ``embed.py`` on ONNX Runtime; vectors match torch's to ~1e-6."""

    backend: str = "onnx"

    def __init__(
        self,
        model: str | None = None,
        cache_dir: Path | None = None,
        device: str | None = None,
        batch_size: int = 32,
        int8: bool = False,
        max_tokens: int | None = None,  # the torch embedder's, so both truncate alike
    ) -> None:
        try:
            import onnxruntime as ort
        except ImportError:
            raise ConfigError(
                "the ONNX embedding backend needs onnxruntime: pip install 'stepdr[onnx]'"
            ) from None
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from transformers import AutoTokenizer

        self.name, path = resolve_model(model)
        extra = [m for m in _modules(path) if m not in SUPPORTED]
        if extra:
            raise ConfigError(
                f"embedding model {self.name}: the ONNX backend runs Transformer, Pooling and "
                f"Normalize modules, not {', '.join(extra)}; use --embed-backend torch"
            )
        self.pooling = _pooling(path)
        self.max_tokens = max_tokens or _max_tokens(self.name, path)
        cache = cache_dir or Path.home() / ".cache" / "stepdr" / "onnx"
        graph = cache / f"{self.name}-{model_fingerprint(path)}.onnx"
        if not graph.is_file():
            export_onnx(path, graph)
        if int8:  # smaller and often faster on CPU; vectors move, see bench/embed.py
            fp32, graph = graph, graph.with_name(graph.stem + "-int8.onnx")
            if not graph.is_file():
                quantize(fp32, graph)
        self.backend = "onnx-int8" if int8 else "onnx"
        self.graph = graph
        self.device = "cuda" if device == "cuda" else "cpu"
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.intra_op_num_threads = os.cpu_count() or 1
        self._session = ort.InferenceSession(str(graph), opts, providers=providers(self.device))
        self._inputs = [i.name for i in self._session.get_inputs()]
        self._tok = AutoTokenizer.from_pretrained(str(path))
        self.batch_size = batch_size if self.device == "cpu" else max(batch_size, 256)
        width = self._session.get_outputs()[0].shape[-1]
        self.dim = width if isinstance(width, int) else int(self._batch(["probe"]).shape[1])

    def _batch(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        enc = self._tok(list(texts), padding=True, truncation=True,
                        max_length=self.max_tokens, return_tensors="np")  # fmt: skip
        feeds = {n: np.asarray(enc[n], dtype=np.int64) for n in self._inputs}
        hidden = self._session.run(None, feeds)[0]
        if self.pooling == "cls":
            vecs = hidden[:, 0]
        else:
            mask = feeds["attention_mask"][..., None].astype(hidden.dtype)
            vecs = (hidden * mask).sum(1) / np.maximum(mask.sum(1), 1e-9)
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        unit: np.ndarray = (vecs / np.maximum(norms, 1e-12)).astype(np.float32)
        return unit

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i in range(0, len(order), self.batch_size):
            idx = order[i : i + self.batch_size]
            out[np.asarray(idx)] = self._batch([texts[j] for j in idx])
        return out
