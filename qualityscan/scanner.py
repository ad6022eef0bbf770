"""The Scanner wires the flow: readers -> segmentation -> language -> detectors -> model.

It holds no scoring logic of its own. Folders are scanned in two passes (count template
lines across documents, then score with those counts); streams use a bounded warm-up window
instead. ``jobs > 1`` scores documents in worker processes, preserving input order.
"""

from __future__ import annotations

import functools
import itertools
import multiprocessing
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from qualityscan import detectors as detector_registry
from qualityscan._gc import quiet_gc, quiet_gc_while
from qualityscan.corpus import CorpusStats
from qualityscan.detectors.base import Detector
from qualityscan.document import Document, Report
from qualityscan.language import identify
from qualityscan.readers import ReadOptions, document_from_html, document_from_text, iter_documents
from qualityscan.segment import segment

#: Documents scored together (one model call per detector per batch; bounds memory).
_BATCH = 32
#: Batches queued per worker process with ``jobs > 1``.
_CHUNKS_PER_JOB = 4


class Scanner:
    """Scores documents with every detector and, when a model is available, a reliability.

    Parameters
    ----------
    detectors:
        ``None`` for all registered detectors, or a list of names and/or
        :class:`~qualityscan.detectors.base.Detector` instances.
    model:
        ``"default"`` for the shipped reliability model (reliability stays ``None`` when it is
        not installed, or when ``detectors`` is not the full registered set), a path to another
        model file (its metadata JSON beside it), or ``None`` for no reliability.
    jobs:
        Worker processes for :meth:`scan_paths` and :meth:`scan_documents`.
    read_options:
        :class:`~qualityscan.readers.ReadOptions` for reading files and streams.
    corpus:
        Count short lines across the documents of a scan so template lines shared by many
        documents can be recognised (two passes over folders, a warm-up window for streams).
    warmup:
        Documents buffered in streaming mode before the first is scored.
    allow_version_mismatch:
        Load a model trained with another scikit-learn version.
    progress:
        Show a progress bar on stderr while scanning paths.
    """

    def __init__(
        self,
        detectors: Sequence[str | Detector] | None = None,
        model: str | os.PathLike[str] | None = "default",
        jobs: int = 1,
        read_options: ReadOptions | None = None,
        corpus: bool = True,
        warmup: int = 1000,
        allow_version_mismatch: bool = False,
        progress: bool = False,
    ) -> None:
        if jobs < 1:
            raise ValueError(f"jobs must be at least 1, got {jobs}")
        if warmup < 0:
            raise ValueError(f"warmup must be >= 0, got {warmup}")
        self.detectors = detectors
        self.model = model
        self.jobs = jobs
        self.read_options = read_options
        self.corpus = corpus
        self.warmup = warmup
        self.allow_version_mismatch = allow_version_mismatch
        self.progress = progress
        self._detectors = _build_detectors(detectors)
        self._reliability = _load_reliability(model, self._detectors, detectors is None,
                                              allow_version_mismatch)

    @property
    def detector_names(self) -> list[str]:
        """Names of the detectors this scanner runs, in output order."""
        return [d.name for d in self._detectors]

    @property
    def has_model(self) -> bool:
        """Whether documents get a reliability score."""
        return self._reliability is not None

    # ----------------------------------------------------------------- single documents
    def scan_text(self, text: str, id: str = "<text>", source: str = "<text>") -> Report:
        """Score one plain-text document."""
        return self.scan_document(document_from_text(text, id=id, source=source))

    def scan_html(self, html: str | bytes, id: str = "<html>", source: str = "<html>") -> Report:
        """Score one HTML page (its block structure feeds the boilerplate detector)."""
        return self.scan_document(document_from_html(html, id=id, source=source))

    def scan_file(self, path: str | os.PathLike[str]) -> Report:
        """Score one file (the first document in it, for multi-document files use :meth:`scan_paths`)."""
        for report in self.scan_paths([path]):
            return report
        raise ValueError(f"{path}: no document read")

    def scan_document(self, document: Document, context: CorpusStats | None = None) -> Report:
        """Score one already-read document (segmented here if it is not yet)."""
        return self.score(self.prepare(document), context)

    # ----------------------------------------------------------------- many documents
    @quiet_gc_while
    def scan_paths(self, paths: Iterable[str | os.PathLike[str]]) -> Iterator[Report]:
        """Score every document under ``paths`` (files, folders, ``-`` for stdin), in input order."""
        paths = [str(p) for p in paths]
        if not self.corpus or "-" in paths:
            yield from self.scan_documents(iter_documents(paths, self.read_options))
            return
        stats = CorpusStats()
        total = 0
        for document in iter_documents(paths, self.read_options):
            total += 1
            if document.text:
                stats.add(segment(document))
        docs = (self.prepare(d, language=self.jobs == 1) for d in iter_documents(paths, self.read_options))
        yield from self._progress(self._score_all(docs, stats), total)

    @quiet_gc_while
    def scan_documents(self, documents: Iterable[Document]) -> Iterator[Report]:
        """Score a stream of documents in order, with bounded memory.

        With ``corpus``, the first ``warmup`` documents are counted before the first is
        scored; later documents are counted as they arrive.
        """
        docs = (self.prepare(d, language=self.jobs == 1) for d in documents)
        if not self.corpus:
            yield from self._score_all(docs, None)
            return
        stats = CorpusStats()
        window = list(itertools.islice(docs, self.warmup))
        for document in window:
            stats.add(document)

        def counted(rest: Iterator[Document]) -> Iterator[Document]:
            yield from window
            for document in rest:
                stats.add(document)
                yield document

        yield from self._score_all(counted(docs), stats)

    # ----------------------------------------------------------------- the steps
    def prepare(self, document: Document, language: bool = True) -> Document:
        """Segment a document and, with ``language``, identify its language (idempotent;
        with ``jobs`` > 1 the workers identify it, off the parent's serial path)."""
        if document.text and not document.paragraphs:
            segment(document)
        if language and document.paragraphs and document.language is None:
            document.language = identify(document.text)[0]
        if not document.paragraphs and not document.errors:
            document.errors.append(f"{document.source}: no text to score")
        return document

    def score(self, document: Document, context: CorpusStats | None = None) -> Report:
        """Run every detector on a prepared document, then the reliability model."""
        return self.score_many([document], context)[0]

    def score_many(self, documents: Sequence[Document], context: CorpusStats | None = None) -> list[Report]:
        """Score prepared documents as one batch: each detector, and the reliability model,
        sees the whole batch at once (one model call per batch, not per document). A
        document's scores do not depend on the other documents of its batch."""
        reports = [Report(d) for d in documents]
        scoreable = [r for r in reports if r.document.paragraphs]
        if scoreable:
            # Many small model calls: OpenMP/BLAS thread pools only add overhead there (60x CPU
            # time on a busy machine) and fight --jobs workers.
            with _thread_controller().limit(limits=1), quiet_gc():
                self._score_into(scoreable, context)
        return reports

    def _score_into(self, reports: list[Report], context: CorpusStats | None) -> None:
        unsupported: dict[int, list[str]] = {id(r): [] for r in reports}
        failed: set[int] = set()
        for detector in self._detectors:
            batch = []
            for report in reports:
                if detector.supports(report.document.language):
                    batch.append(report)
                else:
                    unsupported[id(report)].append(detector.name)
            for report, result in zip(batch, _run_detector(detector, [r.document for r in batch], context)):
                document = report.document
                try:
                    if isinstance(result, Exception):
                        raise result
                    _apply(detector, document, result)
                except Exception as exc:  # one bad detector run must not lose the document
                    document.errors.append(f"{document.source}: detector {detector.name} failed: "
                                           f"{type(exc).__name__}: {exc}")
                    failed.add(id(report))
                    continue
                report.scores[detector.name] = _clip(detector.aggregate(document, result))
                report.features.update((f"{detector.name}_{k}", float(v)) for k, v in result.features.items())
        for report in reports:
            if names := unsupported[id(report)]:
                report.document.errors.append(
                    f"{report.document.source}: language '{report.document.language}' is not one the "
                    f"{', '.join(names)} detector(s) were built for; their scores are omitted")
        if self._reliability is not None:
            ready = [r for r in reports if not unsupported[id(r)] and id(r) not in failed]
            for report, value in zip(ready, self._reliability.predict_many(ready)):
                report.reliability = _clip(value)

    def _score_all(self, documents: Iterable[Document], context: CorpusStats | None) -> Iterator[Report]:
        iterator = iter(documents)
        if self.jobs == 1:
            while batch := list(itertools.islice(iterator, _BATCH)):
                yield from self.score_many(batch, context)
            return
        ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
        with ctx.Pool(self.jobs, initializer=_init_worker, initargs=(self._worker_state(),)) as pool:
            while batch := list(itertools.islice(iterator, self.jobs * _CHUNKS_PER_JOB * _BATCH)):
                # each chunk travels with a frozen copy of its own lines' counts, not the sketch
                chunks = [batch[i:i + _BATCH] for i in range(0, len(batch), _BATCH)]
                items = [(c, context.snapshot(c) if context is not None else None) for c in chunks]
                for reports in pool.imap(_score_in_worker, items):
                    yield from reports

    def _worker_state(self) -> dict[str, Any]:
        return {"detectors": self._detectors, "reliability": self._reliability}

    def _progress(self, reports: Iterator[Report], total: int) -> Iterator[Report]:
        if not self.progress:
            yield from reports
            return
        from tqdm import tqdm

        yield from tqdm(reports, total=total, unit="doc", desc="scanning", leave=False)


