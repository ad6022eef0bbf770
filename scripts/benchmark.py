"""Speed and memory of qualityscan against the standard web-corpus filters, on one corpus.

Corpus (built from ``--data-root``, see ``docs/benchmarks.md``): 13,370 text documents,
one per line-separated document in

* ``boilerplate/blocks.jsonl.gz``: each page's text blocks joined by newlines (what a scraper
  keeps without main-text extraction: chrome included), 2,368 documents;
* ``boilerplate/ground_truth.jsonl.gz``: each page's human-extracted main text, 2,368;
* ``machine_text/machine_text.jsonl.gz``: ``text`` (human and LLM news), 4,917;
* ``mt/mqm_zhen_documents.jsonl.gz``: ``target`` (MT and human translations), 2,390;
* ``prompt_leak/examples.jsonl.gz``: ``text`` (LLM outputs with chat residue), 1,327;

plus the 2,368 raw HTML pages of ``boilerplate/html`` for the HTML tools. Smaller sizes are
an evenly spaced sample (every source in proportion); larger sizes repeat the text corpus
(copy ``k`` of a document gets id ``<id>#k``).

Every measurement runs in a fresh single-process child (``--worker``, BLAS threads pinned to
one), so peak memory is that tool's alone: ``peak_rss_mb`` is the child's peak resident set,
``tool_rss_mb`` the part above the child's footprint once the input was loaded (imports,
models and working memory). Speed is given per wall-clock second and per CPU second; on a
shared machine CPU time is the steadier figure, and the ratios compare tools measured in the
same run.

    python scripts/benchmark.py                     # everything, full sizes
    python scripts/benchmark.py --quick             # a few minutes
    python scripts/benchmark.py --parts compare,jobs --sizes 1000,10000
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gzip
import itertools
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"
PARTS = ("compare", "scaling", "paragraphs", "jobs", "profile")
#: Child environment: one thread for numpy/scipy/BLAS, so "single core" means it.
_SINGLE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                  "NUMEXPR_NUM_THREADS": "1", "RAYON_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}

# ---------------------------------------------------------------------------- corpus


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def build_corpus(data_root: Path, work_dir: Path) -> tuple[Path, Path]:
    """Write ``corpus.jsonl`` (text documents) and ``pages.jsonl`` (HTML page files) once."""
    corpus, pages = work_dir / "corpus.jsonl", work_dir / "pages.jsonl"
    if corpus.is_file() and pages.is_file():
        return corpus, pages
    work_dir.mkdir(parents=True, exist_ok=True)
    bp = data_root / "boilerplate"
    blocks: dict[str, list[str]] = {}
    for row in _jsonl(bp / "blocks.jsonl.gz"):
        blocks.setdefault(row["page_id"], []).append(row["text"])
    sources = [
        ("page", ((pid, "\n".join(lines)) for pid, lines in blocks.items())),
        ("gt", ((r["page_id"], r["text"]) for r in _jsonl(bp / "ground_truth.jsonl.gz"))),
        ("mtext", ((r["id"], r["text"]) for r in _jsonl(data_root / "machine_text" / "machine_text.jsonl.gz"))),
        ("mqm", ((r["id"], r["target"]) for r in _jsonl(data_root / "mt" / "mqm_zhen_documents.jsonl.gz"))),
        ("leak", ((r["id"], r["text"]) for r in _jsonl(data_root / "prompt_leak" / "examples.jsonl.gz"))),
    ]
    tmp = corpus.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        for prefix, rows in sources:
            for doc_id, text in rows:
                if text and text.strip():
                    out.write(json.dumps({"id": f"{prefix}:{doc_id}", "text": text}, ensure_ascii=False) + "\n")
    tmp.replace(corpus)
    tmp = pages.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        for row in _jsonl(bp / "pages.jsonl.gz"):
            out.write(json.dumps({"id": row["page_id"], "path": str(bp / row["html_file"])}) + "\n")
    tmp.replace(pages)
    return corpus, pages


def _spread(rows: list[Any], limit: int | None) -> list[Any]:
    """``limit`` rows evenly spaced over ``rows`` (keeps the mix of sources), all when None."""
    if limit is None or limit >= len(rows):
        return rows
    return [rows[i * len(rows) // limit] for i in range(limit)]


def load_texts(corpus: Path, limit: int | None) -> list[tuple[str, str]]:
    """``limit`` (id, text) pairs: an even sample of the corpus when it is larger, else the
    corpus repeated (copy ``k`` of a document gets id ``<id>#k``)."""
    with open(corpus, encoding="utf-8") as handle:
        rows = [(r["id"], r["text"]) for r in map(json.loads, handle)]
    if limit is None or limit <= len(rows):
        return _spread(rows, limit)
    out = list(rows)
    for copy in itertools.count(1):
        if len(out) >= limit:
            break
        out.extend((f"{i}#{copy}", t) for i, t in rows[: limit - len(out)])
    return out


def load_pages(pages: Path, limit: int | None) -> list[tuple[str, bytes]]:
    with open(pages, encoding="utf-8") as handle:
        rows = _spread([json.loads(line) for line in handle], limit)
    return [(r["id"], gzip.decompress(Path(r["path"]).read_bytes())) for r in rows]


def paragraph_document(corpus: Path, n: int) -> str:
    """One document of ``n`` paragraphs, one per line: the lines of at least 80 characters of
    the ground-truth and MT documents of the corpus, in order (about 50,000); beyond those, the
    other lines of at least 80 characters of the whole corpus not used yet (about 47,000 more);
    cycled only after that. (A document that repeats itself is dropped at once by datatrove's
    repetition filter, which would make its time meaningless.)"""
    paragraphs: list[str] = []
    seen: set[str] = set()
    for first in (True, False):
        with open(corpus, encoding="utf-8") as handle:
            for row in map(json.loads, handle):
                if len(paragraphs) >= n:
                    break
                if first and not row["id"].startswith(("gt:", "mqm:")):
                    continue
                for line in row["text"].splitlines():
                    line = line.strip()
                    if len(line) >= 80 and (first or line not in seen):
                        paragraphs.append(line)
                        seen.add(line)
    return "\n".join(itertools.islice(itertools.cycle(paragraphs), n))


# ---------------------------------------------------------------------------- tools (child side)


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


_WARM_UP_TEXT = ("The committee met on Tuesday to discuss the budget for the coming year.\n"
                 "Members agreed to publish the minutes of the meeting next week.")
_WARM_UP_HTML = "<html><body>" + "".join(f"<p>{p}</p>" for p in _WARM_UP_TEXT.splitlines()) + "</body></html>"


def _qualityscan(jobs: int = 1):
    from qualityscan.readers import document_from_html, document_from_text
    from qualityscan.scanner import Scanner

    scanner = Scanner(jobs=jobs)

    def run_texts(items: list[tuple[str, str]]) -> dict[str, Any]:
        docs = (document_from_text(t, id=i, source=i) for i, t in items)
        flagged = scored = 0
        for report in scanner.scan_documents(docs):
            scored += bool(report.scores)
            flagged += report.reliability is not None and report.reliability < 0.5
        return {"scored": scored, "reliability_below_0.5": flagged}

    def run_pages(items: list[tuple[str, bytes]]) -> dict[str, Any]:
        docs = (document_from_html(h, id=i, source=i) for i, h in items)
        return {"scored": sum(bool(r.scores) for r in scanner.scan_documents(docs))}

    scanner.scan_html(_WARM_UP_HTML)  # lazy model loads happen here, in the setup time
    info = {"detectors": scanner.detector_names, "model": scanner.has_model, "jobs": jobs}
    return run_texts, run_pages, info


def _datatrove():
    from datatrove.data import Document
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )

    # FineWeb's order (datatrove examples/fineweb.py): repetition, quality, C4, FineWeb
    filters = [GopherRepetitionFilter(), GopherQualityFilter(), C4QualityFilter(), FineWebQualityFilter()]

    def run_texts(items: list[tuple[str, str]]) -> dict[str, Any]:
        stream: Iterator[Any] = (Document(text=t, id=i) for i, t in items)
        for step in filters:
            stream = step.run(stream, rank=0, world_size=1)
        return {"kept": sum(1 for _ in stream)}

    run_texts([("warm-up", _WARM_UP_TEXT)])  # loads the spaCy tokenizer
    return run_texts, None, {"filters": [type(f).__name__ for f in filters]}


