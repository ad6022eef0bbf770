"""Shared pieces of qualityscan/detectors/base.py."""

from qualityscan.detectors.base import remembered


def test_remembered_computes_only_missing_keys_and_stays_bounded():
    calls: list[str] = []

    def length(word: str) -> int:
        calls.append(word)
        return len(word)

    cache: dict[str, int] = {}
    assert remembered(cache, ["ab", "abc", "ab"], 10, length) == [2, 3, 2]
    assert remembered(cache, ["abc", "ab"], 10, length) == [3, 2]
    assert calls == ["ab", "abc", "ab"]  # the second call found both in the cache
    # full: cleared before the miss is stored; what was found before still comes back
    assert remembered(cache, ["x", "abc"], 2, length) == [1, 3]
    assert cache == {"x": 1}
