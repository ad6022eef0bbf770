"""The reliability set's back-translation family (scripts/compose.py) and its separation
from the garble detector's training data (scripts/train_garble.py)."""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import compose


def test_reservation_is_a_stable_third():
    texts = [f"original article number {i}" for i in range(3000)]
    reserved = [compose.reserved_back_translation(t) for t in texts]
    assert reserved == [compose.reserved_back_translation(t) for t in texts]
    assert 0.29 < sum(reserved) / len(texts) < 0.37


@pytest.fixture(scope="module")
def pairs(data_root: Path) -> list[dict]:
    with gzip.open(data_root / "paraphrase" / "paraphrase_pairs.jsonl.gz", "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    return [r for r in rows if r["subset"] == "back_translation" and r["label"] == 1
            and not r["domain"].startswith("arxiv")]


def test_garble_never_trains_on_a_reserved_pair(data_root: Path, pairs: list[dict]):
    from train_garble import bt_docs, split_sentences_into_paragraphs

    reserved = {tuple(split_sentences_into_paragraphs(r[side], 3)) for r in pairs
                if compose.reserved_back_translation(r["text_a"]) for side in ("text_a", "text_b")}
    used = {tuple(d.paragraphs) for d in bt_docs(data_root)}
    assert reserved and used
    assert not reserved & used
    assert len(used) == 2 * sum(not compose.reserved_back_translation(r["text_a"]) for r in pairs)


def test_back_translation_family_is_the_reserved_pairs(data_root: Path, pairs: list[dict]):
    docs: list[compose.LabelledDoc] = []
    compose._back_translation(data_root, {}, docs)
    originals = {"\n".join(compose.paragraphs_from_flat(r["text_a"])) for r in pairs
                 if compose.reserved_back_translation(r["text_a"])}
    assert docs and all(d.family == "back_translation" for d in docs)
    assert {d.text for d in docs if d.label == 1} <= originals
    by_group: dict[str, list[int]] = {}
    for d in docs:
        by_group.setdefault(d.group, []).append(d.label)
    assert all(labels.count(0) == labels.count(1) for labels in by_group.values())  # pairs never split
