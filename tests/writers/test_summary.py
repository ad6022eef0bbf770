from qualityscan.document import Document, Evidence, Paragraph, Report
from qualityscan.writers.summary import flagged, top_evidence


def test_top_evidence_shows_each_detector_before_repeating_one():
    paragraphs = []
    for i in range(4):
        paragraphs.append(Paragraph(i, i * 10, i * 10 + 5, "text", scores={"repetition": 1.0, "prompt_leak": 0.0},
                                    evidence=[Evidence("repetition", f"restates {i}", (i * 10, i * 10 + 5), 0)]))
    paragraphs.append(Paragraph(4, 50, 55, "Summarize", scores={"repetition": 0.0, "prompt_leak": 0.7},
                                evidence=[Evidence("prompt_leak", "instruction", (50, 55))]))
    paragraphs.append(Paragraph(5, 60, 65, "clean", scores={"repetition": 0.1, "prompt_leak": 0.1}))
    report = Report(Document(id="d", source="d", paragraphs=paragraphs))
    assert len(flagged(report)) == 5
    assert [e.message for e in top_evidence(report, 3)] == ["restates 0", "instruction", "restates 1"]
