"""Evaluate the boilerplate detector against jusText, trafilatura and a phrase-list baseline.

Held-out pages: every page of ``--fold`` (default 0; all four sources, dragnet included --
the shipped model never saw dragnet nor this fold's domains). Each page is segmented once by
qualityscan's HTML reader; then, per system:

* qualityscan keeps the paragraphs scored below 0.5 (corpus line counts from all held-out
  pages, as a folder scan would have them; "single" = without corpus counts);
* jusText and trafilatura run on the raw HTML (HTML input) or on the plain lines wrapped one
  per ``<p>`` (plain input, where they cannot use markup);
* the phrase baseline (plain text) drops every line where a known chrome phrase occurs.

Page level: bag-of-token precision, recall and F1 of the kept text against the true main
text (the measure of the article-extraction benchmarks), averaged over pages with a
non-empty ground truth. Block level: precision, recall and F1 of "boilerplate" over our
paragraphs that hold words; a peer's decision on a paragraph is read off its output by the
same LCS alignment that labels the paragraphs (kept iff >= half its tokens align to the
peer's text in runs of >= 3 tokens), counted per paragraph and weighted by tokens.

    /work/venv/bin/python scripts/evaluate_boilerplate.py
"""

from __future__ import annotations

import argparse
import html as html_lib
import json
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from boilerplate_data import DEFAULT_DATA_ROOT, Page, aligned_share, load_pages, tokens

from qualityscan._atomic import atomic_write
from qualityscan.corpus import CorpusStats
from qualityscan.detectors.boilerplate import BoilerplateDetector, find_phrase

DOC = Path(__file__).resolve().parents[1] / "docs" / "evaluation" / "boilerplate.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"
_JUSTEXT_LANGS = {"en": "English", "de": "German", "fr": "French", "es": "Spanish", "it": "Italian",
                  "pt": "Portuguese", "nl": "Dutch"}


def token_prf(kept: str, truth: str) -> tuple[float, float, float]:
    """Bag-of-token precision, recall, F1 of ``kept`` against ``truth`` (0 when nothing kept)."""
    pred, gold = Counter(tokens(kept)), Counter(tokens(truth))
    hit = sum((pred & gold).values())
    p = hit / sum(pred.values()) if pred else 0.0
    r = hit / sum(gold.values()) if gold else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def as_plain_html(page: Page) -> str:
    """The page's lines without their markup: one ``<p>`` per line."""
    body = "".join(f"<p>{html_lib.escape(p.text)}</p>\n" for p in page.document.paragraphs)
    return f"<html><body>\n{body}</body></html>"


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
FAILURES: Counter[str] = Counter()


def _guarded(system: str, run, markup: str, *args) -> str:
    """A peer's output on ``markup`` (C0 control characters removed, as lxml demands);
    an exception counts as a failure with nothing kept."""
    try:
        return run(_CONTROL.sub(" ", markup), *args)
    except Exception as exc:  # noqa: BLE001 - a peer's crash on one page is a result, not a stop
        FAILURES[f"{system}: {type(exc).__name__}"] += 1
        return ""


def run_justext(markup: str, language: str | None) -> str:
    import justext

    stoplist = justext.get_stoplist(_JUSTEXT_LANGS.get(language or "en", "English"))
    paragraphs = justext.justext(markup.encode("utf-8"), stoplist, encoding="utf-8")
    return "\n".join(p.text for p in paragraphs if not p.is_boilerplate)


def run_trafilatura(markup: str) -> str:
    import trafilatura

    return trafilatura.extract(markup, include_comments=False, include_tables=True) or ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", type=Path, default=DEFAULT_DATA_ROOT)
    parser.add_argument("--fold", type=int, default=0, help="held-out fold (the model's --eval-fold)")
    parser.add_argument("--model", type=Path, default=None, help="boilerplate model (default: shipped)")
    parser.add_argument("--limit", type=int, default=None, help="first N pages only (quick check)")
    parser.add_argument("--no-write", action="store_true", help="print only, do not update the docs")
    args = parser.parse_args(argv)
    started = time.time()

    pages = load_pages(args.data_root, lambda m: m["fold"] == args.fold, limit=args.limit)
    print(f"{len(pages)} held-out pages of fold {args.fold} read in {time.time() - started:.0f}s", flush=True)
    detector = BoilerplateDetector(model_path=args.model, top_features=0)  # evidence not needed here
    corpus = CorpusStats()
    for page in pages:
        corpus.add(page.document)

    # system -> input -> per page: (source, kept-paragraph mask over our paragraphs | None, kept text)
    outputs: dict[tuple[str, str], list[tuple[Page, np.ndarray]]] = defaultdict(list)
    timings: Counter[str] = Counter()
    for page in pages:
        paras = page.document.paragraphs
        para_tokens = [tokens(p.text) for p in paras]
        plain = page.plain()
        runs = [
            (("qualityscan", "html"), _scores_kept, detector, page.document, corpus),
            (("qualityscan (single doc)", "html"), _scores_kept, detector, page.document, None),
            (("qualityscan", "plain"), _scores_kept, detector, plain, corpus),
            (("qualityscan (single doc)", "plain"), _scores_kept, detector, plain, None),
            (("phrase list", "plain"), _phrases_kept, paras),
            (("jusText", "html"), _guarded, "jusText", run_justext, page.html, page.document.language),
            (("jusText", "plain"), _guarded, "jusText", run_justext, as_plain_html(page), page.document.language),
            (("trafilatura", "html"), _guarded, "trafilatura", run_trafilatura, page.html),
            (("trafilatura", "plain"), _guarded, "trafilatura", run_trafilatura, as_plain_html(page)),
        ]
        for key, run, *run_args in runs:
            t = time.time()
            out = run(*run_args)
            timings[key[0]] += time.time() - t
            if isinstance(out, str):  # a peer's text: map it onto our paragraphs
                mask = np.array(aligned_share(para_tokens, tokens(out))) >= 0.5
                kept_text = out
            else:
                mask = out
                kept_text = "\n".join(p.text for p, k in zip(paras, mask) if k)
            outputs[key].append((page, mask, kept_text))
    print(f"scored in {time.time() - started:.0f}s; seconds per system: "
          + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()), flush=True)

    results = {key: summarise(rows) for key, rows in outputs.items()}
    report = render(results, args, len(pages))
    if FAILURES:
        report += "\nPeer failures (page counted with nothing kept): " + ", ".join(
            f"{k} x{v}" for k, v in sorted(FAILURES.items())) + "\n"
    print(report)
    if not args.no_write and not args.limit:
        write_results(report, results)
    return 0


