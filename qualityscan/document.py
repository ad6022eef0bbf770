"""Plain data objects that flow through qualityscan, and the ``qualityscan/1`` output schema.

The flow is text -> :class:`Document` -> :class:`Paragraph` list -> per-detector scores and
:class:`Evidence` -> :class:`Report`. Everything here is a dataclass with ``to_dict``; the
dict form of a :class:`Report` *is* the output schema (see ``docs/output-schema.md``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

SCHEMA = "qualityscan/1"

#: The detector names the schema knows, in output order.
DETECTOR_NAMES: tuple[str, ...] = ("garble", "boilerplate", "repetition", "prompt_leak")


@dataclass(frozen=True)
class Block:
    """Layout facts about one HTML block, kept when the input was HTML.

    ``start``/``end`` are character offsets of the block's text in :attr:`Document.text`.
    """

    start: int
    end: int
    tag: str
    link_density: float = 0.0
    path: str = ""
    attrs: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "link_density": round(self.link_density, 4),
            "path": self.path,
            "attrs": self.attrs,
        }


@dataclass(frozen=True)
class Evidence:
    """A checkable reason behind a score: a message, the exact span, and optionally the
    index of another paragraph it refers to (the earlier paragraph a repeat restates,
    the paragraph holding the main spelling of a name, ...)."""

    detector: str
    message: str
    span: tuple[int, int]
    ref: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "detector": self.detector,
            "message": self.message,
            "span": [self.span[0], self.span[1]],
            "ref": self.ref,
        }


@dataclass
class Paragraph:
    """One paragraph of a document; ``start``/``end`` index into :attr:`Document.text`."""

    index: int
    start: int
    end: int
    text: str
    block: Block | None = None
    scores: dict[str, float] = field(default_factory=dict)
    evidence: list[Evidence] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "scores": _rounded(self.scores),
            "evidence": [e.to_dict() for e in self.evidence],
        }


@dataclass
class Document:
    """One input document as read: decoded text plus where it came from.

    ``blocks`` is set for HTML input (one entry per text block, in reading order);
    ``errors`` holds reasons the document could not be read or fully scored.
    """

    id: str
    source: str
    text: str = ""
    blocks: list[Block] | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    language: str | None = None
    paragraphs: list[Paragraph] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the document was read (it may still carry scoring notes)."""
        return not self.errors or bool(self.text)


@dataclass
class Report:
    """The scored form of a document; ``to_dict`` gives one ``qualityscan/1`` record."""

    document: Document
    scores: dict[str, float] = field(default_factory=dict)
    reliability: float | None = None
    #: Document-level numbers detectors reported (``DetectorResult.features``), keyed
    #: ``<detector>_<name>``: reliability-model inputs, not part of the output record.
    features: dict[str, float] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.document.id

    @property
    def paragraphs(self) -> list[Paragraph]:
        return self.document.paragraphs

    @property
    def errors(self) -> list[str]:
        return self.document.errors

    def to_dict(self) -> dict[str, Any]:
        doc = self.document
        return {
            "schema": SCHEMA,
            "id": doc.id,
            "source": doc.source,
            "language": doc.language,
            "reliability": None if self.reliability is None else round(self.reliability, 4),
            "scores": _rounded(self.scores),
            "paragraphs": [p.to_dict() for p in doc.paragraphs],
            "errors": list(doc.errors),
        }


def _rounded(scores: dict[str, float]) -> dict[str, float]:
    """Scores rounded to 4 decimals, known detectors in schema order first, then any others
    by name."""
    return {k: round(scores[k], 4) for k in _order(tuple(scores))}


@functools.lru_cache(maxsize=1024)
def _order(keys: tuple[str, ...]) -> tuple[str, ...]:
    """Output order of a key sequence (a few recur, one per detector set: each sorted once)."""
    known = [k for k in DETECTOR_NAMES if k in keys]
    return (*known, *sorted(set(keys) - set(known)))
