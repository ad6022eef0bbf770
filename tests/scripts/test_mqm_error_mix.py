"""scripts/mqm_error_mix.py: the category mix of the MQM major errors in machine output."""

from __future__ import annotations

import gzip
import itertools
import json
from pathlib import Path

from mqm_error_mix import CATEGORIES, error_mix


def test_error_mix_counts_machine_majors_by_category(data_root: Path, tmp_path: Path):
    with gzip.open(data_root / "mt" / "mqm_zhen_segments.jsonl.gz", "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in itertools.islice(handle, 400)]
    machine = [r for r in rows if not r["is_human"]]
    assert machine and len(machine) < len(rows)  # the sample holds human translations to leave out
    (tmp_path / "mt").mkdir()
    with gzip.open(tmp_path / "mt" / "mqm_zhen_segments.jsonl.gz", "wt") as handle:
        handle.writelines(json.dumps(r) + "\n" for r in rows)

    mix = error_mix(tmp_path)
    total = sum(r[f"n_{c}_major"] for r in machine for c in CATEGORIES)
    assert mix["major errors"] == total > 0
    shares = mix["share of major errors by category"]
    assert abs(sum(shares.values()) - 1) < 0.01
    assert shares["accuracy"] == round(sum(r["n_accuracy_major"] for r in machine) / total, 3)
    segments = mix["segments"]
    assert segments["machine segments"] == len(machine)
    assert segments["with a major error"] == sum(r["n_major"] > 0 for r in machine)
    assert segments["accuracy majors only"] <= segments["with a major error"]