def _scores_kept(detector: BoilerplateDetector, document, corpus: CorpusStats | None) -> np.ndarray:
    """qualityscan keeps the paragraphs scored below 0.5."""
    return np.asarray(detector.score(document, corpus).scores) < 0.5


def _phrases_kept(paragraphs) -> np.ndarray:
    """The phrase-list baseline keeps the paragraphs where no chrome phrase occurs."""
    return np.array([find_phrase(p.text) is None for p in paragraphs])


def summarise(rows: list) -> dict[str, dict[str, float]]:
    """Per source and overall: mean page token P/R/F1, and block-level boilerplate P/R/F1."""
    groups: dict[str, list] = defaultdict(list)
    for row in rows:
        groups[row[0].source].append(row)
        groups["all"].append(row)
    out = {}
    for name, group in groups.items():
        prf = [token_prf(text, page.truth) for page, _, text in group if page.truth.strip()]
        stats = {"pages": len(prf)}
        for i, metric in enumerate(("page_p", "page_r", "page_f1")):
            stats[metric] = float(np.mean([v[i] for v in prf])) if prf else float("nan")
        for weighting in ("blocks", "tokens"):
            tp = fp = fn = 0.0
            for page, mask, _ in group:
                for para, label, has_words, kept in zip(page.document.paragraphs, page.labels,
                                                        page.has_words, mask):
                    if not has_words:
                        continue
                    w = 1.0 if weighting == "blocks" else float(len(tokens(para.text)))
                    flagged = not kept
                    tp += w * (flagged and label == 1)
                    fp += w * (flagged and label == 0)
                    fn += w * (not flagged and label == 1)
            p = tp / (tp + fp) if tp + fp else 0.0
            r = tp / (tp + fn) if tp + fn else 0.0
            stats[f"{weighting}_p"], stats[f"{weighting}_r"] = p, r
            stats[f"{weighting}_f1"] = 2 * p * r / (p + r) if p + r else 0.0
        out[name] = stats
    return out


def render(results: dict, args: argparse.Namespace, n_pages: int) -> str:
    command = "python scripts/evaluate_boilerplate.py" + (f" --fold {args.fold}" if args.fold else "")
    lines = [f"Command: `{command}` ({n_pages} held-out pages, fold {args.fold}).", ""]
    sources = ["all", "scrapinghub", "dragnet", "cleaneval", "cleanportaleval"]
    for kind in ("html", "plain"):
        lines += [f"#### {'HTML' if kind == 'html' else 'Plain-text'} input", "",
                  ("| system | source | pages | page P | page R | page F1 | block P | block R | block F1 "
                   "| token-weighted block F1 |"),
                  "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for (system, k), by_source in results.items():
            if k != kind:
                continue
            for source in sources:
                s = by_source.get(source)
                if s is None:
                    continue
                lines.append(f"| {system} | {source} | {s['pages']} | {s['page_p']:.3f} | {s['page_r']:.3f} | "
                             f"**{s['page_f1']:.3f}** | {s['blocks_p']:.3f} | {s['blocks_r']:.3f} | "
                             f"**{s['blocks_f1']:.3f}** | {s['tokens_f1']:.3f} |")
        lines.append("")
    return "\n".join(lines)


def write_results(report: str, results: dict) -> None:
    text = DOC.read_text(encoding="utf-8") if DOC.is_file() else f"# Boilerplate\n\n{START}\n{END}\n"
    if START not in text or END not in text:
        raise SystemExit(f"{DOC}: no {START} ... {END} section to write the results into")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    with atomic_write(DOC) as handle:
        handle.write(f"{head}{START}\n{report}\n{END}{tail}")
    with atomic_write(DOC.with_suffix(".json")) as handle:
        json.dump({f"{system} | {kind}": v for (system, kind), v in results.items()}, handle, indent=1)
        handle.write("\n")
    print(f"wrote {DOC} and {DOC.with_suffix('.json').name}")


if __name__ == "__main__":
    raise SystemExit(main())
