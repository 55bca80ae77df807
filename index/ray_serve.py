"""A sharded index served on Ray Serve: one deployment per shard, and the broker.

Each shard of a sharded version (``build --shard-id/--shard-num``) runs as a Ray Serve
deployment with ``replicas`` copies for throughput; it answers what one shard knows:
its BM25 and dense top lists with raw scores, its passages, its part of a page.  The
broker is ``RayShardedIndex``: the ``ShardedIndex`` the ranking pipeline already
fuses over, with every call fanned out to all shards at once and merged.  Fusion stays
in ``stepdr.rank.fuse``; queries are embedded once, in the broker, and only vectors
travel.  ``stepdr-index serve --ray ADDRESS`` puts the HTTP (and MCP) servers on it.

Like ``ray_build``, this is the only kind of module that imports Ray, and only when
asked to.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from stepdr.core.errors import ConfigError, IndexCorruptError

from .embed import Embedder
from .languages import covers
from .records import Passage
from .shards import ShardedIndex, _merge, check_shards, shard_paths
from .version import Version, load_embedder, manifest_languages
from .versions import read_manifest

APP_PREFIX = "stepdr-shard-"


def _shard_deployment(replicas: int, cpus: float) -> Any:
    from ray import serve

    @serve.deployment(num_replicas=replicas, ray_actor_options={"num_cpus": cpus})
    class Shard:
        """One shard's index version, opened once per replica."""

        def __init__(self, path: str) -> None:
            self.version = Version.open(Path(path))

        def count(self) -> int:
            return int(self.version.store.count())

        def bm25_search(
            self, query: str, k: int, boosts: dict[str, float] | None
        ) -> list[tuple[int, float]]:
            return self.version.bm25_search(query, k, boosts)

        def bm25_search_many(
            self, requests: list[tuple[str, dict[str, float] | None]], k: int
        ) -> list[list[tuple[int, float]]]:
            return self.version.bm25_search_many(requests, k)

        def dense_search(self, vectors: Any, k: int) -> list[list[tuple[int, float]]]:
            dense = self.version.dense
            return [[] for _ in vectors] if dense is None else dense.search(vectors, k)

        def passages(self, ids: list[int]) -> dict[int, Passage]:
            return self.version.passages(ids)

        def page(self, urls: list[str]) -> list[Passage]:
            return self.version.page(urls)

        def stats(self) -> dict[str, object]:
            return self.version.stats()

    return Shard


class RemoteShard:
    """The face of one shard's deployment that ``ShardedIndex`` asks for."""

    def __init__(self, path: Path, manifest: dict[str, Any], handle: Any) -> None:
        self.path, self.manifest, self.handle = path, manifest, handle
        self.has_dense = bool(manifest.get("embedding"))
        self.dense = _RemoteDense(handle) if self.has_dense else None
        self._embedder: Embedder | None = None

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = load_embedder(self.name, self.manifest)
        return self._embedder

    @property
    def site_names(self) -> dict[str, list[str]]:
        return dict(self.manifest.get("sites", {}))

    def dense_covers(self, query: str) -> bool:
        return covers(manifest_languages(self.manifest), query)

    def bm25_search(
        self, query: str, k: int, boosts: Mapping[str, float] | None = None
    ) -> list[tuple[int, float]]:
        return list(self.handle.bm25_search.remote(query, k, _plain(boosts)).result())

    def bm25_search_many(
        self, requests: Sequence[tuple[str, Mapping[str, float] | None]], k: int
    ) -> list[list[tuple[int, float]]]:
        plain = [(q, _plain(b)) for q, b in requests]
        return list(self.handle.bm25_search_many.remote(plain, k).result())

    def passages(self, ids: Sequence[int]) -> dict[int, Passage]:
        return dict(self.handle.passages.remote(list(ids)).result())

    def page(self, urls: Sequence[str]) -> list[Passage]:
        return list(self.handle.page.remote(list(urls)).result())

    def stats(self) -> dict[str, object]:
        return dict(self.handle.stats.remote().result())

    def close(self) -> None:
        pass  # the deployment outlives a handle; serve_shards' exit deletes it


