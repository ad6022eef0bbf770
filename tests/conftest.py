from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA_ROOT = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    return REPO / "seeds"


@pytest.fixture(scope="session")
def data_root() -> Path:
    if not DATA_ROOT.is_dir():
        pytest.skip(f"labelled data not found at {DATA_ROOT} (expected ../shared/data beside the checkout)")
    return DATA_ROOT


@pytest.fixture(scope="session")
def optional_data_root() -> Path:
    """``../shared/data`` whether or not it exists, for tests that add its documents when present."""
    return DATA_ROOT
