"""The document reliability model: features of a scored document -> P(reliable) in 0..1.

A scikit-learn :class:`~sklearn.pipeline.Pipeline` over :mod:`qualityscan.features`,
saved and loaded only through :mod:`qualityscan.model` (SHA-256 and scikit-learn version
checked before unpickling). Its metadata records the detectors and the feature list it was
trained with; :meth:`ReliabilityModel.load` refuses a model whose detectors or feature
definition differ from the ones in use, since its numbers would then be meaningless.

``scripts/train.py`` trains the shipped model; :func:`train_user_model` (``qualityscan
train``) fits the same pipeline on a user's own labelled folder.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qualityscan.document import Report
from qualityscan.features import FEATURE_VERSION, document_features, feature_names, vector
from qualityscan.model import ModelError, load_model, read_metadata, save_model, shipped_model_path

#: Candidate pipelines, compared by grouped cross-validation on the training data.
CANDIDATES: tuple[str, ...] = ("logreg", "hgb", "hgb_sigmoid")
#: Below this many labelled documents only the logistic pipeline is fitted (boosting overfits).
MIN_DOCS_FOR_BOOSTING = 200


def make_pipeline(kind: str, random_state: int = 0) -> Any:
    """A fresh, unfitted pipeline of the given kind.

    * ``logreg``: standardised features, L2 logistic regression (calibrated by construction);
    * ``hgb``: histogram gradient boosting (non-linear interactions between detectors);
    * ``hgb_sigmoid``: the same, with Platt scaling fitted on internal cross-validation
      predictions (``CalibratedClassifierCV(ensemble=False)``, one booster in the file).
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    def hgb() -> HistGradientBoostingClassifier:
        # 31 leaves: grouped 5-fold CV on the shipped model's training side, out-of-fold AUC
        # 0.952 (15 leaves: 0.950, 63: 0.950; more or fewer iterations: within 0.001).
        # max_features=0.5 (half the features drawn at each split): lower out-of-fold log loss
        # on all four fold assignments tried (GroupKFold and three shuffled
        # StratifiedGroupKFold seeds: 0.244/0.244/0.240/0.245 against 0.249/0.255/0.250/0.253),
        # AUC +0.001 to +0.002; a soft-voting bag of five such boosters did no better.
        return HistGradientBoostingClassifier(
            learning_rate=0.05, max_iter=250, max_leaf_nodes=31, min_samples_leaf=20,
            l2_regularization=1.0, max_features=0.5, random_state=random_state)

    if kind == "logreg":
        return Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(C=0.5, max_iter=5000))])
    if kind == "hgb":
        return Pipeline([("scale", StandardScaler()), ("clf", hgb())])
    if kind == "hgb_sigmoid":
        return Pipeline([("scale", StandardScaler()),
                         ("clf", CalibratedClassifierCV(hgb(), method="sigmoid", cv=3, ensemble=False))])
    raise ValueError(f"unknown model kind {kind!r}; choose from {', '.join(CANDIDATES)}")


def cross_validate(kind: str, X: np.ndarray, y: np.ndarray, groups: Sequence[str], folds: int = 5,
                   random_state: int = 0, sample_weight: np.ndarray | None = None) -> dict[str, float]:
    """Out-of-fold ROC AUC, Brier score and log loss of ``kind``, folds grouped by ``groups``
    (fitted and measured with ``sample_weight`` when given)."""
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
    from sklearn.model_selection import GroupKFold, cross_val_predict

    n_groups = len(set(groups))
    cv = GroupKFold(n_splits=min(folds, n_groups))
    params = {} if sample_weight is None else {"clf__sample_weight": sample_weight}
    proba = cross_val_predict(make_pipeline(kind, random_state), X, y, groups=groups, cv=cv,
                              method="predict_proba", n_jobs=1, params=params)[:, 1]
    w = sample_weight
    return {"roc_auc": float(roc_auc_score(y, proba, sample_weight=w)),
            "brier": float(brier_score_loss(y, proba, sample_weight=w)),
            "log_loss": float(log_loss(y, np.clip(proba, 1e-6, 1 - 1e-6), sample_weight=w))}


def fit_model(X: np.ndarray, y: np.ndarray, groups: Sequence[str], kinds: Iterable[str] = CANDIDATES,
              random_state: int = 0, sample_weight: Sequence[float] | None = None) -> tuple[Any, dict[str, Any]]:
    """Choose the candidate with the lowest grouped-CV log loss, then fit it on all of ``X``
    (every fit and CV figure weighted by ``sample_weight`` when given).

    Returns ``(pipeline, selection)`` where ``selection`` holds every candidate's CV figures.
    Runs single-threaded (a shared machine; the data is small).
    """
    from threadpoolctl import threadpool_limits

    weights = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
    with threadpool_limits(limits=1):
        return _fit_model(X, y, groups, kinds, random_state, weights)


