"""qualityscan as a step in other tools' pipelines: Scrapy (``integrations.scrapy``) and Ray
Data (``integrations.ray``).

Both share what is here: :class:`StreamScorer` scores one document at a time with a
:class:`~qualityscan.scanner.Scanner` while counting template lines across everything it has
seen (bounded memory); :class:`~qualityscan.thresholds.Thresholds` decides whether a scored
document is kept.
Neither holds scoring logic of its own.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from qualityscan.corpus import CorpusStats
from qualityscan.document import Document, Report
from qualityscan.thresholds import Thresholds

if TYPE_CHECKING:
    from qualityscan.scanner import Scanner


class StreamScorer:
    """Scores documents one at a time, with corpus line counts over all documents seen so far.

    Each document is counted before it is scored (as in :meth:`Scanner.scan_documents`); the
    count-min sketch keeps memory flat however long the stream. Early documents see fewer
    counts than later ones, so template lines are recognised from the corpus only once a few
    pages of a site have gone by.
    """

    def __init__(self, scanner: Scanner, corpus: bool = True) -> None:
        self.scanner = scanner
        self.stats = CorpusStats() if corpus else None

    def score(self, document: Document) -> Report:
        """Segment, count and score one document."""
        return self.score_many([document])[0]

    def score_many(self, documents: Sequence[Document]) -> list[Report]:
        """Segment and count all ``documents`` (a warm-up window), then score each."""
        prepared = [self.scanner.prepare(d) for d in documents]
        if self.stats is not None:
            for document in prepared:
                if document.paragraphs:
                    self.stats.add(document)
        return self.scanner.score_many(prepared, self.stats)


def make_document(text: Any, html: Any, id: str, source: str) -> Document:
    """A Document from an item's/row's HTML (preferred when present) or text; a Document with
    an error when neither holds a string."""
    from qualityscan.readers import document_from_html, document_from_text
    from qualityscan.readers.options import error_document

    if _present(html):
        if not isinstance(html, (str, bytes)):
            return error_document(id, source, f"{source}: HTML field is {type(html).__name__}, not str/bytes")
        return document_from_html(html, id=id, source=source)
    if _present(text):
        if not isinstance(text, str):
            return error_document(id, source, f"{source}: text field is {type(text).__name__}, not str")
        return document_from_text(text, id=id, source=source)
    return error_document(id, source, f"{source}: no text to score (field missing or empty)")


def _present(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, float) and math.isnan(value):
        return False
    return not (isinstance(value, (str, bytes)) and not value.strip())


__all__ = ["StreamScorer", "Thresholds", "make_document"]
