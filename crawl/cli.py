"""stepdr-index commands that belong to crawling: crawl, crawl-status, mirror, domains."""

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
@click.option(
    "--redis",
    "redis_url",
    metavar="URL",
    help="Join the crawl this Redis coordinates (redis://HOST:PORT/DB or unix://PATH).",
)
@click.option("--worker", metavar="NAME", help="This worker's name in that crawl.")
@click.option(
    "--crawl-name",
    default="crawl",
    show_default=True,
    help="Which crawl on that Redis (one Redis can hold several).",
)
@click.option(
    "--leases",
    type=click.IntRange(min=1),
    default=16,
    show_default=True,
    help="Partitions (registered domains) this worker crawls at a time.",
)
@click.option(
    "--lease-ttl",
    type=click.FloatRange(min=1.0),
    default=10.0,
    show_default=True,
    help="Seconds without a heartbeat before a worker's partitions go to others.",
)
@click.option(
    "--page-processes",
    type=click.IntRange(min=0),
    help="Worker processes for link parsing and WARC compression (0: threads)"
    " [default: one per core beyond the first, at most 4; 0 with --redis].",
)
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
    redis_url: str | None,
    worker: str | None,
    crawl_name: str,
    leases: int,
    lease_ttl: float,
    page_processes: int | None,
) -> None:
    """Crawl the domains in domains.yaml into WARC files under DATA/warc.

    Mirrored entries are fetched from their local copy under their real URLs.
    The crawl state lives in DATA/crawl: stop a crawl any way (Ctrl-C, kill -9)
    and run the command again to continue it; a finished crawl is not repeated.
    --recrawl starts a new pass over every page (a stopped recrawl continues
    with a plain `crawl`).

    With --redis and --worker, this process is one worker of a crawl spread over
    many: each registered domain of the list is a partition, crawled by one worker
    at a time from its own journal (DATA/crawl/parts) into DATA/warc/DOMAIN.  Start
    as many workers as you like, on one machine or many; a worker that dies has its
    partitions taken over by the others once its heartbeat expires.  `build` reads
    every worker's WARC files; `crawl-status` shows the crawl.
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
        page_processes=page_processes,
        progress="off" if quiet else "auto",
        redis=redis_url or "",
        worker=worker or "",
        crawl_name=crawl_name,
        leases=leases,
        lease_ttl=lease_ttl,
    )
    if worker and not redis_url:
        raise click.UsageError("--worker needs --redis URL")
    result = run_crawl(config)
    who = f"worker {worker}: " if worker else ""
    click.echo(
        f"{who}crawled {result.pages} pages ({result.responses} responses) "
        f"into {len(result.warc_files)} new WARC file(s) under {config.warc_dir}"
    )
    if result.summary and not quiet:
        for line in format_summary(result.summary):
            click.echo(line)


@click.command("crawl-status")
@click.option("--redis", "redis_url", metavar="URL", required=True, help="The crawl's Redis.")
@click.option("--crawl-name", default="crawl", show_default=True, help="Which crawl on it.")
@click.option("--all", "every", is_flag=True, help="List every partition, not only leased ones.")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def crawl_status(redis_url: str, crawl_name: str, every: bool, as_json: bool) -> None:
    """Show a partitioned crawl: partitions by state, workers, pages, rates and errors."""
    import json

    from .crawl_status import crawl_status as read_status
    from .crawl_status import format_status
    from .leases import connect

    status = read_status(connect(redis_url), crawl_name)
    if as_json:
        click.echo(json.dumps(status, indent=2, sort_keys=True))
    else:
        for line in format_status(status, every):
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


__all__ = ["crawl", "crawl_status", "domains", "mirror"]
