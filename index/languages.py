"""Which languages an embedding model covers, and which language a query is in.

A dense retriever whose model never saw a language ranks its queries by noise (the
bundled all-MiniLM-L6-v2 is English: Chinese questions over Chinese pages score 0.46
MRR dense against 0.82 BM25), so such queries go to BM25 alone.  A model's languages
come from its card (the ``language:`` field of the README front matter, as the
sentence-transformers and Hugging Face cards write it); a model whose card says
``multilingual`` or names no language is taken to cover every language.  A query's
language is told by its script; Latin script is covered by any model that covers a
Latin-script language.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import yaml

# Script ranges, in the order they are looked for; the first one a query has decides.
_SCRIPTS = (
    ("ja", re.compile(r"[\u3040-\u30ff]")),  # kana before Han: Japanese mixes both
    ("ko", re.compile(r"[\uac00-\ud7af\u1100-\u11ff]")),
    ("zh", re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")),
    ("ru", re.compile(r"[\u0400-\u04ff]")),
    ("ar", re.compile(r"[\u0600-\u06ff]")),
    ("he", re.compile(r"[\u0590-\u05ff]")),
    ("el", re.compile(r"[\u0370-\u03ff]")),
    ("hi", re.compile(r"[\u0900-\u097f]")),
    ("th", re.compile(r"[\u0e00-\u0e7f]")),
)
# Languages written in Latin script that model cards commonly name.
_LATIN = frozenset(
    [
        "en",
        "fr",
        "de",
        "es",
        "it",
        "pt",
        "nl",
        "sv",
        "da",
        "no",
        "nb",
        "fi",
        "pl",
        "cs",
        "sk",
        "sl",
        "hr",
        "ro",
        "hu",
        "tr",
        "id",
        "ms",
        "vi",
        "ca",
        "et",
        "lv",
        "lt",
    ]
)
_FRONT = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)


def card_languages(model_dir: Path) -> tuple[str, ...] | None:
    """The languages a model's card names (lower-case codes), or None for all/unknown."""
    readme = model_dir / "README.md"
    try:
        m = _FRONT.match(readme.read_text(encoding="utf-8", errors="replace"))
        meta = yaml.safe_load(m.group(1)) if m else None
    except (OSError, yaml.YAMLError):
        return None
    value = meta.get("language") if isinstance(meta, dict) else None
    names = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    codes = tuple(dict.fromkeys(str(n).strip().lower().split("-")[0] for n in names if n))
    if not codes or "multilingual" in codes:
        return None
    return codes


def query_language(text: str) -> str | None:
    """The language a query's script shows ("zh", "ja", …); None for Latin script."""
    for lang, script in _SCRIPTS:
        if script.search(text):
            return lang
    return None


def covers(languages: Iterable[str] | None, text: str) -> bool:
    """Whether a model of ``languages`` (None: all) can embed ``text`` meaningfully."""
    if languages is None:
        return True
    known = set(languages)
    lang = query_language(text)
    if lang is None:
        return bool(known & _LATIN) or not known
    return lang in known
