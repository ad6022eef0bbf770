"""The command line, run in-process through ``main`` with real files."""

import csv
import io
import json
import sys

import pytest

from qualityscan import __version__
from qualityscan.cli import main


def run(capsys, *argv, stdin: str | None = None, monkeypatch=None):
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode("utf-8"))))
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_scan_seeds_writes_valid_jsonl(capsys, seeds_dir):
    code, out, _ = run(capsys, "scan", str(seeds_dir), "--format", "jsonl")
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in records] == sorted(p.name for p in seeds_dir.iterdir())
    for r in records:
        assert r["schema"] == "qualityscan/1" and r["language"] == "en" and r["errors"] == []
        text = (seeds_dir / r["id"]).read_text(encoding="utf-8")
        for p in r["paragraphs"]:
            assert text[p["start"]:p["end"]] == p["text"]
            for e in p["evidence"]:
                assert p["start"] <= e["span"][0] <= e["span"][1] <= len(text)


def test_scan_table_ranks_and_csv_has_one_row_per_document(capsys, seeds_dir, tmp_path):
    code, out, _ = run(capsys, "scan", str(seeds_dir), "--format", "table")
    assert code == 0 and "5 document(s), 0 not scored" in out
    target = tmp_path / "out.csv"
    code, _, _ = run(capsys, "scan", str(seeds_dir), "-o", str(target))
    rows = list(csv.DictReader(target.open(encoding="utf-8")))
    assert code == 0 and len(rows) == 5 and rows[0]["id"].startswith("000_")
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_bad_inputs_get_error_records_and_exit_status_1(capsys, tmp_path):
    (tmp_path / "good.txt").write_text("The minister arrived in the capital on Sunday for talks.\n")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    code, out, err = run(capsys, "scan", str(tmp_path), "--format", "jsonl", "--no-model")
    records = {r["id"]: r for r in map(json.loads, out.splitlines())}
    assert code == 1 and "2 input(s) could not be read" in err
    assert set(records) == {"good.txt", "empty.txt", "image.png"}
    assert records["good.txt"]["paragraphs"] and not records["good.txt"]["errors"]
    for bad in ("empty.txt", "image.png"):
        assert records[bad]["paragraphs"] == [] and bad in records[bad]["errors"][0]


def test_filter_keeps_order_and_passes_malformed_lines(capsys, monkeypatch):
    lines = [json.dumps({"id": "a", "text": "First article about the harbour.", "extra": 1}),
             "{not json",
             json.dumps({"id": "b", "text": "Second article about the railway."})]
    code, out, err = run(capsys, "filter", "--no-model", stdin="\n".join(lines) + "\n", monkeypatch=monkeypatch)
    out_lines = out.splitlines()
    assert code == 1 and ":2:" in err
    assert out_lines[1] == "{not json"
    first, third = json.loads(out_lines[0]), json.loads(out_lines[2])
    assert first["id"] == "a" and first["extra"] == 1 and third["id"] == "b"
    assert first["qualityscan"]["schema"] == "qualityscan/1"


def test_filter_drop_on_error_and_detector_threshold(capsys, monkeypatch):
    lines = [json.dumps({"id": "a", "text": "Summarize this content to 100 words\nThe port reopened."}),
             "[1, 2]",
             json.dumps({"id": "b", "text": "The port reopened on Monday after repairs."})]
    code, out, _ = run(capsys, "filter", "--no-model", "--on-error", "drop", "--max-score", "prompt_leak=0.5",
                       stdin="\n".join(lines), monkeypatch=monkeypatch)
    ids = [json.loads(line)["id"] for line in out.splitlines()]
    assert code == 1 and ids == ["b"]  # the malformed line is dropped but still reported


def test_filter_rejects_unknown_detector_threshold(capsys, monkeypatch):
    code, _, err = run(capsys, "filter", "--no-model", "--max-score", "nonsense=1", stdin="",
                       monkeypatch=monkeypatch)
    assert code == 2 and "DETECTOR=VALUE" in err


def test_explain_prints_paragraphs_with_offsets(capsys, seeds_dir):
    seed = sorted(seeds_dir.iterdir())[4]
    code, out, _ = run(capsys, "explain", str(seed))
    assert code == 0 and out.startswith(str(seed))
    assert "[0] 0-" in out


def test_unknown_model_path_is_a_usage_error(capsys, seeds_dir, tmp_path):
    code, _, err = run(capsys, "scan", str(seeds_dir), "--model", str(tmp_path / "nope.joblib"))
    assert code == 2 and "nope.joblib" in err


def test_filter_reads_jsonl_even_when_the_first_line_is_broken(capsys, monkeypatch):
    stdin = '{bad line\n{"id": "a", "text": "The harbour reopened on Monday."}\n'
    code, out, err = run(capsys, "filter", "--no-model", stdin=stdin, monkeypatch=monkeypatch)
    lines = out.splitlines()
    assert code == 1 and "<stdin>:1" in err
    assert lines[0] == "{bad line" and json.loads(lines[1])["id"] == "a"


def test_filter_on_empty_input_writes_nothing(capsys, monkeypatch):
    code, out, err = run(capsys, "filter", "--no-model", stdin="", monkeypatch=monkeypatch)
    assert (code, out, err) == (0, "", "")


def test_filter_min_reliability_without_a_model_is_a_usage_error(capsys, monkeypatch):
    code, out, err = run(capsys, "filter", "--no-model", "--min-reliability", "0.5", stdin="",
                         monkeypatch=monkeypatch)
    assert code == 2 and out == "" and "no reliability model" in err
