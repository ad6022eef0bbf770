import gc

import pytest

from qualityscan._gc import YOUNG_THRESHOLD, quiet_gc, quiet_gc_while


@pytest.fixture(autouse=True)
def _restore_gc():
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)
    gc.unfreeze()


def test_quiet_gc_freezes_and_relaxes_then_restores():
    gc.set_threshold(700, 10, 10)
    with quiet_gc():
        assert gc.get_threshold() == (YOUNG_THRESHOLD, 10, 10)
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_freeze_count() == 0


def test_nested_and_interleaved_scans_restore_once_the_last_ends():
    gc.set_threshold(700, 10, 10)
    outer, inner = quiet_gc(), quiet_gc()
    outer.__enter__()
    inner.__enter__()
    outer.__exit__(None, None, None)  # the first to start ends first (interleaved generators)
    assert gc.get_threshold() == (YOUNG_THRESHOLD, 10, 10)
    inner.__exit__(None, None, None)
    assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_freeze_count() == 0


def test_a_freeze_made_by_the_caller_is_left_alone():
    gc.freeze()
    assert gc.get_freeze_count() > 0
    with quiet_gc():
        assert gc.get_threshold()[0] >= YOUNG_THRESHOLD
    assert gc.get_freeze_count() > 0  # not unfrozen (an unfreeze empties the permanent generation)


def test_a_higher_threshold_set_by_the_caller_is_kept():
    gc.set_threshold(50_000, 10, 10)
    with quiet_gc():
        assert gc.get_threshold()[0] == 50_000


def test_decorated_generator_holds_the_setting_until_closed_and_on_errors():
    gc.set_threshold(700, 10, 10)

    @quiet_gc_while
    def numbers(fail: bool):
        yield gc.get_threshold()[0]
        if fail:
            raise ValueError("boom")
        yield gc.get_threshold()[0]

    assert list(numbers(False)) == [YOUNG_THRESHOLD, YOUNG_THRESHOLD]
    assert gc.get_threshold()[0] == 700
    it = numbers(False)
    next(it)
    it.close()  # abandoned half-way
    assert gc.get_threshold()[0] == 700 and gc.get_freeze_count() == 0
    with pytest.raises(ValueError):
        list(numbers(True))
    assert gc.get_threshold()[0] == 700 and gc.get_freeze_count() == 0


def test_cyclic_garbage_made_during_a_scan_is_still_collected():
    class Node:
        pass

    with quiet_gc():
        a, b = Node(), Node()
        a.other, b.other = b, a
        del a, b
        assert gc.collect() >= 2


def test_scanner_restores_the_collector_after_a_scan():
    from qualityscan.readers import document_from_text
    from qualityscan.scanner import Scanner

    gc.set_threshold(700, 10, 10)
    scanner = Scanner(detectors=["prompt_leak"], model=None)
    docs = [document_from_text("Summarize this content to 100 words\nThe minister arrived.", id=str(i), source="t")
            for i in range(3)]
    seen = [gc.get_threshold()[0] for _ in scanner.scan_documents(docs)]
    assert seen == [YOUNG_THRESHOLD] * 3
    assert gc.get_threshold() == (700, 10, 10) and gc.get_freeze_count() == 0
    assert scanner.scan_text("Summarize this content to 100 words").scores["prompt_leak"] > 0.5
    assert gc.get_threshold() == (700, 10, 10) and gc.get_freeze_count() == 0
