"""A ranked table for a terminal: least reliable documents first, with their top evidence."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from typing import TextIO

from qualityscan.document import Report
from qualityscan.writers import rank
from qualityscan.writers.summary import detector_columns, flagged, top_evidence

_SHORT = {"garble": "garble", "boilerplate": "boilpl", "repetition": "repeat", "prompt_leak": "prompt"}


def _cell(value: float | None) -> str:
    return "  -  " if value is None else f"{value:5.2f}"


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def write(reports: Iterable[Report], out: TextIO, width: int | None = None) -> None:
    """Write the ranked table; ``width`` defaults to the terminal's."""
    reports = rank(reports)
    width = width or shutil.get_terminal_size((120, 24)).columns
    detectors = detector_columns(reports)
    header = ["rank", "reliab", *(_SHORT.get(d, d[:6]) for d in detectors), "flagged", "document"]
    out.write("  ".join(f"{h:>6}" if i < len(header) - 1 else h for i, h in enumerate(header)) + "\n")
    indent = " " * 8
    for i, r in enumerate(reports, 1):
        cells = [f"{i:>6}", f"{_cell(r.reliability):>6}",
                 *(f"{_cell(r.scores.get(d)):>6}" for d in detectors),
                 f"{len(flagged(r)):>3}/{len(r.paragraphs):<3}"[:7].rjust(6)]
        prefix = "  ".join(cells) + "  "
        out.write(prefix + _clip(r.id, max(20, width - len(prefix))) + "\n")
        for evidence in top_evidence(r):
            line = f"{evidence.detector}: {evidence.message}"
            out.write(indent + _clip(line, max(20, width - len(indent))) + "\n")
        out.writelines(indent + _clip(f"error: {error}", max(20, width - len(indent))) + "\n" for error in r.errors)
    failed = sum(1 for r in reports if not r.paragraphs)
    out.write(f"\n{len(reports)} document(s), {failed} not scored; "
              f"flagged = paragraphs with a score >= 0.5\n")
