"""Evaluate the garble detector on held-out documents, against a character n-gram baseline.

    /work/venv/bin/python scripts/evaluate_garble.py [--data-root ../shared/data] [--folds 5]

The language models come from the shipped model file (fitted on human text that is never a
classifier row, see scripts/train_garble.py); the classifier is refitted in every fold of a
GroupKFold on the source document / article, so every score below is for a document whose
outputs were all outside training. The stacked character n-gram regression behind the
``char_ngram_lr`` feature is refitted inside every fold too (out-of-fold on the fold's training
rows, fitted on all of them for the held-out rows). The baseline (character 2-4-gram TF-IDF + logistic
regression, on the same quote-folded text and the same folds) runs in the same pass.

Leave-one-system-family-out: for each MQM MT family, the folds are refitted without any of
that family's outputs and the held-out documents of that family are scored against the
human translations of the same held-out documents.

Writes ``docs/evaluation/garble_results.json`` and prints every figure.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import GroupKFold

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compose import reserved_back_translation, round_trip_domain_usable
from train_garble import (
    DEFAULT_DATA,
    Doc,
    bt_pairs,
    featurize,
    human_news,
    load_docs,
    make_classifier,
    source_weights,
    split_sentences_into_paragraphs,
    stacked_char_column,
)

from qualityscan.detectors.garble import FEATURES, document_features, fold, hashed_char_ngrams, load_bundle
from qualityscan.model import shipped_model_path

RESULTS = Path(__file__).resolve().parents[1] / "docs" / "evaluation" / "garble_results.json"
COMMAND = "python scripts/evaluate_garble.py"


def auc_ap(y: np.ndarray, s: np.ndarray) -> dict[str, float]:
    if len(set(y.tolist())) < 2:
        return {"auc": float("nan"), "ap": float("nan"), "n_pos": int(y.sum()), "n_neg": int(len(y) - y.sum())}
    return {"auc": round(float(roc_auc_score(y, s)), 4), "ap": round(float(average_precision_score(y, s)), 4),
            "n_pos": int(y.sum()), "n_neg": int(len(y) - y.sum())}


class Rows:
    """Every paragraph of every document, flattened, with what the metrics need."""

    def __init__(self, docs: list[Doc]) -> None:
        self.doc = np.concatenate([np.full(len(d.paragraphs), i) for i, d in enumerate(docs)])
        self.label = np.concatenate([np.asarray(d.labels) for d in docs])
        self.text = [fold(p) for d in docs for p in d.paragraphs]
        self.source = np.array([d.source for d in docs])[self.doc]
        self.human = np.array([d.human for d in docs])[self.doc]
        self.family = np.array([d.family for d in docs])[self.doc]
        info = [x for d in docs for x in d.info]
        self.major = np.array([bool(x.get("major")) for x in info])
        self.agree = np.array([x.get("agree", True) for x in info])
        self.fluency_major = np.array([bool(x.get("fluency_major")) for x in info])
        self.accuracy_only = np.array([bool(x.get("accuracy_only")) for x in info])
        self.poor = np.array([x.get("da", 0) < -0.5 and x.get("hter", 0) >= 0.3 for x in info])
        self.group = np.array([d.group for d in docs])[self.doc]


def cross_validate(rows: Rows, x: np.ndarray, hashed: Any, folds: int, exclude_family: str | None = None,
                   tfidf: Any = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Out-of-fold scores for every row (the model and optionally the baseline). The stacked
    ``char_ngram_lr`` column is refitted inside every fold (out-of-fold on the training rows)."""
    ours = np.full(len(rows.label), np.nan)
    base = np.full(len(rows.label), np.nan) if tfidf is not None else None
    col = FEATURES.index("char_ngram_lr")
    for train_idx, test_idx in GroupKFold(folds).split(x, groups=rows.group):
        tr = train_idx[rows.label[train_idx] >= 0]
        if exclude_family is not None:
            tr = tr[rows.family[tr] != exclude_family]
        xf = x.copy()
        xf[tr, col], xf[test_idx, col], _ = stacked_char_column(hashed, rows.label, rows.group, tr, test_idx)
        weights = source_weights(rows.source[tr], rows.label[tr])
        clf = make_classifier().fit(xf[tr], rows.label[tr], sample_weight=weights)
        ours[test_idx] = clf.predict_proba(xf[test_idx])[:, 1]
        if base is not None:
            lr = LogisticRegression(C=4.0, class_weight="balanced", max_iter=1000, solver="liblinear")
            lr.fit(tfidf[tr], rows.label[tr])
            base[test_idx] = lr.predict_proba(tfidf[test_idx])[:, 1]
    return ours, base


