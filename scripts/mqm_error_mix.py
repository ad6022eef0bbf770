"""What kind of errors the MQM annotators found in the machine translations of ``mt/``.

    /work/venv/bin/python scripts/mqm_error_mix.py [--data-root ../shared/data]

The garble detector sees only the English text. An accuracy error (mistranslation, omission,
addition, untranslated words) can be fluent English, visible only beside the source; this
script measures how much of the "major error" label is of that kind, which bounds what a
source-free detector can reach on the MQM targets (docs/evaluation/garble.md). Counts are
summed over raters, machine outputs only (human translations left out).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_garble import DEFAULT_DATA, read_jsonl

CATEGORIES = ("accuracy", "fluency", "style", "terminology", "locale", "other")


def error_mix(root: Path) -> dict[str, object]:
    """Major errors by category, and major-error segments by what their major errors are."""
    majors: Counter[str] = Counter()
    segments: Counter[str] = Counter()
    for r in read_jsonl(root / "mt" / "mqm_zhen_segments.jsonl.gz"):
        if r["is_human"]:
            continue
        segments["machine segments"] += 1
        for c in CATEGORIES:
            majors[c] += r[f"n_{c}_major"]
        if r["n_major"] > 0:
            segments["with a major error"] += 1
            segments["accuracy majors only"] += r["n_accuracy_major"] == r["n_major"]
            segments["with a major fluency error"] += r["n_fluency_major"] > 0
    total = sum(majors.values())
    return {"major errors": total,
            "share of major errors by category": {c: round(majors[c] / total, 3) for c in CATEGORIES},
            "segments": dict(segments),
            "share of major-error segments with accuracy majors only":
                round(segments["accuracy majors only"] / segments["with a major error"], 3),
            "share of major-error segments with a major fluency error":
                round(segments["with a major fluency error"] / segments["with a major error"], 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    for key, value in error_mix(args.data_root).items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
