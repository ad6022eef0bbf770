"""Command line: argument parsing only; the work is done by Scanner, writers and trainers.

Exit status: 0 when every input was read and scored, 1 when some inputs could not be read
(each has an error record), 2 for usage errors or an unusable model.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from typing import Any

from qualityscan import __version__
from qualityscan.document import DETECTOR_NAMES, Report

EXIT_OK, EXIT_INPUT_ERRORS, EXIT_USAGE = 0, 1, 2


def _add_scanner_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("scoring")
    group.add_argument("--model", metavar="PATH", default="default",
                       help="reliability model file (metadata JSON beside it); default: the shipped model")
    group.add_argument("--no-model", action="store_true", help="skip the reliability model")
    group.add_argument("--allow-version-mismatch", action="store_true",
                       help="load a model trained with another scikit-learn version")
    group.add_argument("--detectors", metavar="NAMES",
                       help=f"comma-separated detectors to run (default: all of {', '.join(DETECTOR_NAMES)})")
    group.add_argument("--no-corpus", action="store_true",
                       help="do not count template lines across the documents of a scan")
    group.add_argument("--jobs", "-j", type=int, default=1, metavar="N", help="worker processes (default 1)")
    read = parser.add_argument_group("input")
    read.add_argument("--input-format", choices=["text", "html", "jsonl"],
                      help="treat every input file as this format instead of sniffing it")
    read.add_argument("--max-bytes", type=int, default=20_000_000, metavar="N",
                      help="documents larger than this (a file, or one JSONL line or WARC record) "
                           "are reported as errors (default 20000000)")
    read.add_argument("--include-hidden", action="store_true",
                      help="also read hidden files and folders (names starting with a dot)")
    read.add_argument("--text-field", default="text", help="JSONL field holding the text (default: text)")
    read.add_argument("--id-field", default="id", help="JSONL field holding the id (default: id)")
    read.add_argument("--url-field", default="url", help="JSONL field holding the URL (default: url)")


def _scanner(args: argparse.Namespace, **extra: Any):
    from qualityscan.readers import ReadOptions
    from qualityscan.scanner import Scanner

    detectors = [d.strip() for d in args.detectors.split(",") if d.strip()] if args.detectors else None
    options = ReadOptions(max_bytes=args.max_bytes, text_field=args.text_field, id_field=args.id_field,
                          url_field=args.url_field, format=args.input_format,
                          include_hidden=args.include_hidden)
    return Scanner(detectors=detectors, model=None if args.no_model else args.model, jobs=args.jobs,
                   read_options=options, corpus=not args.no_corpus,
                   allow_version_mismatch=args.allow_version_mismatch, **extra)


def _counting(reports: Iterator[Report], failures: list[int]) -> Iterator[Report]:
    for report in reports:
        if not report.paragraphs and report.errors:
            failures.append(1)
        yield report


# ------------------------------------------------------------------------------ scan
def cmd_scan(args: argparse.Namespace) -> int:
    from qualityscan.writers import format_for, rank, write_reports

    fmt = args.format or (format_for(args.output) if args.output
                          else "table" if sys.stdout.isatty() else "jsonl")
    scanner = _scanner(args, progress=not args.no_progress and sys.stderr.isatty())
    failures: list[int] = []
    reports: Any = _counting(scanner.scan_paths(args.paths), failures)
    if args.sort == "reliability" or (args.sort is None and fmt in ("table", "html")):
        reports = rank(reports)
    write_reports(reports, fmt, args.output)
    if failures:
        print(f"qualityscan: {len(failures)} input(s) could not be read; see their error records",
              file=sys.stderr)
    return EXIT_INPUT_ERRORS if failures else EXIT_OK


# ------------------------------------------------------------------------------ filter
def _parse_thresholds(items: Sequence[str]) -> dict[str, float]:
    thresholds = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or name not in DETECTOR_NAMES:
            raise ValueError(f"--max-score expects DETECTOR=VALUE with a detector among "
                             f"{', '.join(DETECTOR_NAMES)}, got {item!r}")
        thresholds[name] = float(value)
    return thresholds


def _summary(report: Report, full: bool) -> dict[str, Any]:
    record = report.to_dict()
    if not full:
        record["paragraphs"] = [p for p in record["paragraphs"]
                                if p["scores"] and max(p["scores"].values()) >= 0.5]
        for p in record["paragraphs"]:
            p.pop("text")
    return record


def cmd_filter(args: argparse.Namespace) -> int:
    from qualityscan.readers import read_jsonl_lines
    from qualityscan.thresholds import Thresholds

    thresholds = Thresholds(args.min_reliability, _parse_thresholds(args.max_score))
    scanner = _scanner(args, warmup=args.warmup)
    thresholds.check(scanner.detector_names, scanner.has_model, where="--min-reliability/--max-score")
    malformed = 0
    out = sys.stdout
    documents = read_jsonl_lines(sys.stdin.buffer, scanner.read_options, source="<stdin>")
    for report in scanner.scan_documents(documents):
        doc = report.document
        record = doc.meta.get("record")
        if record is None:  # a line that could not be read
            malformed += 1
            for error in doc.errors:
                print(f"qualityscan filter: {error}", file=sys.stderr)
            if args.on_error == "pass" and "raw" in doc.meta:
                out.write(doc.meta["raw"].rstrip("\r\n") + "\n")
            continue
        if thresholds.rejection(report) is not None:
            continue
        record[args.key] = _summary(report, args.full)
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        out.flush()
    return EXIT_INPUT_ERRORS if malformed else EXIT_OK


# ------------------------------------------------------------------------------ explain
def cmd_explain(args: argparse.Namespace) -> int:
    scanner = _scanner(args)
    status = EXIT_OK
    for report in scanner.scan_paths([args.file]):
        if args.format == "json":
            print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        else:
            _print_explanation(report)
        if not report.paragraphs and report.errors:
            status = EXIT_INPUT_ERRORS
    return status


def _print_explanation(report: Report) -> None:
    reliability = "n/a" if report.reliability is None else f"{report.reliability:.3f}"
    print(f"{report.id}  (language {report.document.language or 'unknown'}, reliability {reliability})")
    print("document scores: " + ", ".join(f"{k} {v:.2f}" for k, v in report.scores.items()))
    for error in report.errors:
        print(f"  note: {error}")
    for p in report.paragraphs:
        scores = " ".join(f"{k[:6]}={v:.2f}" for k, v in p.scores.items())
        text = p.text if len(p.text) <= 300 else p.text[:297] + "..."
        print(f"\n[{p.index}] {p.start}-{p.end}  {scores}\n    {text}")
        for e in p.evidence:
            ref = f" (see [{e.ref}])" if e.ref is not None else ""
            print(f"    -> {e.detector}: {e.message}{ref}  @{e.span[0]}-{e.span[1]}")


# ------------------------------------------------------------------------------ train
def cmd_train(args: argparse.Namespace) -> int:
    from qualityscan.reliability import train_user_model

    result = train_user_model(args.paths, args.labels, args.output,
                              scanner_kwargs={"jobs": args.jobs, "model": None})
    print(json.dumps(result, indent=2, default=str))
    return EXIT_OK


# ------------------------------------------------------------------------------ main
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qualityscan",
        description="Score scraped texts paragraph by paragraph for machine-translation garble, "
                    "template boilerplate, repeated summaries and prompt leakage, and rank "
                    "documents by reliability.")
    parser.add_argument("--version", action="version", version=f"qualityscan {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    scan = sub.add_parser("scan", help="score files and folders; a ranked table, JSONL, CSV or HTML",
                          description="Score every document under PATH... (files, folders, - for stdin).")
    scan.add_argument("paths", nargs="+", metavar="PATH")
    scan.add_argument("-o", "--output", metavar="FILE", help="write here (atomically) instead of stdout")
    scan.add_argument("--format", "-f", choices=["table", "jsonl", "csv", "html"],
                      help="output format (default: table on a terminal, else from -o's extension, else jsonl)")
    scan.add_argument("--sort", choices=["input", "reliability"],
                      help="record order (default: reliability for table/html, input order otherwise)")
    scan.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    _add_scanner_options(scan)
    scan.set_defaults(func=cmd_scan)

    filt = sub.add_parser("filter", help="pipeline stage: JSONL on stdin -> annotated JSONL on stdout",
                          description="Read JSONL records on stdin, add scores under --key and write them "
                                      "to stdout in order; drop records only when a threshold is given.")
    filt.add_argument("--min-reliability", type=float, metavar="X",
                      help="drop records whose reliability is below X")
    filt.add_argument("--max-score", action="append", default=[], metavar="DETECTOR=X",
                      help="drop records whose document score for DETECTOR exceeds X (repeatable)")
    filt.add_argument("--key", default="qualityscan", help="field the scores are added under (default: qualityscan)")
    filt.add_argument("--full", action="store_true",
                      help="add the full qualityscan/1 record (default: flagged paragraphs only, without text)")
    filt.add_argument("--on-error", choices=["pass", "drop"], default="pass",
                      help="malformed input lines: pass them through unchanged (default) or drop them")
    filt.add_argument("--warmup", type=int, default=1000, metavar="N",
                      help="records read before the first is scored, to learn template lines (default 1000)")
    _add_scanner_options(filt)
    filt.set_defaults(func=cmd_filter)

    explain = sub.add_parser("explain", help="one document with every paragraph's scores and evidence")
    explain.add_argument("file", metavar="FILE")
    explain.add_argument("--format", choices=["text", "json"], default="text")
    _add_scanner_options(explain)
    explain.set_defaults(func=cmd_explain)

    train = sub.add_parser("train", help="train a reliability model on your own labelled documents",
                           description="Scan PATH... and fit a reliability model to the labels in "
                                       "--labels (CSV or JSONL of id -> label).")
    train.add_argument("paths", nargs="+", metavar="PATH")
    train.add_argument("--labels", required=True, metavar="FILE", help="CSV or JSONL mapping id to label")
    train.add_argument("-o", "--output", required=True, metavar="MODEL", help="model file to write (.joblib)")
    train.add_argument("--jobs", "-j", type=int, default=1, metavar="N")
    train.set_defaults(func=cmd_train)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from qualityscan.model import ModelError

    try:
        return args.func(args)
    except (ModelError, ValueError, FileNotFoundError) as exc:
        print(f"qualityscan {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # e.g. piped into `head`
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
