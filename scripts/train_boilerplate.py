"""Train the boilerplate detector's paragraph model and ship it to ``models/boilerplate.joblib``.

Data: ``<data-root>/boilerplate`` (see its README). Pages are segmented by qualityscan's HTML
reader and labelled by ``boilerplate_data`` (the data set's alignment rule applied to our
paragraphs). The ``dragnet`` part is AGPL-3.0 and never used for training. Pages of the
held-out fold (``--eval-fold``, domain-grouped) are never used for training either; the
block-level scores on them are recorded in the model metadata.

Every training page is seen twice: as HTML (paragraphs carry their blocks) and as plain text
(the same lines, no markup), each with or without corpus line counts (chosen at random per
page and variant), so one model serves plain text, HTML, single documents and folders.

    /work/venv/bin/python scripts/train_boilerplate.py            # full run, a few minutes
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import precision_recall_fscore_support

sys.path.insert(0, str(Path(__file__).resolve().parent))
from boilerplate_data import DEFAULT_DATA_ROOT, Page, load_pages

from qualityscan.corpus import CorpusStats
from qualityscan.detectors.boilerplate import FEATURE_NAMES, TAG_COLUMN, feature_matrix
from qualityscan.model import save_model, shipped_model_path

TRAIN_SOURCES = ("scrapinghub", "cleaneval", "cleanportaleval")


def corpus_of(pages: list[Page]) -> CorpusStats:
    """Line counts over the pages, as the Scanner's first pass makes them."""
    stats = CorpusStats()
    for page in pages:
        stats.add(page.document)
    return stats


def page_rows(page: Page, corpus: CorpusStats | None, html: bool) -> np.ndarray:
    """Feature rows of a page as HTML or as plain text."""
    return feature_matrix(page.document if html else page.plain(), corpus)[0]


def build(pages: list[Page], corpus: CorpusStats, rng: random.Random) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training rows, labels and sources: each page as HTML and as plain text, each with or
    without corpus counts."""
    xs, ys, sources = [], [], []
    for page in pages:
        for html in (True, False):
            xs.append(page_rows(page, corpus if rng.random() < 0.5 else None, html))
            ys.append(np.asarray(page.labels))
            sources.extend([page.source] * len(page.labels))
    return np.vstack(xs), np.concatenate(ys), np.asarray(sources)


def weights(x: np.ndarray, sources: np.ndarray, balance: bool) -> np.ndarray:
    """Longer paragraphs weigh more (log of their length), so the model does not trade a long
    article paragraph for many one-word menu items; with ``balance`` every source weighs the
    same in total (CleanEval, whose annotators kept all running text, has most rows)."""
    w = 1.0 + x[:, FEATURE_NAMES.index("log_words")]
    if balance:
        names, inverse = np.unique(sources, return_inverse=True)
        totals = np.bincount(inverse, weights=w)
        w = w * (w.sum() / (len(names) * totals))[inverse]
    return w


def block_scores(model, pages: list[Page], corpus: CorpusStats | None, html: bool) -> dict[str, float]:
    """Precision/recall/F1 of "boilerplate" over paragraphs with words, at 0.5."""
    y_true, y_pred = [], []
    for page in pages:
        proba = model.predict_proba(page_rows(page, corpus, html))[:, 1]
        keep = np.asarray(page.has_words)
        y_true.extend(np.asarray(page.labels)[keep])
        y_pred.extend((proba[keep] >= 0.5).astype(int))
    p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, average="binary", zero_division=0)
    return {"precision": round(float(p), 4), "recall": round(float(r), 4), "f1": round(float(f), 4),
            "paragraphs": len(y_true)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", type=Path, default=DEFAULT_DATA_ROOT)
    parser.add_argument("--eval-fold", type=int, default=0, help="held-out fold, never trained on")
    parser.add_argument("--out", type=Path, default=shipped_model_path("boilerplate"))
    parser.add_argument("--max-iter", type=int, default=150)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--balance-sources", action=argparse.BooleanOptionalAction, default=True,
                        help="give every training source the same total weight")
    args = parser.parse_args(argv)
    started = time.time()
    rng = random.Random(args.seed)

    train = load_pages(args.data_root, lambda m: m["source"] in TRAIN_SOURCES and m["fold"] != args.eval_fold)
    print(f"read {len(train)} training pages in {time.time() - started:.0f}s", flush=True)
    x, y, sources = build(train, corpus_of(train), rng)
    print(f"{len(y)} rows x {x.shape[1]} features, {y.mean():.3f} boilerplate "
          f"({time.time() - started:.0f}s)", flush=True)
    model = HistGradientBoostingClassifier(
        max_iter=args.max_iter, learning_rate=0.1, max_leaf_nodes=31, min_samples_leaf=40,
        l2_regularization=1.0, categorical_features=[TAG_COLUMN], random_state=args.seed)
    model.fit(x, y, sample_weight=weights(x, sources, args.balance_sources))
    print(f"trained ({time.time() - started:.0f}s)", flush=True)

    held_out = load_pages(args.data_root, lambda m: m["fold"] == args.eval_fold)
    held_corpus = corpus_of(held_out)
    metrics = {}
    for key, html, use_corpus in (("html_corpus", True, True), ("plain_single", False, False)):
        metrics[key] = block_scores(model, held_out, held_corpus if use_corpus else None, html)
        print(f"held-out fold {args.eval_fold} {key}: {metrics[key]}", flush=True)

    content = x[y == 0]
    with np.errstate(all="ignore"):
        reference = [float(v) if np.isfinite(v) else None for v in np.nanmedian(content, axis=0)]
    meta = save_model(model, args.out, {
        "name": "boilerplate",
        "kind": "sklearn.ensemble.HistGradientBoostingClassifier",
        "target": "1 = paragraph is not main text (template chrome), per boilerplate/README labelling",
        "features": list(FEATURE_NAMES),
        "content_reference": reference,
        "data": {"root": "shared/data/boilerplate", "sources": list(TRAIN_SOURCES),
                 "folds": sorted({p.fold for p in train}), "pages": len(train), "rows": len(y),
                 "excluded": "dragnet (AGPL-3.0, evaluation only); the held-out fold"},
        "metrics": {"held_out_fold": args.eval_fold, "block_level_boilerplate": metrics,
                    "note": "paragraph-level P/R/F1 of label 'not content' at score 0.5 on all sources "
                            "of the held-out fold, model alone (without the detector's rules); "
                            "see docs/evaluation/boilerplate.md for the full evaluation"},
        "params": {"max_iter": args.max_iter, "seed": args.seed, "balance_sources": args.balance_sources},
        "command": "python scripts/train_boilerplate.py " + " ".join(argv if argv is not None else sys.argv[1:]),
    })
    size = args.out.stat().st_size
    print(f"wrote {args.out} ({size / 1e6:.2f} MB, sha256 {meta['sha256'][:12]}) in {time.time() - started:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
