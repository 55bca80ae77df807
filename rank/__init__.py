"""Ranking and the batch_web_surfer backend (search and open over the live index).

Names load on first use, so the command line starts without numpy and tantivy.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .format import format_open_results, format_search_results
    from .pipeline import RankConfig
    from .results import OpenResult, Scores, SearchResult
    from .surfer import Surfer

_HOMES = {
    "OpenResult": "results",
    "RankConfig": "pipeline",
    "Scores": "results",
    "SearchResult": "results",
    "Surfer": "surfer",
    "format_open_results": "format",
    "format_search_results": "format",
}
__all__ = [
    "OpenResult",
    "RankConfig",
    "Scores",
    "SearchResult",
    "Surfer",
    "format_open_results",
    "format_search_results",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{_HOMES[name]}", __name__), name)
