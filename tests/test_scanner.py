"""Scanner wiring, tested with small detectors defined here so the flow is checked on its own."""

import pytest

from qualityscan.detectors.base import Detector, DetectorResult
from qualityscan.document import Document
from qualityscan.scanner import Scanner


class ShoutDetector(Detector):
    """Scores a paragraph by its share of capital letters; evidence names the paragraph."""

    name = "garble"

    def __init__(self, scale: float = 1.0):
        self.scale = scale

    def score(self, document, context=None):
        scores, evidence = [], []
        for p in document.paragraphs:
            letters = [c for c in p.text if c.isalpha()] or ["a"]
            s = self.scale * sum(c.isupper() for c in letters) / len(letters)
            scores.append(s)
            evidence.append([self.evidence(p, f"{s:.2f} capitals")] if s >= 0.5 else [])
        return DetectorResult(scores, evidence)


class SharedLineDetector(Detector):
    """Scores 1 when another document of the scan has the same line (uses the corpus context)."""

    name = "boilerplate"
    languages = None

    def score(self, document, context=None):
        scores = [float(context is not None and context.others(p.text, True) > 0) for p in document.paragraphs]
        return DetectorResult(scores, [[] for _ in scores])


class BrokenDetector(Detector):
    name = "repetition"

    def score(self, document, context=None):
        raise ZeroDivisionError("bad day")


def scanner(*detectors, **kwargs):
    return Scanner(detectors=list(detectors), model=None, **kwargs)


def test_scores_evidence_and_document_score():
    report = scanner(ShoutDetector()).scan_text("THE END IS NEAR said the man\nquiet words here, nothing loud")
    first, second = report.paragraphs
    assert first.scores["garble"] == pytest.approx(12 / 22)
    assert first.evidence[0].detector == "garble" and first.evidence[0].span == (first.start, first.end)
    assert second.scores["garble"] == 0.0 and second.evidence == []
    assert report.scores == {"garble": pytest.approx(12 / 22)}
    assert report.reliability is None


def test_scores_are_clipped_to_unit_interval():
    report = scanner(ShoutDetector(scale=5.0)).scan_text("ALL CAPS HERE")
    assert report.paragraphs[0].scores["garble"] == 1.0


def test_a_failing_detector_is_recorded_and_the_others_still_score():
    report = scanner(ShoutDetector(), BrokenDetector()).scan_text("SOME TEXT")
    assert "garble" in report.scores and "repetition" not in report.scores
    assert any("detector repetition failed: ZeroDivisionError: bad day" in e for e in report.errors)


def test_unsupported_language_omits_scores_and_says_so():
    german = "Der Außenminister traf am Sonntag zu zweitägigen Gesprächen in Peking ein."
    report = scanner(ShoutDetector(), SharedLineDetector()).scan_text(german)
    assert report.document.language == "de"
    assert "garble" not in report.scores and "boilerplate" in report.scores
    assert any("language 'de'" in e and "garble" in e for e in report.errors)


def test_empty_text_yields_an_error_record():
    report = scanner(ShoutDetector()).scan_text("   \n ", id="blank")
    assert report.paragraphs == [] and report.scores == {}
    assert report.errors


def test_duplicate_detectors_are_rejected():
    with pytest.raises(ValueError, match="once"):
        scanner(ShoutDetector(), ShoutDetector())


def test_folder_scan_counts_lines_across_documents(tmp_path):
    for i, topic in enumerate(["harbour", "railway", "election"]):
        (tmp_path / f"{i}.txt").write_text(f"This article talks about the {topic} at length.\n"
                                           "Leave a Reply\n")
    reports = list(scanner(SharedLineDetector()).scan_paths([tmp_path]))
    assert [r.id for r in reports] == ["0.txt", "1.txt", "2.txt"]
    for r in reports:
        assert [p.scores["boilerplate"] for p in r.paragraphs] == [0.0, 1.0]
    alone = list(scanner(SharedLineDetector(), corpus=False).scan_paths([tmp_path]))
    assert all(p.scores["boilerplate"] == 0.0 for r in alone for p in r.paragraphs)