def _fit_model(X: np.ndarray, y: np.ndarray, groups: Sequence[str], kinds: Iterable[str],
               random_state: int, weights: np.ndarray | None) -> tuple[Any, dict[str, Any]]:
    y = np.asarray(y, dtype=int)
    if len(set(y.tolist())) < 2:
        raise ValueError("training labels hold a single class; need reliable and unreliable documents")
    kinds = list(kinds) if len(y) >= MIN_DOCS_FOR_BOOSTING else ["logreg"]
    results: dict[str, dict[str, float]] = {}
    can_cv = len(set(groups)) >= 3 and min(np.bincount(y)) >= 3
    if can_cv and len(kinds) > 1:
        for kind in kinds:
            results[kind] = cross_validate(kind, X, y, groups, random_state=random_state, sample_weight=weights)
        chosen = min(kinds, key=lambda k: (results[k]["log_loss"], kinds.index(k)))
    else:
        chosen = kinds[0]
        if can_cv:
            results[chosen] = cross_validate(chosen, X, y, groups, random_state=random_state, sample_weight=weights)
    pipeline = make_pipeline(chosen, random_state).fit(
        X, y, **({} if weights is None else {"clf__sample_weight": weights}))
    return pipeline, {"chosen": chosen, "cross_validation": results,
                      "criterion": "lowest out-of-fold log loss, folds grouped by document/article"}


def save(pipeline: Any, path: str | os.PathLike[str], detectors: Sequence[str],
         metadata: dict[str, Any]) -> dict[str, Any]:
    """Save a fitted pipeline with the metadata every reliability model must carry."""
    meta = dict(metadata)
    meta.update({"kind": "reliability", "detectors": list(detectors),
                 "features": feature_names(detectors), "feature_version": FEATURE_VERSION,
                 "positive_class": "reliable"})
    return save_model(pipeline, path, meta)


class ReliabilityModel:
    """A loaded reliability model: ``predict(report)`` is P(reliable) in 0..1."""

    def __init__(self, pipeline: Any, detectors: Sequence[str], metadata: dict[str, Any] | None = None,
                 path: str | os.PathLike[str] | None = None) -> None:
        self.pipeline = pipeline
        self.detectors = list(detectors)
        self.features = feature_names(self.detectors)
        self.metadata = metadata or {}
        self.path = Path(path) if path is not None else None

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None, allow_version_mismatch: bool = False,
             detectors: Sequence[str] | None = None) -> ReliabilityModel:
        """Load and check a model (``None``: the shipped ``models/reliability.joblib``).

        ``detectors`` are the detectors the documents will be scored with (default: every
        registered one). Raises :class:`~qualityscan.model.ModelError` naming the file and
        the reason when it is missing, tampered with, from another scikit-learn version
        (unless allowed) or trained on other detectors or another feature definition.
        """
        from qualityscan import detectors as registry

        path = Path(path) if path is not None else shipped_model_path("reliability")
        if not path.is_file():
            hint = " (train it with scripts/train.py)" if path == shipped_model_path("reliability") else ""
            raise ModelError(f"{path}: reliability model file not found{hint}")
        meta = read_metadata(path)
        expected = list(detectors) if detectors is not None else registry.available()
        trained = meta.get("detectors")
        if meta.get("kind") != "reliability" or not isinstance(trained, list):
            raise ModelError(f"{path}: not a reliability model (its metadata has no detector list)")
        if sorted(trained) != sorted(expected):
            raise ModelError(
                f"{path}: trained on detectors [{', '.join(trained)}] but documents are scored with "
                f"[{', '.join(expected)}]; its features would not match. Retrain it "
                "(scripts/train.py, or qualityscan train) after the detectors change")
        if meta.get("feature_version") != FEATURE_VERSION or meta.get("features") != feature_names(trained):
            raise ModelError(
                f"{path}: its feature list (version {meta.get('feature_version')}) differs from this "
                f"qualityscan's (version {FEATURE_VERSION}); retrain it")
        pipeline, meta = load_model(path, allow_version_mismatch=allow_version_mismatch)
        if not hasattr(pipeline, "predict_proba") or getattr(pipeline, "n_features_in_", None) != len(meta["features"]):
            raise ModelError(f"{path}: the stored estimator does not take the {len(meta['features'])} "
                             "features its metadata lists")
        return cls(pipeline, trained, meta, path)

    def predict(self, report: Report) -> float:
        """Reliability of one scored document, 0..1 (higher = more trustworthy)."""
        return self.predict_many([report])[0]

    def predict_many(self, reports: Sequence[Report]) -> list[float]:
        """Reliabilities of several scored documents, in order."""
        if not reports:
            return []
        rows = []
        for report in reports:
            missing = [d for d in self.detectors if d not in report.scores]
            if missing:
                raise ModelError(f"{self.path or 'reliability model'}: document {report.id!r} has no scores "
                                 f"from {', '.join(missing)}, which the model needs")
            rows.append(vector(document_features(report), self.features))
        return self.predict_features(np.asarray(rows, dtype=float))

    def predict_features(self, X: np.ndarray) -> list[float]:
        """Reliabilities of feature rows already in :attr:`features` order."""
        proba = self.pipeline.predict_proba(np.asarray(X, dtype=float))[:, 1]
        return [float(min(1.0, max(0.0, p))) for p in proba]


