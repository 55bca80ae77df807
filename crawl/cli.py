"""stepdr-index commands that belong to crawling: crawl, mirror fetch|serve, domains."""

from __future__ import annotations

import contextlib
from pathlib import Path

import click

from stepdr.core.cli import data_option, domains_option, mirrors_option

from .domains_cli import domains
from .domains_yaml import default_domains_file, load_domains
from .mirror import MirrorMap, MirrorServer


@click.command()
@data_option
@domains_option
@mirrors_option
@click.option(
    "--offline", is_flag=True, help="Crawl only mirrored entries; never touch the network."
)
@click.option("--only", multiple=True, help="Crawl only this domain (repeatable).")
@click.option(
    "--budget", type=click.IntRange(min=1), help="Max pages per entry (overrides the list)."
)
@click.option(
    "--recrawl",
    is_flag=True,
    help="Visit every known page again (conditional requests; stores only what changed).",
)
@click.option(
    "--contact",
    metavar="URL",
    help="Contact URL in the User-Agent, for site owners [default: the project's page].",
)
@click.option("--quiet", "-q", is_flag=True, help="Log warnings only; no progress display.")
def crawl(
    data_dir: Path,
    domains_file: Path | None,
    mirrors_dir: Path | None,
    offline: bool,
    only: tuple[str, ...],
    budget: int | None,
    recrawl: bool,
    contact: str | None,
    quiet: bool,
) -> None:
    """Crawl the domains in domains.yaml into WARC files under DATA/warc.

    Mirrored entries are fetched from their local copy under their real URLs.
    The crawl state lives in DATA/crawl: stop a crawl any way (Ctrl-C, kill -9)
    and run the command again to continue it; a finished crawl is not repeated.
    --recrawl starts a new pass over every page (a stopped recrawl continues
    with a plain `crawl`).
    """
    from .config import DEFAULT_CONTACT, CrawlConfig
    from .run import run_crawl
    from .summary import format_summary

    config = CrawlConfig(
        domains_file=domains_file or default_domains_file(),
        data_dir=data_dir,
        mirrors_dir=mirrors_dir or data_dir / "mirrors",
        offline=offline,
        only=only,
        budget=budget,
        log_level="WARNING" if quiet else "INFO",
        recrawl=recrawl,
        contact_url=contact or DEFAULT_CONTACT,
        progress="off" if quiet else "auto",
    )
    result = run_crawl(config)
    click.echo(
        f"crawled {result.pages} pages ({result.responses} responses) "
        f"into {len(result.warc_files)} new WARC file(s) under {config.warc_dir}"
    )
    if result.summary and not quiet:
        for line in format_summary(result.summary):
            click.echo(line)


@click.group()
def mirror() -> None:
    """Local copies of sites, served under their real URLs."""


@mirror.command("fetch")
@data_option
@domains_option
@mirrors_option
def mirror_fetch(data_dir: Path, domains_file: Path | None, mirrors_dir: Path | None) -> None:
    """Unpack the Debian packages that hold the declared mirrors (skips ones present)."""
    from .debian import fetch_packages, packages_needed

    domains = load_domains(domains_file)
    target = mirrors_dir or data_dir / "mirrors"
    needed = packages_needed(domains, target)
    if needed:
        fetch_packages(needed, target, say=click.echo)
    n = len(MirrorMap.from_domains(domains, target, strict=True).sites)
    click.echo(f"{n} mirrored site(s) ready under {target}")


@mirror.command("serve")
@data_option
@domains_option
@mirrors_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
def mirror_serve(
    data_dir: Path, domains_file: Path | None, mirrors_dir: Path | None, host: str, port: int
) -> None:
    """Serve the mirrors over HTTP (as a proxy: `curl -x http://HOST:PORT URL`)."""
    domains = load_domains(domains_file)
    mm = MirrorMap.from_domains(domains, mirrors_dir or data_dir / "mirrors", strict=False)
    server = MirrorServer(mm, host, port)
    for s in mm.sites:
        click.echo(f"{s.domain.base_url} <- {s.root}")
    click.echo(f"serving on {server.proxy_url}")
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


__all__ = ["crawl", "domains", "mirror"]
