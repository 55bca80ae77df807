"""Which embedding backend runs a build: torch (sentence-transformers) or ONNX Runtime.

``auto`` uses ONNX Runtime only where it is faster.  That depends on the CPU (or GPU),
the thread count and both libraries' versions, so it is measured, not guessed: the
first large embedding job on a machine times both backends on a sample of its own
passages, and the verdict is kept under the cache directory for later builds on the
same machine, model and versions.  Small jobs and machines without onnxruntime use
torch and measure nothing.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from stepdr.core.errors import ConfigError

from .embed import Embedder, SentenceEmbedder

BACKENDS = ("auto", "torch", "onnx", "onnx-int8")  # int8 only when asked: it moves vectors
CALIBRATE_MIN = 1000  # fewer new texts than this: not worth an export and a race
SAMPLE = 192
VERDICTS = "embed-backend.json"


def onnx_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "-"


def machine_key(model: str, device: str) -> str:
    ort = next((_version(d) for d in ("onnxruntime-gpu", "onnxruntime") if _version(d) != "-"), "-")
    return "|".join(
        [model, device, platform.machine(), str(os.cpu_count()), _version("torch"), ort]
    )


def _rate(embedder: Embedder, texts: Sequence[str]) -> float:
    start = time.perf_counter()
    embedder.encode(texts)
    return len(texts) / max(time.perf_counter() - start, 1e-9)


def race(torch_emb: Embedder, onnx_emb: Embedder, texts: Sequence[str]) -> dict[str, float]:
    """Passages/s of each backend on the same texts, warm, best of two interleaved runs."""
    warm = list(texts[:8])
    torch_emb.encode(warm)
    onnx_emb.encode(warm)
    rates: dict[str, float] = {"torch": 0.0, "onnx": 0.0}
    for _ in range(2):  # interleaved, so a burst of load elsewhere hits both
        rates["torch"] = max(rates["torch"], _rate(torch_emb, texts))
        rates["onnx"] = max(rates["onnx"], _rate(onnx_emb, texts))
    return {k: round(v, 1) for k, v in rates.items()}


class Chooser:
    """Picks the backend for one embedding job; ``info`` says what it chose and why."""

    def __init__(
        self, base: SentenceEmbedder, model: str | None, backend: str, cache_dir: Path
    ) -> None:
        if backend not in BACKENDS:
            raise ConfigError(f"embedding backend {backend!r}: choose one of {', '.join(BACKENDS)}")
        if backend.startswith("onnx") and not onnx_available():
            raise ConfigError(
                "the ONNX embedding backend needs onnxruntime: pip install 'stepdr[onnx]'"
            )
        self.base = base
        self.model = model
        self.backend = backend
        self.cache_dir = cache_dir
        self.info: dict[str, Any] = {"backend": "torch", "why": "default"}

    def _onnx(self, int8: bool = False) -> Embedder:
        from .onnx_embed import OnnxEmbedder

        return OnnxEmbedder(self.model, self.cache_dir / "onnx", self.base.device,
                            int8=int8, max_tokens=self.base.max_tokens)  # fmt: skip

    def pick(self, texts: Sequence[str]) -> Embedder:
        if self.backend == "torch":
            self.info = {"backend": "torch", "why": "asked for"}
            return self.base
        if self.backend.startswith("onnx"):
            self.info = {"backend": self.backend, "why": "asked for"}
            return self._onnx(int8=self.backend == "onnx-int8")
        if not onnx_available():
            self.info = {"backend": "torch", "why": "onnxruntime is not installed"}
            return self.base
        key = machine_key(self.base.name, self.base.device)
        verdicts = self._verdicts()
        known = verdicts.get(key)
        if known is None and len(texts) < CALIBRATE_MIN:
            self.info = {"backend": "torch", "why": f"fewer than {CALIBRATE_MIN} texts to embed"}
            return self.base
        onnx = None
        if known is None:
            try:
                onnx = self._onnx()
            except ConfigError as e:  # a model ONNX does not run (a static one): torch
                self.info = {"backend": "torch", "why": str(e).split(";")[0]}
                return self.base
            step = max(1, len(texts) // SAMPLE)
            known = race(self.base, onnx, list(texts[::step])[:SAMPLE])
            verdicts[key] = known
            self._save(verdicts)
        faster = "onnx" if known["onnx"] > known["torch"] else "torch"
        self.info = {"backend": faster, "why": "measured faster on this machine", **known}
        if faster == "torch":
            return self.base
        return onnx or self._onnx()

    def _verdicts(self) -> dict[str, dict[str, float]]:
        path = self.cache_dir / VERDICTS
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _save(self, verdicts: dict[str, dict[str, float]]) -> None:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        path = self.cache_dir / VERDICTS
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(verdicts, indent=1, sort_keys=True))
        os.replace(tmp, path)
