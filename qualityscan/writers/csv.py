"""CSV: one row per document with its document-level scores and a summary of the evidence."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import TextIO

from qualityscan.document import Report
from qualityscan.writers.summary import detector_columns, flagged, top_evidence


def write(reports: Iterable[Report], out: TextIO) -> None:
    """Write a header and one row per report, in the order given."""
    reports = list(reports)
    detectors = detector_columns(reports)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "source", "language", "reliability", *detectors,
                     "paragraphs", "flagged_paragraphs", "top_evidence", "errors"])
    for r in reports:
        writer.writerow([
            r.id, r.document.source, r.document.language or "",
            "" if r.reliability is None else f"{r.reliability:.4f}",
            *("" if d not in r.scores else f"{r.scores[d]:.4f}" for d in detectors),
            len(r.paragraphs), len(flagged(r)),
            " | ".join(f"{e.detector}: {e.message}" for e in top_evidence(r)),
            " | ".join(r.errors),
        ])
