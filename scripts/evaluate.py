"""Recompute the reliability model's held-out metrics from the saved model file.

    /work/venv/bin/python scripts/evaluate.py [--model models/reliability.joblib] [--data-root ../shared/data]

Loads the model through :class:`qualityscan.reliability.ReliabilityModel` (hash, version and
detector checks), rebuilds the labelled set with the seed and scale recorded in its metadata
(so the split is the one it was trained with), scores the held-out side (cached features are
reused when detectors, data and feature code are unchanged), and compares the model with the
baselines in the same run, with grouped-bootstrap 95 % intervals of the AUCs (markdown only,
the model metadata is not touched). Writes the results block of ``docs/evaluation/reliability.md``
and ``docs/reliability-diagram.png``, and prints everything it writes.
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from pathlib import Path

import compose
import numpy as np
import reliability_common as common

from qualityscan.model import shipped_model_path
from qualityscan.reliability import ReliabilityModel

DOC = common.REPO / "docs" / "evaluation" / "reliability.md"
CARD = common.REPO / "docs" / "model-card.md"
DIAGRAM = common.REPO / "docs" / "reliability-diagram.png"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=shipped_model_path("reliability"))
    parser.add_argument("--data-root", type=Path, default=compose.DEFAULT_DATA_ROOT)
    parser.add_argument("--cache-dir", type=Path, default=common.DEFAULT_CACHE)
    parser.add_argument("--doc", type=Path, default=DOC, help="markdown file whose results block is rewritten")
    parser.add_argument("--card", type=Path, default=CARD, help="model card whose headline block is rewritten")
    parser.add_argument("--diagram", type=Path, default=DIAGRAM)
    parser.add_argument("--seeds", type=Path, default=common.REPO / "seeds",
                        help="folder of example documents to list with their reliability ('' to skip)")
    args = parser.parse_args(argv)

    model = ReliabilityModel.load(args.model)
    meta = model.metadata
    training = meta["training_data"]
    docs = compose.build(args.data_root, scale=training["scale"], seed=training["seed"])
    rows, _ = common.featurize(docs, args.cache_dir, model.detectors)
    usable, X = common.matrix(docs, rows, model.features)
    test = np.array([d.split == "test" for d in usable])
    test_docs = [d for d, t in zip(usable, test) if t]
    scores = {"model": np.array(model.predict_features(X[test])),
              **{b: np.array([rows[d.id]["baselines"][b] for d in test_docs])
                 for b in ("paragraph_mean", "gopher_quality", "gopher_quality_repetition")
                 if all(b in rows[d.id]["baselines"] for d in test_docs)}}
    results = common.evaluate(test_docs, scores, rows)
    ci = common.intervals(test_docs, scores)
    recorded = meta.get("metrics", {}).get("held_out", {}).get("overall", {}).get("model", {}).get("roc_auc")
    now = results["overall"]["model"]["roc_auc"]
    print(f"held-out ROC AUC {now:.4f}; recorded in {args.model.with_suffix('.json').name}: {recorded}")
    if recorded is not None and abs(recorded - now) > 1e-9:
        print("warning: differs from the metadata (detectors, data or features changed since training)",
              file=sys.stderr)

    labelled = np.array([d.label is not None for d in test_docs])
    y = np.array([d.label for d in test_docs if d.label is not None])
    common.reliability_diagram(y, scores["model"][labelled], args.diagram,
                               f"held-out documents (n={len(y)})\ndetectors: {', '.join(model.detectors)}")
    print(f"wrote {args.diagram}")

    seeds = _seed_table(args.seeds, args.model) if str(args.seeds) and args.seeds.is_dir() else ""
    command = "python scripts/evaluate.py " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    block = "\n".join([
        (f"Produced by `{command.strip()}` with the model trained by `{meta.get('training_command')}` "
         f"(model sha256 `{meta['sha256'][:16]}…`, pipeline `{meta['model_selection']['chosen']}`, "
         f"detectors: {', '.join(model.detectors)}; {len(model.features)} features; "
         f"{training['train_documents']} training documents)."),
        "",
        "Model selection (grouped 5-fold cross-validation on the training side only):",
        "",
        "| pipeline | CV ROC AUC | CV Brier | CV log loss |", "|---|---:|---:|---:|",
        *[f"| {k} | {v['roc_auc']:.4f} | {v['brier']:.4f} | {v['log_loss']:.4f} |"
          for k, v in meta["model_selection"]["cross_validation"].items()],
        "",
        f"Held-out results ({results['n_documents']} documents, {results['n_labelled']} with a binary label):",
        "",
        common.table(results, ci),
        "",
        f"Reliability diagram: [`docs/{args.diagram.name}`](../{args.diagram.name}).",
        *(["", seeds] if seeds else []),
        "",
    ])
    print(block)
    _rewrite(args.doc, "results", block)
    _rewrite(args.card, "headline", _headline(results, ci, command.strip()))
    return 0


def _headline(results: dict, ci: dict, command: str) -> str:
    o, c = results["overall"], results["calibration"]
    low, high = ci["overall"]["model"]
    worst = min(results["per_source"].items(), key=lambda kv: kv[1]["model"])
    beaten = [f for f, e in results["per_source"].items()
              if all(e["model"] > e[b] for b in e if b in o and b != "model")]
    return "\n".join([
        f"* held-out ROC AUC {o['model']['roc_auc']:.3f} (95% CI [{low:.3f}, {high:.3f}], grouped bootstrap; baselines: "
        + ", ".join(f"{k} {v['roc_auc']:.3f}" for k, v in o.items() if k != "model") + ")",
        f"* average precision: reliable {o['model']['ap_reliable']:.3f}, not reliable {o['model']['ap_unreliable']:.3f}",
        f"* Brier {c['brier']:.4f} (base rate {c['brier_base_rate']:.4f}), ECE {c['ece_10_bins']:.4f}",
        (f"* weakest source: {worst[0]} (AUC {worst[1]['model']:.3f}); above every baseline on "
         f"{len(beaten)} of {len(results['per_source'])} sources"),
        f"* command: `{command}`",
        "",
    ])


def _rewrite(path: Path, name: str, block: str) -> None:
    """Replace the text between ``<!-- name:start -->`` and ``<!-- name:end -->`` in ``path``."""
    if not path.exists():
        return
    pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.DOTALL)
    text = path.read_text(encoding="utf-8")
    if not pattern.search(text):
        raise SystemExit(f"{path}: no '<!-- {name}:start -->' / '<!-- {name}:end -->' block to rewrite")
    path.write_text(pattern.sub(lambda m: m.group(1) + block + m.group(2), text), encoding="utf-8")
    print(f"wrote the {name} block of {path}")


def _seed_table(folder: Path, model_path: Path) -> str:
    """Reliability of the example documents in ``folder`` from this model (they are never trained on)."""
    from qualityscan.scanner import Scanner

    reports = list(Scanner(model=model_path).scan_paths([folder]))
    reports.sort(key=lambda r: -1.0 if r.reliability is None else r.reliability, reverse=True)
    lines = [f"Example documents in `{folder.name}/`, ranked by the model (`qualityscan scan {folder.name}/`):", "",
             "| document | reliability | " + " | ".join(reports[0].scores) + " |" if reports else "",
             "|---|---:|" + "---:|" * (len(reports[0].scores) if reports else 0)]
    for r in reports:
        rel = "–" if r.reliability is None else f"{r.reliability:.3f}"
        lines.append(f"| {Path(r.document.source).name} | {rel} | " + " | ".join(f"{v:.2f}" for v in r.scores.values()) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
