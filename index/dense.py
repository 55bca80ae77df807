"""Dense vectors in FAISS, with ids equal to passage ids.

The index type follows the size (``choose_kind``): exact inner-product search (vectors
are unit length, so it is cosine) below ``FLAT_MAX`` vectors; then an inverted file
(IVF, with an HNSW coarse quantizer once it has many lists) whose vectors are
compressed to 8 bits a dimension (SQ8, a quarter of the memory); above ``SQ8_MAX``,
product quantization (PQ, one byte per 4 dimensions: 96 bytes a vector at 384 dims,
1/16; at 8 dimensions a byte recall@10 fell from 0.77 to 0.65).  IVF indexes are
trained on a sample of the vectors and searched with ``NPROBE`` lists; their recall@10
against exact search and their bytes per vector are in ``bench/dense_kinds.py``.  HNSW
(exact vectors, a graph) stays available by name.  On a machine with a GPU and
faiss-gpu, exact indexes are searched on the GPU; where the GPU has torch but
faiss has no GPU build (a faiss-gpu wheel is hundreds of MB), the vectors go to the
GPU as an fp16 torch matrix and search is exact there (``TorchExact``).  The file on
disk is always the CPU form, so a version built anywhere opens anywhere.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

FILENAME = "dense.faiss"
FLAT_MAX = 200_000
SQ8_MAX = 10_000_000  # 4 GB of SQ8 codes at 384 dims; above, PQ
NPROBE = 64
KINDS = ("flat", "hnsw", "ivf-sq8", "ivf-pq")

log = logging.getLogger(__name__)


def _faiss() -> Any:
    import faiss

    return faiss


def choose_kind(n: int) -> str:
    """The index type for ``n`` vectors: exact, then IVF-SQ8, then IVF-PQ."""
    return "flat" if n < FLAT_MAX else "ivf-sq8" if n < SQ8_MAX else "ivf-pq"


def ivf_lists(n: int) -> int:
    """Inverted lists for ``n`` vectors: about 4·√n, a power of two, 16 to 65,536."""
    target = max(16, min(65536, int(4 * np.sqrt(max(1, n)))))
    return int(2 ** round(np.log2(target)))


Blocks = Callable[[], Iterator[tuple[np.ndarray, np.ndarray]]]  # (ids, vectors), re-readable


def build_faiss(ids: np.ndarray, vecs: np.ndarray, kind: str | None = None) -> Any:
    return build_faiss_blocks(len(vecs), vecs.shape[1], lambda: iter([(ids, vecs)]), kind)


def build_faiss_blocks(n: int, dim: int, blocks: Blocks, kind: str | None = None) -> Any:
    """The index of the ``n`` vectors ``blocks()`` yields: added a block at a time, so
    a build never holds all its float vectors at once, only the index's own form of
    them (their codes, for IVF) and the training sample."""
    faiss = _faiss()
    kind = kind or choose_kind(n)
    if kind in ("flat", "hnsw"):
        if kind == "flat":
            inner = faiss.IndexFlatIP(dim)
        else:
            inner = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
            inner.hnsw.efConstruction = 80
        index = faiss.IndexIDMap2(inner)
        _add(index, blocks)
    elif kind in ("ivf-sq8", "ivf-pq"):
        nlist = ivf_lists(n)
        quantizer = f"IVF{nlist}_HNSW32" if nlist > 4096 else f"IVF{nlist}"
        codes = "SQ8" if kind == "ivf-sq8" else f"PQ{_pq_m(dim)}x8"
        index = faiss.index_factory(dim, f"{quantizer},{codes}", faiss.METRIC_INNER_PRODUCT)
        sample = _sample(n, dim, blocks, _training_picks(n, nlist))
        if _gpus(faiss) > 0:  # train and add where the arithmetic is fast, keep the CPU form
            gpu = faiss.index_cpu_to_all_gpus(index)
            gpu.train(sample)
            del sample
            _add(gpu, blocks)
            index = faiss.index_gpu_to_cpu(gpu)
        else:
            index.train(sample)
            del sample
            _add(index, blocks)
    else:
        raise ValueError(f"unknown dense index kind {kind!r}: one of {', '.join(KINDS)}")
    if index.ntotal != n:
        raise ValueError(f"dense index: {index.ntotal} vectors read, {n} expected")
    log.info("dense index: %s, %d vectors of %d dims", kind, n, dim)
    return index


def _add(index: Any, blocks: Blocks) -> None:
    for ids, vecs in blocks():
        index.add_with_ids(np.ascontiguousarray(vecs, np.float32), ids.astype(np.int64))


TRAIN_PER_LIST = 40


def _training_picks(n: int, nlist: int) -> np.ndarray:
    """Which vectors train the coarse quantizer: ``TRAIN_PER_LIST`` per list, just over
    the 39 below which FAISS's k-means warns.  At 300k vectors recall@10 was the same
    for 16 to 64 per list (0.993 to 0.995, nprobe 64), while the sample's memory and the
    training time grow with it: 2 GB of floats at the list's 39M passages, not 3.2 GB
    at 64.  Evenly spaced over the vectors, which come in URL order, so every site is
    in the sample in proportion (a random draw without replacement would hold a
    permutation of all ``n``: 312 MB of indices at 39M)."""
    size = min(n, TRAIN_PER_LIST * nlist)
    return np.arange(size, dtype=np.int64) * n // size


def _sample(n: int, dim: int, blocks: Blocks, picks: np.ndarray) -> np.ndarray:
    """Rows ``picks`` of the vectors, in that order, gathered in one pass over them."""
    out = np.empty((len(picks), dim), dtype=np.float32)
    order = np.argsort(picks)
    wanted = picks[order]
    start = 0
    for _, vecs in blocks():
        lo, hi = np.searchsorted(wanted, [start, start + len(vecs)])
        out[order[lo:hi]] = vecs[wanted[lo:hi] - start]
        start += len(vecs)
    if start != n:
        raise ValueError(f"dense index: {start} vectors read, {n} expected")
    return out


def _pq_m(dim: int) -> int:
    """PQ sub-quantizers: 4 dimensions each (96 for 384), a divisor of ``dim``."""
    m = max(1, dim // 4)
    while dim % m:
        m -= 1
    return m


def kind_of(index: Any) -> str:
    faiss = _faiss()
    if _ivf_of(faiss, index) is not None:
        ivf = faiss.downcast_index(faiss.extract_index_ivf(index))
        return "ivf-pq" if isinstance(ivf, faiss.IndexIVFPQ) else "ivf-sq8"
    return "hnsw" if _hnsw_of(faiss, index) is not None else "flat"


def write_dense(directory: Path, ids: np.ndarray, vecs: np.ndarray, kind: str | None = None) -> int:
    n, dim = vecs.shape
    return write_dense_blocks(directory, n, dim, lambda: iter([(ids, vecs)]), kind)


def write_dense_blocks(
    directory: Path, n: int, dim: int, blocks: Blocks, kind: str | None = None
) -> int:
    index = build_faiss_blocks(n, dim, blocks, kind)
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
        self,
        directory: Path,
        use_gpu: bool | None = None,
        torch_device: str | None = None,
        fanout: int = 1,
    ) -> None:
        """``torch_device`` forces the torch path there ("cuda", or "cpu" to test it);
        ``fanout``: vectors one id may have (windows of a passage): a search asks for
        that many times ``k`` and keeps each id's best."""
        self.fanout = max(1, fanout)
        faiss = _faiss()
        self._index = faiss.read_index(str(directory / FILENAME))
        self._torch: TorchExact | None = None
        if use_gpu is not False and _gpus(faiss) > 0 and _is_flat(faiss, self._index):
            self._index = faiss.index_cpu_to_all_gpus(self._index)
        elif _is_flat(faiss, self._index) and (
            torch_device is not None or (use_gpu is not False and _torch_cuda())
        ):
            vecs = self._index.index.reconstruct_n(0, self._index.ntotal)
            ids = faiss.vector_to_array(self._index.id_map)
            self._torch = TorchExact(ids, vecs, torch_device or "cuda")
            log.info("dense search: exact on %s with torch", self._torch.device)
        hnsw = _hnsw_of(faiss, self._index)
        if hnsw is not None:
            hnsw.hnsw.efSearch = 128
        ivf = _ivf_of(faiss, self._index)
        if ivf is not None:
            ivf.nprobe = min(NPROBE, ivf.nlist)
        self.kind = kind_of(self._index)

    def count(self) -> int:
        return int(self._index.ntotal)

    def ids(self) -> list[int]:
        faiss = _faiss()
        cpu = faiss.index_gpu_to_cpu(self._index) if _gpus(faiss) > 0 else self._index
        ivf = _ivf_of(faiss, cpu)
        if ivf is None:
            return [int(i) for i in faiss.vector_to_array(cpu.id_map)]
        lists = ivf.invlists
        out: list[int] = []
        for i in range(ivf.nlist):
            size = lists.list_size(i)
            if size:
                out.extend(int(x) for x in faiss.rev_swig_ptr(lists.get_ids(i), size))
        return out

    def search(self, query_vecs: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
        queries = np.ascontiguousarray(query_vecs, dtype=np.float32)
        searcher = self._torch if self._torch is not None else self._index
        scores, ids = searcher.search(queries, k * self.fanout)
        if self.fanout == 1:  # one vector an id: nothing to merge on this hot path
            return [
                [(int(i), float(s)) for i, s in zip(row_ids, row_s, strict=True) if i >= 0]
                for row_ids, row_s in zip(ids, scores, strict=True)
            ]
        out = []
        for row_ids, row_s in zip(ids, scores, strict=True):
            best: dict[int, float] = {}  # best first, so an id's first score is its best
            for i, s in zip(row_ids.tolist(), row_s.tolist(), strict=True):
                if i >= 0 and i not in best:
                    best[i] = float(s)
            out.append(list(best.items())[:k])
        return out


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


def _ivf_of(faiss: Any, index: Any) -> Any:
    try:
        return faiss.extract_index_ivf(index)
    except RuntimeError:
        return None


def _hnsw_of(faiss: Any, index: Any) -> Any:
    if not hasattr(index, "index"):
        return None
    inner = faiss.downcast_index(index.index)
    return inner if isinstance(inner, faiss.IndexHNSW) else None
