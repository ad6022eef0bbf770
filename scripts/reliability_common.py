"""Scoring the labelled set with the detectors (cached) and measuring a model on it.

Shared by ``scripts/train.py`` and ``scripts/evaluate.py``. Scoring runs every registered
detector through :class:`qualityscan.scanner.Scanner` with corpus statistics over the whole
set (as a folder scan would), one process, printing progress. Results are cached under
``--cache-dir`` keyed by a hash of the detector code and models, the feature code and the
documents, so a changed detector or data set is always rescored, and an interrupted run
resumes where it stopped.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from compose import LabelledDoc

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CACHE = Path.home() / ".cache" / "qualityscan" / "reliability"
#: Families whose positives are the same source's reliable documents; composed families are
#: compared with every held-out reliable document.
MATCHED_FAMILIES = ("mt", "mlqe", "machine_text", "back_translation", "boilerplate", "boilerplate_dragnet")
COMPOSED_FAMILIES = ("restated", "prompt_leak", "restated_leak", "chrome")
_CURLY = set("‘’“”")


def code_fingerprint() -> str:
    """Hash of everything that changes a document's features: detectors, their models, the
    scanner, segmentation, language id, corpus statistics and the feature code."""
    from qualityscan import detectors as registry

    pkg = REPO / "qualityscan"
    files = [pkg / n for n in ("document.py", "segment.py", "language.py", "corpus.py", "scanner.py", "features.py")]
    files += sorted((pkg / "detectors").rglob("*.py")) + [Path(__file__)]
    files += sorted(p for p in (REPO / "models").glob("*") if p.is_file() and not p.name.startswith("reliability."))
    digest = hashlib.sha256(json.dumps(registry.REGISTRY, sort_keys=True).encode())
    for f in files:
        if f.exists():
            digest.update(f.name.encode())
            digest.update(f.read_bytes())
    return digest.hexdigest()


def docs_fingerprint(docs: list[LabelledDoc]) -> str:
    digest = hashlib.sha256()
    for d in docs:
        digest.update(d.id.encode())
        digest.update(hashlib.sha256(d.text.encode()).digest())
    return digest.hexdigest()


def _gopher() -> Any:
    try:
        from datatrove.data import Document as DtDocument
        from datatrove.pipeline.filters import GopherQualityFilter, GopherRepetitionFilter
    except ImportError as exc:  # benchmark-only dependency (pip install qualityscan[bench])
        print(f"note: datatrove Gopher baseline unavailable ({exc}); install the 'bench' extra", file=sys.stderr)
        return None
    quality, repetition = GopherQualityFilter(), GopherRepetitionFilter()

    def run(text: str) -> dict[str, float]:
        doc = DtDocument(text=text, id="x")
        q = quality.filter(doc) is True
        r = repetition.filter(doc) is True
        return {"gopher_quality": float(q), "gopher_quality_repetition": float(q and r)}

    return run


def featurize(docs: list[LabelledDoc], cache_dir: Path = DEFAULT_CACHE,
              detectors: list[str] | None = None) -> tuple[dict[str, dict], list[str]]:
    """Score every document with ``detectors`` (default: all registered); returns
    ``({doc id: {"features", "baselines", ...}}, detector names)``."""
    from qualityscan.scanner import Scanner

    scanner = Scanner(detectors=detectors, model=None, corpus=True)
    detectors = scanner.detector_names
    key = hashlib.sha256((code_fingerprint() + ",".join(detectors) + docs_fingerprint(docs)).encode()).hexdigest()[:20]
    cache_dir.mkdir(parents=True, exist_ok=True)
    cache = cache_dir / f"features-{key}.jsonl.gz"
    rows: dict[str, dict] = {}
    if cache.exists():
        try:
            with gzip.open(cache, "rt", encoding="utf-8") as handle:
                for line in handle:
                    row = json.loads(line)
                    rows[row["id"]] = row
        except (OSError, EOFError, ValueError):  # a run killed mid-write: keep what was complete
            pass
    todo = [d for d in docs if d.id not in rows]
    print(f"detectors: {', '.join(detectors) or '(none registered)'}; {len(docs)} documents, "
          f"{len(docs) - len(todo)} cached in {cache}", flush=True)
    if todo:
        _score(docs, todo, rows, scanner, detectors, cache)
    return rows, detectors


def _score(docs: list[LabelledDoc], todo: list[LabelledDoc], rows: dict[str, dict], scanner: Any,
           detectors: list[str], cache: Path) -> None:
    """Score ``todo`` (corpus statistics over all of ``docs``), appending each row to ``cache``,
    in batches as the Scanner scores (which keeps the models to one thread itself)."""
    from qualityscan.corpus import CorpusStats
    from qualityscan.features import document_features
    from qualityscan.readers import document_from_text

    gopher = _gopher()
    with gzip.open(cache, "at", encoding="utf-8") as handle:
        prepared = [scanner.prepare(document_from_text(d.text, id=d.id, source=d.origin)) for d in docs]
        stats = CorpusStats()
        for document in prepared:
            stats.add(document)
        by_id = {p.id: p for p in prepared}
        start = time.monotonic()
        done = 0
        for first in range(0, len(todo), 32):
            batch = todo[first:first + 32]
            for d, report in zip(batch, scanner.score_many([by_id[d.id] for d in batch], stats)):
                missing = [name for name in detectors if name not in report.scores]
                row = {"id": d.id, "missing": missing, "errors": report.errors,
                       "features": document_features(report) if not missing else None,
                       "baselines": {"paragraph_mean": _paragraph_mean(report),
                                     **(gopher(d.text) if gopher else {})}}
                rows[d.id] = row
                handle.write(json.dumps(row) + "\n")
            done += len(batch)
            if done % 320 < 32 or done == len(todo):
                elapsed = time.monotonic() - start
                print(f"  scored {done}/{len(todo)} in {elapsed:.0f}s, "
                      f"about {elapsed / done * (len(todo) - done):.0f}s left", flush=True)


def _paragraph_mean(report: Any) -> float:
    """Baseline: 1 - the plain mean of all paragraph scores over all detectors."""
    values = [s for p in report.document.paragraphs for s in p.scores.values()]
    return 1.0 - float(np.mean(values)) if values else 1.0


def matrix(docs: list[LabelledDoc], rows: dict[str, dict], names: list[str]) -> tuple[list[LabelledDoc], np.ndarray]:
    """Documents with complete features and their feature matrix (a document a detector could
    not score, e.g. not English, is left out and counted in the log)."""
    from qualityscan.features import vector

    kept = [d for d in docs if rows[d.id]["features"] is not None]
    if not kept:
        errors = next((rows[d.id]["errors"] for d in docs if rows[d.id]["errors"]), [])
        raise SystemExit(f"no document was scored by every detector; first errors: {errors[:3]}")
    if len(kept) < len(docs):
        print(f"  {len(docs) - len(kept)} documents left out: not scored by every detector", flush=True)
    return kept, np.asarray([vector(rows[d.id]["features"], names) for d in kept], dtype=float)


# --------------------------------------------------------------------------- metrics
def _auc(y: np.ndarray, s: np.ndarray) -> float | None:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, s)) if len(set(y.tolist())) == 2 else None


def _ap(y: np.ndarray, s: np.ndarray) -> float | None:
    from sklearn.metrics import average_precision_score

    return float(average_precision_score(y, s)) if len(set(y.tolist())) == 2 else None


def _spearman(a: np.ndarray, b: np.ndarray) -> float | None:
    """Spearman's rho, ``None`` when one side is constant (e.g. a pass/fail baseline that passes all)."""
    from scipy.stats import spearmanr

    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    return float(spearmanr(a, b).statistic)


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    return float(sum(abs(p[idx == b].mean() - y[idx == b].mean()) * (idx == b).mean()
                     for b in range(bins) if (idx == b).any()))


