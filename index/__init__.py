"""Indexing: WARCs in, paragraph-level passages, a passage store and BM25 out."""

from .records import Passage, cite_id, passage_id
from .versions import IndexDir

__all__ = ["IndexDir", "Passage", "cite_id", "passage_id"]
