import math
import os
import random
import re
from collections import Counter

import numpy as np
import pytest

from qualityscan import features
from qualityscan.document import DETECTOR_NAMES, Document, Evidence, Report
from qualityscan.features import (
    _MIN_RESTATE_TERMS,
    DETECTOR_SUMMARIES,
    DOCUMENT,
    FEATURE_NAMES,
    PER_DETECTOR,
    RESTATED_CONTAINMENT,
    RESTATED_REACH,
    _detector_features,
    _digits,
    _name_variants,
    _quantile,
    _restated,
    _style_features,
    _tokens,
    document_features,
    feature_names,
    vector,
)
from qualityscan.segment import segment


def _report(paragraphs: list[str], scores: dict[str, list[float]]) -> Report:
    doc = segment(Document("d", "d", "\n".join(paragraphs)))
    for name, values in scores.items():
        for p, v in zip(doc.paragraphs, values):
            p.scores[name] = v
            if v >= 0.5:
                p.evidence.append(Evidence(name, "flagged", (p.start, p.end)))
    # what a detector reporting document-level numbers would have put on the report
    features = {f"{name}_{k}": 0.25 for name in scores for k in DETECTOR_SUMMARIES.get(name, ())}
    return Report(doc, scores={name: max(values) for name, values in scores.items()}, features=features)


ARTICLE = [
    "The city council approved the new budget on Tuesday after a long debate about schools.",
    "Teachers had asked for more money for books, buses and repairs to older buildings.",
    "The mayor said the plan balanced the needs of families against rising energy costs.",
    "Opposition members voted against it, arguing that road maintenance had been neglected.",
]


def test_names_are_ordered_by_schema_and_cover_all_detectors():
    assert feature_names(["repetition", "garble"])[:len(PER_DETECTOR)] == [f"garble_{f}" for f in PER_DETECTOR]
    summaries = sum(len(v) for v in DETECTOR_SUMMARIES.values())
    assert len(FEATURE_NAMES) == len(DETECTOR_NAMES) * len(PER_DETECTOR) + summaries + len(DOCUMENT)
    assert feature_names(["garble"])[len(PER_DETECTOR)] == f"garble_{DETECTOR_SUMMARIES['garble'][0]}"
    assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES)
    assert feature_names([]) == [f"doc_{f}" for f in DOCUMENT]


def test_features_are_deterministic_and_named_for_present_detectors_only():
    report = _report(ARTICLE, {"garble": [0.1, 0.2, 0.0, 0.3]})
    first = document_features(report)
    assert first == document_features(report)
    assert list(first) == feature_names(["garble"])
    assert not any(k.startswith("repetition_") for k in first)
    assert all(isinstance(v, float) and math.isfinite(v) for v in first.values())


def test_paragraph_score_statistics():
    report = _report(ARTICLE, {"prompt_leak": [0.0, 0.6, 0.7, 0.0]})
    f = document_features(report)
    assert f["prompt_leak_doc"] == pytest.approx(0.7)
    assert f["prompt_leak_max"] == pytest.approx(0.7)
    assert f["prompt_leak_mean"] == pytest.approx(1.3 / 4)
    assert f["prompt_leak_share_flagged"] == pytest.approx(0.5)
    assert f["prompt_leak_longest_run"] == pytest.approx(math.log1p(2))
    assert f["prompt_leak_longest_run_share"] == pytest.approx(0.5)
    assert f["prompt_leak_first_flag_pos"] == pytest.approx(1 / 3)
    assert f["prompt_leak_last_flag_pos"] == pytest.approx(2 / 3)
    assert f["prompt_leak_evidence_per_paragraph"] == pytest.approx(0.5)
    lengths = [len(p) for p in ARTICLE]
    assert f["prompt_leak_text_share_flagged"] == pytest.approx((lengths[1] + lengths[2]) / sum(lengths))


def test_nothing_flagged_positions():
    f = document_features(_report(ARTICLE, {"garble": [0.0] * 4}))
    assert f["garble_first_flag_pos"] == 1.0 and f["garble_last_flag_pos"] == 0.0
    assert f["garble_share_flagged"] == 0.0 and f["garble_longest_run"] == 0.0


def test_name_variants_counted_but_not_plurals_or_prefixes():
    garbled = ["Secretary Blinken arrived in Beijing on Sunday for talks with officials.",
               "Officials said Brinken would meet the foreign minister before leaving Beijing."]
    clean = ["Korea and the Korean delegation met Americans and the American envoy in Beijing.",
             "The Koreas said the talks in Beijing went well for both Korea and America."]
    assert document_features(_report(garbled, {}))["doc_name_variants"] == pytest.approx(math.log1p(2))
    assert document_features(_report(clean, {}))["doc_name_variants"] == 0.0


