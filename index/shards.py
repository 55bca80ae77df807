"""Sharded indexes: N shards built apart, searched as one.

``build --shard-id I --shard-num N`` extracts and de-duplicates every page (so the
shards hold exactly the unsharded index's passages) and keeps the passages whose text
hashes to shard I: a hash of the passage, not of its domain, so each shard's BM25
statistics stay close to the whole corpus's.  Shard I is an index of its own under

    <data>/index/shards/<I>-of-<N>/     versions/, CURRENT, as <data>/index

and once all N shards have a version built from the same sources and settings, the
build that completes them publishes a top-level version whose manifest lists them.
Opening that version opens every shard (one that is missing, unreadable or built
otherwise is refused, naming it: never silently partial results), and searching it
asks each shard for its top ``k`` per retriever with raw scores; ``rank/fuse.py``
fuses the merged lists unchanged.  Dense lists merge exactly (cosines are global);
BM25 scores carry each shard's own IDF, which drifts a little from the whole's.
"""

from __future__ import annotations

import functools
import hashlib
import heapq
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from stepdr.core.errors import ConfigError, IndexCorruptError

from .coalesce import SharedEncoder
from .dense import DenseIndex
from .records import Passage, same_text_key
from .version import Version
from .versions import IndexDir, read_manifest, write_manifest

SHARDS_DIR = "shards"


def shard_of(text: str, n: int) -> int:
    """The shard of a passage: a stable hash of its text key (dedup's), modulo ``n``."""
    return int(hashlib.sha1(same_text_key(text).encode()).hexdigest()[:15], 16) % n


def shard_dir(data_dir: Path, shard: int, num: int) -> Path:
    """The data dir of one shard (its index is under ``index/`` there, as usual)."""
    return data_dir / "index" / SHARDS_DIR / f"{shard}-of-{num}"


def check_shard(shard: int | None, num: int | None) -> None:
    if shard is None and num is None:
        return
    if shard is None or num is None:
        raise ConfigError("--shard-id and --shard-num go together")
    if num < 1 or not 0 <= shard < num:
        raise ConfigError(f"shard id {shard} is out of range for {num} shard(s) (0 to {num - 1})")


def _shard_settings(manifest: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in manifest.get("config", {}).items() if k != "shard"}


def publish_if_complete(data_dir: Path, num: int) -> Path | None:
    """Publish the sharded version when every shard has one from the same sources and
    settings; None while some are missing.  ConfigError naming a shard built otherwise."""
    paths: list[Path] = []
    for i in range(num):
        live = IndexDir(shard_dir(data_dir, i, num)).current_or_none()
        if live is None:
            return None
        paths.append(live)
    manifests = [read_manifest(p) for p in paths]
    first = manifests[0]
    for i, m in enumerate(manifests[1:], start=1):
        for what, a, b in (
            ("settings", _shard_settings(first), _shard_settings(m)),
            ("sources", first.get("sources"), m.get("sources")),
            ("embedding model", (first.get("embedding") or {}).get("model"),
             (m.get("embedding") or {}).get("model")),
        ):  # fmt: skip
            if a != b:
                raise ConfigError(
                    f"shard {i} of {num} was built with other {what} than shard 0: "
                    "rebuild it with the same command"
                )
    index = IndexDir(data_dir)
    partial = index.new_version()
    root = data_dir / "index"
    write_manifest(
        partial,
        {
            "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "shards": [str(p.relative_to(root)) for p in paths],
            "shard_num": num,
            "pages": first.get("pages", 0),  # every shard extracted every page
            "passages": sum(int(m["passages"]) for m in manifests),
            "failed_pages": first.get("failed_pages", 0),
            "embedding": first.get("embedding"),
            "config": _shard_settings(first),
            "sources": first.get("sources"),
        },
    )
    # Each shard was verified when it was published; the whole must add up.
    check_shards(partial, read_manifest(partial), [int(m["passages"]) for m in manifests])
    return index.publish(partial)


def shard_paths(version: Path, manifest: dict[str, Any]) -> list[Path]:
    """The shard version directories a sharded manifest lists ([] for one index)."""
    root = version.parent.parent
    return [root / rel for rel in manifest.get("shards") or []]


def check_shards(version: Path, manifest: dict[str, Any], passages: Sequence[int]) -> None:
    """The shards found (their passage counts) are the ones the manifest lists."""
    if not passages or len(passages) != manifest.get("shard_num"):
        raise IndexCorruptError(f"{version.name}: a sharded manifest without its shards")
    if sum(passages) != manifest.get("passages"):
        raise IndexCorruptError(
            f"{version.name}: the shards hold {sum(passages)} passages, the manifest says "
            f"{manifest.get('passages')}"
        )