def doc_level(rows: Rows, scores: np.ndarray, mask_docs: np.ndarray, positive_docs: np.ndarray) -> dict[str, float]:
    """AUC of the mean paragraph score per document."""
    ids = np.unique(rows.doc[mask_docs])
    mean = np.array([scores[rows.doc == i].mean() for i in ids])
    y = np.array([positive_docs[rows.doc == i][0] for i in ids]).astype(int)
    return auc_ap(y, mean)


def tasks(rows: Rows, scores: np.ndarray) -> dict[str, dict[str, float]]:
    """The segment- and document-level tasks of the issue, on out-of-fold scores."""
    mqm, mlqe, bt = rows.source == "mqm", rows.source == "mlqe", rows.source == "bt"
    human = rows.human
    mt = ~human
    out = {}
    m = mqm & rows.agree & (human | rows.major)
    out["mqm_segment_major_vs_human"] = auc_ap(mt[m].astype(int), scores[m])
    # the same task split by what the major errors are: fluency errors show in the English,
    # accuracy errors (a wrong meaning in fluent words) only beside the source
    for name, kind in (("fluency_major", rows.fluency_major), ("accuracy_only_major", rows.accuracy_only)):
        m = mqm & rows.agree & (human | (rows.major & kind))
        out[f"mqm_segment_{name}_vs_human"] = auc_ap(mt[m].astype(int), scores[m])
    m = mqm & rows.agree
    out["mqm_segment_any_vs_human"] = auc_ap(mt[m].astype(int), scores[m])
    out["mqm_document_any_vs_human"] = doc_level(rows, scores, mqm, mt)
    m = mlqe & (human | rows.poor)
    out["mlqe_segment_poor_vs_postedit"] = auc_ap(mt[m].astype(int), scores[m])
    out["mlqe_segment_any_vs_postedit"] = auc_ap(mt[mlqe].astype(int), scores[mlqe])
    out["mlqe_document_any_vs_postedit"] = doc_level(rows, scores, mlqe, mt)
    out["bt_paragraph"] = auc_ap(mt[bt].astype(int), scores[bt])
    out["bt_document"] = doc_level(rows, scores, bt, mt)
    syn = rows.source == "synthetic"
    originals = rows.human & np.isin(rows.group, rows.group[syn]) & (mqm | bt) & (rows.label == 0)
    m = (syn & (rows.label == 1)) | originals
    out["synthetic_damage_vs_human_originals"] = auc_ap(syn[m].astype(int), scores[m])
    llm = rows.source == "llm"
    garbled = rows.label == 1
    out["llm_backtranslated_vs_fluent_paragraph"] = auc_ap(garbled[llm].astype(int), scores[llm])
    for name, fluent in (("llm_fluent_flag_rate_at_0.5", llm & ~garbled),
                         ("human_news_negatives_flag_rate_at_0.5", rows.source == "news")):
        out[name] = {"auc": round(float((scores[fluent] >= 0.5).mean()), 4), "ap": float("nan"),
                     "n_pos": 0, "n_neg": int(fluent.sum())}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-root", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--model", type=Path, default=shipped_model_path("garble"))
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--loso-folds", type=int, default=2, help="folds per left-out MT family")
    ap.add_argument("--no-loso-baseline", action="store_true",
                    help="skip refitting the TF-IDF baseline per left-out family (the slow part)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    t0 = time.time()
    res, shipped, meta = load_bundle(args.model)
    docs = load_docs(args.data_root)
    x = np.vstack(featurize(docs, dataclasses.replace(res, char_lr=None)))  # refitted per fold
    rows = Rows(docs)
    hashed = hashed_char_ngrams(rows.text)
    print(f"{len(docs)} documents, {len(rows.label)} paragraphs, features in {time.time() - t0:.0f}s", flush=True)
    tfidf = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), min_df=5, max_features=100_000,
                            sublinear_tf=True).fit_transform(rows.text)
    ours, base = cross_validate(rows, x, hashed, args.folds, tfidf=tfidf)
    command = " ".join([COMMAND, *(sys.argv[1:] if argv is None else argv)])
    results: dict[str, Any] = {"command": command, "folds": args.folds, "loso_folds": args.loso_folds,
                               "model_sha256": meta["sha256"],
                               "garble": tasks(rows, ours), "baseline_char_tfidf_lr": tasks(rows, base)}
    print(f"cross-validation done in {time.time() - t0:.0f}s", flush=True)
    for name in results["garble"]:
        print(f"  {name:34s} garble AUC {results['garble'][name]['auc']:.3f} AP {results['garble'][name]['ap']:.3f}"
              f" | baseline AUC {results['baseline_char_tfidf_lr'][name]['auc']:.3f}"
              f" AP {results['baseline_char_tfidf_lr'][name]['ap']:.3f}  (n+ {results['garble'][name]['n_pos']},"
              f" n- {results['garble'][name]['n_neg']})")

    # false positives on held-out human news (never in the LM corpus nor the classifier data)
    news = [r for r in human_news(args.data_root) if r["heldout"]]
    detector_scores = []
    for r in news:
        paras = split_sentences_into_paragraphs(r["text"], 3)
        detector_scores.extend(shipped.predict_proba(document_features(paras, res)[0])[:, 1].tolist())
    s = np.asarray(detector_scores)
    results["human_news_false_positive_rate"] = {
        "articles": len(news), "paragraphs": len(s),
        "fpr_at_0.5": round(float((s >= 0.5).mean()), 4), "fpr_at_0.7": round(float((s >= 0.7).mean()), 4),
        "mean_score": round(float(s.mean()), 4),
    }
    print("  human news (held-out BBC) false-positive rate:", results["human_news_false_positive_rate"])
    results["reserved_back_translation"] = reserved_check(args.data_root, shipped, res)
    print("  reserved back-translation pairs (never trained on), shipped model:",
          results["reserved_back_translation"])
    save(results, args.out)

    # leave one MT system family out (MQM)
    families = sorted({f for f, s in zip(rows.family, rows.source) if s == "mqm" and f != "human"})
    loso: dict[str, Any] = {}
    mqm = rows.source == "mqm"
    for fam in families:
        ours_f, base_f = cross_validate(rows, x, hashed, args.loso_folds, exclude_family=fam,
                                        tfidf=None if args.no_loso_baseline else tfidf)
        sel = mqm & rows.agree & (rows.human | (rows.family == fam))
        major = sel & (rows.human | rows.major)
        docs_sel = mqm & (rows.human | (rows.family == fam))
        loso[fam] = {
            "major_vs_human": auc_ap((~rows.human[major]).astype(int), ours_f[major]),
            "any_vs_human": auc_ap((~rows.human[sel]).astype(int), ours_f[sel]),
            "document_any_vs_human": doc_level(rows, ours_f, docs_sel, ~rows.human),
        }
        if base_f is not None:
            loso[fam]["baseline_major_vs_human"] = auc_ap((~rows.human[major]).astype(int), base_f[major])
            loso[fam]["baseline_any_vs_human"] = auc_ap((~rows.human[sel]).astype(int), base_f[sel])
        print(f"  LOSO {fam:22s} " + " ".join(f"{k} {v['auc']:.3f}" for k, v in loso[fam].items()), flush=True)
        results["leave_one_family_out"] = loso
        save(results, args.out)
    results["leave_one_family_out_mean"] = {
        k: round(float(np.mean([v[k]["auc"] for v in loso.values()])), 4) for k in next(iter(loso.values()))}
    print("  LOSO mean AUC:", results["leave_one_family_out_mean"])

    save(results, args.out)
    print(f"wrote {args.out} in {time.time() - t0:.0f}s")
    return 0


def reserved_check(root: Path, shipped: Any, res: Any) -> dict[str, Any]:
    """The shipped model on the back-translation pairs kept out of its training for the
    reliability model (``compose.reserved_back_translation``): a test on articles no garble
    model has seen, at paragraph and document (mean of paragraphs) level."""
    y_par, s_par, y_doc, s_doc = [], [], [], []
    for r in bt_pairs(root):
        if not round_trip_domain_usable(r["domain"]) or not reserved_back_translation(r["text_a"]):
            continue
        for text, y in ((r["text_a"], 0), (r["text_b"], 1)):
            p = shipped.predict_proba(document_features(split_sentences_into_paragraphs(text, 3), res)[0])[:, 1]
            y_par += [y] * len(p)
            s_par += p.tolist()
            y_doc.append(y)
            s_doc.append(float(p.mean()))
    return {"pairs": len(y_doc) // 2, "paragraph": auc_ap(np.asarray(y_par), np.asarray(s_par)),
            "document": auc_ap(np.asarray(y_doc), np.asarray(s_doc))}


def save(results: dict[str, Any], out: Path) -> None:
    """Write the results so far (a long run leaves its finished parts behind)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
