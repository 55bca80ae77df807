"""Ranking options shared by search, serve, mcp and eval (cheap to import: click only)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from .pipeline import RankConfig

F = TypeVar("F", bound=Callable[..., Any])

_RANK_KEYS = (
    "fusion",
    "authority_weight",
    "per_page",
    "per_domain",
    "cross_encoder",
    "bm25_only",
    "question_stopwords",
    "question_dense_weight",
    "question_boosts",
    "page_weight",
    "named_site_factor",
    "title_match",
)


def rank_options(f: F) -> F:
    """--fusion, --authority-weight, --per-page, --per-domain, --cross-encoder, --bm25-only,
    --question-stopwords, --question-dense-weight, --question-boosts, --page-weight,
    --named-site-factor, --title-match."""
    options = [
        click.option(
            "--fusion",
            type=click.Choice(["rrf", "weighted"]),
            default="rrf",
            show_default=True,
            help="Reciprocal-rank fusion, or weighted fusion of relative scores.",
        ),
        click.option(
            "--authority-weight",
            type=click.FloatRange(0.0, 1.0),
            default=0.3,
            show_default=True,
            help="β of the authority prior π = 1 − β + β·authority (0: off).",
        ),
        click.option(
            "--per-page",
            type=click.IntRange(0),
            default=2,
            show_default=True,
            help="Passages of one page before others (more come after; 0: no cap).",
        ),
        click.option(
            "--per-domain",
            type=click.IntRange(0),
            default=5,
            show_default=True,
            help="Passages of one domain before others (more come after; 0: no cap).",
        ),
        click.option(
            "--cross-encoder",
            type=click.Path(file_okay=False),
            default=None,
            help="Local sentence-transformers CrossEncoder directory to rerank with.",
        ),
        click.option("--bm25-only", is_flag=True, help="Skip dense retrieval."),
        click.option(
            "--question-stopwords/--no-question-stopwords",
            default=True,
            show_default=True,
            help="Search BM25 with only the content words of a question in words.",
        ),
        click.option(
            "--question-dense-weight",
            type=click.FloatRange(0.0),
            default=3.0,
            show_default=True,
            help="The dense list's fusion weight for a question in words (1: as for any query).",
        ),
        click.option(
            "--question-boosts/--no-question-boosts",
            default=True,
            show_default=True,
            help="Weigh title, headings and text alike in a question's BM25 search.",
        ),
        click.option(
            "--page-weight",
            type=click.FloatRange(0.0, 1.0),
            default=0.3,
            show_default=True,
            help="How much a question's passage gains from its page's other matches (0: off).",
        ),
        click.option(
            "--named-site-factor",
            type=click.FloatRange(0.0, 1.0),
            default=0.5,
            show_default=True,
            help="Prior of other sites' passages when a query names sites of the index (1: off).",
        ),
        click.option(
            "--title-match",
            type=click.FloatRange(0.0, 10.0),
            default=1.0,
            show_default=True,
            help="What a passage gains, × (1 + this), when the query is its page's title or "
            "one of its headings (0: off).",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def pop_rank_config(kwargs: dict[str, Any]) -> RankConfig:
    """Take the rank options out of a command's kwargs and build the RankConfig."""
    from .pipeline import RankConfig

    v = {k: kwargs.pop(k) for k in _RANK_KEYS}
    return RankConfig(
        dense=not v["bm25_only"],
        fusion=v["fusion"],
        authority_weight=v["authority_weight"],
        per_page=v["per_page"],
        per_domain=v["per_domain"],
        cross_encoder=v["cross_encoder"],
        question_stopwords=v["question_stopwords"],
        question_dense_weight=v["question_dense_weight"],
        question_boosts=v["question_boosts"],
        page_weight=v["page_weight"],
        named_site_factor=v["named_site_factor"],
        title_match=v["title_match"],
    )


def loopback_host(ctx: click.Context, param: click.Parameter, value: str) -> str:
    from .guard import is_loopback

    if not is_loopback(value):
        raise click.BadParameter(f"{value}: the server listens on loopback only (127.0.0.1, ::1)")
    return value


def server_options(f: F) -> F:
    """--host, --port and the Bearer token (--token, $STEPDR_TOKEN, or generated)."""
    options = [
        click.option(
            "--host",
            default="127.0.0.1",
            show_default=True,
            callback=loopback_host,
            help="Loopback address to listen on.",
        ),
        click.option("--port", type=click.IntRange(1, 65535), default=8765, show_default=True),
        click.option(
            "--token",
            envvar="STEPDR_TOKEN",
            default=None,
            help="Bearer token clients must send [default: $STEPDR_TOKEN, else a new "
            "random one, printed at start].",
        ),
        click.option(
            "--no-auth",
            is_flag=True,
            help="Accept requests without a token (any local process can then search).",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def resolve_token(token: str | None, no_auth: bool) -> tuple[str | None, bool]:
    """(token, generated): None only with --no-auth."""
    if no_auth:
        return None, False
    if token:
        return token, False
    return secrets.token_urlsafe(24), True


def default_workers() -> int:
    # Searches in flight share query-embedding passes (index/coalesce.py), so more of
    # them than cores is the point: at 16 clients on 2 cores, 16 workers doubled req/s.
    return 16