# --------------------------------------------------------------------- helpers
def _build_detectors(spec: Sequence[str | Detector] | None) -> list[Detector]:
    if spec is None:
        return [detector_registry.create(name) for name in detector_registry.available()]
    built = [detector_registry.create(d) if isinstance(d, str) else d for d in spec]
    names = [d.name for d in built]
    if len(set(names)) != len(names):
        raise ValueError(f"each detector may be given once, got {names}")
    return built


def _load_reliability(model: str | os.PathLike[str] | None, detectors: list[Detector],
                      all_detectors: bool, allow_version_mismatch: bool) -> Any:
    if model is None:
        return None
    from qualityscan.model import shipped_model_path
    from qualityscan.reliability import ReliabilityModel

    if model == "default":
        if not all_detectors or not shipped_model_path("reliability").is_file():
            return None
        return ReliabilityModel.load(None, allow_version_mismatch=allow_version_mismatch)
    return ReliabilityModel.load(Path(model), allow_version_mismatch=allow_version_mismatch)


def _run_detector(detector: Detector, documents: list[Document],
                  context: CorpusStats | None) -> list[Any]:
    """One result (or the exception it raised) per document. A failing batch is retried one
    document at a time, so one bad document does not cost the others their scores."""
    if not documents:
        return []
    try:
        results: list[Any] = detector.score_many(documents, context)
        if len(results) != len(documents):
            raise RuntimeError(f"detector {detector.name} returned {len(results)} results for "
                               f"{len(documents)} documents")
        return results
    except Exception:
        return [_capture(detector.score, d, context) for d in documents]


