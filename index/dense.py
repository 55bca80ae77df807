"""Dense vectors in FAISS, with ids equal to passage ids.

Exact inner-product search (vectors are unit length, so it is cosine) below
``HNSW_THRESHOLD`` vectors, HNSW above it.  On a machine with a GPU and
faiss-gpu, exact indexes are searched on the GPU; where the GPU has torch but
faiss has no GPU build (a faiss-gpu wheel is hundreds of MB), the vectors go to the
GPU as an fp16 torch matrix and search is exact there (``TorchExact``).  The file on
disk is always the CPU form, so a version built anywhere opens anywhere.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

FILENAME = "dense.faiss"
HNSW_THRESHOLD = 200_000

log = logging.getLogger(__name__)


def _faiss() -> Any:
    import faiss

    return faiss


def build_faiss(ids: np.ndarray, vecs: np.ndarray, threshold: int = HNSW_THRESHOLD) -> Any:
    faiss = _faiss()
    dim = vecs.shape[1]
    if len(vecs) < threshold:
        inner = faiss.IndexFlatIP(dim)
        kind = "flat"
    else:
        inner = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        inner.hnsw.efConstruction = 80
        kind = "hnsw"
    index = faiss.IndexIDMap2(inner)
    index.add_with_ids(np.ascontiguousarray(vecs, dtype=np.float32), ids.astype(np.int64))
    log.info("dense index: %s, %d vectors of %d dims", kind, len(vecs), dim)
    return index


def write_dense(directory: Path, ids: np.ndarray, vecs: np.ndarray) -> int:
    index = build_faiss(ids, vecs)
    _faiss().write_index(index, str(directory / FILENAME))
    return int(index.ntotal)


class TorchExact:
    """Exact inner-product top-k with torch, in chunks of queries (bounded memory)."""

    def __init__(self, ids: np.ndarray, vecs: np.ndarray, device: str, dtype: str = "float16"):
        import torch

        self._torch = torch
        self.device = device
        self.ids = torch.as_tensor(np.asarray(ids, dtype=np.int64), device=device)
        self.vecs = torch.as_tensor(np.ascontiguousarray(vecs), device=device).to(
            getattr(torch, dtype)
        )

    def search(self, queries: np.ndarray, k: int, chunk: int = 256) -> tuple[Any, Any]:
        torch = self._torch
        k = min(k, int(self.vecs.shape[0]))
        scores, ids = [], []
        with torch.inference_mode():
            for start in range(0, len(queries), chunk):
                q = torch.as_tensor(queries[start : start + chunk], device=self.device)
                top = torch.topk(q.to(self.vecs.dtype) @ self.vecs.T, k, dim=1)
                scores.append(top.values.float().cpu().numpy())
                ids.append(self.ids[top.indices].cpu().numpy())
        if not scores:
            return np.zeros((0, k), np.float32), np.zeros((0, k), np.int64)
        return np.concatenate(scores), np.concatenate(ids)


class DenseIndex:
    def __init__(
        self, directory: Path, use_gpu: bool | None = None, torch_device: str | None = None
    ) -> None:
        """``torch_device`` forces the torch path there ("cuda", or "cpu" to test it)."""
        faiss = _faiss()
        self._index = faiss.read_index(str(directory / FILENAME))
        self._torch: TorchExact | None = None
        if use_gpu is not False and _gpus(faiss) > 0 and _is_flat(faiss, self._index):
            self._index = faiss.index_cpu_to_all_gpus(self._index)
        elif torch_device is not None or (use_gpu is not False and _torch_cuda()):
            vecs = self._index.index.reconstruct_n(0, self._index.ntotal)
            ids = faiss.vector_to_array(self._index.id_map)
            self._torch = TorchExact(ids, vecs, torch_device or "cuda")
            log.info("dense search: exact on %s with torch", self._torch.device)
        hnsw = _hnsw_of(faiss, self._index)
        if hnsw is not None:
            hnsw.hnsw.efSearch = 128

    def count(self) -> int:
        return int(self._index.ntotal)

    def ids(self) -> list[int]:
        faiss = _faiss()
        cpu = faiss.index_gpu_to_cpu(self._index) if _gpus(faiss) > 0 else self._index
        return [int(i) for i in faiss.vector_to_array(cpu.id_map)]

    def search(self, query_vecs: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
        queries = np.ascontiguousarray(query_vecs, dtype=np.float32)
        searcher = self._torch if self._torch is not None else self._index
        scores, ids = searcher.search(queries, k)
        return [
            [(int(i), float(s)) for i, s in zip(row_ids, row_s, strict=True) if i >= 0]
            for row_ids, row_s in zip(ids, scores, strict=True)
        ]


def _torch_cuda() -> bool:
    """A CUDA GPU torch can use, where faiss has none.  Without an NVIDIA driver torch is
    not even imported: opening an index on a CPU machine stays cheap."""
    if not any(Path(p).exists() for p in ("/dev/nvidiactl", "/dev/nvidia0", "/proc/driver/nvidia")):
        return False
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def _gpus(faiss: Any) -> int:
    get = getattr(faiss, "get_num_gpus", None)
    return int(get()) if get else 0


def _is_flat(faiss: Any, index: Any) -> bool:
    inner = faiss.downcast_index(index.index) if hasattr(index, "index") else index
    return isinstance(inner, faiss.IndexFlat)


def _hnsw_of(faiss: Any, index: Any) -> Any:
    if not hasattr(index, "index"):
        return None
    inner = faiss.downcast_index(index.index)
    return inner if isinstance(inner, faiss.IndexHNSW) else None
