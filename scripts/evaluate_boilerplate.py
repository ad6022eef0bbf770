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

Cross-fold check (``--cross-fold DIR``): fold K is scored with ``DIR/foldK.joblib``, made by
``train_boilerplate.py --eval-fold K --out DIR/foldK.joblib`` (never trained on fold K nor on
dragnet; checked from its metadata); each fold's sums are merged into
``docs/evaluation/boilerplate_crossfold.json`` and the per-fold and pooled tables are written to
the doc's cross-fold section (the fold-0 results above are left alone).
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
from qualityscan.model import read_metadata

DOC = Path(__file__).resolve().parents[1] / "docs" / "evaluation" / "boilerplate.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"
CROSS_JSON = DOC.with_name("boilerplate_crossfold.json")
CROSS_START, CROSS_END = "<!-- crossfold:start -->", "<!-- crossfold:end -->"
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
    parser.add_argument("--cross-fold", type=Path, default=None, metavar="DIR",
                        help="cross-fold check: score each fold K of --folds with DIR/foldK.joblib (made by "
                             "train_boilerplate.py --eval-fold K --out DIR/foldK.joblib); per-fold results are "
                             f"merged into {CROSS_JSON.name} and the doc's cross-fold section")
    parser.add_argument("--folds", type=int, nargs="+", default=[0, 1, 2, 3, 4], help="folds for --cross-fold")
    args = parser.parse_args(argv)
    if args.cross_fold:
        return cross_fold(args)
    started = time.time()

    pages = load_pages(args.data_root, lambda m: m["fold"] == args.fold, limit=args.limit)
    print(f"{len(pages)} held-out pages of fold {args.fold} read in {time.time() - started:.0f}s", flush=True)
    detector = BoilerplateDetector(model_path=args.model, top_features=0)  # evidence not needed here
    outputs = score_pages(pages, detector, started)
    results = {key: summarise(rows) for key, rows in outputs.items()}
    report = render(results, args, len(pages))
    if FAILURES:
        report += "\nPeer failures (page counted with nothing kept): " + ", ".join(
            f"{k} x{v}" for k, v in sorted(FAILURES.items())) + "\n"
    print(report)
    if not args.no_write and not args.limit:
        write_results(report, results)
    return 0


def score_pages(pages: list[Page], detector: BoilerplateDetector, started: float) -> dict[tuple[str, str], list]:
    """Every system on every page: ``(system, input) -> [(page, kept-paragraph mask, kept text)]``
    (qualityscan's corpus line counts come from all of ``pages``)."""
    corpus = CorpusStats()
    for page in pages:
        corpus.add(page.document)
    outputs: dict[tuple[str, str], list[tuple[Page, np.ndarray, str]]] = defaultdict(list)
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
    return outputs


def _scores_kept(detector: BoilerplateDetector, document, corpus: CorpusStats | None) -> np.ndarray:
    """qualityscan keeps the paragraphs scored below 0.5."""
    return np.asarray(detector.score(document, corpus).scores) < 0.5


def _phrases_kept(paragraphs) -> np.ndarray:
    """The phrase-list baseline keeps the paragraphs where no chrome phrase occurs."""
    return np.array([find_phrase(p.text) is None for p in paragraphs])


def summarise(rows: list) -> dict[str, dict[str, float]]:
    """Per source and overall: mean page token P/R/F1, and block-level boilerplate P/R/F1."""
    return {name: finish(sums) for name, sums in tally(rows).items()}


def tally(rows: list) -> dict[str, dict[str, float]]:
    """Per source and overall, the sums behind :func:`summarise`'s figures (page P/R/F1 sums over
    pages with a ground truth; boilerplate TP/FP/FN by blocks and by tokens), so that the
    figures of several folds can be pooled by adding their sums."""
    groups: dict[str, list] = defaultdict(list)
    for row in rows:
        groups[row[0].source].append(row)
        groups["all"].append(row)
    out = {}
    for name, group in groups.items():
        prf = [token_prf(text, page.truth) for page, _, text in group if page.truth.strip()]
        sums = {"pages": len(prf)}
        for i, metric in enumerate(("page_p", "page_r", "page_f1")):
            sums[metric] = float(sum(v[i] for v in prf))
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
            sums[f"{weighting}_tp"], sums[f"{weighting}_fp"], sums[f"{weighting}_fn"] = tp, fp, fn
        out[name] = sums
    return out


