"""Persisting trained models safely.

A model is a joblib file with a JSON file of metadata beside it (``x.joblib`` ->
``x.json``) that records, among other things, the SHA-256 of the joblib file and the
scikit-learn version that trained it. joblib files are pickles, and unpickling runs code,
so :func:`load_model` hashes the file and refuses it unless the hash matches the recorded
one, *before* anything is unpickled. It also refuses a model trained with another
scikit-learn version unless ``allow_version_mismatch`` is set.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import joblib
import sklearn

from qualityscan._atomic import atomic_write


def _models_dir() -> Path:
    """``models/`` as installed inside the wheel, else the repository's (editable install)."""
    here = Path(__file__).resolve().parent
    bundled = here / "models"
    return bundled if bundled.is_dir() else here.parent / "models"


#: Folder of the models shipped with qualityscan.
MODELS_DIR = _models_dir()


class ModelError(Exception):
    """A model file cannot be used; the message says which file and why."""


class ModelIntegrityError(ModelError):
    """The model file's SHA-256 does not match its metadata (tampered or corrupted)."""


class ModelVersionError(ModelError):
    """The model was trained with a different scikit-learn version."""


def metadata_path(model_path: str | os.PathLike[str]) -> Path:
    """The metadata JSON that belongs beside ``model_path``."""
    return Path(model_path).with_suffix(".json")


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save_model(obj: Any, path: str | os.PathLike[str], metadata: dict[str, Any]) -> dict[str, Any]:
    """Write ``obj`` with joblib and its metadata JSON (with hash and versions), atomically.

    Returns the metadata as written.
    """
    path = Path(path)
    with atomic_write(path, "wb") as handle:
        joblib.dump(obj, handle, compress=3)
    meta = dict(metadata)
    meta.update({
        "file": path.name,
        "sha256": sha256_file(path),
        "sklearn_version": sklearn.__version__,
        "joblib_version": joblib.__version__,
        "created": meta.get("created") or _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    })
    with atomic_write(metadata_path(path)) as handle:
        json.dump(meta, handle, indent=2, sort_keys=True, default=str)
        handle.write("\n")
    return meta


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The metadata JSON beside a model file; :class:`ModelError` when missing or invalid."""
    meta_file = metadata_path(path)
    try:
        with open(meta_file, encoding="utf-8") as handle:
            meta = json.load(handle)
    except FileNotFoundError:
        raise ModelError(f"{path}: no metadata file {meta_file.name} beside the model; "
                         "refusing to load a model whose hash cannot be checked") from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"{meta_file}: cannot read model metadata: {exc}") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("sha256"), str):
        raise ModelError(f"{meta_file}: metadata has no 'sha256' field")
    return meta


def load_model(path: str | os.PathLike[str], *, allow_version_mismatch: bool = False) -> tuple[Any, dict[str, Any]]:
    """Load a model after checking its SHA-256 and scikit-learn version.

    Returns ``(model, metadata)``. Raises :class:`ModelIntegrityError` when the file's hash
    differs from the recorded one and :class:`ModelVersionError` on a scikit-learn version
    mismatch (unless ``allow_version_mismatch``).
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: model file not found")
    meta = read_metadata(path)
    actual = sha256_file(path)
    if actual != meta["sha256"]:
        raise ModelIntegrityError(
            f"{path}: SHA-256 {actual} does not match {meta['sha256']} recorded in "
            f"{metadata_path(path).name}; the file was changed or corrupted, refusing to load it "
            "(joblib files are pickles and can run code)")
    trained = meta.get("sklearn_version")
    if trained != sklearn.__version__ and not allow_version_mismatch:
        raise ModelVersionError(
            f"{path}: trained with scikit-learn {trained}, this is {sklearn.__version__}; "
            "install that version, retrain, or allow the mismatch explicitly")
    return joblib.load(path), meta


def shipped_model_path(name: str) -> Path:
    """Path of a model shipped in ``models/`` (``name`` without extension)."""
    return MODELS_DIR / f"{name}.joblib"
