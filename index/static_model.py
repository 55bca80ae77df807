"""A static embedder for CPU-only builds: token vectors distilled from the bundled MiniLM.

``--model static`` embeds with a model2vec distillation of all-MiniLM-L6-v2: each token's
vector is precomputed once, a text's embedding is the weighted mean of its tokens', so
encoding costs a table lookup instead of a transformer pass (150-225x faster on 2 cores),
at a measured cost in retrieval quality (README, "The index").  It is distilled offline
from the installed MiniLM the first time it is asked for (about 20 s; the ``static``
extra installs model2vec) and kept as a sentence-transformers directory under
``$STEPDR_MODELS`` (default ``~/.cache/stepdr/models``); the manifest records the
checksum of its weights, so a query side with another distillation is refused.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from stepdr.core.errors import ConfigError

STATIC = "static"
NAME = "all-MiniLM-L6-v2-static-256"
PCA_DIMS = 256


def models_dir() -> Path:
    return Path(os.environ.get("STEPDR_MODELS") or Path.home() / ".cache" / "stepdr" / "models")


def weights_digest(path: Path) -> str:
    """SHA-256 over the model's weight files, in name order."""
    h = hashlib.sha256()
    for f in sorted(path.rglob("*.safetensors")):
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def static_model_dir(source: Path) -> Path:
    """The distilled model's directory, distilled now from the MiniLM at ``source`` when
    it is not there yet."""
    target = models_dir() / NAME
    if (target / "modules.json").is_file():
        return target
    return distill(source, target)


def distill(source: Path, target: Path) -> Path:
    try:
        from sentence_transformers import SentenceTransformer
        from sentence_transformers.models import Normalize, StaticEmbedding
    except ImportError as e:  # pragma: no cover - sentence-transformers is a dependency
        raise ConfigError(f"the static embedder needs sentence-transformers ({e})") from None
    try:
        import model2vec  # noqa: F401
    except ImportError:
        raise ConfigError(
            "the static embedder is distilled with model2vec: pip install 'stepdr[static]'"
        ) from None
    static = StaticEmbedding.from_distillation(str(source), device="cpu", pca_dims=PCA_DIMS)
    model = SentenceTransformer(modules=[static, Normalize()], device="cpu")
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.parent.mkdir(parents=True, exist_ok=True)
    model.save(str(partial))
    (partial / "README.md").write_text(
        f"---\nlanguage: en\n---\n# {NAME}\n\nA model2vec distillation of all-MiniLM-L6-v2 "
        f"({PCA_DIMS} dims), made by stepdr for `--model static`.\n",
        encoding="utf-8",
    )
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)  # whole or absent: a killed distillation leaves no half model
    return target