# --------------------------------------------------------------------------- user training
def read_labels(path: str | os.PathLike[str]) -> dict[str, float]:
    """Labels from a CSV (columns ``id``, ``label``) or JSONL (``{"id": ..., "label": ...}``) file.

    A label is 1 (reliable) / 0 (not) or a grade in 0..1; anything else is an error naming
    the file and line.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: labels file not found")
    rows: list[tuple[int, Any, Any]] = []
    with open(path, encoding="utf-8-sig", newline="") as handle:
        if path.suffix.lower() in (".jsonl", ".json", ".ndjson"):
            for n, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except ValueError as exc:
                    raise ValueError(f"{path}:{n}: not JSON: {exc}") from None
                if not isinstance(obj, dict) or "id" not in obj or "label" not in obj:
                    raise ValueError(f"{path}:{n}: expected an object with 'id' and 'label'")
                rows.append((n, obj["id"], obj["label"]))
        else:
            reader = csv.DictReader(handle)
            fields = {(f or "").strip().lower(): f for f in reader.fieldnames or []}
            if "id" not in fields or "label" not in fields:
                raise ValueError(f"{path}: a CSV labels file needs a header with 'id' and 'label' columns, "
                                 f"found {reader.fieldnames}")
            for n, row in enumerate(reader, 2):
                rows.append((n, row[fields["id"]], row[fields["label"]]))
    labels: dict[str, float] = {}
    for n, key, value in rows:
        key = str(key).strip() if key is not None else ""
        try:
            grade = float(value)
        except (TypeError, ValueError):
            grade = math.nan
        if not key:
            raise ValueError(f"{path}:{n}: empty id")
        if not 0.0 <= grade <= 1.0:
            raise ValueError(f"{path}:{n}: label {value!r} for {key!r} is not 1, 0 or a grade in 0..1")
        if key in labels and labels[key] != grade:
            raise ValueError(f"{path}:{n}: id {key!r} is labelled twice with different values")
        labels[key] = grade
    if not labels:
        raise ValueError(f"{path}: no labels found")
    return labels


def _match(report: Report, labels: dict[str, float]) -> str | None:
    source = report.document.source or ""
    for key in (report.id, source, Path(source).name, Path(source).stem, Path(report.id).name, Path(report.id).stem):
        if key and key in labels:
            return key
    return None


def train_user_model(paths: list[str], labels: str, out: str,
                     scanner_kwargs: dict | None = None) -> dict:
    """Scan ``paths``, fit the reliability pipeline on the labelled documents, save it to ``out``.

    ``labels`` maps document ids (as the scan reports them, or file names / stems) to 1 / 0
    or a grade in 0..1 (>= 0.5 counts as reliable). Returns the saved metadata, including
    grouped cross-validated metrics when there are enough documents.
    """
    from threadpoolctl import threadpool_limits

    from qualityscan.scanner import Scanner

    wanted = read_labels(labels)
    kwargs = dict(scanner_kwargs or {})
    kwargs["model"] = None
    scanner = Scanner(**kwargs)
    detectors = scanner.detector_names
    if not detectors:
        raise ValueError("no detectors are registered; nothing to train on")
    matched: dict[str, Report] = {}
    skipped: list[str] = []
    with threadpool_limits(limits=1):  # many tiny predict calls: threads only add overhead
        for report in scanner.scan_paths(paths):
            key = _match(report, wanted)
            if key is None:
                continue
            if key in matched or key in skipped:
                raise ValueError(f"{labels}: label id {key!r} matches more than one scanned document "
                                 f"(e.g. {report.document.source}); use the document ids the scan reports")
            if any(d not in report.scores for d in detectors):
                skipped.append(key)  # unreadable, empty or in a language a detector does not cover
                continue
            matched[key] = report
    missing = [k for k in wanted if k not in matched and k not in skipped]
    if missing:
        raise ValueError(f"{labels}: {len(missing)} labelled id(s) not found among the scanned documents, "
                         f"e.g. {', '.join(repr(m) for m in missing[:5])}; ids are matched against the "
                         "document id, its source path, file name and file stem")
    keys = sorted(matched)
    if not keys:
        raise ValueError(f"{labels}: none of the labelled documents could be scored by every detector")
    grades = np.array([wanted[k] for k in keys], dtype=float)
    y = (grades >= 0.5).astype(int)
    if len(set(y.tolist())) < 2:
        raise ValueError(f"{labels}: all {len(y)} usable labels are in one class "
                         f"({'reliable' if y[0] else 'not reliable'}); need both")
    X = np.asarray([vector(document_features(matched[k]), feature_names(detectors)) for k in keys])
    pipeline, selection = fit_model(X, y, keys)
    metadata = {
        "training_data": {"paths": [str(p) for p in paths], "labels": str(labels), "documents": len(keys),
                          "reliable": int(y.sum()), "unreliable": int(len(y) - y.sum()),
                          "skipped_unscored": skipped},
        "model_selection": selection,
        "metrics": {"cross_validation": selection["cross_validation"].get(selection["chosen"])},
        "training_command": "qualityscan train " + " ".join(map(str, paths)) + f" --labels {labels} -o {out}",
    }
    return save(pipeline, out, detectors, metadata)
