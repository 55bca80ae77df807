"""A build on a Ray cluster: pages extracted as Ray tasks, passages embedded by Ray Data's
``map_batches`` over a pool of embedding actors (one GPU each where there are GPUs).

``build --ray ADDRESS`` joins a running cluster (``ray start --head`` prints its
address); ``--ray auto`` starts one on this machine for the build's length.  The rest
of the build (page and embedding caches, dedup, store, BM25, FAISS, the atomic
publish) is the single-process build's, so the two give the same passages and vectors
up to float rounding.  Ray is the ``scale`` extra; nothing else imports it.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from stepdr.core.errors import ConfigError

from .windowed import each, windowed

log = logging.getLogger(__name__)

TASK_PAGES = 32  # pages per extraction task: big enough to amortise a task's overhead
EMBED_BATCH = 256  # passages per map_batches call on an actor


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError("--ray needs Ray: pip install 'stepdr[scale]'") from None
    return ray


def _check_answers(address: str, timeout: float = 3.0) -> None:
    """Fail fast, by name: ray.init waits minutes on an address nobody listens at."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"--ray {address}: expected HOST:PORT of a Ray head node, or auto")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
    except OSError as e:
        raise ConfigError(f"no Ray cluster answers at {address} ({e.strerror or e})") from None


@contextmanager
def cluster(address: str) -> Iterator[Any]:
    """Ray, initialised for one build (a local cluster for ``auto``), shut down after."""
    ray = _ray()
    if address == "auto":
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a private, loopback cluster
        ray.init(num_cpus=os.cpu_count() or 1, include_dashboard=False, log_to_driver=False)
    else:
        _check_answers(address)
        ray.init(address=address, log_to_driver=False)
    try:
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False
        yield ray
    finally:
        ray.shutdown()


def map_pages(ray: Any, fn: Callable[[Any], Any], jobs: Iterable[Any]) -> Iterator[Any]:
    """``fn`` over ``jobs`` as Ray tasks of TASK_PAGES jobs each; results in job order,
    with two tasks in flight per CPU of the cluster (``windowed``)."""

    remote = ray.remote(num_cpus=0.5)(each)  # fractional: the driver's own reads need a CPU
    window = max(4, 2 * int(ray.cluster_resources().get("CPU", 1)))
    yield from windowed(
        lambda part: remote.remote(fn, part), ray.get, jobs, chunk=TASK_PAGES, window=window
    )


def embed(ray: Any, model: str | None, texts: Sequence[str]) -> np.ndarray:
    """Unit vectors for ``texts``, in order, from a pool of embedding actors."""
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    gpus = int(ray.cluster_resources().get("GPU", 0))
    cpus = float(ray.cluster_resources().get("CPU", 1))
    actors = max(1, gpus) if gpus else max(1, min(4, int(cpus)))
    threads = max(1, int(cpus) // actors)

    class Embedder:
        def __init__(self) -> None:
            import torch

            from stepdr.index.embed import SentenceEmbedder

            if not gpus:
                torch.set_num_threads(threads)  # actors share the cores, not each all of them
            self.model = SentenceEmbedder(model)

        def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
            batch["vec"] = list(self.model.encode(list(batch["text"])))
            return batch

    resources = {"num_gpus": 1} if gpus else {"num_cpus": 0.5}
    rows = (
        ray.data.from_items([{"i": i, "text": t} for i, t in enumerate(texts)])
        .map_batches(
            Embedder,
            compute=ray.data.ActorPoolStrategy(size=actors),
            batch_size=EMBED_BATCH,
            **resources,
        )
        .take_all()
    )
    rows.sort(key=lambda r: int(r["i"]))
    return np.stack([np.asarray(r["vec"], dtype=np.float32) for r in rows])
