import pytest

from qualityscan._atomic import atomic_write


def test_replaces_target_only_on_success(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(target) as out:
        out.write("half")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
    with atomic_write(target) as out:
        out.write("new")
    assert target.read_text() == "new"


def test_new_files_get_normal_permissions_and_existing_ones_keep_theirs(tmp_path):
    import os

    new = tmp_path / "new.txt"
    with atomic_write(new) as out:
        out.write("x")
    umask = os.umask(0)
    os.umask(umask)
    assert new.stat().st_mode & 0o777 == 0o666 & ~umask
    kept = tmp_path / "kept.txt"
    kept.write_text("x")
    kept.chmod(0o640)
    with atomic_write(kept) as out:
        out.write("y")
    assert kept.stat().st_mode & 0o777 == 0o640
