"""scripts/benchmark.py: the one-document input of the paragraph curve."""

from __future__ import annotations

import json
from pathlib import Path

from benchmark import paragraph_document

LONG = "x" * 80


def _corpus(tmp_path: Path) -> Path:
    rows = [
        {"id": "page:1", "text": f"page one {LONG}\nshort line\nshared {LONG}"},
        {"id": "gt:1", "text": f"truth one {LONG}\nshared {LONG}\ntiny"},
        {"id": "mqm:1", "text": f"mt one {LONG}\nmt one {LONG}"},
        {"id": "mtext:1", "text": f"machine one {LONG}"},
    ]
    path = tmp_path / "corpus.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_ground_truth_and_mt_lines_come_first_in_order(tmp_path: Path):
    lines = paragraph_document(_corpus(tmp_path), 3).split("\n")
    assert lines == [f"truth one {LONG}", f"shared {LONG}", f"mt one {LONG}"]


def test_then_unused_lines_of_the_whole_corpus_then_cycling(tmp_path: Path):
    lines = paragraph_document(_corpus(tmp_path), 8).split("\n")
    first = [f"truth one {LONG}", f"shared {LONG}", f"mt one {LONG}", f"mt one {LONG}"]
    more = [f"page one {LONG}", f"machine one {LONG}"]  # "shared" and "mt one" are used already
    assert lines == first + more + first[:2]
    assert all(len(line) >= 80 for line in lines)
