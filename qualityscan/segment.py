"""The one definition of a paragraph: a non-blank line of the decoded text.

Scraped text arrives with one paragraph per line (often with blank lines between them), so
every line break ends a paragraph. Leading and trailing white space is trimmed from the
span; offsets always index into :attr:`Document.text`, so ``text[p.start:p.end] == p.text``.
For HTML input each paragraph also carries the :class:`~qualityscan.document.Block` it
came from.
"""

from __future__ import annotations

import bisect
import re

from qualityscan.document import Block, Document, Paragraph

_LINE = re.compile(r"[^\r\n]+")


def split_paragraphs(text: str, blocks: list[Block] | None = None) -> list[Paragraph]:
    """Split ``text`` into paragraphs with exact character offsets."""
    paragraphs: list[Paragraph] = []
    starts = [b.start for b in blocks] if blocks else []
    for match in _LINE.finditer(text):
        line = match.group()
        stripped = line.strip()
        if not stripped:
            continue
        start = match.start() + (len(line) - len(line.lstrip()))
        end = start + len(stripped)
        block = None
        if blocks:
            i = bisect.bisect_right(starts, start) - 1
            if i >= 0 and blocks[i].start <= start < max(blocks[i].end, blocks[i].start + 1):
                block = blocks[i]
        paragraphs.append(Paragraph(len(paragraphs), start, end, stripped, block))
    return paragraphs


def segment(document: Document) -> Document:
    """Fill ``document.paragraphs`` from its text (and HTML blocks, when present)."""
    document.paragraphs = split_paragraphs(document.text, document.blocks)
    return document
