import math

import pytest

from qualityscan.document import DETECTOR_NAMES, Document, Evidence, Report
from qualityscan.features import (
    DOCUMENT,
    FEATURE_NAMES,
    PER_DETECTOR,
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
    return Report(doc, scores={name: max(values) for name, values in scores.items()})


ARTICLE = [
    "The city council approved the new budget on Tuesday after a long debate about schools.",
    "Teachers had asked for more money for books, buses and repairs to older buildings.",
    "The mayor said the plan balanced the needs of families against rising energy costs.",
    "Opposition members voted against it, arguing that road maintenance had been neglected.",
]


def test_names_are_ordered_by_schema_and_cover_all_detectors():
    assert feature_names(["repetition", "garble"])[:len(PER_DETECTOR)] == [f"garble_{f}" for f in PER_DETECTOR]
    assert len(FEATURE_NAMES) == len(DETECTOR_NAMES) * len(PER_DETECTOR) + len(DOCUMENT)
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
