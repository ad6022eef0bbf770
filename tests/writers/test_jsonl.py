import io
import json

from qualityscan.document import Document, Paragraph, Report
from qualityscan.writers import format_for, write_reports
from qualityscan.writers.jsonl import write


def _report(i, reliability=None):
    doc = Document(id=f"d{i}", source=f"d{i}", text="Ünïcode text", language="en",
                   paragraphs=[Paragraph(0, 0, 12, "Ünïcode text", scores={"garble": 0.1})])
    return Report(doc, scores={"garble": 0.1}, reliability=reliability)


def test_one_line_per_report_in_order_with_unicode_kept():
    out = io.StringIO()
    write([_report(1), _report(2, 0.5)], out)
    lines = out.getvalue().splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["d1", "d2"]
    assert "Ünïcode" in lines[0]


def test_file_output_is_atomic_and_format_follows_extension(tmp_path):
    target = tmp_path / "r.jsonl"
    assert format_for(target) == "jsonl" and format_for(tmp_path / "r.csv") == "csv"
    write_reports([_report(1)], format_for(target), target)
    assert json.loads(target.read_text(encoding="utf-8"))["id"] == "d1"
    assert [p.name for p in tmp_path.iterdir()] == ["r.jsonl"]