def finish(sums: dict[str, float]) -> dict[str, float]:
    """Figures from :func:`tally`'s sums: mean page P/R/F1, block P/R/F1 by blocks and by tokens."""
    n = int(sums["pages"])
    stats = {"pages": n}
    for metric in ("page_p", "page_r", "page_f1"):
        stats[metric] = sums[metric] / n if n else float("nan")
    for weighting in ("blocks", "tokens"):
        tp, fp, fn = (sums[f"{weighting}_{k}"] for k in ("tp", "fp", "fn"))
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        stats[f"{weighting}_p"], stats[f"{weighting}_r"] = p, r
        stats[f"{weighting}_f1"] = 2 * p * r / (p + r) if p + r else 0.0
    return stats


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


def write_section(report: str, start: str, end: str) -> None:
    """Replace the text between the ``start`` and ``end`` markers of the doc with ``report``."""
    text = DOC.read_text(encoding="utf-8") if DOC.is_file() else f"# Boilerplate\n\n{start}\n{end}\n"
    if start not in text or end not in text:
        raise SystemExit(f"{DOC}: no {start} ... {end} section to write the results into")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    with atomic_write(DOC) as handle:
        handle.write(f"{head}{start}\n{report}\n{end}{tail}")


def write_results(report: str, results: dict) -> None:
    write_section(report, START, END)
    with atomic_write(DOC.with_suffix(".json")) as handle:
        json.dump({f"{system} | {kind}": v for (system, kind), v in results.items()}, handle, indent=1)
        handle.write("\n")
    print(f"wrote {DOC} and {DOC.with_suffix('.json').name}")


PEERS = ("jusText", "trafilatura")


def cross_fold(args: argparse.Namespace) -> int:
    """Score every fold of ``args.folds`` with the model trained without it; store each fold's
    sums (pooled by adding them) and per-page F1, then render per-fold and pooled tables."""
    store = json.loads(CROSS_JSON.read_text(encoding="utf-8")) if CROSS_JSON.is_file() else {}
    store.setdefault("folds", {})
    writing = not args.no_write and not args.limit
    for fold in args.folds:
        model_path = args.cross_fold / f"fold{fold}.joblib"
        meta = read_metadata(model_path)
        data = meta.get("data", {})
        if "dragnet" in data.get("sources", ()) or fold in data.get("folds", (fold,)):
            raise SystemExit(f"{model_path}: not a held-out model for fold {fold}: it was trained on "
                             f"sources {data.get('sources')} and folds {data.get('folds')}")
        started = time.time()
        FAILURES.clear()
        pages = load_pages(args.data_root, lambda m, k=fold: m["fold"] == k, limit=args.limit)
        print(f"fold {fold}: {len(pages)} pages read in {time.time() - started:.0f}s; model {model_path} "
              f"(trained on folds {data.get('folds')} of {data.get('sources')})", flush=True)
        outputs = score_pages(pages, BoilerplateDetector(model_path=model_path, top_features=0), started)
        with_truth = [page for page in pages if page.truth.strip()]
        store["folds"][str(fold)] = {
            "model_sha256": meta["sha256"], "train_command": meta.get("command"),
            "train_data": {k: data.get(k) for k in ("sources", "folds", "pages")},
            "pages": len(pages), "peer_failures": dict(FAILURES),
            "sums": {f"{system} | {kind}": tally(rows) for (system, kind), rows in outputs.items()},
            "page_f1": {"page_id": [p.page_id for p in with_truth], "source": [p.source for p in with_truth],
                        "domain": [p.domain for p in with_truth],
                        **{f"{system} | {kind}": [round(token_prf(text, page.truth)[2], 5)
                                                  for page, _, text in rows if page.truth.strip()]
                           for (system, kind), rows in outputs.items()}},
        }
        if writing:
            with atomic_write(CROSS_JSON) as handle:
                json.dump(store, handle, indent=1, sort_keys=True)
                handle.write("\n")
    report = render_cross(store)
    print(report)
    if writing:
        write_section(report, CROSS_START, CROSS_END)
        print(f"wrote {DOC} and {CROSS_JSON.name}")
    return 0


