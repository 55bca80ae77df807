"""Options shared by the stepdr-index commands: where data and domains live."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from .errors import StepdrError

F = TypeVar("F", bound=Callable[..., Any])


class StepdrGroup(click.Group):
    """A command group that turns every StepdrError into a one-line 'Error: …', exit 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except StepdrError as e:
            raise click.ClickException(str(e)) from None


_DATA: dict[str, Any] = {
    "type": click.Path(file_okay=False, path_type=Path),
    "default": lambda: os.environ.get("STEPDR_DATA", "data"),
    "show_default": "./data or $STEPDR_DATA",
}


def data_option(f: F) -> F:
    return click.option(
        "--data", "data_dir", help="Data directory (WARCs, mirrors, index versions).", **_DATA
    )(f)


def index_option(help: str) -> Callable[[F], F]:
    """The data directory as the agent's commands name it: --index, or --data."""
    return click.option("--index", "--data", "data_dir", help=help, **_DATA)


def domains_option(f: F) -> F:
    return click.option(
        "--domains",
        "domains_file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="domains.yaml to use [default: ./domains.yaml, else the shipped list].",
    )(f)


def mirrors_option(f: F) -> F:
    return click.option(
        "--mirrors",
        "mirrors_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Directory of local site copies [default: DATA/mirrors].",
    )(f)
