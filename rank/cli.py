"""The stepdr-index command line: one click group, one command per verb.

This is the composition root: the group sits at the top of the dependency chain
(rank → index → crawl) and gathers each package's own commands, so no package
below has to import upward.  Each command lives in its package's ``*_cli`` module.
"""

from __future__ import annotations

import logging

import click

from stepdr.core.cli import StepdrGroup
from stepdr.crawl.cli import crawl, crawl_status, domains, mirror
from stepdr.index.cli import build, stats, verify

from .eval_cli import eval_
from .search_cli import open_, search
from .serve_cli import mcp, serve


@click.group(cls=StepdrGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="stepdr")
def main() -> None:
    """stepdr: a local, citable index of authoritative sources for research agents.

    Typical use: `crawl` the domains in domains.yaml into WARC files, `build` an
    index from them, then `search` it (or serve it to agents).
    """
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


for command in (
    crawl,
    crawl_status,
    mirror,
    domains,
    build,
    stats,
    verify,
    search,
    open_,
    serve,
    mcp,
    eval_,
):
    main.add_command(command)


if __name__ == "__main__":
    main()
