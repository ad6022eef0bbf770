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
import unicodedata
from collections.abc import Iterable, Sequence

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

    def _cells(self, keys: Sequence[str]) -> np.ndarray:
        """Positions in the flattened table of each key's counter in each row, shape
        ``(len(keys), depth)``: the row's slice of the key's BLAKE2b digest (8 little-endian
        bytes per row) modulo the width."""
        size = 8 * self.depth
        digests = b"".join([hashlib.blake2b(key.encode("utf-8"), digest_size=size).digest() for key in keys])
        values = np.frombuffer(digests, dtype="<u8").reshape(len(keys), self.depth)
        return values % np.uint64(self.width) + np.arange(0, self.depth * self.width, self.width, dtype=np.uint64)

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
        keys = list(self.keys(document))
        if keys:
            np.add.at(self._table.reshape(-1), self._cells(keys).reshape(-1), 1)  # keys may share a cell
        self.documents += 1

    def count(self, text: str, key: str | None = None) -> int:
        """Estimated number of counted documents containing this line (0 for long lines).
        ``key`` is ``normalise_line(text)`` when the caller has already computed it."""
        return self.counts([text], None if key is None else [key])[0]

    def counts(self, texts: Sequence[str], keys: Sequence[str] | None = None) -> list[int]:
        """:meth:`count` of each of ``texts`` (``keys`` their :func:`normalise_line`), in one
        read of the table."""
        if keys is None:
            keys = [normalise_line(t) if len(t) <= self.max_line_chars else "" for t in texts]
        wanted = [i for i, (t, k) in enumerate(zip(texts, keys)) if k and len(t) <= self.max_line_chars]
        out = [0] * len(texts)
        for i, n in zip(wanted, self._count_keys([keys[i] for i in wanted])):
            out[i] = n
        return out

    def others(self, text: str, document_counted: bool, key: str | None = None) -> int:
        """How many *other* documents share this line (excluding the document itself);
        ``key`` as in :meth:`count`."""
        return self.others_many([text], document_counted, None if key is None else [key])[0]

    def others_many(self, texts: Sequence[str], document_counted: bool,
                    keys: Sequence[str] | None = None) -> list[int]:
        """:meth:`others` of each of ``texts``, ``keys`` as in :meth:`counts`."""
        counts = self.counts(texts, keys)
        return [max(0, n - 1) for n in counts] if document_counted else counts

    def snapshot(self, documents: Iterable[Document]) -> LineCounts:
        """The counts of these documents' own short lines, frozen: a small object to send
        to a worker process instead of the whole sketch."""
        keys = list(set().union(*(self.keys(d) for d in documents)))
        return LineCounts(dict(zip(keys, self._count_keys(keys))), self.documents, self.max_line_chars)

    def _count_keys(self, keys: Sequence[str]) -> list[int]:
        if not keys:
            return []
        return self._table.reshape(-1)[self._cells(keys)].min(axis=1).tolist()


class LineCounts(CorpusStats):
    """Frozen document frequencies of one document's lines (see :meth:`CorpusStats.snapshot`);
    answers ``count``/``others`` like the sketch it came from."""

    def __init__(self, counts: dict[str, int], documents: int, max_line_chars: int) -> None:
        self.max_line_chars = max_line_chars
        self.documents = documents
        self._counts = counts

    def _count_keys(self, keys: Sequence[str]) -> list[int]:
        return [self._counts.get(key, 0) for key in keys]

    def add(self, document: Document) -> None:
        raise TypeError("LineCounts is a frozen snapshot; add documents to the CorpusStats it came from")
