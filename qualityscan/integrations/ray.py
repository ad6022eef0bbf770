"""Ray Data: score a dataset's text column in parallel and add score columns.

::

    import ray
    from qualityscan.integrations.ray import QualityScanBatch

    ds = ray.data.read_json("pages.jsonl")
    ds = ds.map_batches(QualityScanBatch, fn_constructor_kwargs={"text_column": "text"},
                        batch_format="pyarrow", compute=ray.data.ActorPoolStrategy(size=4))

:class:`QualityScanBatch` is a callable class: Ray builds it once per actor, so the detectors
and the reliability model load once per worker process. Each batch gains the columns
``<prefix>reliability``, ``<prefix><detector>`` (document-level scores), ``<prefix>language``
and ``<prefix>errors``, and optionally the full qualityscan/1 record as a JSON string.
:func:`scan_dataset` does read -> score -> (filter) -> write for JSONL and Parquet.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from qualityscan.integrations import StreamScorer, Thresholds, make_document

#: Input/output formats :func:`read_dataset` and :func:`write_dataset` understand.
FORMATS = ("jsonl", "parquet")


class QualityScanBatch:
    """Adds qualityscan score columns to a batch (pandas DataFrame, pyarrow Table or dict of
    numpy arrays, whichever ``batch_format`` Ray hands over).

    Parameters
    ----------
    text_column, html_column:
        Column with the text to score; or with the page HTML (used when set and non-empty).
    id_column:
        Column used as the report id (default: row position in the batch).
    prefix:
        Prefix of the added columns.
    record_column:
        When set, the name of a column that receives the full qualityscan/1 record as JSON.
    min_reliability, max_scores:
        When set, rows failing them are removed from the batch (see
        :class:`~qualityscan.thresholds.Thresholds`).
    detectors, model:
        Passed to :class:`~qualityscan.scanner.Scanner`.
    corpus:
        Count template lines over everything this worker has seen (each batch is counted
        before it is scored); counts are per worker, so they depend on how Ray splits the data.
    """

    def __init__(
        self,
        text_column: str = "text",
        html_column: str | None = None,
        id_column: str | None = None,
        prefix: str = "qualityscan_",
        record_column: str | None = None,
        min_reliability: float | None = None,
        max_scores: Mapping[str, float] | None = None,
        detectors: Sequence[str] | None = None,
        model: str | None = "default",
        corpus: bool = True,
    ) -> None:
        from qualityscan.scanner import Scanner

        self.text_column = text_column
        self.html_column = html_column
        self.id_column = id_column
        self.prefix = prefix
        self.record_column = record_column
        self.thresholds = Thresholds(min_reliability, dict(max_scores or {}))
        scanner = Scanner(detectors=list(detectors) if detectors else None, model=model)
        self.thresholds.check(scanner.detector_names, scanner.has_model, where="QualityScanBatch")
        self._scorer = StreamScorer(scanner, corpus=corpus)

    @property
    def detector_names(self) -> list[str]:
        """Detectors whose document scores become columns."""
        return self._scorer.scanner.detector_names

    @property
    def output_columns(self) -> list[str]:
        """Names of the columns added to every batch, in order."""
        names = [f"{self.prefix}reliability", *(f"{self.prefix}{d}" for d in self.detector_names),
                 f"{self.prefix}language", f"{self.prefix}errors"]
        return names + ([self.record_column] if self.record_column else [])

    def __call__(self, batch: Any) -> Any:
        """Score every row of ``batch`` and return it with the score columns added."""
        import pyarrow as pa

        if isinstance(batch, pa.Table):
            table = batch
        elif isinstance(batch, Mapping):
            table = pa.table({k: pa.array(list(v), from_pandas=True) for k, v in batch.items()})
        else:  # pandas
            table = pa.Table.from_pandas(batch, preserve_index=False)
        result = self._score_table(table)
        if isinstance(batch, pa.Table):
            return result
        if isinstance(batch, Mapping):
            return {name: result.column(name).to_numpy(zero_copy_only=False) for name in result.column_names}
        return result.to_pandas()

    def _score_table(self, table: Any) -> Any:
        import pyarrow as pa

        texts = self._column(table, self.text_column, required=not self.html_column)
        htmls = self._column(table, self.html_column, required=True)
        ids = self._column(table, self.id_column, required=True) if self.id_column else range(table.num_rows)
        documents = [make_document(t, h, id=str(i), source=f"ray:{i}") for t, h, i in zip(texts, htmls, ids)]
        reports = self._scorer.score_many(documents)

        columns: dict[str, tuple[list[Any], Any]] = {
            f"{self.prefix}reliability": ([r.reliability for r in reports], pa.float64()),
        }
        for name in self.detector_names:
            columns[f"{self.prefix}{name}"] = ([r.scores.get(name) for r in reports], pa.float64())
        columns[f"{self.prefix}language"] = ([r.document.language for r in reports], pa.string())
        columns[f"{self.prefix}errors"] = (["\n".join(r.errors) for r in reports], pa.string())
        if self.record_column:
            columns[self.record_column] = ([json.dumps(r.to_dict(), ensure_ascii=False) for r in reports],
                                           pa.string())
        for name, (values, kind) in columns.items():
            array = pa.array(values, type=kind)
            if name in table.column_names:
                table = table.set_column(table.column_names.index(name), name, array)
            else:
                table = table.append_column(name, array)
        if self.thresholds.active:
            keep = [self.thresholds.rejection(r) is None for r in reports]
            table = table.filter(pa.array(keep, type=pa.bool_()))
        return table

    @staticmethod
    def _column(table: Any, name: str | None, required: bool) -> list[Any]:
        """Values of column ``name`` (Nones when it is unset, or absent and not required)."""
        if name and name in table.column_names:
            return table.column(name).to_pylist()
        if name and required:
            raise KeyError(f"QualityScanBatch: no column {name!r} in the batch; "
                           f"columns: {', '.join(table.column_names)}")
        return [None] * table.num_rows

def read_dataset(paths: str | Sequence[str], fmt: str | None = None) -> Any:
    """A Ray Dataset from JSONL (``.jsonl``, ``.json``, ``.jsonl.gz``) or Parquet files or folders."""
    import ray.data

    fmt = fmt or _format_of(paths if isinstance(paths, str) else paths[0])
    if fmt == "jsonl":
        return ray.data.read_json(paths, lines=True)
    return ray.data.read_parquet(paths)


def write_dataset(dataset: Any, path: str, fmt: str | None = None) -> None:
    """Write a Ray Dataset as a folder of JSONL or Parquet files (one per block)."""
    fmt = fmt or _format_of(path)
    if fmt == "jsonl":
        dataset.write_json(path)
    else:
        dataset.write_parquet(path)


def scan_dataset(
    input_paths: str | Sequence[str],
    output_path: str,
    *,
    input_format: str | None = None,
    output_format: str | None = None,
    concurrency: int | None = None,
    actor_cpus: float = 1.0,
    batch_size: int = 64,
    **batch_kwargs: Any,
) -> None:
    """Read JSONL/Parquet, add qualityscan columns (dropping rows that fail any threshold given
    in ``batch_kwargs``) and write JSONL/Parquet to the folder ``output_path``.

    ``concurrency`` is the number of scoring actors, each reserving ``actor_cpus`` CPUs. The
    default leaves one CPU of the cluster free: the read and write tasks need one, and a pool
    that reserves every CPU waits for them forever. ``batch_kwargs`` go to
    :class:`QualityScanBatch`.
    """
    import ray

    if concurrency is None:
        free = int(ray.cluster_resources().get("CPU", 1) // actor_cpus) - 1
        concurrency = max(1, free)
    dataset = read_dataset(input_paths, input_format).map_batches(
        QualityScanBatch, fn_constructor_kwargs=batch_kwargs, batch_format="pyarrow", batch_size=batch_size,
        compute=ray.data.ActorPoolStrategy(size=concurrency), num_cpus=actor_cpus)
    write_dataset(dataset, output_path, output_format)


def _format_of(path: str) -> str:
    name = os.path.basename(str(path).rstrip("/")).lower()
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".jsonl", ".json", ".ndjson", ".jsonl.gz", ".json.gz", ".ndjson.gz")):
        return "jsonl"
    raise ValueError(f"{path}: cannot tell the format from the name; pass fmt='jsonl' or 'parquet'")


__all__ = ["FORMATS", "QualityScanBatch", "read_dataset", "scan_dataset", "write_dataset"]