class _RemoteDense:
    def __init__(self, handle: Any) -> None:
        self.handle = handle

    def search(self, vectors: Any, k: int) -> list[list[tuple[int, float]]]:
        return list(self.handle.dense_search.remote(vectors, k).result())


class RayShardedIndex(ShardedIndex):
    """The broker: ``ShardedIndex`` over remote shards, each call sent to all at once."""

    shards: list[RemoteShard]  # type: ignore[assignment]

    def bm25_search(
        self, query: str, k: int, boosts: Mapping[str, float] | None = None
    ) -> list[tuple[int, float]]:
        calls = [s.handle.bm25_search.remote(query, k, _plain(boosts)) for s in self.shards]
        return _merge([c.result() for c in calls], k)

    def bm25_search_many(
        self, requests: Sequence[tuple[str, Mapping[str, float] | None]], k: int
    ) -> list[list[tuple[int, float]]]:
        plain = [(q, _plain(b)) for q, b in requests]
        calls = [s.handle.bm25_search_many.remote(plain, k) for s in self.shards]
        per_shard = [c.result() for c in calls]
        return [_merge([lists[q] for lists in per_shard], k) for q in range(len(requests))]

    def dense_search(self, queries: Sequence[str], k: int) -> list[list[tuple[int, float]]]:
        if not self.has_dense or not queries:
            return [[] for _ in queries]
        vecs = self.encode_queries(list(queries))
        calls = [s.handle.dense_search.remote(vecs, k) for s in self.shards]
        per_shard = [c.result() for c in calls]
        return [_merge([lists[q] for lists in per_shard], k) for q in range(len(queries))]

    def passages(self, ids: Sequence[int]) -> dict[int, Passage]:
        calls = [s.handle.passages.remote(list(ids)) for s in self.shards]
        found: dict[int, Passage] = {}
        for c in calls:
            found.update(c.result())
        return found


def _plain(boosts: Mapping[str, float] | None) -> dict[str, float] | None:
    return None if boosts is None else dict(boosts)


@contextlib.contextmanager
def serve_shards(
    version: Path, address: str, replicas: int = 1, cpus: float = 0.5
) -> Iterator[RayShardedIndex]:
    """Deploy every shard of a sharded ``version`` on the Ray cluster at ``address``
    ("auto": a local one) and yield the broker; the deployments go when it exits."""
    from .ray_build import cluster

    manifest = read_manifest(version)
    if "shards" not in manifest:
        raise IndexCorruptError(
            f"{version.name}: not a sharded version (build with --shard-id/--shard-num)"
        )
    paths = shard_paths(version, manifest)
    with cluster(address):
        try:
            from ray import serve
        except ImportError as e:
            raise ConfigError("serving on Ray needs Ray Serve: pip install 'stepdr[scale]'") from e
        names = []
        try:
            # Handles only: no HTTP proxy of Ray's own listens anywhere.
            serve.start(proxy_location="Disabled")
            shards = []
            deployment = _shard_deployment(replicas, cpus)
            for i, path in enumerate(paths):
                name = f"{APP_PREFIX}{version.name}-{i}"
                names.append(name)
                try:
                    handle = serve.run(deployment.bind(str(path)), name=name, route_prefix=None)
                except Exception as e:  # a shard that does not open is never served
                    raise IndexCorruptError(
                        f"{version.name}: shard {i} ({path.name}) does not start on Ray Serve: "
                        f"{str(e).splitlines()[0] if str(e) else type(e).__name__}"
                    ) from None
                shards.append(RemoteShard(path, read_manifest(path), handle))
            counts = [int(s.handle.count.remote().result()) for s in shards]
            check_shards(version, manifest, counts)
            broker = RayShardedIndex(version, manifest, shards)  # type: ignore[arg-type]
            yield broker
        finally:
            for name in names:
                with contextlib.suppress(Exception):
                    serve.delete(name)
            with contextlib.suppress(Exception):
                serve.shutdown()  # type: ignore[no-untyped-call]