def _docs(n):
    return [Document(id=f"d{i}", source=f"d{i}", text=f"Document {i} HAS SOME CAPS\nLeave a Reply")
            for i in range(n)]


def test_streaming_keeps_order_and_uses_a_warmup_window():
    reports = list(scanner(SharedLineDetector(), warmup=2).scan_documents(iter(_docs(5))))
    assert [r.id for r in reports] == [f"d{i}" for i in range(5)]
    # the warm-up window lets the very first document see the line shared with the next one
    assert reports[0].paragraphs[1].scores["boilerplate"] == 1.0


def test_parallel_jobs_give_the_same_reports_as_one_job():
    one = [r.to_dict() for r in scanner(ShoutDetector(), SharedLineDetector()).scan_documents(_docs(40))]
    two = [r.to_dict() for r in scanner(ShoutDetector(), SharedLineDetector(), jobs=2).scan_documents(_docs(40))]
    assert one == two
    prose = [Document(id=f"p{i}", source=f"p{i}", text=f"The committee met on day {i} to discuss the budget.")
             for i in range(8)]
    assert {r.document.language for r in scanner(ShoutDetector(), jobs=2).scan_documents(prose)} == {"en"}


def test_prepare_can_leave_language_identification_for_later():
    s = scanner(ShoutDetector())
    doc = s.prepare(Document(id="a", source="a", text="The committee met on Tuesday to discuss the budget."),
                    language=False)
    assert doc.paragraphs and doc.language is None
    assert s.prepare(doc).language == "en"


class BatchDetector(ShoutDetector):
    """Scores like ShoutDetector but a whole batch per call, recording the batch sizes; a
    batch holding a document with "poison" in it fails, and so does scoring that document."""

    name = "repetition"

    def __init__(self):
        super().__init__()
        self.batches = []

    def score(self, document, context=None):
        if "poison" in document.text:
            raise ValueError("poisoned")
        return super().score(document, context)

    def score_many(self, documents, context=None):
        self.batches.append(len(documents))
        if any("poison" in d.text for d in documents):
            raise ValueError("poisoned batch")
        return [super(BatchDetector, self).score(d, context) for d in documents]


def test_documents_are_scored_in_batches_with_the_same_results():
    batcher = BatchDetector()
    batched = [r.paragraphs[0].scores["repetition"] for r in scanner(batcher).scan_documents(_docs(40))]
    assert max(batcher.batches) > 1 and sum(batcher.batches) == 40
    single = [scanner(BatchDetector()).scan_document(d).paragraphs[0].scores["repetition"] for d in _docs(40)]
    assert batched == single


def test_a_document_that_breaks_its_batch_fails_alone():
    docs = _docs(6)
    docs[3] = Document(id="bad", source="bad", text="poison IN THE WELL")
    reports = list(scanner(BatchDetector(), ShoutDetector()).scan_documents(docs))
    assert [r.id for r in reports] == ["d0", "d1", "d2", "bad", "d4", "d5"]
    assert all("repetition" in r.scores for r in reports if r.id != "bad")
    bad = reports[3]
    assert "repetition" not in bad.scores and "garble" in bad.scores
    assert any("detector repetition failed: ValueError: poisoned" in e for e in bad.errors)


def test_languages_are_checked_per_document_in_a_batch():
    german = Document(id="de", source="de", text="Der Außenminister traf am Sonntag zu zweitägigen Gesprächen in Peking ein.")
    reports = list(scanner(ShoutDetector(), SharedLineDetector()).scan_documents([*_docs(2), german]))
    assert [("garble" in r.scores) for r in reports] == [True, True, False]
    assert not reports[0].errors and any("language 'de'" in e for e in reports[2].errors)


def test_invalid_parameters():
    with pytest.raises(ValueError):
        Scanner(detectors=[], model=None, jobs=0)


def test_default_scanner_runs_registered_detectors_on_seeds(seeds_dir):
    reports = list(Scanner().scan_paths([seeds_dir]))
    assert len(reports) == 5
    for r in reports:
        assert r.document.language == "en" and r.paragraphs and not r.errors
        assert set(r.scores) == set(Scanner().detector_names)
