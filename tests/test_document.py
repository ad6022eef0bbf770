import json

from qualityscan.document import SCHEMA, Document, Evidence, Paragraph, Report


def _report():
    doc = Document(id="a.txt", source="/x/a.txt", text="Hello there\nLeave a Reply", language="en")
    doc.paragraphs = [Paragraph(0, 0, 11, "Hello there"), Paragraph(1, 12, 25, "Leave a Reply")]
    doc.paragraphs[1].scores = {"prompt_leak": 0.0, "boilerplate": 0.912345}
    doc.paragraphs[1].evidence = [Evidence("boilerplate", "comment form phrase", (12, 25))]
    return Report(doc, scores={"prompt_leak": 0.1, "boilerplate": 0.5}, reliability=0.25)


def test_record_follows_the_schema():
    record = _report().to_dict()
    assert list(record) == ["schema", "id", "source", "language", "reliability", "scores", "paragraphs", "errors"]
    assert record["schema"] == SCHEMA == "qualityscan/1"
    assert list(record["scores"]) == ["boilerplate", "prompt_leak"]  # schema order, not insertion order
    para = record["paragraphs"][1]
    assert para["scores"] == {"boilerplate": 0.9123, "prompt_leak": 0.0}
    assert para["evidence"] == [{"detector": "boilerplate", "message": "comment form phrase",
                                 "span": [12, 25], "ref": None}]
    json.dumps(record)  # serialisable


def test_unscored_document_has_null_reliability_and_no_paragraphs():
    record = Report(Document(id="b", source="b", errors=["b: empty file"])).to_dict()
    assert record["reliability"] is None
    assert record["paragraphs"] == [] and record["scores"] == {}
    assert record["errors"] == ["b: empty file"]


def test_scores_keep_schema_order_then_other_names_sorted_whatever_the_insertion_order():
    for scores in ({"zeta": 0.5, "prompt_leak": 0.1, "alpha": 0.2, "garble": 0.123456},
                   {"garble": 0.123456, "alpha": 0.2, "zeta": 0.5, "prompt_leak": 0.1}):
        doc = Document(id="c", source="c", text="x")
        doc.paragraphs = [Paragraph(0, 0, 1, "x", scores=dict(scores))]
        record = Report(doc, scores=dict(scores)).to_dict()
        for got in (record["scores"], record["paragraphs"][0]["scores"]):
            assert list(got.items()) == [("garble", 0.1235), ("prompt_leak", 0.1), ("alpha", 0.2), ("zeta", 0.5)]
