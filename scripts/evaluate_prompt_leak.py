"""Evaluate the prompt-leak detector on held-out data (see docs/evaluation/prompt_leak.md).

Negatives (false-positive rate): human-written text only, never shown a leak —
  * the human BBC articles of ``machine_text/`` (full text, cut into paragraphs of up to
    three sentences),
  * the professional human translations of WMT news documents in ``mt/`` (one segment a line),
  * the true main text of the web pages in ``boilerplate/ground_truth.jsonl.gz``,
  * every block of those pages, site chrome included (``boilerplate/blocks.jsonl.gz``).
Positives (recall):
  * each phrase of ``prompt_leak/phrases.jsonl`` composed into human host documents
    (composition rule in :func:`compose`),
  * the real model outputs of ``prompt_leak/examples.jsonl.gz`` (their opening residue),
  * the machine rows of ``machine_text/`` flagged ``leading_chat_residue``.

Every source is split in two halves by a stable hash (articles by ``group`` or ``doc_id``, web pages by
domain ``fold``, phrases by their text, examples by id). ``--split dev`` was used while
writing and weighting the patterns and to choose the flag threshold; the figures in the
docs are ``--split test``.

    python scripts/evaluate_prompt_leak.py --split test --out docs/evaluation/prompt_leak.json
"""

from __future__ import annotations

import argparse
import collections
import gzip
import hashlib
import json
import random
import re
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from qualityscan._atomic import atomic_write
from qualityscan.detectors.prompt_leak import PromptLeakDetector
from qualityscan.document import Document
from qualityscan.segment import segment

DEFAULT_DATA_ROOT = Path(__file__).resolve().parents[1].parent / "shared" / "data"
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’']?\s+(?=[A-Z\"“‘(])")
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def half(key: str) -> str:
    """Stable dev/test assignment of a grouping key."""
    return "dev" if hashlib.sha256(key.encode("utf-8")).digest()[0] % 2 == 0 else "test"


def read_jsonl(path: Path) -> Iterator[dict]:
    if not path.is_file():
        sys.exit(f"error: {path}: data file not found (pass --data-root)")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def to_paragraphs(text: str, per: int = 3) -> list[str]:
    """Cut one-line article text into paragraphs of up to ``per`` sentences."""
    sents = sentences(text)
    return [" ".join(sents[i:i + per]) for i in range(0, len(sents), per)]


def make_doc(doc_id: str, paragraphs: Iterable[str]) -> Document:
    return segment(Document(id=doc_id, source=doc_id, text="\n".join(paragraphs)))


# --- negatives ---------------------------------------------------------------------------
def human_articles(root: Path, split: str) -> list[tuple[str, list[str]]]:
    rows = read_jsonl(root / "machine_text" / "machine_text.jsonl.gz")
    return [(r["id"], to_paragraphs(r.get("text_full") or r["text"]))
            for r in rows if r["label"] == "human" and half(r["group"]) == split]


def news_translations(root: Path, split: str) -> list[tuple[str, list[str]]]:
    """Professional human translations of WMT news documents (one segment per line)."""
    rows = read_jsonl(root / "mt" / "mqm_zhen_documents.jsonl.gz")
    return [(r["id"], [l for l in r["target"].split("\n") if l.strip()]) for r in rows
            if r["is_human"] and r["domain"] == "news" and half(r["doc_id"]) == split]


def web_pages(root: Path, split: str, limit: int | None) -> tuple[list, list]:
    """(ground-truth main texts, all blocks) of the pages in ``split``'s folds."""
    folds = {"dev": {0, 1}, "test": {2, 3, 4}}[split]
    pages = {r["page_id"] for r in read_jsonl(root / "boilerplate" / "pages.jsonl.gz") if r["fold"] in folds}
    wanted = sorted(pages)[:limit] if limit else sorted(pages)
    keep = set(wanted)
    truth = [(r["page_id"], [l for l in r["text"].split("\n") if l.strip()])
             for r in read_jsonl(root / "boilerplate" / "ground_truth.jsonl.gz") if r["page_id"] in keep]
    blocks: dict[str, list[str]] = collections.defaultdict(list)
    for r in read_jsonl(root / "boilerplate" / "blocks.jsonl.gz"):
        if r["page_id"] in keep:
            blocks[r["page_id"]].extend(l for l in r["text"].split("\n") if l.strip())
    return truth, sorted(blocks.items())


