"""The one definition of a paragraph: a non-blank line of the decoded text, or the lines of a
hard-wrapped paragraph.

Scraped text arrives with one paragraph per line (often with blank lines between them), so a
line break normally ends a paragraph. Plain text that was hard-wrapped (a line break every
40-100 characters inside paragraphs, as in text dumps, mail archives and some benchmark gold
texts) is recognised per document (:func:`wrap_breaks`) and its wrapped lines are joined, so
that the detectors see the same paragraphs however the text was wrapped.

Leading and trailing white space is trimmed from the span; offsets always index into
:attr:`Document.text`: ``p.text`` is ``text[p.start:p.end]`` with each line-break character
inside a joined paragraph replaced by a space (same length, so an offset into ``p.text`` is
the same offset from ``p.start`` in the document). For HTML input each paragraph also
carries the :class:`~qualityscan.document.Block` it came from, and lines are never joined.
"""

from __future__ import annotations

import bisect
import re

from qualityscan.document import Block, Document, Paragraph

_LINE = re.compile(r"[^\r\n]+")
#: A line opening a list item: never the continuation of the line before.
_LIST_ITEM = re.compile(r"(?:[-*•·>]|\d{1,3}[.)]|[a-z][.)])\s")
#: Line-break characters, as spaces in a joined paragraph's text.
_BREAKS_AS_SPACES = str.maketrans("\r\n", "  ")

#: Wrap widths recognised: a text whose longest wrapped line is shorter is a list, a longer
#: one is one paragraph per line.
MIN_WRAP_WIDTH = 40
MAX_WRAP_WIDTH = 100
#: Share of a document's inner line breaks (a line followed by another without a blank line)
#: that must look like wrapping for the document to count as hard-wrapped.
MIN_WRAPPED_SHARE = 0.7
#: ... and at least this many of them: a title, byline and date on three short lines can look
#: wrapped by chance, a wrapped article has many such breaks.
MIN_WRAPPED_BREAKS = 5


def _lines(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, stripped text)`` of each non-blank line."""
    lines = []
    for match in _LINE.finditer(text):
        line = match.group()
        stripped = line.strip()
        if stripped:
            start = match.start() + (len(line) - len(line.lstrip()))
            lines.append((start, start + len(stripped), stripped))
    return lines


def wrap_breaks(text: str, lines: list[tuple[int, int, str]]) -> set[int]:
    """Indices ``i`` of the lines to join with line ``i + 1`` (empty unless the document is
    hard-wrapped).

    A line break inside a block (no blank line after it) looks like wrapping when the next
    line's first word would not have fitted on the line within the wrap width (the longest
    such line): a writer breaks a line early only on purpose. The document is hard-wrapped
    when that width is 40-100 characters and at least 70 % of its inner breaks, and at least
    five, look like wrapping; then exactly those breaks are joined (a short last line of a paragraph and a
    list item keep their own paragraphs).
    """
    inner = [i for i in range(len(lines) - 1)
             if _one_break(text[lines[i][1]:lines[i + 1][0]])]
    if len(inner) < MIN_WRAPPED_BREAKS:
        return set()
    width = max(len(lines[i][2]) for i in inner)
    if not MIN_WRAP_WIDTH <= width <= MAX_WRAP_WIDTH:
        return set()
    wrapped = {i for i in inner
               if len(lines[i][2]) + 1 + len(lines[i + 1][2].split(None, 1)[0]) > width
               and not _LIST_ITEM.match(lines[i + 1][2])}
    return wrapped if len(wrapped) >= max(MIN_WRAPPED_SHARE * len(inner), MIN_WRAPPED_BREAKS) else set()


def _one_break(gap: str) -> bool:
    """Whether the white space between two lines holds exactly one line break."""
    return gap.count("\n") + gap.count("\r") - gap.count("\r\n") == 1


def split_paragraphs(text: str, blocks: list[Block] | None = None) -> list[Paragraph]:
    """Split ``text`` into paragraphs with exact character offsets."""
    paragraphs: list[Paragraph] = []
    lines = _lines(text)
    if blocks:
        starts = [b.start for b in blocks]
        for start, end, stripped in lines:
            i = bisect.bisect_right(starts, start) - 1
            block = None
            if i >= 0 and blocks[i].start <= start < max(blocks[i].end, blocks[i].start + 1):
                block = blocks[i]
            paragraphs.append(Paragraph(len(paragraphs), start, end, stripped, block))
        return paragraphs
    joined = wrap_breaks(text, lines)
    k = 0
    while k < len(lines):
        first = k
        while k in joined:
            k += 1
        start, end = lines[first][0], lines[k][1]
        body = lines[k][2] if first == k else text[start:end].translate(_BREAKS_AS_SPACES)
        paragraphs.append(Paragraph(len(paragraphs), start, end, body))
        k += 1
    return paragraphs


def segment(document: Document) -> Document:
    """Fill ``document.paragraphs`` from its text (and HTML blocks, when present)."""
    document.paragraphs = split_paragraphs(document.text, document.blocks)
    return document
