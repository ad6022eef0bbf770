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


def _labels(docs: list[LabelledDoc]) -> tuple[np.ndarray, np.ndarray]:
    """Whether each document has a binary label, and the labels (-1 where none)."""
    return (np.array([d.label is not None for d in docs]),
            np.array([d.label if d.label is not None else -1 for d in docs]))


def family_selections(docs: list[LabelledDoc]) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``(family, positives, negatives)`` masks over ``docs`` of each per-source comparison: a
    family's unreliable documents against the same source's reliable ones (matched families)
    or against every reliable document but the evaluation-only dragnet pages (composed
    families); families lacking either side are left out."""
    labelled, y_all = _labels(docs)
    fam = np.array([d.family for d in docs])
    pooled_pos = labelled & (y_all == 1) & (fam != "boilerplate_dragnet")
    out = []
    for family in MATCHED_FAMILIES + COMPOSED_FAMILIES:
        neg = labelled & (y_all == 0) & (fam == family)
        pos = labelled & (y_all == 1) & (fam == family) if family in MATCHED_FAMILIES else pooled_pos
        if neg.any() and pos.any():
            out.append((family, pos, neg))
    return out


# --------------------------------------------------------------------------- bootstrap intervals
#: Grouped-bootstrap settings of the held-out intervals (``scripts/evaluate.py``).
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 0


def group_resample_weights(groups: np.ndarray, n_resamples: int = BOOTSTRAP_RESAMPLES,
                           seed: int = BOOTSTRAP_SEED) -> np.ndarray:
    """Grouped (cluster) bootstrap as multiplicities: row ``b`` holds how many times each
    document is in resample ``b``, drawn as ``len(unique groups)`` whole groups with replacement
    (documents of one group, i.e. one article or domain, are correlated and move together)."""
    _, index = np.unique(np.asarray(groups), return_inverse=True)
    n_groups = int(index.max()) + 1
    counts = np.random.default_rng(seed).multinomial(n_groups, np.full(n_groups, 1 / n_groups), size=n_resamples)
    return counts[:, index].astype(float)


def weighted_aucs(y: np.ndarray, s: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """ROC AUC of scores ``s`` for labels ``y`` (1 = positive) under each row of ``weights``
    (Mann-Whitney form, ties counted one half, as ``roc_auc_score(..., sample_weight=row)``),
    all rows at once; NaN for a row without positive or without negative weight."""
    order = np.argsort(s, kind="stable")
    ranked = s[order]
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])  # one bin per distinct score
    w = weights[:, order]
    pos = np.add.reduceat(w * (y[order] == 1), starts, axis=1)
    neg = np.add.reduceat(w * (y[order] != 1), starts, axis=1)
    below = np.cumsum(neg, axis=1) - neg
    n_pos, n_neg = pos.sum(axis=1), neg.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((n_pos > 0) & (n_neg > 0), (pos * (below + 0.5 * neg)).sum(axis=1) / (n_pos * n_neg), np.nan)


def bootstrap_aucs(y: np.ndarray, scores: dict[str, np.ndarray], groups: np.ndarray,
                   n_resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED) -> tuple[dict[str, np.ndarray], int]:
    """ROC AUC of every scorer on the same grouped bootstrap resamples (so differences between
    scorers are paired); returns ``({name: AUC per kept resample}, resamples skipped because
    one class was missing)``."""
    weights = group_resample_weights(groups, n_resamples, seed)
    aucs = {name: weighted_aucs(y, s, weights) for name, s in scores.items()}
    kept = ~np.isnan(next(iter(aucs.values())))
    return {name: a[kept] for name, a in aucs.items()}, int((~kept).sum())


def percentile_interval(values: np.ndarray, level: float = 0.95) -> list[float]:
    """Percentile bootstrap interval ``[low, high]`` covering ``level`` of ``values``."""
    if len(values) == 0:
        raise ValueError("no bootstrap resample had both classes: no interval")
    tail = (1 - level) / 2 * 100
    return [float(v) for v in np.percentile(values, [tail, 100 - tail])]


def intervals(docs: list[LabelledDoc], scores: dict[str, np.ndarray], n_resamples: int = BOOTSTRAP_RESAMPLES,
              seed: int = BOOTSTRAP_SEED) -> dict[str, Any]:
    """Grouped-bootstrap 95 % intervals of the held-out AUCs of :func:`evaluate`: pooled for every
    scorer; per family for the model and for the paired difference model - ``paragraph_mean``."""
    labelled, y_all = _labels(docs)
    groups = np.array([d.group for d in docs])
    aucs, skipped = bootstrap_aucs(y_all[labelled], {n: s[labelled] for n, s in scores.items()}, groups[labelled],
                                   n_resamples, seed)
    out: dict[str, Any] = {"resamples": n_resamples, "seed": seed, "level": 0.95,
                           "n_groups": len(set(groups[labelled].tolist())), "skipped": {"overall": skipped},
                           "overall": {n: percentile_interval(a) for n, a in aucs.items()}, "per_source": {}}
    paired = [n for n in ("model", "paragraph_mean") if n in scores]
    for family, pos, neg in family_selections(docs):
        sel = pos | neg
        aucs, skipped = bootstrap_aucs(y_all[sel], {n: scores[n][sel] for n in paired}, groups[sel], n_resamples, seed)
        entry = {"model": percentile_interval(aucs["model"]), "n_groups": len(set(groups[sel].tolist()))}
        if "paragraph_mean" in aucs:
            entry["model_minus_paragraph_mean"] = percentile_interval(aucs["model"] - aucs["paragraph_mean"])
        out["per_source"][family] = entry
        if skipped:
            out["skipped"][family] = skipped
    return out


def evaluate(docs: list[LabelledDoc], scores: dict[str, np.ndarray], rows: dict[str, dict]) -> dict[str, Any]:
    """Held-out metrics of several scorers (``scores[name][i]`` = reliability of ``docs[i]``)."""
    from sklearn.metrics import brier_score_loss

    labelled, y_all = _labels(docs)
    out: dict[str, Any] = {"n_documents": len(docs), "n_labelled": int(labelled.sum())}
    model = scores["model"]
    y = y_all[labelled]
    out["overall"] = {name: {"roc_auc": _auc(y, s[labelled]), "ap_reliable": _ap(y, s[labelled]),
                             "ap_unreliable": _ap(1 - y, 1 - s[labelled])} for name, s in scores.items()}
    out["calibration"] = {"brier": float(brier_score_loss(y, model[labelled])),
                          "brier_base_rate": float(brier_score_loss(y, np.full(len(y), y.mean()))),
                          "ece_10_bins": expected_calibration_error(y, model[labelled])}
    per: dict[str, Any] = {}
    selections = family_selections(docs)
    for family, pos, neg in selections:
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
    positives = {family: pos for family, pos, _ in selections}
    for name, idx in sorted(sub.items()):
        pos = np.flatnonzero(positives[name.split("/")[0]])
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


def table(results: dict[str, Any], ci: dict[str, Any] | None = None) -> str:
    """Markdown tables of the held-out results (model vs baselines), with the bootstrap
    intervals of :func:`intervals` as extra columns when ``ci`` is given."""
    names = list(results["overall"])
    fmt = lambda v: "–" if v is None else f"{v:.3f}"
    span = lambda v, spec=".3f": f"[{v[0]:{spec}}, {v[1]:{spec}}]"
    lines = ["| scorer | ROC AUC | " + ("95% CI | " if ci else "") + "AP (reliable) | AP (not reliable) |",
             "|---|---:|" + ("---:|" if ci else "") + "---:|---:|"]
    for n in names:
        o = results["overall"][n]
        lines.append(f"| {n} | {fmt(o['roc_auc'])} | " + (f"{span(ci['overall'][n])} | " if ci else "")
                     + f"{fmt(o['ap_reliable'])} | {fmt(o['ap_unreliable'])} |")
    # extra per-source columns: (header, cell from the family's results and intervals), after a scorer's AUC
    extra = {"model": ("95% CI", lambda e, c: span(c["model"])),
             "paragraph_mean": ("model − paragraph_mean (95% CI)",
                                lambda e, c: f"{e['model'] - e['paragraph_mean']:+.3f} "
                                             f"{span(c['model_minus_paragraph_mean'], '+.3f')}")} if ci else {}
    header = [h for n in names for h in (f"AUC {n}", *([extra[n][0]] if n in extra else []))]
    if ci:
        skipped = ", ".join(f"{k} {v}" for k, v in ci["skipped"].items() if v) or "none"
        lines += ["", (f"95% CI: percentile interval of a grouped bootstrap over the held-out groups (an article, "
                       f"or a page's domain: {ci['n_groups']} groups among the labelled documents; each resample "
                       f"draws as many whole groups with replacement, so correlated documents move together), "
                       f"{ci['resamples']} resamples, numpy seed {ci['seed']}; per source the model's AUC and its "
                       f"difference from `paragraph_mean` are computed on the same resamples (paired). "
                       f"Resamples skipped for lacking a class: {skipped}.")]
    lines += ["", "| source (negatives) | reliable / not | positives | " + " | ".join(header)
              + " | length only | curly quotes only |", "|---|---|---|" + "---:|" * (len(header) + 2)]
    for family, e in results["per_source"].items():
        c = ci["per_source"][family] if ci else {}
        cells = [v for n in names for v in (fmt(e[n]), *([extra[n][1](e, c)] if n in extra else []))]
        lines.append(f"| {family} | {e['n_reliable']} / {e['n_unreliable']} | {e['positives']} | "
                     + " | ".join(cells) + f" | {fmt(e['length_only'])} | {fmt(e['curly_quotes_only'])} |")
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
