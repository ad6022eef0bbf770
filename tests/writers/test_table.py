import io

from qualityscan.document import Document, Evidence, Paragraph, Report
from qualityscan.writers import rank
from qualityscan.writers.table import write


def _report(name, reliability, score):
    p = Paragraph(0, 0, 5, "Hello", scores={"boilerplate": score})
    if score >= 0.5:
        p.evidence = [Evidence("boilerplate", f"template line of {name}", (0, 5))]
    return Report(Document(id=name, source=name, text="Hello", paragraphs=[p]),
                  scores={"boilerplate": score}, reliability=reliability)


def test_rank_puts_least_reliable_first_and_unscored_last():
    unscored = Report(Document(id="bad", source="bad", errors=["bad: empty file"]))
    ordered = rank([_report("good", 0.9, 0.1), unscored, _report("worst", 0.1, 0.9)])
    assert [r.id for r in ordered] == ["worst", "good", "bad"]


def test_table_lists_documents_ranked_with_evidence_and_errors():
    unscored = Report(Document(id="bad", source="bad", errors=["bad: empty file"]))
    out = io.StringIO()
    write([_report("good", 0.9, 0.1), unscored, _report("worst", 0.1, 0.9)], out, width=100)
    text = out.getvalue()
    assert text.index("worst") < text.index("good") < text.index("bad")
    assert "boilerplate: template line of worst" in text and "error: bad: empty file" in text
    assert "3 document(s), 1 not scored" in text
    assert all(len(line) <= 100 for line in text.splitlines())
