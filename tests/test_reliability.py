import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from qualityscan import detectors as registry
from qualityscan.document import Document, Report
from qualityscan.features import feature_names
from qualityscan.model import ModelError, ModelIntegrityError, shipped_model_path
from qualityscan.reliability import (
    CANDIDATES,
    ReliabilityModel,
    fit_model,
    make_pipeline,
    read_labels,
    save,
    train_user_model,
)
from qualityscan.segment import segment

DETECTORS = ["repetition"]


def _report(text: str, score: float) -> Report:
    doc = segment(Document("r", "r", text))
    for p in doc.paragraphs:
        p.scores["repetition"] = score
    return Report(doc, scores={"repetition": score})


@pytest.fixture()
def small_model(tmp_path: Path) -> Path:
    """A logistic pipeline on synthetic features: reliable iff the repetition score is low."""
    rng = np.random.default_rng(0)
    names = feature_names(DETECTORS)
    X = rng.random((80, len(names)))
    y = (X[:, names.index("repetition_mean")] < 0.5).astype(int)
    pipeline = make_pipeline("logreg").fit(X, y)
    path = tmp_path / "rel.joblib"
    save(pipeline, path, DETECTORS, {"training_command": "test"})
    return path


def test_load_and_predict_in_unit_interval(small_model: Path):
    model = ReliabilityModel.load(small_model, detectors=DETECTORS)
    text = "First paragraph of the text.\nSecond paragraph of the text.\nThird one."
    clean, repeated = model.predict(_report(text, 0.0)), model.predict(_report(text, 1.0))
    assert 0.0 <= repeated < clean <= 1.0
    assert model.predict_many([_report(text, 0.0), _report(text, 1.0)]) == pytest.approx([clean, repeated])
    assert model.predict_many([]) == []


def test_tampered_model_file_is_refused(small_model: Path, tmp_path: Path):
    copy = tmp_path / "copy" / "rel.joblib"
    copy.parent.mkdir()
    shutil.copy(small_model, copy)
    shutil.copy(small_model.with_suffix(".json"), copy.with_suffix(".json"))
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match="rel.joblib"):
        ReliabilityModel.load(copy, detectors=DETECTORS)


def test_feature_list_mismatch_is_refused(small_model: Path):
    meta_path = small_model.with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    meta["features"] = meta["features"][:-1]
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="feature list"):
        ReliabilityModel.load(small_model, detectors=DETECTORS)


def test_detector_mismatch_and_missing_scores_are_refused(small_model: Path):
    with pytest.raises(ModelError, match="trained on detectors"):
        ReliabilityModel.load(small_model, detectors=["garble", "repetition"])
    model = ReliabilityModel.load(small_model, detectors=DETECTORS)
    bare = Report(segment(Document("x", "x", "Some text here.")), scores={})
    with pytest.raises(ModelError, match="no scores from repetition"):
        model.predict(bare)


def test_missing_model_file(tmp_path: Path):
    with pytest.raises(ModelError, match="not found"):
        ReliabilityModel.load(tmp_path / "none.joblib", detectors=DETECTORS)


def test_read_labels_csv_and_jsonl(tmp_path: Path):
    csv_file = tmp_path / "labels.csv"
    csv_file.write_text("id,label\na.txt,1\nb.txt,0\nc.txt,0.25\n")
    assert read_labels(csv_file) == {"a.txt": 1.0, "b.txt": 0.0, "c.txt": 0.25}
    jsonl = tmp_path / "labels.jsonl"
    jsonl.write_text('{"id": "a", "label": 1}\n\n{"id": "b", "label": 0}\n')
    assert read_labels(jsonl) == {"a": 1.0, "b": 0.0}


@pytest.mark.parametrize("content, message", [
    ("id,label\na,1.5\n", r"labels.csv:2: label '1.5'"),
    ("id,label\na,yes\n", r"labels.csv:2: label 'yes'"),
    ("name,grade\na,1\n", "needs a header"),
    ("id,label\na,1\na,0\n", "labelled twice"),
])
def test_read_labels_rejects_bad_files(tmp_path: Path, content: str, message: str):
    path = tmp_path / "labels.csv"
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        read_labels(path)


# ----------------------------------------------------------------------------- user training
_TOPICS = ["the harbour", "the new library", "the rail line", "the school year", "the river clean-up",
           "the city budget", "the winter festival", "the hospital wing"]


def _clean(i: int) -> str:
    topic = _TOPICS[i % len(_TOPICS)]
    return "\n".join([
        f"Officials presented plans for {topic} at a public meeting on Monday evening in the town hall.",
        f"Residents asked how {topic} would be paid for, and whether local firms would be hired first.",
        f"A spokesperson said a decision about {topic} was expected before the end of the month.",
    ])


