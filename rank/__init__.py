"""Ranking and the batch_web_surfer backend (search and open over the live index)."""

from .results import OpenResult, SearchResult
from .surfer import Surfer

__all__ = ["OpenResult", "SearchResult", "Surfer"]
