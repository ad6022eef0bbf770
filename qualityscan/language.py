"""Language identification with py3langid, whose model ships inside the package (no download).

py3langid finds its byte n-gram features by walking a finite automaton over the UTF-8 bytes
of the text, one Python loop step per byte: half of its time per document. The automaton is
an Aho-Corasick matcher (Lui & Baldwin, "langid.py", 2012), so its state after a byte is
the longest suffix of the text read so far that is a prefix of some feature, and therefore
depends only on the last ``depth`` bytes, ``depth`` being the longest feature. :class:`_Walk`
uses that to compute every byte's state at once with numpy (``depth`` array look-ups
instead of one per byte) and counts the features in the order py3langid does, so the
scores, the language and the probability are bit for bit the library's (a test checks this
on real documents). The model's float16 feature weights are converted to float32 once, not
on every score.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

#: Shorter texts are too short to identify reliably; their language is left unknown.
MIN_CHARS = 40
#: Enough text to decide (langid.py's accuracy levels off after a few hundred characters);
#: longer documents are identified from their start, which keeps the cost per document flat.
MAX_CHARS = 4_000
#: Longest feature of py3langid's shipped model, in bytes (its automaton's deepest state;
#: ``tests/test_language.py`` checks it against the installed model).
_FEATURE_BYTES = 6
#: Texts the numpy walk must classify exactly as py3langid does before it is used.
_SELF_CHECK = ("The foreign minister arrived in Beijing on Sunday for two days of talks.",
               "Der Außenminister traf am Sonntag zu zweitägigen Gesprächen in Peking ein.",
               "外交部长周日抵达北京，进行为期两天的会谈。")


class _Walk:
    """The automaton's feature counts of a byte string, computed with numpy."""

    def __init__(self, next_move: Any, row_base: list[int], output: list[int], depth: int) -> None:
        self.next_move = np.asarray(next_move)
        self.row_base = np.asarray(row_base, dtype=np.intp)
        self.output = np.asarray(output, dtype=np.intp)
        self.depth = depth

    def states(self, data: bytes) -> np.ndarray:
        """The automaton's state after each byte of ``data``: each position restarts from
        the initial state ``depth`` bytes back (or at the start of the text)."""
        codes = np.frombuffer(data, dtype=np.uint8).astype(np.intp)
        state = np.zeros(len(codes), dtype=np.intp)
        for back in range(min(self.depth, len(codes)) - 1, -1, -1):
            # positions >= back take byte (position - back); earlier ones have not started
            state[back:] = self.next_move[self.row_base[state[back:]] + codes[:len(codes) - back]]
        return state

    def counts(self, data: bytes) -> tuple[np.ndarray, np.ndarray]:
        """Feature indices in order of first occurrence, and how often each occurs (as
        py3langid's ``visit_counts`` gives them)."""
        features = self.output[self.states(data)]
        features = features[features >= 0]
        unique, first, counts = np.unique(features, return_index=True, return_counts=True)
        order = np.argsort(first, kind="stable")
        return unique[order], counts[order]


@functools.lru_cache(maxsize=1)
def _identifier() -> Any:
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    class Identifier(LanguageIdentifier):
        """py3langid's identifier with the automaton walk done by :class:`_Walk`."""

        __slots__ = ("_walk",)

        def _raw_score(self, text: bytes) -> np.ndarray:
            features, counts = self._walk.counts(text)
            if not len(features):
                return super()._raw_score(text)
            # the library's _sparse_score, on the same arrays
            return np.log1p(counts.astype(np.float32)) @ self.nb_ptc[features] + self.nb_pc

    plain = LanguageIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE, norm_probs=True)
    try:  # the walk relies on py3langid's internals (0.4): any other layout keeps the library's
        # The feature weights ship as float16, and every score converted its rows to float32
        # before the product (80% of the scoring time); converted once here (28 MB more), the
        # product is the same float32 one on the same values, bit for bit (a test checks it).
        fast = Identifier(plain.nb_ptc.astype(np.float32), plain.nb_pc, plain.nb_classes, plain.tk_nextmove,
                          plain.tk_output, norm_probs=True, tk_row=plain.tk_row)
        fast._walk = _Walk(plain.tk_nextmove, plain._rowbase, plain.tk_output, _FEATURE_BYTES)
        if all(fast.classify(t) == plain.classify(t) for t in _SELF_CHECK):
            return fast
    except (AttributeError, TypeError, ValueError, IndexError):
        pass
    return plain


def identify(text: str) -> tuple[str | None, float]:
    """ISO 639-1 code and probability of the main language of ``text``.

    Returns ``(None, 0.0)`` for text too short to tell.
    """
    sample = " ".join(text[:MAX_CHARS].split())
    if len(sample) < MIN_CHARS:
        return None, 0.0
    code, prob = _identifier().classify(sample)
    return code, float(prob)
