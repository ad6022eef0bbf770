"""JSON Lines: one ``qualityscan/1`` record per document, in the order given."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TextIO

from qualityscan.document import Report


def dumps(report: Report) -> str:
    """One record as a single JSON line (UTF-8 text kept as is, no trailing newline)."""
    return json.dumps(report.to_dict(), ensure_ascii=False, separators=(",", ":"))


def write(reports: Iterable[Report], out: TextIO) -> None:
    """Write each report as one line, streaming."""
    for report in reports:
        out.write(dumps(report))
        out.write("\n")
