"""Reliability on web pages no script has used: dragnet pages outside the evaluation sample.

    /work/venv/bin/python scripts/evaluate_unseen_pages.py [--model PATH] [--pages 200]

``compose.build`` puts a seeded sample of the ``dragnet`` pages (AGPL, evaluation-only) on the
held-out side and never trains on any. The remaining dragnet pages are seen by no training or
evaluation script, so they give a fresh check of how the reliability model treats real web
text: each page's true main text (reliable) against the same page's text blocks with its
chrome (unreliable when at most ``compose.PAGE_MAX_CONTENT_SHARE`` of its words are content),
the same rule as the held-out ``boilerplate_dragnet`` family. Prints ROC AUC, the median
reliability of the main texts and the share of them under 0.5.
"""

from __future__ import annotations

import argparse
import random
import statistics
from collections import defaultdict
from pathlib import Path

import compose
import numpy as np
from sklearn.metrics import roc_auc_score

from qualityscan import Scanner
from qualityscan.model import shipped_model_path
from qualityscan.readers import document_from_text
from qualityscan.reliability import ReliabilityModel


def unseen_pages(root: Path, seed: int, scale: float, n: int) -> list[tuple[str, str, float]]:
    """(main text, page text, content share) of ``n`` dragnet pages outside ``compose.build``'s set."""
    used = {d.id.split(":")[1] for d in compose.build(root, scale=scale, seed=seed)
            if d.family == "boilerplate_dragnet"}
    pages = [p for p in compose._jsonl(root / "boilerplate" / "pages.jsonl.gz") if p["source"] == "dragnet"]
    truth = {r["page_id"]: r["text"] for r in compose._jsonl(root / "boilerplate" / "ground_truth.jsonl.gz")}
    fresh = sorted(p["page_id"] for p in pages
                   if p["page_id"] not in used and len((truth.get(p["page_id"]) or "").split()) >= 50)
    chosen = set(random.Random(f"{seed}:unseen").sample(fresh, min(n, len(fresh))))
    blocks: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for b in compose._jsonl(root / "boilerplate" / "blocks.jsonl.gz"):
        if b["page_id"] in chosen:
            blocks[b["page_id"]].append((b["text"], b["label"]))
    out = []
    for page_id in sorted(chosen):
        out.append((truth[page_id].strip(), "\n".join(t for t, _ in blocks[page_id]),
                    compose.content_share(blocks[page_id])))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=shipped_model_path("reliability"))
    parser.add_argument("--data-root", type=Path, default=compose.DEFAULT_DATA_ROOT)
    parser.add_argument("--pages", type=int, default=200)
    args = parser.parse_args(argv)

    training = ReliabilityModel.load(args.model).metadata["training_data"]
    pages = unseen_pages(args.data_root, training["seed"], training["scale"], args.pages)
    scanner = Scanner(model=args.model)
    mains = [document_from_text(m, id=f"main{i}", source=f"unseen main {i}") for i, (m, _, _) in enumerate(pages)]
    full = [document_from_text(p, id=f"page{i}", source=f"unseen page {i}") for i, (_, p, share) in enumerate(pages)
            if share <= compose.PAGE_MAX_CONTENT_SHARE]
    main_scores = [r.reliability for r in scanner.scan_documents(mains)]
    page_scores = [r.reliability for r in scanner.scan_documents(full)]
    main_ok = [s for s in main_scores if s is not None]
    page_ok = [s for s in page_scores if s is not None]
    y = np.r_[np.ones(len(main_ok)), np.zeros(len(page_ok))]
    auc = roc_auc_score(y, np.r_[main_ok, page_ok])
    print(f"unseen dragnet pages: {len(pages)} main texts ({len(main_ok)} scored), "
          f"{len(full)} whole pages with content share <= {compose.PAGE_MAX_CONTENT_SHARE} ({len(page_ok)} scored)")
    print(f"ROC AUC main vs page {auc:.3f}; main texts: median reliability "
          f"{statistics.median(main_ok):.3f}, {np.mean(np.array(main_ok) < 0.5):.1%} under 0.5; "
          f"pages: median {statistics.median(page_ok):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