def negatives(detector: PromptLeakDetector, docs: list[tuple[str, list[str]]], name: str,
              show: int) -> dict:
    """Flag rates on human text at each threshold, plus the worst false positives."""
    n_par = 0
    par_scores: list[float] = []
    doc_scores: list[float] = []
    worst: list[tuple[float, str, str]] = []
    seconds = 0.0
    chars = 0
    for doc_id, paras in docs:
        doc = make_doc(doc_id, paras)
        started = time.perf_counter()
        result = detector.score(doc)
        seconds += time.perf_counter() - started
        chars += len(doc.text)
        n_par += len(doc.paragraphs)
        doc_scores.append(max(result.scores, default=0.0))
        for p, s, ev in zip(doc.paragraphs, result.scores, result.evidence):
            if s > 0:
                par_scores.append(s)
                worst.append((s, doc_id, f"{ev[0].message} | {p.text[:160]}"))
    worst.sort(key=lambda w: -w[0])
    out = {
        "source": name, "documents": len(docs), "paragraphs": n_par,
        "paragraph_flag_rate": {t: sum(s >= t for s in par_scores) / max(n_par, 1) for t in THRESHOLDS},
        "document_flag_rate": {t: sum(s >= t for s in doc_scores) / max(len(docs), 1) for t in THRESHOLDS},
        "top_false_positives": [{"score": s, "id": i, "what": w} for s, i, w in worst[:show]],
        "speed": {"seconds": round(seconds, 2), "paragraphs_per_second": round(n_par / max(seconds, 1e-9)),
                  "mb_per_second": round(chars / max(seconds, 1e-9) / 1e6, 2)},
    }
    return out


# --- positives ---------------------------------------------------------------------------
def fill_template(phrase: str, rng: random.Random) -> str:
    return re.sub(r"\bN\b", str(rng.randint(3, 9)), phrase)


def compose(phrase: str, match: str, host: list[str], rng: random.Random, mode: str) -> tuple[list[str], int, int, int]:
    """Embed ``phrase`` in a human host document.

    Rule: the host's paragraphs are kept; one paragraph index ``k`` is drawn (0 for
    ``text_prefix`` phrases). Mode ``own``: a new paragraph ``phrase + " " + first sentence
    of host paragraph k`` is inserted before paragraph k (a residue line opening a
    paragraph). Mode ``inline`` (``substring`` phrases only): the phrase is put between the
    first and second sentence of paragraph k, as ``s1 + " " + phrase + " " + rest``.
    Returns (paragraphs, index of the leaked paragraph, phrase start, end in it).
    """
    k = 0 if match == "text_prefix" else rng.randrange(len(host))
    sents = sentences(host[k]) or [host[k]]
    paras = list(host)
    if mode == "own":
        paras.insert(k, f"{phrase} {sents[0]}")
        return paras, k, 0, len(phrase)
    lead = sents[0] + " "
    paras[k] = lead + phrase + " " + " ".join(sents[1:] or ["The talks continue."])
    return paras, k, len(lead), len(lead) + len(phrase)


def hit(detector: PromptLeakDetector, paragraphs: list[str], k: int, s: int, e: int) -> float:
    """Score of leaked paragraph ``k`` when some evidence overlaps the phrase, else 0."""
    doc = make_doc("composed", paragraphs)
    result = detector.score(doc)
    para = doc.paragraphs[k]
    lo, hi = para.start + s, para.start + e
    if any(ev.span[0] < hi and ev.span[1] > lo for ev in result.evidence[k]):
        return result.scores[k]
    return 0.0


def phrase_recall(detector: PromptLeakDetector, root: Path, split: str, hosts: list[list[str]],
                  per_phrase: int, seed: int) -> dict:
    rng = random.Random(seed)
    phrases = [r for r in read_jsonl(root / "prompt_leak" / "phrases.jsonl") if half(r["phrase"]) == split]
    table: dict[tuple[str, str], list[float]] = collections.defaultdict(list)
    per_hint: dict[tuple[str, str], list[float]] = collections.defaultdict(list)
    missed: list[str] = []
    for row in phrases:
        modes = ["own", "inline"] if row["match"] == "substring" else ["own"]
        for mode in modes:
            scores = []
            for _ in range(per_phrase):
                host = rng.choice(hosts)
                phrase = fill_template(row["phrase"], rng)
                scores.append(hit(detector, *compose(phrase, row["match"], host, rng, mode)))
            table[(row["category"], mode)].extend(scores)
            per_hint[(row["precision_hint"], mode)].extend(scores)
            if mode == "own" and min(scores) < 0.5:
                missed.append(f"{row['precision_hint']}/{row['category']}: {row['phrase']}")
    def summary(d: dict) -> dict:
        return {f"{a}/{b}": {"n": len(v), **{f"recall@{t}": sum(x >= t for x in v) / len(v) for t in (0.5, 0.7)}}
                for (a, b), v in sorted(d.items())}
    return {"phrases": len(phrases), "by_precision_hint": summary(per_hint), "by_category": summary(table),
            "missed_own_paragraph@0.5": missed}


