import gzip
import json

import numpy as np

from qualityscan.language import _FEATURE_BYTES, MAX_CHARS, _identifier, identify


def test_identifies_english_and_german():
    assert identify("The foreign minister arrived in Beijing on Sunday for two days of talks.")[0] == "en"
    assert identify("Der Außenminister traf am Sonntag zu zweitägigen Gesprächen in Peking ein.")[0] == "de"


def test_short_text_is_unknown():
    assert identify("Hi there") == (None, 0.0)


# --- the numpy automaton walk ---------------------------------------------------------------

SAMPLES = [
    "The foreign minister arrived in Beijing on Sunday for two days of talks.",
    "Der Außenminister traf am Sonntag zu zweitägigen Gesprächen in Peking ein.",
    "外交部长周日抵达北京，进行为期两天的会谈。 Хорошо, давайте начнём. مرحبا بالعالم",
    "a", "", "   ", "12345 !!! ??? ...", "ALL CAPS HEADLINE ABOUT THE BUDGET VOTE",
    "naïve café — crème brûlée for €5 " * 50,
]


def _plain():
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE, norm_probs=True)


def test_the_numpy_walk_is_in_use_and_counts_features_as_py3langid_does():
    from py3langid.langid import visit_counts

    fast = _identifier()
    assert hasattr(fast, "_walk"), "the self-check fell back to the plain identifier"
    for text in SAMPLES:
        data = fast._encode(text)
        expected = visit_counts(fast.tk_nextmove, fast._rowbase, fast.tk_output, data) or {}
        features, counts = fast._walk.counts(data)
        assert dict(zip(features.tolist(), counts.tolist())) == dict(expected)
        assert list(features.tolist()) == list(expected)  # same order (it fixes the float sums)


def test_no_feature_is_longer_than_the_walk_looks_back():
    """Every state of the automaton is at most _FEATURE_BYTES transitions from the start
    (breadth-first search), so a state depends on the last _FEATURE_BYTES bytes only."""
    fast = _identifier()
    moves, rows = np.asarray(fast.tk_nextmove), np.asarray(fast._rowbase, dtype=np.intp)
    seen = np.zeros(len(rows), dtype=bool)
    seen[0] = True
    frontier, depth = np.array([0]), 0
    while True:
        reached = np.unique(moves[(rows[frontier][:, None] + np.arange(256)).ravel()])
        frontier = reached[~seen[reached]]
        if not len(frontier):
            break
        seen[frontier] = True
        depth += 1
    assert seen.all() and depth <= _FEATURE_BYTES


def test_identify_is_bit_identical_to_py3langid_on_real_documents(data_root):
    path = data_root / "machine_text" / "machine_text.jsonl.gz"
    plain = _plain()
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        texts = [json.loads(line)["text"] for _, line in zip(range(150), handle)]
    texts += SAMPLES
    for text in texts:
        sample = " ".join(text[:MAX_CHARS].split())
        if len(sample) >= 40:
            assert _identifier().classify(sample) == plain.classify(sample)


def test_float32_weights_give_the_library_scores_bit_for_bit():
    """The weights converted once to float32 score exactly as the library's float16 ones,
    which it converts on every product (every class, every sample length)."""
    fast, plain = _identifier(), _plain()
    assert fast.nb_ptc.dtype == np.float32 and np.array_equal(fast.nb_ptc, plain.nb_ptc)
    texts = SAMPLES + [" ".join(SAMPLES[k % len(SAMPLES)] for k in range(n)) for n in (2, 7, 30)]
    for text in texts:
        assert np.array_equal(fast._decide(text), plain._decide(text)), text
        assert fast.rank(text) == plain.rank(text)


def test_a_walk_that_disagrees_with_py3langid_is_not_used(monkeypatch):
    from qualityscan import language

    def wrong(self, data):
        features, counts = original(self, data)
        return features, counts + 1

    original = language._Walk.counts
    monkeypatch.setattr(language._Walk, "counts", wrong)
    assert not hasattr(language._identifier.__wrapped__(), "_walk")
