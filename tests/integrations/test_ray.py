"""Ray Data integration: the batch callable on its own, then on a local two-CPU Ray cluster.

Rows: the five seed documents plus, when ``../shared/data`` is present, the first 15 texts of
``machine_text`` (one line each), and one row with no text.
"""

from __future__ import annotations

import gzip
import json
import math
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pd = pytest.importorskip("pandas")
ray = pytest.importorskip("ray")

from qualityscan import detectors
from qualityscan.integrations.ray import QualityScanBatch, read_dataset, scan_dataset
from qualityscan.scanner import Scanner


@pytest.fixture(scope="module")
def rows(seeds_dir: Path, optional_data_root: Path) -> list[dict]:
    out = [{"doc": f"seed-{p.stem}", "text": p.read_text(encoding="utf-8")} for p in sorted(seeds_dir.glob("*.txt"))]
    data = optional_data_root / "machine_text" / "machine_text.jsonl.gz"
    if data.is_file():
        with gzip.open(data, "rt", encoding="utf-8") as handle:
            for _, line in zip(range(15), handle):
                record = json.loads(line)
                out.append({"doc": record["id"], "text": record["text"]})
    out.append({"doc": "empty", "text": None})
    return out


@pytest.fixture(scope="module")
def expected(rows: list[dict]) -> dict[str, dict]:
    """Reports of a plain Scanner (no corpus counts) on the same rows."""
    scanner = Scanner(corpus=False)
    out = {}
    for row in rows:
        report = scanner.scan_text(row["text"], id=row["doc"]) if row["text"] else None
        out[row["doc"]] = {"reliability": report.reliability if report else None,
                           "scores": report.scores if report else {}}
    return out


def _same(value: object, want: float | None) -> bool:
    if want is None:
        return value is None or (isinstance(value, float) and math.isnan(value))
    return value == pytest.approx(want, abs=1e-9)


def _check_row(row: dict, want: dict, prefix: str = "qualityscan_") -> None:
    assert _same(row[f"{prefix}reliability"], want["reliability"]), row["doc"]
    for name in detectors.available():
        assert _same(row[f"{prefix}{name}"], want["scores"].get(name)), (row["doc"], name)


@pytest.fixture(scope="module")
def scorer() -> QualityScanBatch:
    return QualityScanBatch(id_column="doc", record_column="record", corpus=False)


@pytest.mark.parametrize("kind", ["pandas", "pyarrow", "numpy"])
def test_batch_formats(scorer: QualityScanBatch, rows: list[dict], expected: dict, kind: str) -> None:
    frame = pd.DataFrame(rows)
    batch = {"pandas": frame, "pyarrow": pa.Table.from_pandas(frame, preserve_index=False),
             "numpy": {k: frame[k].to_numpy() for k in frame}}[kind]
    out = scorer(batch)
    table = out if kind == "pyarrow" else (out if kind == "pandas" else pd.DataFrame(out))
    result = table.to_pandas() if kind == "pyarrow" else table
    assert list(result["doc"]) == [r["doc"] for r in rows]
    assert [c for c in scorer.output_columns if c not in result.columns] == []
    for row in result.to_dict("records"):
        _check_row(row, expected[row["doc"]])
        record = json.loads(row["record"])
        assert record["schema"] == "qualityscan/1" and record["id"] == row["doc"]
    empty = result[result["doc"] == "empty"].iloc[0]
    assert "no text to score" in empty["qualityscan_errors"]


def test_thresholds_remove_rows(rows: list[dict], expected: dict) -> None:
    names = [n for n in detectors.available() if any(n in e["scores"] for e in expected.values())]
    if not names:
        pytest.skip("no registered detector scores these rows yet")
    name = names[0]
    values = sorted({e["scores"][name] for e in expected.values() if name in e["scores"]})
    limit = values[len(values) // 2] if len(values) > 1 else values[0]
    out = QualityScanBatch(id_column="doc", max_scores={name: limit}, corpus=False)(pd.DataFrame(rows))
    kept = set(out["doc"])
    assert kept == {d for d, e in expected.items() if e["scores"].get(name, 0.0) <= limit}
    assert (out[f"qualityscan_{name}"].dropna() <= limit).all()


def test_missing_column_is_named() -> None:
    with pytest.raises(KeyError, match="no column 'body'"):
        QualityScanBatch(text_column="body", model=None)(pd.DataFrame({"text": ["a"]}))


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield
    ray.shutdown()


@pytest.fixture
def local_ray(ray_cluster: None) -> Iterator[None]:
    """The cluster, with a deadline: a pipeline waiting for CPUs it can never get fails, not hangs."""
    def expire(signum: int, frame: object) -> None:
        raise TimeoutError("Ray pipeline still running after 240 s (actors holding every CPU?)")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(240)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def test_map_batches_on_local_cluster(local_ray: None, rows: list[dict], expected: dict) -> None:
    dataset = ray.data.from_items(rows).repartition(3)
    scored = dataset.map_batches(
        QualityScanBatch, fn_constructor_kwargs={"id_column": "doc", "corpus": False},
        batch_format="pandas", batch_size=4, compute=ray.data.ActorPoolStrategy(size=2), num_cpus=0.5)
    result = scored.take_all()
    assert sorted(r["doc"] for r in result) == sorted(r["doc"] for r in rows)
    for row in result:
        _check_row(row, expected[row["doc"]])


def test_scan_dataset_jsonl_to_parquet(local_ray: None, rows: list[dict], expected: dict, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    scan_dataset(str(source), str(tmp_path / "out.parquet"), concurrency=2, actor_cpus=0.5, batch_size=8,
                 id_column="doc", corpus=False)
    table = pa.concat_tables(pq.read_table(p) for p in sorted((tmp_path / "out.parquet").glob("*.parquet")))
    result = table.to_pandas().to_dict("records")
    assert sorted(r["doc"] for r in result) == sorted(r["doc"] for r in rows)
    for row in result:
        _check_row(row, expected[row["doc"]])
    # and back: the Parquet output reads as a dataset again
    assert read_dataset(str(tmp_path / "out.parquet"), "parquet").count() == len(rows)
