"""CorpusStats: document frequency of short lines in a count-min sketch."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from qualityscan.corpus import CorpusStats, normalise_line
from qualityscan.document import Document
from qualityscan.segment import segment


def _doc(text: str, id: str = "d") -> Document:
    return segment(Document(id=id, source=id, text=text))


def test_counts_documents_not_occurrences() -> None:
    stats = CorpusStats()
    stats.add(_doc("Leave a Reply\nLeave a Reply\nFirst article text.", "a"))
    stats.add(_doc("Leave a Reply\nSecond article text.", "b"))
    assert stats.documents == 2
    assert stats.count("Leave a Reply") == 2
    assert stats.count("First article text.") == 1
    assert stats.count("never seen") == 0


def test_normalisation_ignores_case_digits_and_punctuation() -> None:
    assert normalise_line("Total 0 Shares") == normalise_line("TOTAL — 12 shares!")
    assert normalise_line("Back to top") != normalise_line("Back to bottom")
    stats = CorpusStats()
    stats.add(_doc("Total 0 Shares", "a"))
    stats.add(_doc("total 15 shares", "b"))
    assert stats.count("TOTAL 3 SHARES") == 2


def test_others_excludes_the_document_itself() -> None:
    stats = CorpusStats()
    for i in range(4):
        stats.add(_doc(f"Related Posts\nbody {i} text here", str(i)))
    assert stats.others("Related Posts", document_counted=True) == 3
    assert stats.others("Related Posts", document_counted=False) == 4
    assert stats.others("unseen line", document_counted=True) == 0
    key = normalise_line("RELATED posts!")
    assert stats.others("RELATED posts!", True, key) == stats.others("RELATED posts!", True) == 3
    assert CorpusStats(max_line_chars=5).count("Related Posts", key) == 0  # the length limit still holds


def test_long_and_empty_lines_are_not_counted() -> None:
    stats = CorpusStats(max_line_chars=20)
    long_line = "a long paragraph of running text that exceeds the limit"
    stats.add(_doc(f"{long_line}\n---\nshort line", "a"))
    stats.add(_doc(f"{long_line}\nshort line", "b"))
    assert stats.count(long_line) == 0
    assert stats.count("---") == 0
    assert stats.count("short line") == 2


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sets(st.sampled_from([f"line {chr(97 + i)}{chr(97 + j)}" for i in range(8) for j in range(8)]),
                        max_size=12), min_size=1, max_size=15))
def test_sketch_never_undercounts(documents: list[set[str]]) -> None:
    stats = CorpusStats(width=16, depth=2)  # tiny: collisions are certain
    for i, lines in enumerate(documents):
        stats.add(_doc("\n".join(sorted(lines)), str(i)))
    for line in {line for lines in documents for line in lines}:
        true = sum(line in lines for lines in documents)
        assert true <= stats.count(line) <= sum(len(lines) for lines in documents)


def test_snapshot_freezes_the_counts_of_several_documents_lines() -> None:
    stats = CorpusStats()
    docs = [_doc(f"Related Posts\nbody {name} text here", name) for name in ("ann", "bob", "cy")]
    for document in docs:
        stats.add(document)
    frozen = stats.snapshot(docs[:2])
    stats.add(_doc("Related Posts\nlater", "late"))
    assert frozen.count("Related Posts") == 3 and stats.count("Related Posts") == 4
    assert frozen.count("body bob text here") == 1
    assert frozen.count("body cy text here") == 0  # not a line of the snapshot's documents
    assert frozen.documents == 3


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=60))
def test_ascii_shortcut_matches_the_general_normalisation(text: str) -> None:
    import re
    import unicodedata

    general = " ".join(re.sub(r"[\W\d_]+", " ", unicodedata.normalize("NFKC", text).casefold()).split())
    assert normalise_line(text) == general


def test_pickled_sketch_keeps_its_counts_and_stays_writable() -> None:
    import pickle

    stats = CorpusStats(width=64, depth=3)
    stats.add(_doc("Leave a Reply\nFirst article text.", "a"))
    assert stats.count("Leave a Reply") == 1
    copy = pickle.loads(pickle.dumps(stats))
    copy.add(_doc("Leave a Reply", "b"))
    assert copy.count("Leave a Reply") == 2 and stats.count("Leave a Reply") == 1
    assert int(copy._table.sum()) == 3 * 3  # three distinct lines counted in each of 3 rows


def test_vectorised_cells_follow_the_per_key_definition() -> None:
    import hashlib
    import struct

    stats = CorpusStats(width=1000, depth=3)
    keys = ["leave a reply", "related posts", "é ß", "x" * 300]
    for key, cells in zip(keys, stats._cells(keys).tolist()):
        digest = hashlib.blake2b(key.encode("utf-8"), digest_size=24).digest()
        assert cells == [row * 1000 + v % 1000 for row, v in enumerate(struct.unpack("<3Q", digest))]
    assert stats.counts(["Leave a Reply", "x" * 300, "---"]) == [0, 0, 0]
    stats.add(_doc("Leave a Reply\nRelated Posts\n---", "a"))
    assert stats.others_many(["LEAVE a reply!", "Related Posts", "---"], document_counted=False) == [1, 1, 0]
