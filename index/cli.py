"""stepdr-index commands that belong to the index: build, stats."""

from __future__ import annotations

import json
from pathlib import Path

import click

from stepdr.crawl.domains import load_domains
from stepdr.crawl.options import data_option, default_domains_file, domains_option

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
@click.option(
    "--keep", type=click.IntRange(min=1), default=3, show_default=True, help="Versions to keep."
)
def build(
    data_dir: Path,
    domains_file: Path | None,
    warcs: tuple[Path, ...],
    workers: int,
    force: bool,
    keep: int,
) -> None:
    """Build a new index version from WARC files and make it live.

    Reads every HTML response (the latest copy of each URL), extracts its main
    text into paragraph-level passages and indexes them.  The previous version
    stays live until the new one is complete.
    """
    from .build import BuildConfig, build_index

    domains = load_domains(domains_file or default_domains_file())
    config = BuildConfig(data_dir=data_dir, warcs=warcs, workers=workers, force=force, keep=keep)
    result = build_index(config, domains, say=click.echo)
    if result.skipped:
        click.echo(f"index is up to date ({result.version.name}); use --force to rebuild")
        return
    click.echo(
        f"built {result.version.name}: {result.passages} passages from {result.pages} pages "
        f"({result.failed_pages} failed) in {result.seconds:.1f}s"
    )


@click.command()
@data_option
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
def stats(data_dir: Path, as_json: bool) -> None:
    """Show the live index version: passages, pages, sources."""
    version = IndexDir(data_dir).current()
    m = read_manifest(version)
    if as_json:
        click.echo(json.dumps({"version": version.name, **m}, indent=2))
        return
    click.echo(f"version   {version.name}  (built {m['built']})")
    click.echo(f"passages  {m['passages']}")
    click.echo(f"pages     {m['pages']}  ({m['failed_pages']} failed extraction)")
    click.echo(f"sources   {len(m['sources'])} WARC file(s)")