def evaluate(docs: list[LabelledDoc], scores: dict[str, np.ndarray], rows: dict[str, dict]) -> dict[str, Any]:
    """Held-out metrics of several scorers (``scores[name][i]`` = reliability of ``docs[i]``)."""
    from sklearn.metrics import brier_score_loss

    labelled = np.array([d.label is not None for d in docs])
    y_all = np.array([d.label if d.label is not None else -1 for d in docs])
    fam = np.array([d.family for d in docs])
    out: dict[str, Any] = {"n_documents": len(docs), "n_labelled": int(labelled.sum())}
    model = scores["model"]
    y = y_all[labelled]
    out["overall"] = {name: {"roc_auc": _auc(y, s[labelled]), "ap_reliable": _ap(y, s[labelled]),
                             "ap_unreliable": _ap(1 - y, 1 - s[labelled])} for name, s in scores.items()}
    out["calibration"] = {"brier": float(brier_score_loss(y, model[labelled])),
                          "brier_base_rate": float(brier_score_loss(y, np.full(len(y), y.mean()))),
                          "ece_10_bins": expected_calibration_error(y, model[labelled])}
    pooled_pos = labelled & (y_all == 1) & (fam != "boilerplate_dragnet")
    per: dict[str, Any] = {}
    for family in MATCHED_FAMILIES + COMPOSED_FAMILIES:
        neg = labelled & (y_all == 0) & (fam == family)
        pos = labelled & (y_all == 1) & (fam == family) if family in MATCHED_FAMILIES else pooled_pos
        if not neg.any() or not pos.any():
            continue
        sel = pos | neg
        yy = y_all[sel]
        entry = {"n_reliable": int(pos.sum()), "n_unreliable": int(neg.sum()),
                 "positives": "same source" if family in MATCHED_FAMILIES else "all held-out reliable"}
        for name, s in scores.items():
            entry[name] = _auc(yy, s[sel])
        # shortcut checks: how well length alone, or curly-quote use alone, separates the classes
        length = np.array([len(d.text) for d, k in zip(docs, sel) if k], dtype=float)
        curly = np.array([sum(c in _CURLY for c in d.text) / max(1, len(d.text)) for d, k in zip(docs, sel) if k])
        entry["length_only"] = max(_auc(yy, length), 1 - _auc(yy, length))
        entry["curly_quotes_only"] = max(_auc(yy, curly), 1 - _auc(yy, curly))
        per[family] = entry
    out["per_source"] = per
    # finer breakdown: which generator / which kind of restatement is ranked well or badly
    sub: dict[str, Any] = {}
    for i, d in enumerate(docs):
        if d.label == 0 and d.family in ("machine_text", "restated"):
            name = d.origin if d.family == "machine_text" else "restated/" + "+".join(d.meta["restatements"])
            sub.setdefault(name, []).append(i)
    for name, idx in sorted(sub.items()):
        family = name.split("/")[0]
        pos = np.flatnonzero(labelled & (y_all == 1) & (fam == family) if family in MATCHED_FAMILIES else pooled_pos)
        sel = np.concatenate([pos, np.array(idx)])
        yy = np.r_[np.ones(len(pos)), np.zeros(len(idx))]
        out.setdefault("per_subgroup", {})[name] = {"n_unreliable": len(idx), "model": _auc(yy, model[sel])}
    spear: dict[str, Any] = {}
    for family in ("mt", "mlqe", "boilerplate", "boilerplate_dragnet"):
        sel = np.array([d.family == family and d.grade is not None for d in docs])
        if sel.sum() > 2:
            grades = np.array([d.grade for d, k in zip(docs, sel) if k], dtype=float)
            spear[family] = {name: _spearman(s[sel], grades) for name, s in scores.items()}
            spear[family]["n"] = int(sel.sum())
    out["spearman_graded"] = spear
    return out