def example_recall(detector: PromptLeakDetector, root: Path, split: str) -> dict:
    by_kind: dict[str, list[float]] = collections.defaultdict(list)
    missed = collections.Counter()
    for r in read_jsonl(root / "prompt_leak" / "examples.jsonl.gz"):
        if half(r["id"]) != split:
            continue
        text = r["text"]
        start = text.find(r["residue_span"])
        if start < 0:
            continue
        doc = make_doc(r["id"], [text.replace("\n", " ")])
        result = detector.score(doc)
        end = start + len(r["residue_span"])
        ok = any(ev.span[0] < end and ev.span[1] > start for ev in result.evidence[0])
        score = result.scores[0] if ok else 0.0
        kind = " ".join(r["residue_span"].split()[:2])[:20]
        by_kind[kind].append(score)
        if score < 0.5:
            missed[r["residue_span"][:70]] += 1
    allv = [s for v in by_kind.values() for s in v]
    top = sorted(by_kind.items(), key=lambda kv: -len(kv[1]))[:15]
    return {"examples": len(allv), **{f"recall@{t}": sum(s >= t for s in allv) / len(allv) for t in THRESHOLDS},
            "by_opening@0.5": {k: {"n": len(v), "recall": sum(s >= 0.5 for s in v) / len(v)} for k, v in top},
            "top_missed": missed.most_common(15)}


def residue_rows(detector: PromptLeakDetector, root: Path, split: str) -> dict:
    flagged: list[float] = []
    others: list[float] = []
    missed = []
    for r in read_jsonl(root / "machine_text" / "machine_text.jsonl.gz"):
        if r["label"] != "machine" or half(r["group"]) != split:
            continue
        doc = make_doc(r["id"], [r["text"]])
        score = max(detector.score(doc).scores, default=0.0)
        (flagged if r.get("leading_chat_residue") else others).append(score)
        if r.get("leading_chat_residue") and score < 0.5:
            missed.append(r["text"][:90])
    return {"rows_with_leading_chat_residue": len(flagged),
            **{f"recall@{t}": sum(s >= t for s in flagged) / max(len(flagged), 1) for t in THRESHOLDS},
            "machine_rows_without_residue_flag": len(others),
            "flag_rate_on_those@0.5": sum(s >= 0.5 for s in others) / max(len(others), 1),
            "missed": missed[:15]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-root", type=Path, default=DEFAULT_DATA_ROOT)
    ap.add_argument("--split", choices=("dev", "test"), default="test")
    ap.add_argument("--pages", type=int, default=None, help="use at most this many web pages")
    ap.add_argument("--per-phrase", type=int, default=5, help="host documents per phrase and mode")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--show", type=int, default=12, help="false positives to list per source")
    ap.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    args = ap.parse_args(argv)
    root = args.data_root
    detector = PromptLeakDetector()

    articles = human_articles(root, args.split)
    truth, blocks = web_pages(root, args.split, args.pages)
    report = {
        "split": args.split, "detector": repr(detector),
        "command": "python scripts/evaluate_prompt_leak.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "negatives": [negatives(detector, articles, "machine_text human BBC articles", args.show),
                      negatives(detector, news_translations(root, args.split),
                                "mt human reference translations of WMT news", args.show),
                      negatives(detector, truth, "boilerplate ground-truth main text", args.show),
                      negatives(detector, blocks, "boilerplate all blocks (chrome included)", args.show)],
        "phrase_recall": phrase_recall(detector, root, args.split, [p for _, p in articles if len(p) >= 2],
                                       args.per_phrase, args.seed),
        "example_recall": example_recall(detector, root, args.split),
        "machine_text_residue": residue_rows(detector, root, args.split),
    }
    text = json.dumps(report, indent=2, ensure_ascii=False)
    print(text)
    if args.out:
        with atomic_write(args.out) as handle:
            handle.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