def _pooled(store: dict, folds: list[str]) -> dict[str, dict[str, dict[str, float]]]:
    """``system | input -> source -> figures`` from the summed tallies of ``folds``."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for key in store["folds"][folds[0]]["sums"]:
        sums: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for fold in folds:
            for source, values in store["folds"][fold]["sums"][key].items():
                for name, value in values.items():
                    sums[source][name] += value
        out[key] = {source: finish(values) for source, values in sums.items()}
    return out


def margin(store: dict, folds: list[str], kind: str, peer: str) -> tuple[float, float, int]:
    """Pooled mean per-page F1 difference qualityscan - ``peer`` and its standard error,
    clustered by domain (pages of one site are not independent); and the number of domains."""
    by_domain: dict[str, list[float]] = defaultdict(list)
    for fold in folds:
        f1 = store["folds"][fold]["page_f1"]
        for domain, page_id, ours, theirs in zip(f1["domain"], f1["page_id"], f1[f"qualityscan | {kind}"],
                                                 f1[f"{peer} | {kind}"]):
            by_domain[domain or page_id].append(ours - theirs)
    diffs = [np.asarray(v) for v in by_domain.values()]
    n, groups = sum(len(d) for d in diffs), len(diffs)
    mean = sum(d.sum() for d in diffs) / n
    residual = np.array([d.sum() - mean * len(d) for d in diffs])  # per-domain sums around the mean
    se = float(np.sqrt(groups / max(groups - 1, 1) * np.sum(residual ** 2))) / n
    return float(mean), se, groups


def render_cross(store: dict) -> str:
    """Per-fold and pooled page token F1 (HTML and plain text, per source) with the peers, and
    pooled block F1."""
    folds = sorted(store["folds"], key=int)
    pooled = _pooled(store, folds)
    per_fold = {fold: _pooled(store, [fold]) for fold in folds}
    sources = ["all", "scrapinghub", "dragnet", "cleaneval", "cleanportaleval"]
    lines = [(f"Folds scored: {', '.join(folds)} (each with the model trained without it). "
             "Page token F1, mean over pages with a non-empty ground truth; "
             "\"margin\" = qualityscan minus the better peer."), "",
             ("| fold | source | pages | HTML: qualityscan | single doc | jusText | trafilatura | margin "
             "| plain: qualityscan | single doc | jusText | trafilatura | phrase list | margin |"),
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for label, results in [*((f, per_fold[f]) for f in folds), ("pooled", pooled)]:
        for source in sources:
            if source not in results["qualityscan | html"]:
                continue
            f1 = {key: by_source[source]["page_f1"] for key, by_source in results.items()}
            cells = [label if source == "all" else "", source, str(results["qualityscan | html"][source]["pages"])]
            for kind, systems in (("html", ("qualityscan", "qualityscan (single doc)", *PEERS)),
                                  ("plain", ("qualityscan", "qualityscan (single doc)", *PEERS, "phrase list"))):
                cells += [f"{f1[f'{system} | {kind}']:.3f}" for system in systems]
                cells.append(f"{f1[f'qualityscan | {kind}'] - max(f1[f'{p} | {kind}'] for p in PEERS):+.3f}")
            if label == "pooled" or source == "all":
                cells = [f"**{c}**" if c else c for c in cells]
            lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Pooled block-level F1 of \"boilerplate\" (by paragraphs / token-weighted):", "",
              "| input | source | qualityscan | jusText | trafilatura | phrase list |",
              "| --- | --- | ---: | ---: | ---: | ---: |"]
    for kind in ("html", "plain"):
        for source in sources:
            if source not in pooled[f"qualityscan | {kind}"]:
                continue
            cells = []
            for system in ("qualityscan", *PEERS, "phrase list"):
                s = pooled.get(f"{system} | {kind}", {}).get(source)
                cells.append(f"{s['blocks_f1']:.3f} / {s['tokens_f1']:.3f}" if s else "")
            lines.append(f"| {kind} | {source} | " + " | ".join(cells) + " |")
    lines += ["", ("Pooled per-page difference in page token F1, qualityscan minus peer (mean +- 1.96 standard "
              "errors clustered by domain):"), ""]
    for kind in ("html", "plain"):
        for peer in PEERS:
            mean, se, n_domains = margin(store, folds, kind, peer)
            lines.append(f"* {kind}, vs {peer}: {mean:+.4f} +- {1.96 * se:.4f} ({n_domains} domains)")
    failures = Counter()
    for fold in folds:
        failures.update(store["folds"][fold]["peer_failures"])
    if failures:
        lines += ["", "Peer failures (page counted with nothing kept): "
                  + ", ".join(f"{k} x{v}" for k, v in sorted(failures.items()))]
    lines += ["", "Models: " + "; ".join(f"fold {f}: trained on folds {store['folds'][f]['train_data']['folds']}, "
                                         f"{store['folds'][f]['train_data']['pages']} pages, sha256 "
                                         f"{store['folds'][f]['model_sha256'][:12]}" for f in folds) + ".", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
