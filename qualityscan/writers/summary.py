"""Short summaries of a report shared by the row-per-document writers (csv, table)."""

from __future__ import annotations

from qualityscan.document import DETECTOR_NAMES, Evidence, Paragraph, Report

#: A paragraph counts as flagged by a detector at or above this score.
FLAG_THRESHOLD = 0.5


def flagged(report: Report, threshold: float = FLAG_THRESHOLD) -> list[Paragraph]:
    """Paragraphs with any detector score at or above ``threshold``."""
    return [p for p in report.paragraphs if p.scores and max(p.scores.values()) >= threshold]


def top_evidence(report: Report, n: int = 3) -> list[Evidence]:
    """Up to ``n`` pieces of evidence from the highest-scoring flagged paragraphs, one per paragraph."""
    ranked = sorted(flagged(report), key=lambda p: -max(p.scores.values()))
    picked: list[Evidence] = []
    for paragraph in ranked:
        strongest = max(paragraph.scores, key=paragraph.scores.__getitem__)
        evidence = [e for e in paragraph.evidence if e.detector == strongest] or paragraph.evidence
        if evidence:
            picked.append(evidence[0])
        if len(picked) >= n:
            break
    return picked


def detector_columns(reports: list[Report]) -> list[str]:
    """Detector names present in any report, in schema order."""
    present = {name for r in reports for name in r.scores}
    return [n for n in DETECTOR_NAMES if n in present] + sorted(present - set(DETECTOR_NAMES))