def reliability_diagram(y: np.ndarray, p: np.ndarray, path: Path, title: str) -> None:
    """Calibration curve (10 equal-width bins) with the histogram of predictions, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.calibration import calibration_curve

    frac, mean_pred = calibration_curve(y, p, n_bins=10, strategy="uniform")
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(5.5, 6.5), gridspec_kw={"height_ratios": [3, 1]}, sharex=True)
    top.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    top.plot(mean_pred, frac, marker="o", label="reliability model")
    top.set_ylabel("share of documents that are reliable")
    top.set_title(title, fontsize=9)
    top.legend(loc="upper left")
    bottom.hist([p[y == 1], p[y == 0]], bins=20, range=(0, 1), stacked=True, label=["reliable", "not reliable"])
    bottom.set_xlabel("predicted reliability")
    bottom.set_ylabel("documents")
    bottom.legend(loc="upper center", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def table(results: dict[str, Any]) -> str:
    """Markdown tables of the held-out results (model vs baselines)."""
    names = list(results["overall"])
    fmt = lambda v: "–" if v is None else f"{v:.3f}"
    lines = ["| scorer | ROC AUC | AP (reliable) | AP (not reliable) |", "|---|---:|---:|---:|"]
    for n in names:
        o = results["overall"][n]
        lines.append(f"| {n} | {fmt(o['roc_auc'])} | {fmt(o['ap_reliable'])} | {fmt(o['ap_unreliable'])} |")
    lines += ["", "| source (negatives) | reliable / not | positives | " + " | ".join(f"AUC {n}" for n in names)
              + " | length only | curly quotes only |", "|---|---|---|" + "---:|" * (len(names) + 2)]
    for family, e in results["per_source"].items():
        lines.append(f"| {family} | {e['n_reliable']} / {e['n_unreliable']} | {e['positives']} | "
                     + " | ".join(fmt(e[n]) for n in names) + f" | {fmt(e['length_only'])} | {fmt(e['curly_quotes_only'])} |")
    if results.get("per_subgroup"):
        lines += ["", "| subgroup (negatives) | n | AUC model |", "|---|---:|---:|"]
        lines += [f"| {k} | {v['n_unreliable']} | {fmt(v['model'])} |" for k, v in results["per_subgroup"].items()]
    lines += ["", "| graded source | n | " + " | ".join(f"Spearman {n}" for n in names) + " |",
              "|---|---:|" + "---:|" * len(names)]
    for family, e in results["spearman_graded"].items():
        lines.append(f"| {family} | {e['n']} | " + " | ".join(fmt(e[n]) for n in names) + " |")
    c = results["calibration"]
    lines += ["", (f"Calibration (held-out, labelled): Brier {c['brier']:.4f} (predicting the base rate: "
                   f"{c['brier_base_rate']:.4f}), expected calibration error {c['ece_10_bins']:.4f} (10 bins).")]
    return "\n".join(lines)


def family_counts(docs: list[LabelledDoc]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for d in docs:
        out[d.family]["reliable" if d.label == 1 else "unreliable" if d.label == 0 else "graded_only"] += 1
    return {k: dict(v) for k, v in sorted(out.items())}