def test_restated_share_and_short_lines():
    restatement = ("After a long debate about schools, the council approved the new budget on "
                   "Tuesday; teachers had asked for more money for books, buses and building repairs.")
    restated = [*ARTICLE, restatement]
    f = document_features(_report(restated, {}))
    assert f["doc_restated_share"] > 0.1
    assert f["doc_max_restated_containment"] >= 0.6
    g = document_features(_report(ARTICLE + ["Share this", "Back to top"], {}))
    assert document_features(_report(ARTICLE, {}))["doc_restated_share"] == 0.0
    assert g["doc_short_line_share"] == pytest.approx(2 / 6)
    assert 0 < g["doc_short_line_text_share"] < 0.1


def test_style_features_read_sentence_rhythm_and_reporting():
    uniform = ["One two three four five six.", "One two three four five six.", "One two three four five six."]
    varied = ["One two.", "One two three four five six seven eight nine ten eleven twelve.", "One two three."]

    def doc(paragraphs):
        return document_features(_report(paragraphs, {}))

    assert doc(uniform)["doc_sentence_length_variation"] == 0.0
    assert doc(varied)["doc_sentence_length_variation"] > 0.5
    assert doc(uniform)["doc_log_words_per_sentence"] == pytest.approx(math.log1p(6))
    news = doc(['"We will rebuild," the mayor said on 12 May, according to Reuters.'])
    assert news["doc_reporting_verbs_per_word"] == pytest.approx(2 / 12)
    assert news["doc_digit_share"] > 0 and news["doc_capitalised_share"] == pytest.approx(3 / 12)
    assert news["doc_commas_per_word"] == pytest.approx(2 / 12)
    assert doc(uniform)["doc_type_token_ratio_100"] == pytest.approx(6 / 18)


def test_edge_features_see_unterminated_short_lines_at_the_ends():
    clean = document_features(_report(ARTICLE, {}))
    chrome = document_features(_report(["Home", "News", *ARTICLE, "Leave a Reply", "Archives"], {}))
    assert clean["doc_first_line_terminal"] == clean["doc_last_line_terminal"] == 1.0
    assert clean["doc_head_unterminated_share"] == clean["doc_tail_unterminated_share"] == 0.0
    assert chrome["doc_first_line_terminal"] == chrome["doc_last_line_terminal"] == 0.0
    assert chrome["doc_head_unterminated_share"] == pytest.approx(2 / 3)
    assert chrome["doc_tail_unterminated_share"] == pytest.approx(2 / 3)
    assert chrome["doc_log_last_line_words"] == pytest.approx(math.log1p(1))
    assert chrome["doc_log_tail_min_words"] == pytest.approx(math.log1p(1))
    assert clean["doc_log_head_min_words"] == pytest.approx(math.log1p(14))


def test_detector_summaries_come_from_the_report_and_the_garble_detector():
    from qualityscan.detectors.garble import GarbleDetector
    from qualityscan.scanner import Scanner

    report = Scanner(detectors=["garble"], model=None, corpus=False).scan_text("\n".join(ARTICLE))
    expected = {f"garble_{k}" for k in DETECTOR_SUMMARIES["garble"]}
    assert set(report.features) == expected
    assert tuple(DETECTOR_SUMMARIES["garble"]) == GarbleDetector.summary_names()
    f = document_features(report)
    assert all(f[k] == report.features[k] and math.isfinite(f[k]) for k in expected)
    assert list(f) == feature_names(["garble"])
    assert "features" not in report.to_dict()  # inputs of the model, not part of the record
    # the summary of one document does not depend on the others in its batch
    alone = GarbleDetector().score_many([report.document])[0].features
    other = segment(Document("o", "o", "Secretary Brinken He arrived Hong Kongas well."))
    assert GarbleDetector().score_many([other, report.document])[1].features == pytest.approx(alone)


def test_empty_document_gives_finite_features():
    report = Report(Document("e", "e", ""), scores={"garble": 0.0})
    f = document_features(report)
    assert all(math.isfinite(v) for v in f.values())


def test_vector_orders_and_names_missing_features():
    f = document_features(_report(ARTICLE, {"garble": [0.1] * 4}))
    names = feature_names(["garble"])
    assert vector(f, names) == [f[n] for n in names]
    with pytest.raises(KeyError, match="repetition_doc"):
        vector(f, feature_names(["garble", "repetition"]))


