"""Writers turn reports into output formats: ``jsonl`` (the qualityscan/1 schema), ``csv``
(one row per document), ``table`` (for a terminal) and ``html`` (a self-contained report).

Each format is a module with ``write(reports, out)``; :func:`write_reports` picks the module and
writes a file atomically (a temporary file renamed over the target once complete).
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Iterable
from typing import TextIO

from qualityscan._atomic import atomic_write
from qualityscan.document import Report

FORMATS = ("table", "jsonl", "csv", "html")
_EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv",
               ".html": "html", ".htm": "html", ".txt": "table"}


def get_writer(fmt: str) -> Callable[[Iterable[Report], TextIO], None]:
    """The ``write(reports, out)`` function of a format."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown output format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return importlib.import_module(f"qualityscan.writers.{fmt}").write


def format_for(path: str | os.PathLike[str] | None, default: str = "jsonl") -> str:
    """The format implied by an output file's extension, else ``default``."""
    if path is None:
        return default
    return _EXTENSIONS.get(os.path.splitext(str(path))[1].lower(), default)


def write_reports(reports: Iterable[Report], fmt: str, path: str | os.PathLike[str] | None = None) -> None:
    """Write reports in ``fmt`` to ``path`` atomically, or to standard output when ``path`` is None."""
    write = get_writer(fmt)
    if path is None or str(path) == "-":
        write(reports, sys.stdout)
        sys.stdout.flush()
        return
    with atomic_write(path) as out:
        write(reports, out)


def rank(reports: Iterable[Report]) -> list[Report]:
    """Reports ordered least reliable first.

    Without a reliability model, documents are ordered by their worst detector score; documents
    that could not be scored at all come last.
    """
    def key(report: Report) -> tuple[int, float]:
        if report.reliability is not None:
            return (0, report.reliability)
        if report.scores:
            return (1, -max(report.scores.values()))
        return (2, 0.0)

    return sorted(reports, key=key)


__all__ = ["FORMATS", "format_for", "get_writer", "rank", "write_reports"]
