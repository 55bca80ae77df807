"""Dense vectors in FAISS, with ids equal to passage ids.

Exact inner-product search (vectors are unit length, so it is cosine) below
``HNSW_THRESHOLD`` vectors, HNSW above it.  On a machine with a GPU and
faiss-gpu, exact indexes are searched on the GPU; the file on disk is always
the CPU form, so a version built anywhere opens anywhere.
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


class DenseIndex:
    def __init__(self, directory: Path, use_gpu: bool | None = None) -> None:
        faiss = _faiss()
        self._index = faiss.read_index(str(directory / FILENAME))
        if use_gpu is not False and _gpus(faiss) > 0 and _is_flat(faiss, self._index):
            self._index = faiss.index_cpu_to_all_gpus(self._index)
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
        scores, ids = self._index.search(np.ascontiguousarray(query_vecs, dtype=np.float32), k)
        return [
            [(int(i), float(s)) for i, s in zip(row_ids, row_s, strict=True) if i >= 0]
            for row_ids, row_s in zip(ids, scores, strict=True)
        ]


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
