import json

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from qualityscan.model import (
    ModelError,
    ModelIntegrityError,
    ModelVersionError,
    load_model,
    metadata_path,
    save_model,
)


@pytest.fixture
def saved(tmp_path):
    x = np.array([[0.0], [1.0], [2.0], [3.0]])
    model = LogisticRegression().fit(x, [0, 0, 1, 1])
    path = tmp_path / "m.joblib"
    meta = save_model(model, path, {"features": ["x"]})
    return path, meta


def test_roundtrip_records_hash_and_versions(saved):
    path, meta = saved
    model, loaded_meta = load_model(path)
    assert loaded_meta["sha256"] == meta["sha256"] and len(meta["sha256"]) == 64
    assert loaded_meta["features"] == ["x"] and "sklearn_version" in loaded_meta
    assert model.predict([[3.0]])[0] == 1
    assert not list(path.parent.glob("*.tmp"))  # atomic writes leave nothing behind


def test_tampered_file_is_refused_before_unpickling(saved):
    path, _ = saved
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match="does not match"):
        load_model(path)


def test_missing_metadata_is_refused(saved):
    path, _ = saved
    metadata_path(path).unlink()
    with pytest.raises(ModelError, match="no metadata"):
        load_model(path)


def test_other_sklearn_version_is_refused_unless_allowed(saved):
    path, _ = saved
    meta = json.loads(metadata_path(path).read_text())
    meta["sklearn_version"] = "0.0.1"
    metadata_path(path).write_text(json.dumps(meta))
    with pytest.raises(ModelVersionError, match="0.0.1"):
        load_model(path)
    model, _ = load_model(path, allow_version_mismatch=True)
    assert model.predict([[0.0]])[0] == 0


def test_missing_model_file(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        load_model(tmp_path / "absent.joblib")
