"""Train the shipped document reliability model (``models/reliability.joblib`` + ``.json``).

    /work/venv/bin/python scripts/train.py [--data-root ../shared/data] [--scale 1.0]

Builds the labelled document set (``scripts/compose.py``), scores it with every registered
detector (cached, see ``scripts/reliability_common.py``), picks a pipeline by grouped
cross-validation on the training side only, fits it on the training side, and saves it with
its metadata and its held-out metrics. ``scripts/evaluate.py`` recomputes those metrics
from the saved file and writes the report and the reliability diagram.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import compose
import numpy as np
import reliability_common as common

from qualityscan.features import feature_names
from qualityscan.model import shipped_model_path
from qualityscan.reliability import CANDIDATES, ReliabilityModel, fit_model, save


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", type=Path, default=compose.DEFAULT_DATA_ROOT)
    parser.add_argument("--out", type=Path, default=shipped_model_path("reliability"))
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply the number of documents of each kind (0.1 for a quick development run)")
    parser.add_argument("--seed", type=int, default=compose.SEED)
    parser.add_argument("--cache-dir", type=Path, default=common.DEFAULT_CACHE)
    parser.add_argument("--detectors", default=None,
                        help="comma-separated detector names (default: every registered detector; the shipped "
                             "model must use all of them, or the Scanner will not load it)")
    parser.add_argument("--kinds", default=",".join(CANDIDATES), help="candidate pipelines to compare")
    args = parser.parse_args(argv)
    start = time.monotonic()

    docs = compose.build(args.data_root, scale=args.scale, seed=args.seed)
    print(f"labelled set: {len(docs)} documents", flush=True)
    for family, counts in compose.summary(docs).items():
        print(f"  {family:22s} {counts}")
    rows, detectors = common.featurize(docs, args.cache_dir,
                                         args.detectors.split(",") if args.detectors else None)
    if not detectors:
        print("error: no detectors are registered; nothing to train on", file=sys.stderr)
        return 2
    names = feature_names(detectors)
    usable, X = common.matrix(docs, rows, names)
    train = np.array([d.split == "train" and d.label is not None for d in usable])
    test = np.array([d.split == "test" for d in usable])
    if any(d.origin.startswith("boilerplate/dragnet") for d, t in zip(usable, train) if t):
        raise AssertionError("dragnet (AGPL) pages must never reach the training side")
    y = np.array([d.label if d.label is not None else -1 for d in usable])
    groups = [d.group for d in usable]
    train_groups = {g for g, t in zip(groups, train) if t}
    leaked = train_groups & {g for g, t in zip(groups, test) if t}
    if leaked:
        raise AssertionError(f"{len(leaked)} articles on both sides of the split, e.g. {sorted(leaked)[:3]}")
    print(f"training on {int(train.sum())} documents ({int(y[train].sum())} reliable; "
          f"{sum(bool(d.meta.get('supplement')) for d, t in zip(usable, train) if t)} from the training supplement), "
          f"{len(names)} features from detectors {', '.join(detectors)}", flush=True)
    weights = compose.training_weights([d for d, t in zip(usable, train) if t])
    pipeline, selection = fit_model(X[train], y[train], [g for g, t in zip(groups, train) if t],
                                    kinds=args.kinds.split(","), random_state=0, sample_weight=weights)
    selection["sample_weights"] = ("compose.training_weights: the supplement adds examples, not weight; "
                                   f"family emphasis {compose.FAMILY_EMPHASIS}")
    for kind, cv in selection["cross_validation"].items():
        print(f"  CV {kind:12s} AUC {cv['roc_auc']:.4f}  Brier {cv['brier']:.4f}  log loss {cv['log_loss']:.4f}")
    print(f"  chosen: {selection['chosen']}")

    model = ReliabilityModel(pipeline, detectors)
    test_docs = [d for d, t in zip(usable, test) if t]
    scores = {"model": np.array(model.predict_features(X[test])),
              **{b: np.array([rows[d.id]["baselines"].get(b, np.nan) for d in test_docs])
                 for b in ("paragraph_mean", "gopher_quality", "gopher_quality_repetition")
                 if all(b in rows[d.id]["baselines"] for d in test_docs)}}
    results = common.evaluate(test_docs, scores, rows)
    print(common.table(results))
    sources = sorted({d.origin.split("/")[0] + "/" + d.origin.split("/")[1] if "/" in d.origin else d.origin
                      for d, t in zip(usable, train) if t})
    command = "python scripts/train.py " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    meta = save(pipeline, args.out, detectors, {
        "training_command": command.strip(),
        "training_data": {
            "data_root_sources": sources,
            "composition_sources": ["prompt_leak/phrases.jsonl", "prompt_leak/examples.jsonl.gz",
                                    "boilerplate/blocks.jsonl.gz (chrome lines, dragnet excluded)",
                                    "paraphrase/paraphrase_pairs.jsonl.gz (detectrl-rewrite, news)",
                                    ("paraphrase/paraphrase_pairs.jsonl.gz (back_translation pairs reserved from "
                                     "garble training)")],
            "dragnet_used_for_training": False,
            "seed": args.seed, "scale": args.scale, "test_share": compose.TEST_SHARE,
            "split": "by underlying article/document group (seeded hash), compositions within one side",
            "train_documents": int(train.sum()),
            "families": common.family_counts([d for d, t in zip(usable, train) if t]),
            "held_out_families": common.family_counts(test_docs),
        },
        "model_selection": selection,
        "metrics": {"held_out": results},
    })
    print(f"saved {args.out} (sha256 {meta['sha256'][:16]}..., {args.out.stat().st_size / 1024:.0f} KiB) "
          f"in {time.monotonic() - start:.0f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
