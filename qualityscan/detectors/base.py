"""The common base of all detectors.

A detector is one small class per signal. Its parameters are set in ``__init__`` (as in
scikit-learn); :meth:`Detector.score` sees one whole document (and, optionally, corpus-wide
statistics) and returns a score in 0..1 and a list of :class:`Evidence` for every
paragraph. A detector never imports another detector, the CLI, a writer or an integration.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from qualityscan.document import Document, Evidence, Paragraph

if TYPE_CHECKING:
    from qualityscan.corpus import CorpusStats

K = TypeVar("K")
V = TypeVar("V")


@dataclass
class DetectorResult:
    """Per-paragraph output of one detector: ``scores[i]`` and ``evidence[i]`` belong to
    ``document.paragraphs[i]``. ``features`` optionally holds document-level numbers the
    detector computed anyway (e.g. language-model summaries); the Scanner puts them on the
    :class:`~qualityscan.document.Report` as inputs of the reliability model."""

    scores: list[float]
    evidence: list[list[Evidence]]
    features: dict[str, float] = field(default_factory=dict)

    @classmethod
    def empty(cls, n: int) -> DetectorResult:
        return cls([0.0] * n, [[] for _ in range(n)])


class Detector(ABC):
    """Scores every paragraph of a document for one kind of damage."""

    #: Schema name of the detector (``garble``, ``boilerplate``, ``repetition``, ``prompt_leak``).
    name: ClassVar[str]
    #: ISO 639-1 codes the detector was built for; ``None`` means any language.
    languages: ClassVar[frozenset[str] | None] = frozenset({"en"})

    @abstractmethod
    def score(self, document: Document, context: CorpusStats | None = None) -> DetectorResult:
        """Score each of ``document.paragraphs``; ``context`` holds corpus-wide statistics."""

    def score_many(self, documents: Sequence[Document],
                   context: CorpusStats | None = None) -> list[DetectorResult]:
        """Score several documents, one result each, in order.

        The default calls :meth:`score` once per document. A detector with a learned model
        overrides it to build every document's features first and call the model once for
        the whole batch (a model call has a fixed cost that dominates short documents). The
        result for a document must not depend on which other documents share its batch.
        """
        return [self.score(document, context) for document in documents]

    def aggregate(self, document: Document, result: DetectorResult) -> float:
        """Document-level score in 0..1; by default the highest paragraph score."""
        return max(result.scores, default=0.0)

    def supports(self, language: str | None) -> bool:
        """Whether scores on text in ``language`` mean anything."""
        return self.languages is None or language is None or language in self.languages

    def evidence(
        self, paragraph: Paragraph, message: str, span: tuple[int, int] | None = None,
        ref: int | None = None,
    ) -> Evidence:
        """Evidence from this detector; ``span`` defaults to the whole paragraph."""
        return Evidence(self.name, message, span or (paragraph.start, paragraph.end), ref)

    def get_params(self) -> dict[str, Any]:
        """The ``__init__`` parameters and their current values (scikit-learn style)."""
        sig = inspect.signature(type(self).__init__)
        return {
            k: getattr(self, k)
            for k in sig.parameters
            if k != "self" and sig.parameters[k].kind not in (
                inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        }

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"


def length_weighted_mean(document: Document, scores: list[float]) -> float:
    """Mean of paragraph scores weighted by paragraph length (share of text affected)."""
    lengths = [len(p.text) for p in document.paragraphs]
    total = sum(lengths)
    if not total:
        return 0.0
    return sum(s * n for s, n in zip(scores, lengths)) / total


def remembered(cache: dict[K, V], keys: Sequence[K], limit: int, compute: Callable[[K], V]) -> list[V]:
    """``cache[k]`` for each of ``keys``, computing and remembering the missing ones; the
    cache is cleared first when it already holds ``limit`` entries (detectors keep such
    per-process caches of word and token analyses, bounded)."""
    found = list(map(cache.get, keys))
    if None in found:
        if len(cache) >= limit:
            cache.clear()
        for k, key in enumerate(keys):
            if found[k] is None:
                found[k] = cache[key] = compute(key)
    return found  # no None is left
