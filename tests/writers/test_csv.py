import csv
import io

from qualityscan.document import Document, Evidence, Paragraph, Report
from qualityscan.writers.csv import write


def test_one_row_per_document_with_scores_and_evidence():
    p = Paragraph(0, 0, 13, "Leave a Reply", scores={"boilerplate": 0.95, "prompt_leak": 0.0},
                  evidence=[Evidence("boilerplate", "comment form", (0, 13))])
    scored = Report(Document(id="a", source="a", text="Leave a Reply", language="en", paragraphs=[p]),
                    scores={"boilerplate": 0.95, "prompt_leak": 0.0}, reliability=0.3)
    failed = Report(Document(id="b", source="b", errors=["b: binary file"]))
    out = io.StringIO()
    write([scored, failed], out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert list(rows[0]) == ["id", "source", "language", "reliability", "boilerplate", "prompt_leak",
                             "paragraphs", "flagged_paragraphs", "top_evidence", "errors"]
    assert rows[0]["reliability"] == "0.3000" and rows[0]["flagged_paragraphs"] == "1"
    assert rows[0]["top_evidence"] == "boilerplate: comment form"
    assert rows[1]["reliability"] == "" and rows[1]["errors"] == "b: binary file"
