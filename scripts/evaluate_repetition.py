"""Evaluate the repetition detector on held-out data (figures for docs/evaluation/repetition.md).

1. Pairwise ROC AUC of the calibrated pair probability: STS-B dev and SemEval STS sentence
   pairs (binarised >= 4 / <= 2; the model was trained on STS-B train only) and DetectRL
   article/rewrite document pairs per rewrite kind (never used in training).
2. Paragraph-level precision / recall on composed documents, per tier (exact copy, light
   edit, glued concatenation, real paraphrase by kind), false positives on untouched
   articles and on an article followed by another article's rewrite. The composition rule
   is in the docs and in :func:`build_documents`.
3. Time per document at 10 / 100 / 1,000 / 10,000 paragraphs (CPU time of this process,
   and wall time, which depends on the machine's load) and peak traced memory.

Run:  /work/venv/bin/python scripts/evaluate_repetition.py [--data-root ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import statistics
import sys
import time
import tracemalloc
import zlib
from collections import defaultdict
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from qualityscan.detectors.repetition import (
    RepetitionDetector,
    idf_weight,
    make_unit,
    pair_features,
    split_sentences,
)
from qualityscan.document import Document
from qualityscan.model import load_model, shipped_model_path
from qualityscan.segment import segment

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_repetition import DEFAULT_DATA, features, idf_half, read_jsonl, sts_binary

OUT = Path(__file__).resolve().parents[1] / "docs" / "evaluation" / "repetition_results.json"
_SENT = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"'\u201d\u2019]))\s+(?=[A-Z\"'\u201c\u2018])|(?<=[a-z][.!?])(?=[A-Z])")
THRESHOLD = 0.5


def paragraphs_of(text: str, rng: random.Random) -> list[str]:
    """Cut a one-line article into paragraphs of 2-3 consecutive sentences."""
    sents = [s.strip() for s in _SENT.split(text) if s.strip()]
    out, i = [], 0
    while i < len(sents):
        k = rng.choice((2, 3))
        out.append(" ".join(sents[i:i + k]))
        i += k
    return out


def light_edit(par: str, rng: random.Random, pool: list[str], rate: float = 0.15) -> str:
    """Word-level edits at ``rate``: drop a word, swap it with the next, or replace it with
    a word drawn from other articles; numbers and case kept."""
    words = par.split()
    out: list[str] = []
    i = 0
    while i < len(words):
        w = words[i]
        r = rng.random()
        if r < rate / 3:
            i += 1
            continue
        if r < 2 * rate / 3 and i + 1 < len(words):
            out += [words[i + 1], w]
            i += 2
            continue
        out.append(rng.choice(pool) if r < rate else w)
        i += 1
    return " ".join(out)


def select(n: int, rng: random.Random, shuffled: bool) -> list[int]:
    """A random half-or-more of ``n`` paragraph indices, in order or shuffled."""
    k = rng.randint(max(1, math.ceil(n / 2)), n)
    idx = sorted(rng.sample(range(n), k))
    if shuffled:
        rng.shuffle(idx)
    return idx


def compose(first: list[str], second: list[str], label: int) -> tuple[str, list[int]]:
    """Document text (one paragraph per line) and paragraph labels (1 = restatement)."""
    return "\n\n".join(first + second), [0] * len(first) + [label] * len(second)


def score(det: RepetitionDetector, text: str) -> tuple[list[float], list, float]:
    doc = segment(Document("eval", "eval", text))
    res = det.score(doc)
    return res.scores, res.evidence, det.aggregate(doc, res)


def build_documents(pairs: list[dict], news: list[dict], rng: random.Random) -> list[dict]:
    """All composed evaluation documents (held-out articles only)."""
    rewrite_heads = {r["text_a"][:80] for r in pairs if r["source"] == "detectrl-rewrite"}
    articles = [r["text_full"] for r in news if r["label"] == "human" and idf_half(r["group"]) == 1
                and r["text"][:80] not in rewrite_heads]
    pool = [w for a in articles for w in a.split() if w.isalpha() and len(w) > 3]
    docs: list[dict] = []
    for n_art, art in enumerate(articles):
        pars = paragraphs_of(art, rng)
        if len(pars) < 4:
            continue
        shuffled = n_art % 2 == 1
        part = _part(art)
        docs.append({"tier": "untouched", "text": "\n\n".join(pars), "labels": [0] * len(pars),
                     "part": part})
        idx = select(len(pars), rng, shuffled)
        for tier, second in (
            ("exact", [pars[i] for i in idx]),
            ("light_edit", [light_edit(pars[i], rng, pool) for i in idx]),
            ("glued", _glue([pars[i] for i in sorted(idx)], rng)),
        ):
            text, labels = compose(pars, second, 1)
            docs.append({"tier": tier, "text": text, "labels": labels, "shuffled": shuffled,
                         "part": part})
    for n_pair, r in enumerate(p for p in pairs if p["source"] == "detectrl-rewrite"):
        part = _part(r["text_a"])
        first = paragraphs_of(r["text_a"], rng)
        second = paragraphs_of(r["text_b"], rng)
        if len(first) < 2 or not second:
            continue
        shuffled = n_pair % 2 == 1
        if int(r["label"]) == 1:
            second = [second[i] for i in select(len(second), rng, shuffled)]
        tier = f"paraphrase:{r['subset']}" if int(r["label"]) == 1 else "other_article_rewrite"
        text, labels = compose(first, second, int(r["label"]))
        docs.append({"tier": tier, "text": text, "labels": labels, "part": part,
                     "domain": r["domain"], "shuffled": shuffled})
    return docs


def _part(article: str) -> str:
    """Half of the source articles tune parameters (dev), the other half is reported (test)."""
    return "dev" if zlib.crc32(article[:200].encode("utf-8")) % 2 == 0 else "test"


def _glue(pars: list[str], rng: random.Random) -> list[str]:
    """Join runs of 2-4 consecutive paragraphs into one line with no space between them."""
    out, i = [], 0
    while i < len(pars):
        k = rng.randint(2, 4)
        out.append("".join(pars[i:i + k]))
        i += k
    return out


def paragraph_metrics(rows: list[tuple[int, float]]) -> dict[str, object]:
    """Counts, ROC AUC, and precision / recall / false-positive rate at THRESHOLD and 0.3."""
    y = np.array([r[0] for r in rows])
    s = np.array([r[1] for r in rows])
    out: dict[str, object] = {"paragraphs": len(rows), "restated": int(y.sum())}
    if 0 < y.sum() < len(y):
        out["roc_auc"] = round(float(roc_auc_score(y, s)), 4)
    for cut in (THRESHOLD, 0.3):
        flagged = s >= cut
        tp = int((flagged & (y == 1)).sum())
        at: dict[str, float | int] = {"flagged": int(flagged.sum())}
        if y.sum():
            at["recall"] = round(tp / y.sum(), 4)
        if flagged.sum() and y.sum():
            at["precision"] = round(tp / flagged.sum(), 4)
        if (y == 0).sum():
            at["false_positive_rate"] = round(float((flagged & (y == 0)).sum() / (y == 0).sum()), 4)
        if cut == THRESHOLD:
            out.update(at)
        else:
            out[f"at_{cut}"] = at
    return out


def evaluate_documents(det: RepetitionDetector, docs: list[dict], part: str) -> dict:
    by_tier: dict[str, list[tuple[int, float]]] = defaultdict(list)
    doc_scores: dict[str, list[float]] = defaultdict(list)
    ref_ok = ref_total = 0
    for d in docs:
        if d["part"] != part:
            continue
        scores, evidence, agg = score(det, d["text"])
        if len(scores) != len(d["labels"]):
            raise RuntimeError(f"paragraph count mismatch in a composed {d['tier']} document")
        by_tier[d["tier"]].extend(zip(d["labels"], scores))
        doc_scores[d["tier"]].append(agg)
        n_first = d["labels"].index(1) if 1 in d["labels"] else len(d["labels"])
        for lab, ev in zip(d["labels"], evidence):
            if lab and ev:
                ref_total += 1
                ref_ok += ev[0].ref is not None and ev[0].ref < n_first
    out = {tier: paragraph_metrics(rows) for tier, rows in sorted(by_tier.items())}
    neg = doc_scores.get("untouched", []) + doc_scores.get("other_article_rewrite", [])
    for tier, vals in sorted(doc_scores.items()):
        out[tier]["documents"] = len(vals)
        out[tier]["doc_score_median"] = round(statistics.median(vals), 4)
        if tier not in ("untouched", "other_article_rewrite") and neg:
            y = [1] * len(vals) + [0] * len(neg)
            out[tier]["doc_auc_vs_negatives"] = round(float(roc_auc_score(y, vals + neg)), 4)
    out["evidence_ref_in_original_half"] = round(ref_ok / ref_total, 4) if ref_total else None
    return out


def pairwise(pairs: list[dict]) -> dict:
    model, _ = load_model(shipped_model_path("repetition"))
    pm, idf = model["pair_model"], model["idf"]
    out = {}
    for name, held in (
        ("stsb_dev", [r for r in pairs if r["source"] == "stsb" and r["split"] == "dev"]),
        ("semeval_sts", [r for r in pairs if r["source"] == "semeval-sts"]),
    ):
        rows, y = sts_binary(held)
        out[name] = {"pairs": len(rows),
                     "roc_auc": round(float(roc_auc_score(y, pm.predict_proba(features(rows, idf))[:, 1])), 4)}
    weight = idf_weight(idf)
    dr = [r for r in pairs if r["source"] == "detectrl-rewrite"]
    for subset in sorted({r["subset"] for r in dr}):
        pos = [r for r in dr if r["subset"] == subset and int(r["label"]) == 1]
        neg = [r for r in dr if r["subset"] == subset and int(r["label"]) == 0]
        X = [pair_features(make_unit(r["text_b"]), make_unit(r["text_a"]), weight) for r in pos + neg]
        p = pm.predict_proba(np.array(X))[:, 1]
        out[f"detectrl_{subset}"] = {"pairs": len(X),
                                     "roc_auc": round(float(roc_auc_score([1] * len(pos) + [0] * len(neg), p)), 4)}
    return out


def timing(det: RepetitionDetector, news: list[dict], rng: random.Random) -> dict:
    """Long documents from held-out real articles (human and machine-written news) with
    a fifth of their paragraphs restated later with light edits."""
    pars = [p for r in news if idf_half(r["group"]) == 1
            for p in paragraphs_of(r.get("text_full") or r["text"], rng)]
    pool = [w for p in pars[:2000] for w in p.split() if w.isalpha()]
    out = {}
    for size in (10, 100, 1000, 10000):
        base = pars[:size - size // 5]
        extra = [light_edit(base[i], rng, pool) for i in sorted(rng.sample(range(len(base)), size // 5))]
        text = "\n\n".join(base + extra)
        reps = 20 if size <= 100 else (3 if size <= 1000 else 1)
        times, cpu = [], []
        for _ in range(reps):
            t0, c0 = time.perf_counter(), time.process_time()
            score(det, text)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        tracemalloc.start()
        score(det, text)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        sec = statistics.median(cpu)
        out[str(size)] = {"paragraphs": size, "chars": len(text), "cpu_seconds": round(sec, 4),
                          "wall_seconds": round(statistics.median(times), 4),
                          "cpu_ms_per_paragraph": round(1000 * sec / size, 3),
                          "peak_traced_mb": round(peak / 2**20, 1)}
        if size == 1000:
            out[str(size)]["minhash_signatures_cpu_seconds"] = minhash_cost(text)
        print(f"timing {size:>6} paragraphs: {sec:.3f} CPU s/document", file=sys.stderr)
    return out


def minhash_cost(text: str) -> float | None:
    """CPU seconds datasketch needs just to build MinHash signatures (128 permutations, word
    trigrams) of every sentence of ``text`` -- the first step of a MinHash-LSH design."""
    try:
        from datasketch import MinHash
    except ImportError:
        return None
    c0 = time.process_time()
    for par in text.split("\n\n"):
        for s, e in split_sentences(par):
            words = par[s:e].lower().split()
            sig = MinHash(num_perm=128)
            sig.update_batch([" ".join(words[i:i + 3]).encode() for i in range(max(1, len(words) - 2))])
    return round(time.process_time() - c0, 3)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--part", choices=("dev", "test"), default="test",
                        help="DetectRL half to report (dev was used to choose parameters)")
    parser.add_argument("--no-timing", action="store_true")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    pairs = read_jsonl(args.data_root / "paraphrase" / "paraphrase_pairs.jsonl.gz")
    news = read_jsonl(args.data_root / "machine_text" / "machine_text.jsonl.gz")
    rng = random.Random(13)
    docs = build_documents(pairs, news, rng)
    det = RepetitionDetector()
    results = {"part": args.part, "threshold": THRESHOLD, "pairwise": pairwise(pairs),
               "documents": evaluate_documents(det, docs, args.part),
               "no_run_bonus": {k: v for k, v in evaluate_documents(
                   RepetitionDetector(run_bonus=0.0), docs, args.part).items()
                   if k.startswith("paraphrase") or k in ("untouched", "other_article_rewrite")}}
    if not args.no_timing:
        results["timing"] = timing(det, news, rng)
    print(json.dumps(results, indent=1))
    if args.part == "test":
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
