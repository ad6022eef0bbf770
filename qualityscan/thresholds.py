"""When a scored document is dropped: the one rule shared by ``qualityscan filter`` and the
Scrapy and Ray integrations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from qualityscan.document import Report


@dataclass(frozen=True)
class Thresholds:
    """When a scored document is dropped.

    ``min_reliability``: drop documents whose reliability is below it. ``max_scores``: detector
    name -> highest document-level score kept. As in ``qualityscan filter``, only what was
    measured can fail: a document without a reliability (empty text, a language the detectors
    were not built for) or without a detector's score passes that threshold; its record's
    ``errors`` say why it was not scored.
    """

    min_reliability: float | None = None
    max_scores: Mapping[str, float] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        """Whether any threshold is set."""
        return self.min_reliability is not None or bool(self.max_scores)

    def check(self, detector_names: Sequence[str], has_model: bool, where: str = "thresholds") -> None:
        """Raise ``ValueError`` when a threshold cannot be applied with this scanner."""
        values = dict(self.max_scores)
        if self.min_reliability is not None:
            values["reliability"] = self.min_reliability
        for name, value in values.items():
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0.0 <= value <= 1.0:
                raise ValueError(f"{where}: threshold for {name!r} must be a number in 0..1, got {value!r}")
        if self.min_reliability is not None and not has_model:
            raise ValueError(f"{where}: a minimum reliability is set but no reliability model "
                             "is loaded (model=None, detectors restricted, or no shipped model)")
        unknown = sorted(set(self.max_scores) - set(detector_names))
        if unknown:
            raise ValueError(f"{where}: no such detector {', '.join(map(repr, unknown))}; "
                             f"running: {', '.join(detector_names) or 'none'}")

    def rejection(self, report: Report) -> str | None:
        """Why ``report`` fails the thresholds, or ``None`` when it passes."""
        if (self.min_reliability is not None and report.reliability is not None
                and report.reliability < self.min_reliability):
            return f"reliability {report.reliability:.3f} < {self.min_reliability}"
        for name, limit in self.max_scores.items():
            value = report.scores.get(name)
            if value is not None and value > limit:
                return f"{name} score {value:.3f} > {limit}"
        return None


__all__ = ["Thresholds"]