def _capture(function: Any, *args: Any) -> Any:
    try:
        return function(*args)
    except Exception as exc:
        return exc


def _apply(detector: Detector, document: Document, result: Any) -> None:
    paragraphs = document.paragraphs
    if len(result.scores) != len(paragraphs) or len(result.evidence) != len(paragraphs):
        raise RuntimeError(f"detector {detector.name} returned {len(result.scores)} scores for "
                           f"{len(paragraphs)} paragraphs")
    name = detector.name
    for paragraph, score, evidence in zip(paragraphs, result.scores, result.evidence):
        paragraph.scores[name] = _clip(score)
        if evidence:
            paragraph.evidence.extend(evidence)


@functools.lru_cache(maxsize=1)
def _thread_controller() -> Any:
    import sklearn.ensemble  # noqa: F401  (loads the OpenMP runtime the shipped models use)
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _clip(value: float) -> float:
    return min(1.0, max(0.0, float(value)))


_WORKER: Scanner | None = None


def _init_worker(state: dict[str, Any]) -> None:
    global _WORKER
    scanner = Scanner.__new__(Scanner)
    scanner._detectors = state["detectors"]
    scanner._reliability = state["reliability"]
    _WORKER = scanner


def _score_in_worker(item: tuple[list[Document], CorpusStats | None]) -> list[Report]:
    assert _WORKER is not None
    documents, context = item
    return _WORKER.score_many([_WORKER.prepare(d) for d in documents], context)
