import pytest

from qualityscan.document import Document, Report
from qualityscan.thresholds import Thresholds


def _report(reliability, **scores):
    return Report(Document(id="d", source="d"), scores=scores, reliability=reliability)


def test_rejection_names_the_failed_threshold_and_unmeasured_values_pass():
    t = Thresholds(min_reliability=0.5, max_scores={"garble": 0.7})
    assert t.rejection(_report(0.4, garble=0.1)) == "reliability 0.400 < 0.5"
    assert t.rejection(_report(0.9, garble=0.8)) == "garble score 0.800 > 0.7"
    assert t.rejection(_report(0.9, garble=0.7)) is None
    assert t.rejection(_report(None)) is None  # not scored: its errors say why, it is not dropped


def test_check_refuses_thresholds_that_cannot_apply():
    with pytest.raises(ValueError, match="0..1"):
        Thresholds(max_scores={"garble": 1.5}).check(["garble"], has_model=True)
    with pytest.raises(ValueError, match="no reliability model"):
        Thresholds(min_reliability=0.5).check(["garble"], has_model=False)
    with pytest.raises(ValueError, match="no such detector 'repetition'"):
        Thresholds(max_scores={"repetition": 0.5}).check(["garble"], has_model=True)
    Thresholds(min_reliability=0.5, max_scores={"garble": 0.5}).check(["garble"], has_model=True)
