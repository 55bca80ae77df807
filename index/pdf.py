"""PDF text extraction (pypdf): one block per paragraph, headed by the page number."""

from __future__ import annotations

import io
import logging
import re

from .records import Block, ExtractedPage

_PARA = re.compile(r"\n\s*\n")


def is_pdf(body: bytes) -> bool:
    return body[:1024].lstrip().startswith(b"%PDF-")


def extract_pdf(body: bytes, url: str) -> ExtractedPage | None:
    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # malformed PDFs are common and noisy
    reader = PdfReader(io.BytesIO(body))
    blocks: list[Block] = []
    for number, page in enumerate(reader.pages, start=1):
        text = page.extract_text() or ""
        for para in _PARA.split(text):
            flat = " ".join(para.split())
            if flat:
                blocks.append(Block("paragraph", flat, (f"Page {number}",)))
    if not blocks:
        return None
    meta_title = reader.metadata.title if reader.metadata else None
    title = str(meta_title).strip() if meta_title else blocks[0].text[:120]
    return ExtractedPage(url=url, title=title, lang=None, published=None, blocks=tuple(blocks))