def _justext():
    import justext

    stoplist = justext.get_stoplist("English")

    def run_pages(items: list[tuple[str, bytes]]) -> dict[str, Any]:
        good = 0
        for _, page in items:
            good += sum(not p.is_boilerplate for p in justext.justext(page, stoplist))
        return {"good_paragraphs": good}

    run_pages([("warm-up", _WARM_UP_HTML.encode())])
    return None, run_pages, {"stoplist": "English"}


TOOLS = {"qualityscan": _qualityscan, "datatrove": _datatrove, "justext": _justext}


def worker(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one measurement described by ``spec`` in this process; return its figures."""
    corpus, pages = Path(spec["corpus"]), Path(spec["pages"])
    if spec["input"] == "pages":
        items: list[Any] = load_pages(pages, spec.get("limit"))
    elif spec["input"] == "paragraphs":
        items = [(f"paragraphs-{spec['paragraphs']}", paragraph_document(corpus, spec["paragraphs"]))]
    else:
        items = load_texts(corpus, spec.get("limit"))[spec.get("shard", 0)::spec.get("shards", 1)]
    size = sum(len(x.encode("utf-8")) if isinstance(x, str) else len(x) for _, x in items)
    baseline = _rss_mb()
    t0 = time.perf_counter()
    factory = TOOLS[spec["tool"]]
    run_texts, run_pages, info = factory(spec["jobs"]) if spec["tool"] == "qualityscan" else factory()
    setup = time.perf_counter() - t0
    run = run_pages if spec["input"] == "pages" else run_texts
    profiler = None
    if spec.get("profile"):
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.002)
        profiler.start()
    wall, cpu = time.perf_counter(), time.process_time()
    outcome = run(items)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if profiler is not None:
        profiler.stop()
        Path(spec["profile"]).write_text(profiler.output_text(unicode=True, color=False, show_all=False),
                                         encoding="utf-8")
    n = len(items)
    return {
        "tool": spec["tool"], "input": spec["input"], "jobs": spec["jobs"], "docs": n, "mb": size / 1e6,
        "paragraphs": spec.get("paragraphs"), "load_avg_1min": os.getloadavg()[0],
        "setup_s": setup, "wall_s": wall, "cpu_s": cpu,
        "docs_per_s": n / wall, "docs_per_cpu_s": n / cpu if cpu else None,
        "mb_per_s": size / 1e6 / wall, "mb_per_cpu_s": size / 1e6 / cpu if cpu else None,
        "peak_rss_mb": _peak_mb(), "tool_rss_mb": _peak_mb() - baseline, **outcome, **info,
    }


# ---------------------------------------------------------------------------- driver (parent side)


def measure(spec: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Run ``spec`` in a fresh child process; a failure or timeout is recorded, not raised."""
    label = (f"{spec['tool']} {spec['input']} n={spec.get('limit') or spec.get('paragraphs') or 'all'} "
             f"jobs={spec['jobs']}" + (f" shard {spec['shard'] + 1}/{spec['shards']}" if spec.get("shards", 1) > 1 else ""))
    print(f"  running {label} ...", file=sys.stderr, flush=True)
    env = {**os.environ, **_SINGLE_THREAD}
    try:
        run = subprocess.run([sys.executable, __file__, "--worker", json.dumps(spec)], capture_output=True,
                             text=True, timeout=timeout, env=env, cwd=REPO, check=False)
    except subprocess.TimeoutExpired:
        print(f"  {label}: timed out after {timeout:.0f} s", file=sys.stderr, flush=True)
        return {**spec, "error": f"timed out after {timeout:.0f} s"}
    if run.returncode != 0:
        error = run.stderr.strip().splitlines()[-1] if run.stderr.strip() else f"exit code {run.returncode}"
        print(f"  {label}: failed: {error}", file=sys.stderr, flush=True)
        return {**spec, "error": error}
    result = json.loads(run.stdout.strip().splitlines()[-1])
    print(f"  done {label}: {result['docs']} docs in {result['wall_s']:.1f} s wall / {result['cpu_s']:.1f} s CPU, "
          f"peak {result['peak_rss_mb']:.0f} MB", file=sys.stderr, flush=True)
    return result


def merge_shards(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One measurement from the shards of one: documents, bytes, wall and CPU time add up (as if
    the shards had run one after another), peak memory is the largest shard's."""
    if len(runs) == 1 or any("error" in r for r in runs):
        return runs[0] if len(runs) == 1 else {**runs[0], "error": "; ".join(r.get("error", "") for r in runs)}
    merged = dict(runs[0])
    for key in ("docs", "mb", "wall_s", "cpu_s", "kept", "scored", "reliability_below_0.5"):
        if key in merged:
            merged[key] = sum(r[key] for r in runs)
    merged.update(shards=len(runs), setup_s=max(r["setup_s"] for r in runs),
                  peak_rss_mb=max(r["peak_rss_mb"] for r in runs), tool_rss_mb=max(r["tool_rss_mb"] for r in runs),
                  docs_per_s=merged["docs"] / merged["wall_s"], docs_per_cpu_s=merged["docs"] / merged["cpu_s"],
                  mb_per_s=merged["mb"] / merged["wall_s"], mb_per_cpu_s=merged["mb"] / merged["cpu_s"],
                  shard_runs=runs)
    return merged


def machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
               if line.startswith("MemTotal"))
    return {"nproc": os.cpu_count(), "cpu": cpu, "ram_gb": round(mem / 1024 / 1024, 1),
            "python": platform.python_version(), "load_avg_at_start": os.getloadavg()}


def _fmt(value: Any, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def table(rows: list[dict[str, Any]], columns: list[tuple[str, str, int]]) -> str:
    lines = ["| " + " | ".join(h for h, _, _ in columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = []
        for _, key, digits in columns:
            value = row.get(key)
            if digits < 0:
                cells.append("" if value is None else str(value))
            else:
                cells.append(_fmt(value, digits))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/qualityscan-benchmark"),
                        help="where the corpus files are built (outside the repository)")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks" / "results.json",
                        help="results JSON (parts already in it and not rerun are kept)")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma list of {', '.join(PARTS)}")
    parser.add_argument("--limit", type=int, help="text documents in the comparison (default: all)")
    parser.add_argument("--page-limit", type=int, help="HTML pages in the comparison (default: all)")
    parser.add_argument("--sizes", help="corpus sizes for the scaling curve (default 1000,10000,100000)")
    parser.add_argument("--paragraphs", help="paragraph counts of the one-document curve (default 10,100,1000,10000)")
    parser.add_argument("--jobs-docs", type=int, help="documents for the --jobs 1 vs 2 comparison (default 4000)")
    parser.add_argument("--profile-docs", type=int, help="documents profiled with pyinstrument (default 1500)")
    parser.add_argument("--quick", action="store_true",
                        help="smaller defaults: 2,000 documents and 500 pages compared, sizes 500,2000, "
                             "paragraphs 10,100,1000, 1,000 documents for --jobs, 500 profiled")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds allowed per measurement")
    parser.add_argument("--shards", type=int, default=1,
                        help="split the compared text documents into this many single-process runs "
                             "(their times are added up; use with --parallel on a busy machine)")
    parser.add_argument("--parallel", type=int, default=1,
                        help="single-process measurements run at once (CPU-time figures stay per "
                             "process; wall-clock figures then include the contention)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0

    if not args.data_root.is_dir():
        parser.error(f"--data-root {args.data_root} not found (expected ../shared/data beside the checkout)")
    parts = [p for p in args.parts.split(",") if p]
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown part(s) {', '.join(sorted(unknown))}; choose from {', '.join(PARTS)}")
    defaults = ({"limit": 2000, "pages": 500, "sizes": "500,2000", "paragraphs": "10,100,1000", "jobs": 1000,
                 "profile": 500} if args.quick else
                {"limit": None, "pages": None, "sizes": "1000,10000,100000", "paragraphs": "10,100,1000,10000",
                 "jobs": 4000, "profile": 1500})
    limit = args.limit or defaults["limit"]
    page_limit = args.page_limit or defaults["pages"]
    sizes = [int(s) for s in (args.sizes or defaults["sizes"]).split(",") if s]
    paragraph_counts = [int(s) for s in (args.paragraphs or defaults["paragraphs"]).split(",") if s]
    jobs_docs = args.jobs_docs or defaults["jobs"]
    profile_docs = args.profile_docs or defaults["profile"]

    args.out.parent.mkdir(parents=True, exist_ok=True)
    corpus, pages = build_corpus(args.data_root, args.work_dir)
    base = {"corpus": str(corpus), "pages": str(pages), "jobs": 1}
    results: dict[str, Any] = json.loads(args.out.read_text()) if args.out.is_file() else {}
    results["machine"] = machine()
    stamp = {"date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
             "command": "python scripts/benchmark.py " + " ".join(argv if argv is not None else sys.argv[1:])}
    print(f"machine: {results['machine']}", file=sys.stderr)

    # Single-process measurements, up to --parallel at a time; the --jobs comparison runs alone
    # afterwards, since it needs every core.
    specs: dict[str, list[dict[str, Any]]] = {part: [] for part in parts}
    if "compare" in parts:
        specs["compare"] = [{**base, "tool": tool, "input": "texts", "limit": limit, "shard": i, "shards": args.shards}
                            for tool in ("qualityscan", "datatrove") for i in range(args.shards)]
        specs["compare"] += [{**base, "tool": "qualityscan", "input": "pages", "limit": page_limit},
                             {**base, "tool": "justext", "input": "pages", "limit": page_limit}]
    if "scaling" in parts:
        specs["scaling"] = [{**base, "tool": "qualityscan", "input": "texts", "limit": n} for n in sizes]
    if "paragraphs" in parts:
        specs["paragraphs"] = [{**base, "tool": tool, "input": "paragraphs", "paragraphs": n}
                               for n in paragraph_counts for tool in ("qualityscan", "datatrove")]
    profile_path = args.out.parent / "profile.txt"
    if "profile" in parts:
        specs["profile"] = [{**base, "tool": "qualityscan", "input": "texts", "limit": profile_docs,
                             "profile": str(profile_path)}]
    pending = [(part, i, spec) for part, items in specs.items() if part != "jobs" for i, spec in enumerate(items)]
    done: dict[str, dict[int, dict[str, Any]]] = {part: {} for part in specs}
    with ThreadPoolExecutor(max_workers=max(1, args.parallel)) as pool:
        futures = {pool.submit(measure, spec, args.timeout): (part, i) for part, i, spec in pending}
        for future, (part, i) in futures.items():
            done[part][i] = future.result()
    got = {part: [done[part][i] for i in sorted(done[part])] for part in done}
    concurrency = {"parallel": args.parallel}

    if "compare" in parts:
        shards = got["compare"][: 2 * args.shards]
        runs = [merge_shards(shards[: args.shards]), merge_shards(shards[args.shards:]), *got["compare"][2 * args.shards:]]
        ratios = {}
        for a, b in ((0, 1), (2, 3)):
            if "error" not in runs[a] and "error" not in runs[b]:
                ratios[f"{runs[a]['tool']}/{runs[b]['tool']} on {runs[a]['input']}"] = {
                    "docs_per_s": runs[a]["docs_per_s"] / runs[b]["docs_per_s"],
                    "docs_per_cpu_s": runs[a]["docs_per_cpu_s"] / runs[b]["docs_per_cpu_s"],
                    "peak_rss": runs[a]["peak_rss_mb"] / runs[b]["peak_rss_mb"]}
        results["compare"] = {**stamp, **concurrency, "runs": runs, "ratios": ratios}
    if "scaling" in parts:
        runs = got["scaling"]
        if "compare" in parts and "error" not in results["compare"]["runs"][0]:
            compared = {k: v for k, v in results["compare"]["runs"][0].items() if k != "shard_runs"}
            runs = sorted(runs + [{**compared, "from": "compare"}], key=lambda r: r.get("docs") or 0)
        for run in runs:
            if "error" not in run:
                run["cpu_us_per_doc"] = run["cpu_s"] / run["docs"] * 1e6
        results["scaling"] = {**stamp, **concurrency, "runs": runs}
    if "paragraphs" in parts:
        for run in got["paragraphs"]:
            if "error" not in run:
                run["ms_per_paragraph"] = run["cpu_s"] / run["paragraphs"] * 1e3
        results["paragraphs"] = {**stamp, **concurrency, "runs": got["paragraphs"]}
    if "profile" in parts:
        results["profile"] = {**stamp, "run": got["profile"][0], "file": str(profile_path.relative_to(REPO))
                              if profile_path.is_relative_to(REPO) else str(profile_path)}
    if "jobs" in parts:
        runs = [measure({**base, "tool": "qualityscan", "input": "texts", "limit": jobs_docs, "jobs": j},
                        args.timeout) for j in (1, 2)]
        speedup = runs[0]["wall_s"] / runs[1]["wall_s"] if all("error" not in r for r in runs) else None
        results["jobs"] = {**stamp, "runs": runs, "speedup_wall": speedup,
                           "load_avg_before": os.getloadavg()}

    from qualityscan._atomic import atomic_write

    with atomic_write(args.out) as handle:
        json.dump(results, handle, indent=2, default=str)
        handle.write("\n")
    print(report(results))
    print(f"\nwrote {args.out}", file=sys.stderr)
    return 0


def report(results: dict[str, Any]) -> str:
    """Markdown tables of everything in ``results`` (what docs/benchmarks.md quotes)."""
    out = []
    speed = [("tool", "tool", -1), ("input", "input", -1), ("docs", "docs", 0), ("MB", "mb", 1),
             ("wall s", "wall_s", 1), ("CPU s", "cpu_s", 1), ("docs/s", "docs_per_s", 1),
             ("docs/CPU-s", "docs_per_cpu_s", 1), ("MB/s", "mb_per_s", 2), ("MB/CPU-s", "mb_per_cpu_s", 2),
             ("peak RSS MB", "peak_rss_mb", 0), ("tool RSS MB", "tool_rss_mb", 0), ("error", "error", -1)]
    if "compare" in results:
        part = results["compare"]
        out += [f"## Comparison ({part['date']}: `{part['command']}`)", "", table(part["runs"], speed), ""]
        out += [f"- {name}: {v['docs_per_s']:.2f}x docs/s (wall), {v['docs_per_cpu_s']:.2f}x docs/CPU-s, "
                f"{v['peak_rss']:.2f}x peak memory" for name, v in part["ratios"].items()]
        out.append("")
    if "scaling" in results:
        part = results["scaling"]
        cols = speed[2:3] + [("wall s", "wall_s", 1), ("CPU s", "cpu_s", 1), ("CPU µs/doc", "cpu_us_per_doc", 0),
                             ("peak RSS MB", "peak_rss_mb", 0), ("error", "error", -1)]
        out += [f"## Scaling with corpus size ({part['date']}: `{part['command']}`)", "",
                table(part["runs"], cols), ""]
    if "paragraphs" in results:
        part = results["paragraphs"]
        cols = [("tool", "tool", -1), ("paragraphs", "paragraphs", 0), ("MB", "mb", 2), ("wall s", "wall_s", 2),
                ("CPU s", "cpu_s", 2), ("CPU ms/paragraph", "ms_per_paragraph", 3),
                ("peak RSS MB", "peak_rss_mb", 0), ("error", "error", -1)]
        out += [f"## One document of n paragraphs ({part['date']}: `{part['command']}`)", "",
                table(part["runs"], cols), ""]
    if "jobs" in results:
        part = results["jobs"]
        cols = [("jobs", "jobs", 0), ("docs", "docs", 0), ("wall s", "wall_s", 1), ("CPU s (parent)", "cpu_s", 1),
                ("docs/s", "docs_per_s", 1), ("error", "error", -1)]
        out += [f"## --jobs ({part['date']}: `{part['command']}`)", "", table(part["runs"], cols), "",
                f"- speed-up 1 -> 2 jobs (wall): {_fmt(part['speedup_wall'], 2)}x", ""]
    if "profile" in results:
        out += [f"## Profile: {results['profile']['file']}", ""]
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
