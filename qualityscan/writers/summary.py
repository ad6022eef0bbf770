"""Short summaries of a report shared by the row-per-document writers (csv, table)."""

from __future__ import annotations

from qualityscan.document import DETECTOR_NAMES, Evidence, Paragraph, Report

#: A paragraph counts as flagged by a detector at or above this score.
FLAG_THRESHOLD = 0.5


def flagged(report: Report, threshold: float = FLAG_THRESHOLD) -> list[Paragraph]:
    """Paragraphs with any detector score at or above ``threshold``."""
    return [p for p in report.paragraphs if p.scores and max(p.scores.values()) >= threshold]


def top_evidence(report: Report, n: int = 3) -> list[Evidence]:
    """Up to ``n`` pieces of evidence, strongest first, one per detector before any second one
    from the same detector, so every kind of damage found is shown."""
    candidates = []  # (score, detector, paragraph index, evidence)
    for paragraph in flagged(report):
        for name, score in paragraph.scores.items():
            evidence = next((e for e in paragraph.evidence if e.detector == name), None)
            if score >= FLAG_THRESHOLD and evidence is not None:
                candidates.append((score, name, paragraph.index, evidence))
    candidates.sort(key=lambda c: (-c[0], c[2]))
    firsts, rest, seen = [], [], set()
    for score, name, _, evidence in candidates:
        (rest if name in seen else firsts).append(evidence)
        seen.add(name)
    return (firsts + rest)[:n]


def detector_columns(reports: list[Report]) -> list[str]:
    """Detector names present in any report, in schema order."""
    present = {name for r in reports for name in r.scores}
    return [n for n in DETECTOR_NAMES if n in present] + sorted(present - set(DETECTOR_NAMES))
