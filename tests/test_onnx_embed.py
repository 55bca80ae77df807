"""The ONNX Runtime embedding backend: same vectors as torch, and chosen only where faster."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from stepdr.core.errors import ConfigError
from stepdr.crawl.domains_yaml import load_domains
from stepdr.index import embed_backend
from stepdr.index.build import BuildConfig, build_index
from stepdr.index.embed import SentenceEmbedder
from stepdr.index.embed_backend import Chooser, machine_key

pytest.importorskip("onnxruntime")

TEXTS = [
    "VACUUM reclaims storage occupied by dead tuples.",
    "The cache is threadsafe so the wrapped function can be used in multiple threads.",
    "短い",
    "A much longer passage about write-ahead logging: readers do not block writers and a "
    "writer does not block readers, so reading and writing can proceed concurrently. " * 6,
    "",
]


@pytest.fixture(scope="module")
def torch_emb() -> SentenceEmbedder:
    return SentenceEmbedder(device="cpu")


@pytest.fixture(scope="module")
def onnx_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


def test_onnx_vectors_match_torch_in_input_order(
    torch_emb: SentenceEmbedder, onnx_dir: Path
) -> None:
    from stepdr.index.onnx_embed import OnnxEmbedder

    emb = OnnxEmbedder(cache_dir=onnx_dir, device="cpu", batch_size=2)
    assert emb.dim == torch_emb.dim == 384 and emb.max_tokens == torch_emb.max_tokens
    a, b = torch_emb.encode(TEXTS), emb.encode(TEXTS)
    assert b.dtype == np.float32 and b.shape == a.shape
    assert np.allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)
    # Mixed lengths in one batch: padding must not leak into the mean.
    assert np.min(np.sum(a * b, axis=1)) > 0.9999
    assert emb.encode([]).shape == (0, 384)
    # The exported graph is kept and reused, not exported again.
    (graph,) = onnx_dir.glob("all-MiniLM-L6-v2-*.onnx")
    stamp = graph.stat().st_mtime_ns
    OnnxEmbedder(cache_dir=onnx_dir, device="cpu")
    assert graph.stat().st_mtime_ns == stamp and not list(onnx_dir.glob("*.tmp*"))


def test_int8_weights_stay_close_to_torch(torch_emb: SentenceEmbedder, onnx_dir: Path) -> None:
    texts = TEXTS[:4]
    chooser = Chooser(torch_emb, None, "onnx-int8", onnx_dir.parent)
    emb = chooser.pick(texts)
    assert chooser.info == {"backend": "onnx-int8", "why": "asked for"}
    from stepdr.index.onnx_embed import OnnxEmbedder

    assert isinstance(emb, OnnxEmbedder) and emb.graph.name.endswith("-int8.onnx")
    cos = np.sum(torch_emb.encode(texts) * emb.encode(texts), axis=1)
    assert np.min(cos) > 0.98 and np.min(cos) < 0.99999  # close, yet really quantised


def test_models_with_other_modules_are_refused(tmp_path: Path) -> None:
    from stepdr.index.onnx_embed import OnnxEmbedder

    model = tmp_path / "with-dense"
    model.mkdir()
    (model / "config.json").write_text("{}")
    modules = ["Transformer", "Pooling", "Dense", "Normalize"]
    (model / "modules.json").write_text(
        json.dumps([{"type": f"sentence_transformers.models.{m}"} for m in modules])
    )
    with pytest.raises(ConfigError, match="not Dense; use --embed-backend torch"):
        OnnxEmbedder(str(model), cache_dir=tmp_path)


def test_auto_measures_once_and_keeps_the_verdict(
    torch_emb: SentenceEmbedder, onnx_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = [f"{t} ({i})" for i in range(12) for t in TEXTS[:4]]
    small = Chooser(torch_emb, None, "auto", onnx_dir.parent)
    assert small.pick(texts) is torch_emb and "fewer than" in small.info["why"]
    monkeypatch.setattr(embed_backend, "CALIBRATE_MIN", 10)
    cache = onnx_dir.parent
    chooser = Chooser(torch_emb, None, "auto", cache)
    chosen = chooser.pick(texts)
    info = chooser.info
    assert info["torch"] > 0 and info["onnx"] > 0
    assert info["backend"] == ("onnx" if info["onnx"] > info["torch"] else "torch")
    assert (chosen is torch_emb) == (info["backend"] == "torch")
    verdicts = json.loads((cache / embed_backend.VERDICTS).read_text())
    key = machine_key(torch_emb.name, "cpu")
    assert verdicts[key] == {"torch": info["torch"], "onnx": info["onnx"]}
    # A kept verdict decides later jobs without a race: make ONNX the clear winner.
    verdicts[key] = {"torch": 1.0, "onnx": 2.0}
    (cache / embed_backend.VERDICTS).write_text(json.dumps(verdicts))
    later = Chooser(torch_emb, None, "auto", cache)
    assert later.pick(texts[:3]).__class__.__name__ == "OnnxEmbedder"
    assert later.info["why"] == "measured faster on this machine"


def test_forced_backends_and_bad_names(torch_emb: SentenceEmbedder, tmp_path: Path) -> None:
    forced = Chooser(torch_emb, None, "torch", tmp_path)
    assert forced.pick(TEXTS * 500) is torch_emb and forced.info["why"] == "asked for"
    with pytest.raises(ConfigError, match="choose one of auto, torch, onnx, onnx-int8"):
        Chooser(torch_emb, None, "tensorrt", tmp_path)


def test_a_build_on_onnx_matches_one_on_torch(crawled_site: Path, tmp_path: Path) -> None:
    domains = load_domains(crawled_site / "domains.yaml")
    vectors = {}
    for backend in ("torch", "onnx"):
        data = tmp_path / backend
        shutil.copytree(crawled_site / "data" / "warc", data / "warc")
        result = build_index(BuildConfig(data, workers=1, embed_backend=backend), domains)
        manifest = json.loads((result.version / "manifest.json").read_text())
        assert manifest["embedding"]["backend"] == backend
        import faiss

        outer = faiss.read_index(str(result.version / "dense.faiss"))  # owns the flat index
        flat = faiss.downcast_index(outer.index)
        vectors[backend] = flat.reconstruct_n(0, flat.ntotal)  # in insertion order
    assert vectors["torch"].shape == vectors["onnx"].shape
    assert np.min(np.sum(vectors["torch"] * vectors["onnx"], axis=1)) > 0.9999
