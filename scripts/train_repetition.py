"""Train the repetition detector's pairwise calibration and corpus IDF table.

The model maps similarity features of a (later, earlier) sentence pair to the probability
that the later one restates the earlier one. It is a logistic regression trained on the
STS Benchmark *train* split (``../shared/data/paraphrase``), binarised as that README
recommends: score >= 4 restatement, <= 2 not, the middle band dropped. The corpus IDF
table is fitted on STS-B train sentences and the machine_text rows whose article group
falls in the training half (:func:`idf_half`), leaving out any article that also appears as
a DetectRL rewrite original, so no text used for evaluation shapes the IDF.

Run:  /work/venv/bin/python scripts/train_repetition.py [--data-root ../shared/data]
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
import zlib
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from qualityscan.detectors.repetition import (
    FEATURES,
    corpus_idf,
    idf_weight,
    make_unit,
    pair_features,
)
from qualityscan.model import save_model, shipped_model_path

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def idf_half(group: str) -> int:
    """0 = machine_text article group used for the IDF table, 1 = held out for evaluation."""
    return zlib.crc32(group.encode("utf-8")) % 2


def read_jsonl(path: Path) -> list[dict]:
    if not path.is_file():
        sys.exit(f"{path}: data file not found (pass --data-root)")
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def sts_binary(rows: list[dict]) -> tuple[list[dict], np.ndarray]:
    """STS rows with a clear label: score >= 4 -> 1, <= 2 -> 0 (middle band dropped)."""
    kept = [r for r in rows if float(r["score"]) >= 4 or float(r["score"]) <= 2]
    return kept, np.array([1 if float(r["score"]) >= 4 else 0 for r in kept])


def features(rows: list[dict], idf: np.ndarray) -> np.ndarray:
    """Pair features of (text_b, text_a) for each row, corpus IDF weights only."""
    weight = idf_weight(idf)
    return np.array([pair_features(make_unit(r["text_b"]), make_unit(r["text_a"]), weight)
                     for r in rows])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=shipped_model_path("repetition"))
    args = parser.parse_args(argv)
    t0 = time.time()
    pairs = read_jsonl(args.data_root / "paraphrase" / "paraphrase_pairs.jsonl.gz")
    news = read_jsonl(args.data_root / "machine_text" / "machine_text.jsonl.gz")
    train_sts = [r for r in pairs if r["source"] == "stsb" and r["split"] == "train"]
    rewrite_heads = {r["text_a"][:80] for r in pairs if r["source"] == "detectrl-rewrite"}
    idf_texts = [r["text_a"] for r in train_sts] + [r["text_b"] for r in train_sts]
    idf_texts += [r["text"] for r in news
                  if idf_half(r["group"]) == 0 and r["text"][:80] not in rewrite_heads]
    idf = corpus_idf(idf_texts)

    rows, y = sts_binary(train_sts)
    X = features(rows, idf)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
    model.fit(X, y)
    metrics = {"train_rows": len(rows), "train_positive": int(y.sum()),
               "idf_documents": len(idf_texts)}
    for name, held in (
        ("stsb_dev", [r for r in pairs if r["source"] == "stsb" and r["split"] == "dev"]),
        ("semeval_sts", [r for r in pairs if r["source"] == "semeval-sts"]),
    ):
        hrows, hy = sts_binary(held)
        auc = roc_auc_score(hy, model.predict_proba(features(hrows, idf))[:, 1])
        metrics[f"auc_{name}"] = round(float(auc), 4)
        metrics[f"rows_{name}"] = len(hrows)
    coefs = dict(zip(FEATURES, np.round(model[-1].coef_[0], 3).tolist()))
    meta = save_model({"pair_model": model, "idf": idf}, args.out, {
        "name": "repetition",
        "kind": "pairwise restatement calibration (StandardScaler + LogisticRegression) + hashed corpus IDF",
        "features": list(FEATURES),
        "coefficients": coefs,
        "data_sources": {
            "pair_model": "paraphrase/paraphrase_pairs.jsonl.gz source=stsb split=train "
                          "(score>=4 -> 1, <=2 -> 0)",
            "idf": "stsb train sentences + machine_text rows with crc32(group)%2==0, minus "
                   "articles that are DetectRL rewrite originals",
        },
        "metrics": metrics,
        "training_command": "/work/venv/bin/python scripts/train_repetition.py",
    })
    print(json.dumps({"metrics": metrics, "coefficients": coefs, "sha256": meta["sha256"],
                      "seconds": round(time.time() - t0, 1)}, indent=2))


if __name__ == "__main__":
    main()