def _restated_every_pair(texts: list[str], reach: int = RESTATED_REACH) -> tuple[float, float]:
    """The definition of the restated features, comparing every paragraph with every window
    starting at most ``reach`` paragraphs earlier."""
    terms = [_tokens(t)[1] for t in texts]
    total = sum(len(t) for t in texts) or 1
    restated = best_overall = 0.0
    for i in range(1, len(texts)):
        if len(terms[i]) < _MIN_RESTATE_TERMS:
            continue
        best = 0.0
        for j in range(max(0, i - reach), i):
            window = terms[j] | terms[j + 1] if j + 1 < i else terms[j]
            if len(window) >= 3:
                best = max(best, len(terms[i] & window) / len(terms[i]))
        best_overall = max(best_overall, best)
        restated += len(texts[i]) if best >= RESTATED_CONTAINMENT else 0
    return restated / total, best_overall


def test_restated_index_gives_the_values_of_comparing_every_pair():
    rng = random.Random(3)
    vocabulary = [f"w{k:03d}xy" for k in range(120)]  # distinct in their first six letters
    for k in range(60):
        texts = [" ".join(rng.sample(vocabulary, rng.randint(3, 20))) for _ in range(rng.randint(20, 70))]
        if k % 2:  # with glued pairs and shortened copies of earlier paragraphs
            texts += [rng.choice(texts) + " " + rng.choice(texts) for _ in range(5)]
            texts += [" ".join(rng.sample(t.split(), max(1, len(t.split()) * 3 // 4))) for t in rng.sample(texts, 8)]
        rng.shuffle(texts)
        assert _restated(texts, [_tokens(t)[1] for t in texts]) == _restated_every_pair(texts)


def test_restated_looks_back_at_most_the_reach(monkeypatch):
    rng = random.Random(4)
    vocabulary = [f"w{k:03d}xy" for k in range(120)]
    article = [" ".join(rng.sample(vocabulary, 12)) for _ in range(10)]
    filler = [" ".join(rng.sample(vocabulary, rng.randint(3, 6))) for _ in range(60)]
    texts = article + filler + article  # the restatement starts 70 paragraphs after the article
    terms = [_tokens(t)[1] for t in texts]
    assert _restated(texts, terms)[1] == 1.0
    monkeypatch.setattr(features, "RESTATED_REACH", 40)
    assert _restated(texts, terms) == _restated_every_pair(texts, reach=40)
    assert _restated(texts, terms)[1] < 1.0
    for k in range(20):  # the index and the definition agree under a short reach too
        texts = [" ".join(rng.sample(vocabulary, rng.randint(3, 20))) for _ in range(rng.randint(20, 90))]
        texts += [rng.choice(texts[:20]) for _ in range(4)]
        assert _restated(texts, [_tokens(t)[1] for t in texts]) == _restated_every_pair(texts, reach=40)


def test_quantile_is_numpys():
    rng = random.Random(5)
    for _ in range(2000):
        values = sorted(rng.choice([0.0, 0.5, 1.0, rng.random()]) for _ in range(rng.randint(1, 40)))
        for q in (0.75, 0.9):
            assert _quantile(values, q) == float(np.quantile(values, q))


def test_word_count_and_terms_survive_lower_casing_that_changes_length():
    # "İ" lower-cases to two characters: words are counted on the original text
    count, terms = _tokens("İstanbul hosts the summit")
    assert count == 4 and "summit" in terms


# --- fast paths against their plain definitions ----------------------------------------------

def _detector_features_plainly(doc_score: float, values: list[float], lengths: list[int], evidence: int) -> list[float]:
    scores, weights = np.array(values), np.array(lengths, dtype=float)
    flagged = scores >= 0.5
    total = weights.sum() or 1.0
    runs = [len(r) for r in "".join("x" if f else " " for f in flagged).split()] or [0]
    positions = np.flatnonzero(flagged) / max(1, len(values) - 1)
    return [doc_score, float(scores.mean()), float((scores * weights).sum() / total), float(scores.max()),
            float(np.quantile(scores, 0.75)), float(np.quantile(scores, 0.9)), float(flagged.mean()),
            float(weights[flagged].sum() / total), math.log1p(max(runs)), max(runs) / len(values),
            float(positions[0]) if len(positions) else 1.0, float(positions[-1]) if len(positions) else 0.0,
            evidence / len(values)]


def test_detector_features_are_numpys_statistics():
    rng = random.Random(11)
    for _ in range(500):
        n = rng.randint(1, 300)
        values = [rng.choice([0.0, 0.5, 1.0, rng.random()]) for _ in range(n)]
        lengths = [rng.randint(1, 3000) for _ in range(n)]
        evidence = rng.randint(0, n)
        fast = _detector_features(0.3, values, np.array(lengths, dtype=float), float(sum(lengths)), evidence)
        assert fast == _detector_features_plainly(0.3, values, lengths, evidence)


_WORD = re.compile(r"\w+")


def _style_plainly(text: str) -> list[float]:
    """The style features as first written: word and sentence counts from separate passes."""
    sentence_end = re.compile(r"(?<=[.!?])[\"')\]\u201d\u2019]*\s+(?=[\"'(\[\u201c\u2018]?[A-Z0-9])")
    text = text[:20_000]
    words = _WORD.findall(text)
    if not words:
        return [0.0] * 8
    n = len(words)
    lengths = [k for k in (len(_WORD.findall(s)) for s in sentence_end.split(text)) if k] or [n]
    mean = sum(lengths) / len(lengths)
    spread = math.sqrt(sum((k - mean) ** 2 for k in lengths) / len(lengths))
    head = [w.casefold() for w in words[:100]]
    return [math.log1p(mean), spread / mean, len(set(head)) / len(head), sum(map(str.isdigit, text)) / len(text),
            sum(w[0].isupper() for w in words) / n, text.count(",") / n, sum(map(len, words)) / n,
            sum(w.casefold() in {"said", "says", "told", "according"} for w in words) / n]


def test_style_features_match_their_plain_definition():
    pieces = ["The", "minister", "said", "SAID", "ſaid", "Told", "according", "12", "x²", "٣٤", "①", "Straße",
              "\u00c9cole", "ǅemal", ".", "!", "?", "...", ".\u201d", "')", ",", " ", "  ", "\n", "\t", "\u2028",
              "\u201cQuote", "(Aside", "9am", "_x_", "e.g.", "Mr."]
    rng = random.Random(7)
    texts = ["", " ", "...", "One.", "\ud800 said 1", "A. B! C? D", *(" ".join(ARTICLE) for _ in range(1))]
    texts += ["".join(rng.choice(pieces) + rng.choice(["", " "]) for _ in range(rng.randint(1, 400))) for _ in range(400)]
    texts.append("Long sentences. " * 3000)  # beyond the characters the features read
    for text in texts:
        assert _style_features(text) == _style_plainly(text), text[:80]


def test_digit_count_is_str_isdigit():
    for text in ["", "abc", "0123456789", "x²³ ¹ 12 ٣٤ ① ⑴ 𝟙 ९", "\ud800 7 \udfff", "é1" * 50]:
        assert _digits(text) == sum(map(str.isdigit, text))


def _name_variants_every_pair(texts: list[str]) -> tuple[int, int]:
    """The definition: every pair of the most frequent capitalised words."""
    from rapidfuzz.distance import Levenshtein

    names = [w for w, _ in Counter(re.findall(r"\b[A-Z][a-z]{3,}\b", "\n".join(texts))).most_common(400)]
    involved = set()
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            d, shorter = Levenshtein.distance(a, b), min(len(a), len(b))
            if 0 < d <= (1 if shorter < 8 else 2) and len(os.path.commonprefix([a, b])) < shorter - 1:
                involved.update((a, b))
    return len(involved), len(names)


def test_name_variants_compare_only_names_close_in_length_and_miss_no_pair():
    rng = random.Random(13)
    stems = ["Blinken", "Kong", "Qingdao", "Albuquerque", "Korea", "America", "Wang", "Zelensky", "Schwarzenegger"]

    def variant(word: str) -> str:
        chars = list(word)
        for _ in range(rng.randint(1, 3)):
            k = rng.randrange(1, len(chars))
            edit = rng.choice("sid")
            if edit == "s":
                chars[k] = rng.choice("aeiourstnk")
            elif edit == "i":
                chars.insert(k, rng.choice("aeiourstnk"))
            elif len(chars) > 4:
                del chars[k]
        return "".join(chars)

    for _ in range(300):
        words = [variant(rng.choice(stems)) if rng.random() < 0.6 else rng.choice(stems) for _ in range(rng.randint(0, 60))]
        words += [w + "s" for w in rng.sample(words, min(3, len(words)))]
        text = [" ".join(words), "éBlinken xKorea Kongo_ Wang2"]
        assert _name_variants(text) == _name_variants_every_pair(text)
