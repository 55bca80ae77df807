"""stepdr-index commands that belong to the index: build, stats."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from stepdr.core.cli import data_option, domains_option
from stepdr.crawl.domains_yaml import load_domains

from .versions import IndexDir, read_manifest


@click.command()
@data_option
@domains_option
@click.option(
    "--warc",
    "warcs",
    multiple=True,
    type=click.Path(path_type=Path),
    help="WARC file or directory to index (repeatable) [default: DATA/warc].",
)
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    default=0,
    help="Extraction processes (0: one per core).",
)
@click.option("--force", is_flag=True, help="Build even if the sources have not changed.")
@click.option("--no-dense", is_flag=True, help="BM25 only: skip embeddings and FAISS.")
@click.option(
    "--model",
    help="Local sentence-transformers directory for embeddings [default: all-MiniLM-L6-v2]; "
    "'static': a static embedder distilled once from it (78x faster on a CPU, lower quality).",
)
@click.option(
    "--embed-backend",
    type=click.Choice(["auto", "torch", "onnx", "onnx-int8"]),
    default="auto",
    show_default=True,
    help="Embedding runtime; auto takes ONNX Runtime where it measures faster. "
    "onnx-int8 quantises the weights: faster on some CPUs, vectors move slightly.",
)
@click.option(
    "--embed-windows",
    is_flag=True,
    help="Embed all of each passage, not only its first 128 tokens: windows of it become "
    "vectors of the passage, which scores as its best window. The dense retriever finds more "
    "and keyword lookups gain; 1.6x the embedding time and the vectors.",
)
@click.option("--min-words", type=click.IntRange(min=1), default=40, show_default=True)
@click.option("--max-words", type=click.IntRange(min=10), default=200, show_default=True)
@click.option(
    "--keep", type=click.IntRange(min=1), default=3, show_default=True, help="Versions to keep."
)
@click.option("--shard-id", type=int, default=None, help="Build shard I of --shard-num (from 0).")
@click.option(
    "--shard-num",
    type=int,
    default=None,
    help="Shards in all: the build that completes them publishes the sharded index.",
)
@click.option(
    "--ray",
    "ray_address",
    metavar="ADDRESS",
    help="Extract and embed on a Ray cluster: a head's HOST:PORT, or auto for one on this "
    "machine (the scale extra).",
)
@click.option(
    "--progress",
    type=click.Choice(["auto", "tty", "log", "off"]),
    default="auto",
    show_default=True,
    help="auto: a live line on a terminal, log lines every 10 s otherwise.",
)
def build(
    data_dir: Path,
    domains_file: Path | None,
    warcs: tuple[Path, ...],
    workers: int,
    force: bool,
    no_dense: bool,
    model: str | None,
    embed_backend: str,
    embed_windows: bool,
    min_words: int,
    max_words: int,
    keep: int,
    shard_id: int | None,
    shard_num: int | None,
    ray_address: str | None,
    progress: str,
) -> None:
    """Build a new index version from WARC files and make it live.

    Reads every HTML response (the latest copy of each URL), extracts its main
    text into paragraph-level passages and indexes them.  The previous version
    stays live until the new one is complete.  Shows progress (pages extracted,
    passages embedded, rate, ETA) and writes the build's figures to
    DATA/index/build-stats.json.  Embeddings are committed as they are computed,
    so the same command after a crash or kill embeds only what is missing.
    """
    from stepdr.core.errors import ConfigError

    from .build import BuildConfig, build_index
    from .shards import check_shard

    try:
        check_shard(shard_id, shard_num)
    except ConfigError as e:
        raise click.BadParameter(str(e), param_hint="--shard-id") from None
    domains = load_domains(domains_file)
    if min_words > max_words:
        raise click.BadParameter("--min-words must not exceed --max-words")
    config = BuildConfig(
        data_dir=data_dir,
        warcs=warcs,
        workers=workers,
        force=force,
        keep=keep,
        dense=not no_dense,
        model=model,
        embed_backend=embed_backend,
        windows=embed_windows,
        min_words=min_words,
        max_words=max_words,
        progress=progress,
        shard=(shard_id, shard_num) if shard_id is not None and shard_num is not None else None,
        ray=ray_address,
    )
    result = build_index(config, domains, say=click.echo)
    if result.skipped:
        click.echo(f"index is up to date ({result.version.name}); use --force to rebuild")
        return
    what = f"shard {shard_id} of {shard_num} " if shard_num else ""
    click.echo(
        f"built {what}{result.version.name}: {result.passages} passages from {result.pages} "
        f"pages ({result.failed_pages} failed) in {result.seconds:.1f}s"
    )
    if result.sharded is not None:
        click.echo(f"published the sharded index {result.sharded.name} ({shard_num} shards)")
    elif shard_num:
        click.echo(f"the sharded index is published once all {shard_num} shards are built")


@click.command()
@data_option
@click.option("--json", "as_json", is_flag=True, help="Print the statistics as JSON.")
def stats(data_dir: Path, as_json: bool) -> None:
    """Show the live index version: passages, pages, domains, tiers, size, model."""
    from .shards import combined_counts, shard_paths
    from .store import PassageStore

    version = IndexDir(data_dir).current()
    m = read_manifest(version)
    counts: list[dict[str, Any]] = []
    for part in shard_paths(version, m) or [version]:  # the stores only: no FAISS loaded
        store = PassageStore(part)
        try:
            counts.append({**store.stats(), "tiers": store.tier_counts()})
        finally:
            store.close()
    detail = counts[0] if "shards" not in m else combined_counts(counts, m["pages"])
    tiers = dict(detail["tiers"])
    parts = [version, *shard_paths(version, m)]
    size = sum(f.stat().st_size for part in parts for f in part.rglob("*") if f.is_file())
    emb = m.get("embedding") or {}
    info = {
        "version": version.name,
        "built": m["built"],
        "passages": m["passages"],
        "pages": detail["pages"],
        "domains": detail["domains"],
        "failed_pages": m["failed_pages"],
        "tiers": tiers,
        "bytes": size,
        "model": emb.get("model"),
        "dim": emb.get("dim"),
        "backend": emb.get("backend"),
        "dropped": m.get("dropped", {}),
        "sources": len(m["sources"]),
        "shards": len(m.get("shards", [])) or None,
        "dense_index": emb.get("index", "flat" if emb else None),
        "dense_bytes": sum(f.stat().st_size for part in parts for f in part.glob("**/dense.faiss")),
        "dense_vectors": m.get("dense_vectors"),
        "windows": emb.get("windows"),
    }
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    tier_text = ", ".join(f"tier {k}: {v}" for k, v in tiers.items())
    click.echo(f"version   {info['version']}  (built {info['built']})")
    click.echo(f"passages  {info['passages']}  (dropped: {info['dropped']})")
    click.echo(f"pages     {info['pages']}  ({info['failed_pages']} failed extraction)")
    click.echo(f"domains   {info['domains']}  ({tier_text})")
    click.echo(f"size      {size / 1e6:.1f} MB on disk")
    runtime = {None: "", "-": ", all from the cache"}.get(
        info["backend"], f", new text on {info['backend']}"
    )
    click.echo(
        f"model     {info['model'] or 'none (BM25 only)'} ({info['dim'] or '-'} dims{runtime})"
    )
    if info["dense_index"]:
        n = info["dense_vectors"] or info["passages"]
        per = info["dense_bytes"] / max(1, n)
        windows = f", {n} windows of {info['passages']} passages" if info["windows"] else ""
        click.echo(f"vectors   {info['dense_index']}, {per:.0f} bytes per vector on disk{windows}")
    click.echo(f"sources   {info['sources']} WARC file(s)")
    if info["shards"]:
        click.echo(f"shards    {info['shards']}")


@click.command()
@data_option
@click.option(
    "--all", "check_all", is_flag=True, help="Check every version, not only the live one."
)
def verify(data_dir: Path, check_all: bool) -> None:
    """Check that an index version's store, BM25 and FAISS agree and match their checksums."""
    from stepdr.core.errors import IndexCorruptError

    from .verify import verify_version

    index = IndexDir(data_dir)
    versions = index.candidates() if check_all else [index.current()]
    failed = 0
    for v in versions:
        try:
            m = verify_version(v)
            click.echo(f"ok      {v.name}: {m['passages']} passages")
        except IndexCorruptError as e:
            failed += 1
            click.echo(f"FAILED  {e}")
    if failed:
        raise click.ClickException(f"{failed} of {len(versions)} version(s) failed verification")