def _damaged(i: int) -> str:
    body = _clean(i)
    return f"Summarize this content to 100 words\n{body}\nLeave a Reply\nBack to top button\n{body}"


@pytest.fixture()
def labelled_folder(tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "docs"
    folder.mkdir()
    lines = ["id,label"]
    for i in range(8):
        (folder / f"good{i}.txt").write_text(_clean(i), encoding="utf-8")
        (folder / f"bad{i}.txt").write_text(_damaged(i), encoding="utf-8")
        lines += [f"good{i}.txt,1", f"bad{i}.txt,0"]
    labels = tmp_path / "labels.csv"
    labels.write_text("\n".join(lines) + "\n")
    return folder, labels


def test_train_user_model_gives_a_loadable_hash_checked_model(labelled_folder, tmp_path: Path):
    folder, labels = labelled_folder
    out = tmp_path / "mine.joblib"
    meta = train_user_model([str(folder)], str(labels), str(out))
    assert meta["training_data"]["documents"] == 16
    assert meta["detectors"] == registry.available()
    assert len(meta["sha256"]) == 64 and out.with_suffix(".json").is_file()
    model = ReliabilityModel.load(out)
    from qualityscan.scanner import Scanner

    reports = list(Scanner(model=out).scan_paths([folder]))
    assert all(r.reliability is not None and 0.0 <= r.reliability <= 1.0 for r in reports)
    by_name = {Path(r.document.source).name: model.predict(r) for r in reports}
    assert np.mean([by_name[f"good{i}.txt"] for i in range(8)]) > np.mean([by_name[f"bad{i}.txt"] for i in range(8)])


def test_train_user_model_errors(labelled_folder, tmp_path: Path):
    folder = labelled_folder[0]
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("id,label\ngood0.txt,1\nnowhere.txt,0\n")
    with pytest.raises(ValueError, match="nowhere.txt"):
        train_user_model([str(folder)], str(unknown), str(tmp_path / "m.joblib"))
    single = tmp_path / "single.csv"
    single.write_text("id,label\ngood0.txt,1\ngood1.txt,0.9\n")
    with pytest.raises(ValueError, match="one class"):
        train_user_model([str(folder)], str(single), str(tmp_path / "m.joblib"))
    (folder / "sub").mkdir()
    (folder / "sub" / "good0.txt").write_text(_clean(1), encoding="utf-8")
    with pytest.raises(ValueError, match="more than one scanned document"):
        train_user_model([str(folder)], str(labelled_folder[1]), str(tmp_path / "m.joblib"))


def test_seeds_get_reliability_from_the_shipped_model(seeds_dir: Path):
    assert shipped_model_path("reliability").is_file(), "models/reliability.joblib is missing"
    from qualityscan.scanner import Scanner

    scanner = Scanner()
    assert scanner.has_model, "the shipped reliability model does not match the registered detectors"
    reports = list(scanner.scan_paths([seeds_dir]))
    assert len(reports) == 5
    assert all(r.reliability is not None and 0.0 <= r.reliability <= 1.0 for r in reports)


def test_fit_model_weights_change_the_fit_and_the_cv_figures():
    """Sample weights reach both the cross-validation and the final fit."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(240, 3))
    y = (X[:, 0] + 0.5 * rng.normal(size=240) > 0).astype(int)
    groups = [str(i // 4) for i in range(240)]
    plain, plain_sel = fit_model(X, y, groups, kinds=["logreg"])
    weights = np.where(y == 1, 5.0, 1.0)  # reliable documents count five times
    weighted, weighted_sel = fit_model(X, y, groups, kinds=["logreg"], sample_weight=weights)
    assert weighted_sel["cross_validation"]["logreg"] != plain_sel["cross_validation"]["logreg"]
    # upweighting the reliable class raises the predicted reliabilities
    assert weighted.predict_proba(X)[:, 1].mean() > plain.predict_proba(X)[:, 1].mean() + 0.05


@pytest.mark.parametrize("kind", CANDIDATES)
def test_every_candidate_fits_with_weights_and_ranks(kind: str):
    """Each candidate pipeline takes sample weights through the Pipeline and learns the signal."""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 4))
    y = (X[:, 1] - X[:, 2] + 0.5 * rng.normal(size=300) > 0).astype(int)
    weights = np.where(y == 1, 2.0, 1.0)
    pipeline = make_pipeline(kind).fit(X, y, clf__sample_weight=weights)
    proba = pipeline.predict_proba(X)[:, 1]
    assert ((proba >= 0) & (proba <= 1)).all()
    assert roc_auc_score(y, proba) > 0.9


def test_unknown_candidate_is_refused():
    with pytest.raises(ValueError, match="unknown model kind"):
        make_pipeline("forest")
