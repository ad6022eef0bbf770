"""Grouped-bootstrap intervals of the reliability evaluation (scripts/reliability_common.py)."""

from __future__ import annotations

import numpy as np
import pytest
import reliability_common as common
from compose import LabelledDoc
from sklearn.metrics import roc_auc_score


def auc_interval(y: np.ndarray, s: np.ndarray, groups: np.ndarray, seed: int = common.BOOTSTRAP_SEED) -> list[float]:
    """Grouped-bootstrap 95 % interval of one scorer's AUC, as :func:`common.intervals` builds it."""
    aucs, _ = common.bootstrap_aucs(y, {"s": s}, groups, seed=seed)
    return common.percentile_interval(aucs["s"])


def test_weighted_aucs_match_sklearn_with_sample_weights_and_ties():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 300)
    s = np.round(rng.random(300) + 0.3 * y, 1)  # coarse scores: many ties
    weights = rng.integers(0, 4, (20, 300)).astype(float)
    got = common.weighted_aucs(y, s, weights)
    want = [roc_auc_score(y, s, sample_weight=w) for w in weights]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    assert common.weighted_aucs(y, s, np.ones((1, 300)))[0] == pytest.approx(roc_auc_score(y, s), abs=1e-12)


def test_perfect_separation_gives_interval_one_one():
    y = np.r_[np.ones(40), np.zeros(40)]
    s = np.r_[np.linspace(0.6, 1, 40), np.linspace(0, 0.4, 40)]
    groups = np.arange(80) % 16
    assert auc_interval(y, s, groups) == [1.0, 1.0]


def test_random_scores_interval_contains_half_and_has_width():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 400)
    s = rng.random(400)
    low, high = auc_interval(y, s, np.arange(400) // 4)
    assert low < 0.5 < high
    assert high - low > 0.05


def test_resamples_are_unions_of_whole_groups():
    groups = np.repeat([f"article-{k}" for k in range(7)], [1, 2, 3, 4, 5, 6, 7])
    weights = common.group_resample_weights(groups, n_resamples=200, seed=3)
    assert weights.shape == (200, len(groups))
    for g in set(groups.tolist()):
        member = groups == g
        assert (weights[:, member] == weights[:, member][:, :1]).all()  # a group is drawn whole or not at all
    first = [np.flatnonzero(groups == g)[0] for g in sorted(set(groups.tolist()))]
    assert (weights[:, first].sum(axis=1) == 7).all()  # as many groups drawn as there are


def test_one_noisy_group_widens_the_interval_over_an_ungrouped_bootstrap():
    # nine groups ranked perfectly, one whose positives and negatives are reversed
    y = np.tile(np.r_[np.ones(5), np.zeros(5)], 10)
    s = np.where(y == 1, 0.9, 0.1)
    s[90:] = 1 - s[90:]
    groups = np.arange(100) // 10
    grouped = auc_interval(y, s, groups, seed=4)
    ungrouped = auc_interval(y, s, np.arange(100), seed=4)
    assert grouped[1] == 1.0  # the noisy group is left out of over a third of the resamples
    assert ungrouped[1] < 1.0  # ten single documents are almost never all left out
    assert grouped[1] - grouped[0] > ungrouped[1] - ungrouped[0]


def test_same_seed_same_interval_other_seed_other_resamples():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 200)
    s = rng.random(200) + 0.5 * y
    groups = np.arange(200) // 5
    assert auc_interval(y, s, groups, seed=7) == auc_interval(y, s, groups, seed=7)
    assert not np.array_equal(common.group_resample_weights(groups, 50, seed=7),
                              common.group_resample_weights(groups, 50, seed=8))


def test_resamples_missing_a_class_are_skipped_and_counted():
    y = np.r_[np.ones(3), np.zeros(3)]
    s = np.r_[0.9, 0.8, 0.7, 0.1, 0.2, 0.3]
    aucs, skipped = common.bootstrap_aucs(y, {"a": s, "b": 1 - s}, np.array([0, 0, 0, 1, 1, 1]), n_resamples=400)
    assert 100 < skipped < 300  # two groups, one per class: half the resamples lack one
    assert len(aucs["a"]) == len(aucs["b"]) == 400 - skipped
    assert (aucs["a"] == 1).all() and (aucs["b"] == 0).all()
    with pytest.raises(ValueError, match="both classes"):
        common.percentile_interval(np.array([]))


def _doc(i: int, family: str, label: int | None, group: str) -> LabelledDoc:
    return LabelledDoc(f"{family}:{i}", f"text {i} " * (5 + i % 7), family, family, label, None, group, "test",
                       {"restatements": ["machine_translation"]} if family == "restated" else {})


@pytest.fixture
def held_out() -> tuple[list[LabelledDoc], dict[str, np.ndarray]]:
    rng = np.random.default_rng(6)
    docs = [_doc(i, family, i % 2, f"{family}-{i // 3}") for family in ("mt", "boilerplate_dragnet") for i in range(60)]
    docs += [_doc(i, "restated", 0, f"mt-{i}") for i in range(20)] + [_doc(i, "mt", None, f"mt-{i}") for i in range(5)]
    labels = np.array([d.label == 1 for d in docs])
    return docs, {"model": (rng.random(len(docs)) + 0.6 * labels) / 1.6,
                  "paragraph_mean": (rng.random(len(docs)) + 0.3 * labels) / 1.3}


def test_family_selections(held_out):
    docs, _ = held_out
    chosen = {family: (pos, neg) for family, pos, neg in common.family_selections(docs)}
    assert list(chosen) == ["mt", "boilerplate_dragnet", "restated"]
    pos, neg = chosen["mt"]
    assert {docs[i].family for i in np.flatnonzero(pos | neg)} == {"mt"} and pos.sum() == neg.sum() == 30
    pos, neg = chosen["restated"]  # composed: every reliable document but the dragnet pages
    assert pos.sum() == 30 and neg.sum() == 20 and not any(docs[i].family == "boilerplate_dragnet" for i in np.flatnonzero(pos))


def test_intervals_bracket_the_point_estimates_and_only_add_columns(held_out):
    docs, scores = held_out
    results = common.evaluate(docs, scores, {})
    ci = common.intervals(docs, scores, n_resamples=300)
    for name in scores:
        low, high = ci["overall"][name]
        assert low <= results["overall"][name]["roc_auc"] <= high and low < high
    for family, e in results["per_source"].items():
        low, high = ci["per_source"][family]["model_minus_paragraph_mean"]
        assert low <= e["model"] - e["paragraph_mean"] <= high
    plain = [line for line in common.table(results).splitlines() if line]
    with_ci = [line for line in common.table(results, ci).splitlines() if line]
    assert sum(line.startswith("95% CI: percentile interval of a grouped bootstrap") for line in with_ci) == 1
    with_ci = [line for line in with_ci if not line.startswith("95% CI:")]
    assert len(with_ci) == len(plain)
    added = []
    for before, after in zip(plain, with_ci):
        cells = iter(after.strip("|").split("|"))
        assert all(cell in cells for cell in before.strip("|").split("|")), (before, after)  # in order, unchanged
        added.append(after.count("|") - before.count("|"))
    n = len(scores)
    assert added[:n + 2] == [1] * (n + 2)  # overall table: header, rule, one row per scorer
    assert added[n + 2:n + 6] == [2] * 4  # per-source table: header, rule, mt, boilerplate_dragnet, ...
    row = with_ci[n + 4].split("|")  # mt: AUC model, its interval, AUC paragraph_mean, the difference
    assert row[5].strip().startswith("[") and row[7].strip().startswith("+") and "[" in row[7]