def combined_counts(parts: Sequence[dict[str, Any]], pages: object) -> dict[str, Any]:
    """One index's counts from its shards': a page's passages lie in several shards, so
    ``pages`` comes from the manifest, and ``domains`` is the largest shard's."""
    tiers: dict[str, int] = {}
    for part in parts:
        for tier, n in dict(part["tiers"]).items():
            tiers[tier] = tiers.get(tier, 0) + int(n)
    return {
        "passages": sum(int(p["passages"]) for p in parts),
        "pages": pages,
        "domains": max(int(p["domains"]) for p in parts),
        "tiers": tiers,
    }


class ShardedIndex(SharedEncoder):
    """The Retrieval face of a sharded version, over one ``Version`` per shard."""

    def __init__(self, path: Path, manifest: dict[str, Any], shards: list[Version]) -> None:
        self.path, self.manifest, self.shards = path, manifest, shards
        self._init_encoder()

    @classmethod
    def open(cls, path: Path, use_gpu: bool | None = None) -> ShardedIndex:
        manifest = read_manifest(path)
        shards: list[Version] = []
        for i, where in enumerate(shard_paths(path, manifest)):
            try:
                shards.append(Version.open(where, use_gpu=use_gpu))
            except (IndexCorruptError, OSError) as e:
                for s in shards:
                    s.close()
                raise IndexCorruptError(
                    f"{path.name}: shard {i} ({where.name}) does not open: {e}"
                ) from None
        try:
            check_shards(path, manifest, [s.store.count() for s in shards])
        except IndexCorruptError:
            for s in shards:
                s.close()
            raise
        return cls(path, manifest, shards)

    def close(self) -> None:
        for s in self.shards:
            s.close()

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def dense(self) -> DenseIndex | None:
        """The first shard's dense index, or None: whether the version has vectors."""
        return self.shards[0].dense if self.has_dense else None

    # -- Retrieval --------------------------------------------------------------------

    @property
    def has_dense(self) -> bool:
        return all(s.has_dense for s in self.shards)

    @functools.cached_property
    def site_names(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for s in self.shards:
            for site, names in s.site_names.items():
                out.setdefault(site, []).extend(n for n in names if n not in out[site])
        return out

    def dense_covers(self, query: str) -> bool:
        return self.shards[0].dense_covers(query)

    def bm25_search(
        self, query: str, k: int, boosts: Mapping[str, float] | None = None
    ) -> list[tuple[int, float]]:
        return _merge([s.bm25_search(query, k, boosts) for s in self.shards], k)

    def bm25_search_many(
        self, requests: Sequence[tuple[str, Mapping[str, float] | None]], k: int
    ) -> list[list[tuple[int, float]]]:
        per_shard = [s.bm25_search_many(requests, k) for s in self.shards]
        return [_merge([lists[q] for lists in per_shard], k) for q in range(len(requests))]

    def dense_search(self, queries: Sequence[str], k: int) -> list[list[tuple[int, float]]]:
        if not self.has_dense or not queries:
            return [[] for _ in queries]
        vecs = self.encode_queries(list(queries))
        per_shard = [s.dense.search(vecs, k) for s in self.shards if s.dense is not None]
        return [_merge([lists[q] for lists in per_shard], k) for q in range(len(queries))]

    def _encode(self, texts: list[str]) -> Any:
        return self.shards[0].embedder.encode(texts)  # every shard has the same model

    def passages(self, ids: Sequence[int]) -> dict[int, Passage]:
        found: dict[int, Passage] = {}
        for s in self.shards:
            found.update(s.passages(ids))
        return found

    def page(self, urls: Sequence[str]) -> list[Passage]:
        """A page's passages lie in several shards: gathered, in page order."""
        for url in urls:
            found = [p for s in self.shards for p in s.page([url])]
            if found:
                return sorted(found, key=lambda p: p.ordinal)
        return []

    def stats(self) -> dict[str, object]:
        return {
            **combined_counts([s.stats() for s in self.shards], self.manifest.get("pages")),
            "version": self.name,
            "built": self.manifest.get("built"),
            "dense": self.has_dense,
            "embedding_model": (self.manifest.get("embedding") or {}).get("model"),
            "shards": len(self.shards),
        }


def _merge(lists: Sequence[Sequence[tuple[int, float]]], k: int) -> list[tuple[int, float]]:
    """The best ``k`` of several (id, score) lists, by score (ties: shard order)."""
    return heapq.nlargest(k, (hit for hits in lists for hit in hits), key=lambda h: h[1])


def open_index(path: Path, use_gpu: bool | None = None) -> Version | ShardedIndex:
    """A version directory opened as what it is: one index, or a sharded one."""
    if "shards" in read_manifest(path):
        return ShardedIndex.open(path, use_gpu=use_gpu)
    return Version.open(path, use_gpu=use_gpu)
