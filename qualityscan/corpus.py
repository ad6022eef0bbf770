"""Cross-document state with bounded memory: how many documents share a short line.

Site chrome ("Leave a Reply", "Related Posts") repeats across the pages of a site while
article text does not. :class:`CorpusStats` counts, for each normalised short line, the
number of documents it occurs in, using a count-min sketch (Cormode & Muthukrishnan, 2005):
a fixed ``depth x width`` table of counters, so memory stays flat however many documents
stream by; counts can only be over-estimated, by at most ``e * N / width`` with probability
``1 - exp(-depth)``.
"""

from __future__ import annotations

import hashlib
import re
import struct
import unicodedata
from collections.abc import Iterable
from typing import Any

import numpy as np

from qualityscan.document import Document

_NON_WORD = re.compile(r"[\W\d_]+", re.UNICODE)
#: On ASCII text (already NFKC, where casefold is lower) ``_NON_WORD`` keeps exactly the letters.
_ASCII_NON_LETTER = str.maketrans({chr(c): " " for c in range(128) if not chr(c).isalpha()})


def normalise_line(text: str) -> str:
    """Case-, digit- and punctuation-insensitive key of a line ("Total 0 Shares" == "total shares")."""
    if text.isascii():
        return " ".join(text.lower().translate(_ASCII_NON_LETTER).split())
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_NON_WORD.sub(" ", text).split())


class CorpusStats:
    """Document frequency of short lines across a corpus, in a count-min sketch.

    Parameters
    ----------
    width, depth:
        Sketch size: memory is ``width * depth * 4`` bytes (default 4 MiB).
    max_line_chars:
        Only lines up to this length are counted (template lines are short).
    """

    def __init__(self, width: int = 1 << 18, depth: int = 4, max_line_chars: int = 200) -> None:
        self.width = width
        self.depth = depth
        self.max_line_chars = max_line_chars
        self._table = np.zeros((depth, width), dtype=np.uint32)
        self.documents = 0

    @property
    def _flat(self) -> memoryview:
        # The table's counters in one row-major run, read and written as Python ints (a
        # numpy index per counter costs several times more); cached, not pickled.
        flat = self.__dict__.get("_flat_view")
        if flat is None:
            flat = self.__dict__["_flat_view"] = memoryview(self._table).cast("B").cast("I")
        return flat

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_flat_view"}

    def _cells(self, key: str) -> list[int]:
        """Positions in :attr:`_flat` of ``key``'s counter in each row: the row's slice of
        a BLAKE2b digest (8 little-endian bytes per row) modulo the width."""
        digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8 * self.depth).digest()
        width = self.width
        return [row * width + value % width
                for row, value in enumerate(struct.unpack(f"<{self.depth}Q", digest))]

    def keys(self, document: Document) -> set[str]:
        """The distinct normalised short-line keys of a segmented document."""
        keys = set()
        for paragraph in document.paragraphs:
            if len(paragraph.text) <= self.max_line_chars:
                key = normalise_line(paragraph.text)
                if key:
                    keys.add(key)
        return keys

    def add(self, document: Document) -> None:
        """Count each distinct short line of ``document`` once."""
        flat = self._flat
        for key in self.keys(document):
            for cell in self._cells(key):
                flat[cell] += 1
        self.documents += 1

    def count(self, text: str, key: str | None = None) -> int:
        """Estimated number of counted documents containing this line (0 for long lines).
        ``key`` is ``normalise_line(text)`` when the caller has already computed it."""
        if len(text) > self.max_line_chars:
            return 0
        if key is None:
            key = normalise_line(text)
        return self._count_key(key) if key else 0

    def others(self, text: str, document_counted: bool, key: str | None = None) -> int:
        """How many *other* documents share this line (excluding the document itself);
        ``key`` as in :meth:`count`."""
        n = self.count(text, key)
        return max(0, n - 1) if document_counted else n

    def snapshot(self, documents: Iterable[Document]) -> LineCounts:
        """The counts of these documents' own short lines, frozen: a small object to send
        to a worker process instead of the whole sketch."""
        keys = set().union(*(self.keys(d) for d in documents))
        return LineCounts({key: self._count_key(key) for key in keys}, self.documents, self.max_line_chars)

    def _count_key(self, key: str) -> int:
        flat = self._flat
        return min([flat[cell] for cell in self._cells(key)])


class LineCounts(CorpusStats):
    """Frozen document frequencies of one document's lines (see :meth:`CorpusStats.snapshot`);
    answers ``count``/``others`` like the sketch it came from."""

    def __init__(self, counts: dict[str, int], documents: int, max_line_chars: int) -> None:
        self.max_line_chars = max_line_chars
        self.documents = documents
        self._counts = counts

    def _count_key(self, key: str) -> int:
        return self._counts.get(key, 0)

    def add(self, document: Document) -> None:
        raise TypeError("LineCounts is a frozen snapshot; add documents to the CorpusStats it came from")
