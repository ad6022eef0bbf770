"""The reliability set (scripts/compose.py): the back-translation family and its separation
from the garble detector's training data (scripts/train_garble.py), and the cleaning rules."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import compose
import pytest


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


@pytest.mark.parametrize(("domain", "usable"), [("arxiv abstract", False), ("arxiv", False),
                                                 ("news (XSum/BBC)", True), ("review (Yelp)", True)])
def test_round_trip_domain_rule(domain: str, usable: bool):
    assert compose.round_trip_domain_usable(domain) is usable


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
    originals = {"\n".join(compose.paragraphs_from_flat(compose.detectrl_text(r["text_a"], r["domain"])))
                 for r in pairs if compose.reserved_back_translation(r["text_a"])}
    assert docs and all(d.family == "back_translation" for d in docs)
    assert {d.text for d in docs if d.label == 1} <= originals
    by_group: dict[str, list[int]] = {}
    for d in docs:
        by_group.setdefault(d.group, []).append(d.label)
    assert all(labels.count(0) == labels.count(1) for labels in by_group.values())  # pairs never split


def test_chat_residue_rule_leaves_out_spliced_originals(data_root: Path, pairs: list[dict]):
    docs: list[compose.LabelledDoc] = []
    compose._back_translation(data_root, {}, docs)
    spliced = [r for r in pairs if compose.reserved_back_translation(r["text_a"])
               and compose._CHAT_RESIDUE.search(r["text_a"])]
    assert spliced, "the data holds reserved originals with chat residue; the rule must find some"
    kept = {d.text for d in docs if d.label == 1}
    assert not any("\n".join(compose.paragraphs_from_flat(compose.detectrl_text(r["text_a"], r["domain"]))) in kept
                   for r in spliced)
    assert len(kept) == sum(compose.reserved_back_translation(r["text_a"]) for r in pairs) - len(spliced)


@pytest.mark.parametrize("text, found", [
    ("The stores are noI'm not able to help with that, as I'm only a language model.", True),
    ("he added. [assistant]: The process of resurrecting", True),
    ("Sure, here's an 8-sentence news article based on the summary:", True),
    ("The minister said the talks would resume on Monday.", False),
    ("An AI start-up in Leeds raised 3m, the company said.", False),
])
def test_chat_residue_pattern(text: str, found: bool):
    assert bool(compose._CHAT_RESIDUE.search(text)) is found


@pytest.mark.parametrize("text, domain, cleaned", [
    ("taste of home! nnWhy go? NNI first liked it. Nnit did.", "review (Yelp)",
     "taste of home! Why go? I first liked it. it did."),
    ("Annealing runs in the channel.", "review (Yelp)", "Annealing runs in the channel."),
    ("NNPC said on Monday. nnThe end", "news (XSum/BBC)", "NNPC said on Monday. nnThe end"),
])
def test_detectrl_text_removes_lost_break_residue_of_reviews(text: str, domain: str, cleaned: str):
    assert compose.detectrl_text(text, domain) == cleaned


def test_back_translation_reviews_carry_no_lost_break_residue(data_root: Path, pairs: list[dict]):
    docs: list[compose.LabelledDoc] = []
    compose._back_translation(data_root, {}, docs)
    reviews = [d for d in docs if "review" in d.origin]
    raw = [r for r in pairs if r["domain"].startswith("review") and compose.reserved_back_translation(r["text_a"])
           and compose._LOST_BREAK.search(r["text_a"])]
    assert raw, "reserved Yelp originals with the residue exist in the data; the rule must have work to do"
    assert reviews and not any(compose._LOST_BREAK.search(d.text) for d in reviews)


def test_unwrap_joins_hard_wrapped_lines_within_paragraphs():
    text = "Title line\n\nAbout one in seven adults suffer from\nhigh blood pressure, or\nhypertension.\n\n\n  Buy from a pharmacy.  \n"
    assert compose.unwrap(text) == ("Title line\nAbout one in seven adults suffer from high blood pressure, or "
                                    "hypertension.\nBuy from a pharmacy.")


def test_hard_wrapped_main_texts_are_unwrapped(data_root: Path):
    docs: list[compose.LabelledDoc] = []
    limits = {"boilerplate_pages": 40, "dragnet_pages": 0}
    compose._boilerplate(data_root, random.Random(0), limits, docs, {}, {})
    mains = [d for d in docs if d.id.endswith(":main") and d.origin.split("/")[1] in compose.HARD_WRAPPED_SOURCES]
    assert mains and not any("\n\n" in d.text for d in mains)
    per_line = sorted(len(d.text.split()) / len(d.text.split("\n")) for d in mains)
    assert per_line[len(per_line) // 2] > 20  # median words per line; the gold's wrapped lines hold ~9
