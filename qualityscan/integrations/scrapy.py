"""A Scrapy item pipeline that scores each scraped item and can drop the untrustworthy ones.

Enable it in the project settings::

    ITEM_PIPELINES = {"qualityscan.integrations.scrapy.QualityScanPipeline": 500}
    QUALITYSCAN_TEXT_FIELD = "text"            # item field with the scraped text
    QUALITYSCAN_HTML_FIELD = None              # or a field with the page HTML (preferred when set)
    QUALITYSCAN_ID_FIELD = "url"               # field used as the report id
    QUALITYSCAN_OUTPUT_FIELD = "qualityscan"   # where the qualityscan/1 record is stored
    QUALITYSCAN_OUTPUT = "full"                # "full" record, or "scores" (without paragraphs)
    QUALITYSCAN_MIN_RELIABILITY = None         # e.g. 0.5: drop items below it
    QUALITYSCAN_MAX_SCORES = {}                # e.g. {"prompt_leak": 0.5}: drop items above it
    QUALITYSCAN_MODEL = "default"              # reliability model: "default", a path, or None
    QUALITYSCAN_DETECTORS = None               # None = all registered detectors
    QUALITYSCAN_CORPUS = True                  # count template lines across the crawl

The scanner (and its models) is built once per crawler process. Template-line counts grow
with the crawl in a fixed-size sketch, so memory stays flat. Scoring runs in the reactor
thread: it is CPU-bound, as parsing is.
"""

from __future__ import annotations

import itertools
from typing import Any

from itemadapter import ItemAdapter
from scrapy.exceptions import DropItem

from qualityscan.integrations import StreamScorer, Thresholds, make_document

OUTPUT_MODES = ("full", "scores")


class QualityScanPipeline:
    """Scores ``item[text_field]`` (or ``item[html_field]``), stores the qualityscan/1 record in
    ``item[output_field]`` and raises :class:`~scrapy.exceptions.DropItem` for items that fail
    the thresholds, with the reason."""

    def __init__(
        self,
        text_field: str = "text",
        html_field: str | None = None,
        id_field: str | None = "url",
        output_field: str = "qualityscan",
        output: str = "full",
        min_reliability: float | None = None,
        max_scores: dict[str, float] | None = None,
        model: str | None = "default",
        detectors: list[str] | None = None,
        corpus: bool = True,
        stats: Any = None,
    ) -> None:
        from qualityscan.scanner import Scanner

        if output not in OUTPUT_MODES:
            raise ValueError(f"QUALITYSCAN_OUTPUT must be one of {', '.join(OUTPUT_MODES)}, got {output!r}")
        self.text_field = text_field
        self.html_field = html_field
        self.id_field = id_field
        self.output_field = output_field
        self.output = output
        self.thresholds = Thresholds(min_reliability, dict(max_scores or {}))
        scanner = Scanner(detectors=detectors, model=model)
        self.thresholds.check(scanner.detector_names, scanner.has_model, where="qualityscan Scrapy settings")
        self._scorer = StreamScorer(scanner, corpus=corpus)
        self._stats = stats
        self._counter = itertools.count()

    @classmethod
    def from_crawler(cls, crawler: Any) -> QualityScanPipeline:
        """Build the pipeline from the crawler's ``QUALITYSCAN_*`` settings."""
        settings = crawler.settings
        min_reliability = settings.get("QUALITYSCAN_MIN_RELIABILITY")
        if min_reliability not in (None, ""):
            min_reliability = settings.getfloat("QUALITYSCAN_MIN_RELIABILITY")
        model = settings.get("QUALITYSCAN_MODEL", "default")
        detectors = settings.get("QUALITYSCAN_DETECTORS")
        return cls(
            text_field=settings.get("QUALITYSCAN_TEXT_FIELD", "text"),
            html_field=settings.get("QUALITYSCAN_HTML_FIELD") or None,
            id_field=settings.get("QUALITYSCAN_ID_FIELD", "url") or None,
            output_field=settings.get("QUALITYSCAN_OUTPUT_FIELD", "qualityscan"),
            output=settings.get("QUALITYSCAN_OUTPUT", "full"),
            min_reliability=min_reliability if min_reliability != "" else None,
            max_scores=settings.getdict("QUALITYSCAN_MAX_SCORES"),
            model=None if model in (None, "", "none", "None") else model,
            detectors=settings.getlist("QUALITYSCAN_DETECTORS") if detectors else None,
            corpus=settings.getbool("QUALITYSCAN_CORPUS", True),
            stats=crawler.stats,
        )

    def process_item(self, item: Any, spider: Any = None) -> Any:
        """Annotate the item with its record; drop it when it fails a threshold."""
        adapter = ItemAdapter(item)
        number = next(self._counter)
        doc_id = str(adapter.get(self.id_field) or f"item-{number}") if self.id_field else f"item-{number}"
        document = make_document(
            adapter.get(self.text_field),
            adapter.get(self.html_field) if self.html_field else None,
            id=doc_id, source=f"scrapy:{doc_id}",
        )
        report = self._scorer.score(document)
        record = report.to_dict()
        if self.output == "scores":
            del record["paragraphs"]
        try:
            adapter[self.output_field] = record
        except KeyError:
            raise KeyError(f"{type(item).__name__} has no field {self.output_field!r} for the qualityscan "
                           f"record: declare it (scrapy.Field()) or set QUALITYSCAN_OUTPUT_FIELD") from None
        self._inc("qualityscan/scored")
        reason = self.thresholds.rejection(report)
        if reason is not None:
            self._inc("qualityscan/dropped")
            raise DropItem(f"qualityscan: {doc_id}: {reason}")
        return item

    def _inc(self, key: str) -> None:
        if self._stats is not None:
            self._stats.inc_value(key)


__all__ = ["QualityScanPipeline"]
