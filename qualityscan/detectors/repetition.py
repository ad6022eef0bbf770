"""Repetition detector: paragraphs that restate earlier material of the same document.

Scraped and generated articles often say the same thing twice: the article pasted again
(sometimes with its paragraphs glued into one line), a "summary" that rewords every
paragraph in order, an opinion piece recycling the news piece above it. Each paragraph is
scored 0..1 for "restates earlier paragraphs"; the first occurrence scores low, only the
later restatement is flagged, and the evidence names the earlier paragraph (``ref``) and
the content both share (names, numbers, content words).

How it works (all lexical, so it runs in any language; scripts written without spaces are
cut into character bigrams):

1. Every paragraph is split into sentences, the unit of matching. Sentence-level matching
   catches a later paragraph glued from several earlier ones, and an earlier paragraph
   split over several later ones.
2. Candidate generation is an inverted index over the sentences' content terms (stop
   words dropped, words truncated to their first six characters as a language-independent
   stand-in for a stemmer). A term seen in more than ``max_postings`` sentences is not
   used to look candidates up (it says little about *which* sentence is restated), and
   only the ``max_candidates`` best-sharing earlier sentences are scored, so cost grows
   about linearly with document length and memory is bounded.
3. Each (later, earlier) pair -- and the later sentence against the earlier sentence
   joined with its neighbour, for merged sentences -- gets similarity features:
   IDF-weighted cosine and containment of content terms (corpus IDF shipped with the
   model, multiplied by a within-document IDF so words the whole document repeats count
   less), word-trigram shingle Jaccard and containment (exact copies and light edits),
   overlap of names and numbers, and length terms. A logistic model trained on
   human-judged STS sentence pairs (``scripts/train_repetition.py``) maps them to the
   probability that the later sentence restates the earlier one. Identical normalised
   sentences are exact copies outright.
4. Runs are aligned, not only pairs: a match is boosted when neighbouring sentences
   restate neighbouring earlier sentences in the same order (a diagonal in the
   sentence-by-sentence match matrix), and only when the earlier run lies wholly before
   the later one -- so a list whose items share a frame, each resembling the item just
   before it, gets no boost.
5. A paragraph's score is the share of its content restated (sentence probabilities
   weighted by their content terms); paragraphs with fewer than ``min_paragraph_terms``
   content terms are scaled down, since short repeated lines (bylines, share buttons,
   "Read more") are the boilerplate detector's business, and a single quote repeated
   inside a longer analysis paragraph only restates a small share of it.

The document score is the share of the text restated (length-weighted mean).
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import sys
import unicodedata
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass
from math import fsum
from operator import mul
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from scipy.special import expit
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from qualityscan.detectors.base import Detector, DetectorResult, length_weighted_mean, remembered
from qualityscan.document import Document, Evidence
from qualityscan.model import load_model, shipped_model_path

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence

    from qualityscan.corpus import CorpusStats

#: Names of the pairwise features, in the order :func:`pair_features` returns them.
FEATURES: tuple[str, ...] = (
    "tfidf_cosine", "containment_later", "containment_earlier", "shingle_jaccard",
    "shingle_containment", "name_jaccard", "has_names", "number_mismatch",
    "log_length_ratio", "log_min_terms",
)

#: Buckets of the hashed corpus IDF table.
IDF_BUCKETS = 1 << 18
#: Characters kept by the truncation stemmer.
STEM_CHARS = 6
#: Terms whose corpus IDF is remembered per process (the table is cleared when full).
_TERM_IDF_MAX = 1 << 18

_STOP = frozenset(ENGLISH_STOP_WORDS)
_WORD = re.compile(r"\d+(?:[.,]\d+)*|[^\W_]+")
# The same on ASCII text, where the ASCII-only character classes are faster.
_ASCII_WORD = re.compile(_WORD.pattern, re.ASCII)
_DIGIT = re.compile(r"\d")
# Scripts written without spaces between words (CJK, kana, Thai, Lao, Myanmar, Khmer).
_NOSPACE = re.compile(
    r"[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
# Sentence ends: terminal punctuation plus closing quotes/brackets.
_END = re.compile(r"[.!?\u3002\uff01\uff1f]+[\"'\u201d\u2019)\]]*")
_ABBREV = frozenset({"mr", "mrs", "ms", "dr", "st", "jr", "sr", "prof", "gen", "gov", "sen", "rep",
                     "no", "vs", "etc", "inc", "ltd", "co", "corp", "jan", "feb", "aug", "sept",
                     "oct", "nov", "dec", "col", "lt", "sgt", "rev", "fig", "approx"})
_OPENERS = "\"'\u201c\u2018("
# The first non-space character from a position on.
_NEXT_CHAR = re.compile(r"\s*(\S)")
_TIERS = ("exact copy", "light edit", "paraphrase")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans (start, end) in ``text``; also splits sentences glued without a space
    ("the world.Brinken had"), but not after initials and common abbreviations."""
    spans: list[tuple[int, int]] = []
    start = 0
    n = len(text)
    first = _END.search(text)
    if first is None or first.end() >= n:  # one sentence (the common case)
        s, e = n - len(text.lstrip()), len(text.rstrip())
        return [(s, e)] if e > s else []
    for match in itertools.chain((first,), _END.finditer(text, first.end())):
        end = match.end()
        if end >= n:
            break
        punct, nxt = match.group(), text[end]
        if punct[0] not in "\u3002\uff01\uff1f":
            if nxt.isspace():
                after = _NEXT_CHAR.match(text, end)
                if after is None or not (after[1].isupper() or after[1].isdigit() or after[1] in _OPENERS):
                    continue
            elif not (nxt.isupper() or nxt in _OPENERS):
                continue
            if punct[0] == ".":
                words = _WORD.findall(text, max(start, match.start() - 12), match.start())
                prev = words[-1] if words else ""
                if len(prev) == 1 or prev.lower() in _ABBREV:
                    continue
        # the sentence ends in punctuation, so it is not blank: trim its leading white space
        spans.append((_NEXT_CHAR.match(text, start).start(1), end))
        start = end
    last = text[start:]
    s, e = start + len(last) - len(last.lstrip()), start + len(last.rstrip())
    if e > s:
        spans.append((s, e))
    return spans


def _tokens(text: str) -> list[tuple[str, str]]:
    """(normalised, original) tokens; no-space scripts become overlapping character bigrams."""
    if not _NOSPACE.search(text):
        return [(word.lower(), word) for word in _WORD.findall(text)]
    out: list[tuple[str, str]] = []
    for match in _WORD.finditer(text):
        word = match.group()
        if _NOSPACE.search(word):
            for piece in re.split(f"({_NOSPACE.pattern})", word):
                if not piece:
                    continue
                if _NOSPACE.fullmatch(piece):
                    grams = [piece[i:i + 2] for i in range(max(1, len(piece) - 1))]
                    out.extend((g, g) for g in grams)
                else:
                    out.append((piece.lower(), piece))
        else:
            out.append((word.lower(), word))
    return out


def _hash(token: str) -> int:
    return zlib.crc32(token.encode("utf-8"))


def term_of(word: str) -> str | None:
    """The content term of a lower-cased token, or ``None`` for stop words and scraps."""
    if word in _STOP:
        return None
    if _DIGIT.search(word):
        return word
    if len(word) < 3 and not _NOSPACE.match(word):
        return None
    return word[:STEM_CHARS]


@dataclass(slots=True)
class Unit:
    """One sentence (or two joined sentences) reduced to what matching needs."""

    start: int
    end: int
    paragraph: int
    #: Hash of the sentence's normalised words (identical sentences have equal keys); ``None`` for a join.
    key: int | None
    terms: frozenset[str]
    #: Hashes of the word trigrams (of the single words for sentences under three words).
    shingles: frozenset[int]
    names: frozenset[str]
    numbers: frozenset[str]

    def join(self, other: Unit) -> Unit:
        """This unit and ``other`` read as one (for sentences merged by a rewrite)."""
        return Unit(min(self.start, other.start), max(self.end, other.end), self.paragraph, None,
                    self.terms | other.terms, self.shingles | other.shingles,
                    self.names | other.names, self.numbers | other.numbers)


def _join_all(units: Sequence[Unit]) -> Unit:
    """``units[0].join(units[1]).join(units[2])...`` (the first unit itself if alone). The terms
    are merged one unit at a time as there, so they iterate in the same order; the other sets
    are only counted and are merged at once."""
    first, rest = units[0], units[1:]
    if not rest:
        return first
    terms = first.terms
    for u in rest:
        terms = terms | u.terms
    return Unit(min(u.start for u in units), max(u.end for u in units), first.paragraph, None, terms,
                first.shingles.union(*(u.shingles for u in rest)),
                first.names.union(*(u.names for u in rest)),
                first.numbers.union(*(u.numbers for u in rest)))


#: What matching needs of each token seen, keyed by its original form: (lower-cased word,
#: content term, the term if the word is a number, the term if it reads as a name --
#: capitalised, not a number), "" where not. Words recur across sentences and documents,
#: so each is analysed once per process; bounded (cleared when full).
_TOKEN_INFO: dict[str, tuple[str, str, str, str]] = {}
_TOKEN_INFO_MAX = 1 << 18


def _new_token_info(orig: str) -> tuple[str, str, str, str]:
    """The ``_TOKEN_INFO`` entry of one token."""
    word = orig.lower()
    term = term_of(word)
    if term is None:
        return (word, "", "", "")
    term = sys.intern(term)
    number = _DIGIT.search(word) is not None
    return (word, term, term if number else "", "" if number or not orig[0].isupper() else term)


def _token_info(originals: list[str]) -> list[tuple[str, str, str, str]]:
    """``_TOKEN_INFO`` entries of ``originals``, filling in new tokens."""
    return remembered(_TOKEN_INFO, originals, _TOKEN_INFO_MAX, _new_token_info)


def _originals(normal: str) -> list[str]:
    """The original forms of the tokens of NFKC-normalised text (see :func:`_tokens`)."""
    if not normal.isascii() and _NOSPACE.search(normal):
        return [orig for _, orig in _tokens(normal)]
    return _WORD.findall(normal)


def _analyse(text: str) -> list[tuple[str, str, bool]]:
    """(term, original form, is name or number) per content word of ``text``."""
    originals = _originals(unicodedata.normalize("NFKC", text))
    return [(info[1], orig, bool(info[2]) or (i > 0 and orig[0].isupper()))
            for i, (info, orig) in enumerate(zip(_token_info(originals), originals)) if info[1]]


#: Shared by the units without names or numbers (fewer objects for the garbage collector).
_EMPTY: frozenset[str] = frozenset()


def _unit(start: int, end: int, paragraph: int, originals: list[str]) -> Unit:
    """The :class:`Unit` of a sentence from its tokens (original forms)."""
    info = _token_info(originals)
    if not info:
        return Unit(start, end, paragraph, hash(()), _EMPTY, frozenset(), _EMPTY, _EMPTY)
    words, terms, numbers, names = zip(*info)  # the fields of _TOKEN_INFO
    # 64-bit hashes of the word tuples: compact, not tracked by the garbage collector, and
    # collisions (which would merge two shingles) are vanishingly rare within one document
    shingles = frozenset(map(hash, zip(words, words[1:], words[2:]) if len(words) >= 3 else words))
    return Unit(start, end, paragraph, hash(words), frozenset(filter(None, terms)), shingles,
                frozenset(filter(None, names[1:])) or _EMPTY, frozenset(filter(None, numbers)) or _EMPTY)


def make_unit(text: str, start: int = 0, end: int | None = None, paragraph: int = 0) -> Unit:
    """Reduce one sentence to terms, word-trigram shingles, names and numbers."""
    return _unit(start, len(text) + start if end is None else end, paragraph,
                 _originals(unicodedata.normalize("NFKC", text)))


#: Per pair of units: summed squared weight (their dot product) and summed weight of their
#: shared terms, and the numbers of shared shingles, names and numbers.
PairCounts = tuple[float, float, int, int, int]
#: Per unit: summed weight and squared weight of its terms, numbers of shingles, names,
#: numbers and terms.
UnitStats = tuple[float, float, int, int, int, int]


#: Placeholder :data:`UnitStats` of units in no candidate pair.
_NO_STATS: UnitStats = (0.0, 0.0, 0, 0, 0, 0)


def unit_stats(unit: Unit, weight: Callable[[str], float]) -> UnitStats:
    """The :data:`UnitStats` of ``unit``."""
    values = list(map(weight, unit.terms))
    return (fsum(values), fsum(map(mul, values, values)), len(unit.shingles), len(unit.names),
            len(unit.numbers), len(unit.terms))


def _feature_matrix(counts: np.ndarray, later: np.ndarray, earlier: np.ndarray) -> np.ndarray:
    """Feature rows (order: :data:`FEATURES`) of pairs from their :data:`PairCounts` and the
    :data:`UnitStats` of both sides (one row per pair); a ratio with a zero denominator is 0."""
    def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
        return np.divide(num, den, out=np.zeros(len(num)), where=den != 0)

    dot, shared, sh, names, numbers = counts.T
    sum_l, sq_l, n_sh, names_l, numbers_l, n_l = later.T
    sum_e, sq_e, n_sh_e, names_e, numbers_e, n_e = earlier.T
    names_union = names_l + names_e - names
    numbers_union = numbers_l + numbers_e - numbers
    return np.column_stack([
        ratio(dot, np.sqrt(sq_l * sq_e)),
        ratio(shared, sum_l),
        ratio(shared, sum_e),
        ratio(sh, n_sh + n_sh_e - sh),
        ratio(sh, n_sh),
        ratio(names, names_union),
        (names_union != 0).astype(np.float64),
        ratio(numbers_union - numbers, numbers_union),
        _length_terms(n_l.astype(np.intp), n_e.astype(np.intp)),
    ])


#: Term counts below this get their length terms from :func:`_length_table`.
_LENGTH_TABLE_SIZE = 256


@functools.lru_cache(maxsize=1)
def _length_table() -> tuple[np.ndarray, np.ndarray]:
    """``log((1 + a) / (1 + b))`` for every pair of term counts below
    :data:`_LENGTH_TABLE_SIZE`, and ``log1p(k)``, computed once with Python's math."""
    size = _LENGTH_TABLE_SIZE
    log_ratio = np.array([[math.log((1 + a) / (1 + b)) for b in range(size)] for a in range(size)])
    return log_ratio, np.array([math.log1p(k) for k in range(size)])


def _length_terms(n_later: np.ndarray, n_earlier: np.ndarray) -> np.ndarray:
    """The two length features per pair, ``log((1 + a) / (1 + b))`` and ``log1p(min(a, b))``
    of the term counts: Python's math values (as the scalar formulas always gave them), read
    from a table for the usual counts and computed one by one for the rest."""
    log_ratio, log1p = _length_table()
    out = np.empty((len(n_later), 2))
    small = (n_later < _LENGTH_TABLE_SIZE) & (n_earlier < _LENGTH_TABLE_SIZE)
    out[small, 0] = log_ratio[n_later[small], n_earlier[small]]
    out[small, 1] = log1p[np.minimum(n_later[small], n_earlier[small])]
    for k in np.flatnonzero(~small).tolist():
        a, b = int(n_later[k]), int(n_earlier[k])
        out[k] = math.log((1 + a) / (1 + b)), math.log1p(min(a, b))
    return out


def pair_counts(later: Unit, earlier: Unit, weight: Callable[[str], float]) -> PairCounts:
    """The :data:`PairCounts` of ``later`` against ``earlier``."""
    values = list(map(weight, later.terms & earlier.terms))
    return (fsum(map(mul, values, values)), fsum(values), len(later.shingles & earlier.shingles),
            len(later.names & earlier.names), len(later.numbers & earlier.numbers))


def _features(pairs: Sequence[tuple[Unit, Unit]], weight: Callable[[str], float]) -> np.ndarray:
    """Feature rows of (later, earlier) unit pairs (order: :data:`FEATURES`)."""
    def array(rows: Iterable[tuple[float, ...]]) -> np.ndarray:
        return np.array(list(rows), dtype=np.float64).reshape(len(pairs), -1)

    return _feature_matrix(array(pair_counts(a, b, weight) for a, b in pairs),
                           array(unit_stats(a, weight) for a, _ in pairs),
                           array(unit_stats(b, weight) for _, b in pairs))


def pair_features(later: Unit, earlier: Unit, weight: Callable[[str], float]) -> list[float]:
    """Similarity features of ``later`` against ``earlier`` (order: :data:`FEATURES`)."""
    return _features([(later, earlier)], weight)[0].tolist()


def corpus_idf(texts: Iterable[str]) -> np.ndarray:
    """Hashed IDF table (``IDF_BUCKETS`` float32) of content terms over ``texts``."""
    df = np.zeros(IDF_BUCKETS, dtype=np.int64)
    n = 0
    for text in texts:
        n += 1
        for t in {term_of(w) for w, _ in _tokens(unicodedata.normalize("NFKC", text))} - {None}:
            df[_hash(t) % IDF_BUCKETS] += 1
    return (np.log((n + 1) / (df + 1)) + 1.0).astype(np.float32)


def idf_weight(idf: np.ndarray) -> Callable[[str], float]:
    """Term weight from a hashed IDF table."""
    return lambda t: float(idf[_hash(t) % IDF_BUCKETS])


def _by_prob(match: tuple[int, _Match]) -> float:
    return match[1].prob


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _tiers(same: np.ndarray, feats: np.ndarray) -> np.ndarray:
    """Index into ``_TIERS`` per pair: identical words or shingle Jaccard >= 0.8 is an exact
    copy, Jaccard >= 0.4 or shingle containment >= 0.6 a light edit."""
    jaccard, containment = feats[:, 3], feats[:, 4]
    return np.where(same | (jaccard >= 0.8), 0, np.where((jaccard >= 0.4) | (containment >= 0.6), 1, 2))


@dataclass(slots=True)
class _Match:
    ref: Unit
    prob: float
    tier: int
    in_run: bool = False


def restatement_probability(pair_model: Any, rows: list[list[float]] | np.ndarray) -> list[float]:
    """The pair model's probability of "restatement" for each feature row."""
    return _probabilities(pair_model, rows).tolist()


def _probabilities(pair_model: Any, rows: list[list[float]] | np.ndarray) -> np.ndarray:
    """:func:`restatement_probability` as an array.

    The shipped model is a StandardScaler + binary LogisticRegression pipeline; it is
    evaluated here from its fitted parameters with the same numpy operations as its
    ``predict_proba`` (bit for bit; a test checks it), skipping scikit-learn's per-call input
    validation, which costs far more than the arithmetic on the few rows of one document.
    Any other model goes through ``predict_proba``.
    """
    X = np.asarray(rows, dtype=np.float64)
    steps = getattr(pair_model, "steps", None)
    if steps and len(steps) == 2:
        scaler, logistic = steps[0][1], steps[1][1]
        if (type(scaler) is StandardScaler and scaler.with_mean and scaler.with_std
                and type(logistic) is LogisticRegression and len(logistic.classes_) == 2):
            z = (X - scaler.mean_) / scaler.scale_
            return expit((z @ logistic.coef_.T + logistic.intercept_).reshape(-1))
    return np.asarray(pair_model.predict_proba(X)[:, 1], dtype=np.float64)


class _PairScorer:
    """Candidate pairs of one document waiting for the pair model. Each pair is queued as its
    :data:`PairCounts` (five numbers in one flat list) and the index of its earlier side, in
    blocks: one later unit against one earlier unit, alone and joined with its neighbours.
    :meth:`flush` turns all queued pairs into feature rows and probabilities with numpy in one
    pass (the caller flushes once ``limit`` pairs are queued, so memory stays bounded on long
    documents) and keeps the best pair of each block in ``matches``."""

    def __init__(self, pair_model: Any, units: list[Unit], weight: Callable[[str], float],
                 involved: set[int], limit: int = 4096) -> None:
        self.pair_model = pair_model
        self.units = units
        self.weight = weight
        self.limit = limit
        self.matches: list[Sequence[tuple[int, _Match]]] = [()] * len(units)
        #: The sides pairs can have: the units, then the joined units of the pairs queued (see
        #: :meth:`joined`), with their :data:`UnitStats` (computed for ``involved`` units only).
        self.side_units: list[Unit] = list(units)
        self._unit_stats = np.array([unit_stats(u, weight) if k in involved else _NO_STATS
                                     for k, u in enumerate(units)], dtype=np.float64)
        self._joined_stats: list[UnitStats] = []
        self._keys = np.array([u.key for u in units], dtype=np.int64)
        self._joined: dict[int, int] = {}
        self.counts: list[float] = []
        #: Per queued pair: the earlier side's index.
        self.sides: list[int] = []
        #: Per block of queued pairs, in queue order: (later unit, earlier unit, number of pairs).
        self.blocks: list[tuple[int, int, int]] = []

    def joined(self, a: int) -> int:
        """The side of unit ``a`` read together with unit ``a + 1``."""
        side = self._joined.get(a)
        if side is None:
            side = self._joined[a] = len(self.side_units)
            self.side_units.append(self.units[a].join(self.units[a + 1]))
            self._joined_stats.append(unit_stats(self.side_units[-1], self.weight))
        return side

    def flush(self) -> None:
        """Score the queued pairs; the blocks of a later unit must all be queued."""
        if not self.counts:
            return
        later_units, refs, sizes = np.array(self.blocks, dtype=np.intp).T
        later = np.repeat(later_units, sizes)
        sides = np.array(self.sides, dtype=np.intp)
        joined_stats = np.array(self._joined_stats, dtype=np.float64).reshape(-1, 6)
        stats = np.concatenate((self._unit_stats, joined_stats))
        later_stats = stats[later]
        counts = np.array(self.counts, dtype=np.float64).reshape(-1, 5)
        feats = _feature_matrix(counts, later_stats, stats[sides])
        probs = _probabilities(self.pair_model, feats)
        n = len(self.units)
        # identical words (joined sides have none of their own) make a copy of a sentence of
        # three or more terms sure
        same = (sides < n) & (self._keys[later] == self._keys[np.minimum(sides, n - 1)])
        probs = np.where(same & (later_stats[:, 5] >= 3), np.maximum(probs, 0.99), probs)
        tiers = _tiers(same, feats)
        # per block, its highest probability and the first pair reaching it
        top = np.maximum.reduceat(probs, np.cumsum(sizes) - sizes)
        block = np.repeat(np.arange(len(sizes)), sizes)
        reaching = np.flatnonzero(probs == top[block])
        firsts = reaching[np.flatnonzero(np.diff(block[reaching], prepend=-1))]
        units, matches = self.units, self.matches
        current = -1
        found: list[tuple[int, _Match]] = []
        for j, i, p, tier in zip(later_units.tolist(), refs.tolist(), top.tolist(), tiers[firsts].tolist()):
            if j != current:
                current = j
                found = matches[j] = []
            found.append((i, _Match(units[i], p, tier)))
        for queue in (self.counts, self.sides, self.blocks, self._joined_stats):
            queue.clear()
        # joined units are rebuilt when needed again: memory stays bounded by ``limit``
        del self.side_units[len(self.units):]
        self._joined.clear()


def _paragraph_members(units: list[Unit]) -> Iterator[tuple[int, range]]:
    """(paragraph index, range of its units) per paragraph with units, in document order."""
    lo = 0
    for j in range(1, len(units) + 1):
        if j == len(units) or units[j].paragraph != units[lo].paragraph:
            yield units[lo].paragraph, range(lo, j)
            lo = j


class RepetitionDetector(Detector):
    """Scores each paragraph for restating earlier paragraphs of the same document."""

    name = "repetition"
    #: Lexical: works in any language; text in scripts without spaces is cut into
    #: character bigrams. The pair model is calibrated on English STS data.
    languages: ClassVar[frozenset[str] | None] = None

    _cache: ClassVar[dict[str, tuple[Any, dict[str, Any]]]] = {}
    #: Corpus IDF per term, per loaded IDF table (looking a term up hashes it).
    _term_idf: ClassVar[dict[int, dict[str, float]]] = {}

    def __init__(self, model_path: str | None = None, max_postings: int = 64,
                 max_candidates: int = 6, run_bonus: float = 1.5, support_min: float = 0.3,
                 paragraph_pass: bool = True, min_paragraph_terms: int = 8,
                 evidence_threshold: float = 0.5) -> None:
        self.model_path = model_path
        self.max_postings = max_postings
        self.max_candidates = max_candidates
        self.run_bonus = run_bonus
        self.support_min = support_min
        self.paragraph_pass = paragraph_pass
        self.min_paragraph_terms = min_paragraph_terms
        self.evidence_threshold = evidence_threshold

    # -- model -------------------------------------------------------------------------
    def _model(self) -> dict[str, Any]:
        path = str(Path(self.model_path) if self.model_path else shipped_model_path("repetition"))
        if path not in self._cache:
            self._cache[path] = load_model(path)
        return self._cache[path][0]

    def _corpus_idf(self, terms: Iterable[str]) -> list[float]:
        """Corpus IDF of each term, remembered per model file (bounded: cleared when full)."""
        idf = self._model()["idf"]
        return remembered(self._term_idf.setdefault(id(idf), {}), list(terms), _TERM_IDF_MAX,
                           lambda t: float(idf[_hash(t) % IDF_BUCKETS]))

    # -- scoring -----------------------------------------------------------------------
    def units(self, document: Document) -> list[Unit]:
        """The sentences of every paragraph, in document order."""
        units: list[Unit] = []
        append, ascii_words = units.append, _ASCII_WORD.findall
        for p in document.paragraphs:
            text, start, index = p.text, p.start, p.index
            ascii_text = text.isascii()
            for s, e in split_sentences(text):
                if ascii_text:  # already NFKC: tokenise in place, without copying
                    originals = ascii_words(text, s, e)
                else:
                    originals = _originals(unicodedata.normalize("NFKC", text[s:e]))
                append(_unit(start + s, start + e, index, originals))
        return units

    def score(self, document: Document, context: CorpusStats | None = None) -> DetectorResult:
        """Score every paragraph; ``context`` is unused (corpus IDF ships with the model).

        The base ``score_many`` (one document at a time) is kept on purpose: the pair model
        is evaluated from its parameters (:func:`restatement_probability`) on all of a
        document's pairs at once, so batching documents saves nothing, while keeping 32
        documents' sentence units alive between stages made the garbage collector cost more
        than the model calls did.
        """
        result = DetectorResult.empty(len(document.paragraphs))
        units = self.units(document)
        if len(units) < 2:
            return result
        df, weights = self._weight(units)
        weight = weights.__getitem__
        candidates = list(self._candidates(units, df, weight))
        if not candidates:  # no sentence shares enough with an earlier one: all scores stay 0
            return result
        pair_model = self._model()["pair_model"]
        matches = self._match(units, weights, candidates, pair_model)
        self._boost(units, matches)
        best = [max(m, key=_by_prob) if m else None for m in matches]
        paragraphs = list(_paragraph_members(units))
        whole: dict[int, float] = {}
        if self.paragraph_pass:
            stretches = self._whole_paragraphs(units, paragraphs, best)
            if stretches:
                probs = restatement_probability(
                    pair_model, _features([(later, ref) for _, _, later, ref in stretches], weight))
                whole = {par: p * coverage for (par, coverage, _, _), p in zip(stretches, probs)}
        self._paragraph_scores(document, units, paragraphs, best, whole, weight, result)
        return result

    def _weight(self, units: list[Unit]) -> tuple[dict[str, int], dict[str, float]]:
        """Document frequency of each term over ``units``, and the term weights: corpus IDF
        times within-document IDF, ``idf(t) * log(1 + n / df(t)) / log(1 + n)`` over the
        ``n`` units (words the whole document repeats say little about which paragraph is
        restated)."""
        df = Counter(itertools.chain.from_iterable(u.terms for u in units))
        n = len(units)
        log_n = math.log1p(n)
        within = {c: math.log1p(n / c) for c in set(df.values())}
        return df, {t: idf * within[c] / log_n for (t, c), idf in zip(df.items(), self._corpus_idf(df))}

    def _candidates(self, units: list[Unit], df: dict[str, int],
                    weight: Callable[[str], float]) -> Iterator[tuple[int, list[int]]]:
        """For each unit, the earlier units (other paragraphs) worth scoring, best first,
        from an inverted index over terms seen in at most ``max_postings`` units."""
        # a term in one unit only can never link two
        postings: dict[str, list[int]] = {t: [] for t, c in df.items() if 1 < c <= self.max_postings}
        indexed = postings.keys()
        by_key: dict[int | None, int] = {}
        first = 0  # the first unit of the current paragraph (units of a paragraph are contiguous)
        paragraph = units[0].paragraph
        max_candidates = self.max_candidates
        for j, u in enumerate(units):
            if u.paragraph != paragraph:
                first, paragraph = j, u.paragraph
            chosen: list[int] = []
            if not indexed.isdisjoint(u.terms):
                acc: dict[int, float] = {}  # summed weight of the terms shared
                again: set[int] = set()  # the units sharing two terms or more
                mark = again.add
                for t in u.terms:
                    plist = postings.get(t)
                    if plist is None:
                        continue
                    if plist and plist[0] < first:
                        w = weight(t)
                        for i in plist:  # ascending: stop at the current paragraph
                            if i >= first:
                                break
                            if i in acc:
                                acc[i] += w
                                mark(i)
                            else:
                                acc[i] = w
                    plist.append(j)
                if len(again) == 1:
                    chosen = list(again)
                elif again:  # ties (to 1e-9: the sums' order follows set iteration) go to the earlier unit
                    chosen = [i for _, i in sorted([(-round(acc[i], 9), i) for i in again])[:max_candidates]]
            same = by_key.setdefault(u.key, j)
            if same < first and same not in chosen:
                chosen.append(same)
            if chosen:
                yield j, chosen

    def _match(self, units: list[Unit], weights: dict[str, float], candidates: list[tuple[int, list[int]]],
               pair_model: Any) -> list[Sequence[tuple[int, _Match]]]:
        """Score each candidate pair with the pair model; the two best candidates are also
        tried joined with a neighbour (sentences merged by a rewrite). Returns, per unit, the
        best match per earlier unit."""
        weight = weights.__getitem__
        scorer = _PairScorer(pair_model, units, weight,
                             {j for j, _ in candidates}.union(*(chosen for _, chosen in candidates)))
        square = {t: w * w for t, w in weights.items()}.__getitem__
        sides, joined, limit = scorer.side_units, scorer.joined, scorer.limit
        counts, queue_side, queue_block = scorer.counts.extend, scorer.sides.append, scorer.blocks.append
        n = len(units)
        for j, chosen in candidates:
            later = units[j]
            terms, shingles, names, numbers, paragraph = later.terms, later.shingles, later.names, \
                later.numbers, later.paragraph
            for rank, i in enumerate(chosen):
                options = [i]
                if rank < 2:
                    if i > 0 and units[i - 1].paragraph < paragraph:
                        options.append(joined(i - 1))
                    if i + 1 < n and units[i + 1].paragraph < paragraph:
                        options.append(joined(i))
                for side in options:
                    earlier = sides[side]
                    shared = terms & earlier.terms
                    counts((fsum(map(square, shared)), fsum(map(weight, shared)),
                            len(shingles & earlier.shingles),
                            len(names & earlier.names) if names else 0,
                            len(numbers & earlier.numbers) if numbers else 0))
                    queue_side(side)
                queue_block((j, i, len(options)))
            if len(scorer.sides) >= limit:
                scorer.flush()
        scorer.flush()
        return scorer.matches

    def _boost(self, units: list[Unit], matches: list[Sequence[tuple[int, _Match]]]) -> None:
        """Raise matches that sit on a diagonal run: neighbouring later sentences restating
        neighbouring earlier sentences in the same order, the earlier run wholly before."""
        if not self.run_bonus:
            return
        # per unit, the earlier units it restates well enough to support a neighbour's match
        # (probabilities before any boost: every boost is computed before one is applied),
        # padded with two empty entries at both ends
        support_min = self.support_min
        strong = [(), (), *([r for r, m in cands if m.prob >= support_min and k - r > 3] if cands else ()
                            for k, cands in enumerate(matches)), (), ()]
        boosts: list[tuple[_Match, float]] = []
        for j, cands in enumerate(matches):
            if not cands or not (strong[j] or strong[j + 1] or strong[j + 3] or strong[j + 4]):
                continue
            # support: the two units before j restating just before i, the two after just after
            neighbours = ((strong[j], -3, -1), (strong[j + 1], -3, -1), (strong[j + 3], 1, 3),
                          (strong[j + 4], 1, 3))
            for i, m in cands:
                if j - i <= 3:
                    continue
                support = 0
                for rs, lo, hi in neighbours:
                    for r in rs:
                        if lo <= r - i <= hi:
                            support += 1
                            break
                if support:
                    boosts.append((m, _logit(m.prob) + self.run_bonus * min(support, 2)))
        for m, z in boosts:
            m.prob = 1 / (1 + math.exp(-z))
            m.in_run = True

    def _paragraph_scores(self, document: Document, units: list[Unit], paragraphs: list[tuple[int, range]],
                          best: list[tuple[int, _Match] | None], whole: dict[int, float],
                          weight: Callable[[str], float], result: DetectorResult) -> None:
        """``paragraphs``: :func:`_paragraph_members` of ``units``."""
        for par, members in paragraphs:
            if not any(best[members.start:members.stop]) and par not in whole \
                    and self.evidence_threshold > 0:
                continue  # nothing restated: the score stays 0
            restated = in_run = total = 0.0
            terms = 0
            for j in members:
                n = len(units[j].terms)
                w = float(n)
                total += w
                terms += n
                top = best[j]
                if top is not None:
                    restated += w * top[1].prob
                    in_run += w * top[1].in_run
            if not total:
                continue
            score = max(restated / total, whole.get(par, 0.0))
            if in_run < total / 2:
                # a short line restated on its own is left to the boilerplate detector
                score *= min(1.0, terms / self.min_paragraph_terms) ** 2
            result.scores[par] = score
            if score >= self.evidence_threshold:
                result.evidence[par] = self._evidence(
                    document, [(units[j], best[j]) for j in members], par, weight)

    def _whole_paragraphs(self, units: list[Unit], paragraphs: list[tuple[int, range]],
                          best: list[tuple[int, _Match] | None]) -> list[tuple[int, float, Unit, Unit]]:
        """Each paragraph with some matched sentence, to be compared whole against the
        earlier stretch its sentences point into: catches a rewrite that splits and merges
        sentences differently, where no single sentence pair is convincing. Returns
        (paragraph, coverage, the paragraph as one unit, the earlier stretch as one unit);
        the probability is scaled by the coverage, the share of the paragraph whose
        sentences found some match."""
        out = []
        for par, members in paragraphs:
            if not any(best[members.start:members.stop]):
                continue
            refs = [best[j][0] for j in members if best[j] is not None
                    and best[j][1].prob >= self.support_min]
            if not refs:
                continue
            matched = sum(len(units[j].terms) for j in members if best[j] is not None
                          and best[j][1].prob >= self.support_min)
            coverage = matched / max(1, sum(len(units[j].terms) for j in members))
            lo, hi = min(refs), max(refs)
            window = range(lo, hi + 1) if hi - lo < 2 * len(members) + 2 else sorted(set(refs))
            earlier = [units[i] for i in window if units[i].paragraph < par]
            out.append((par, coverage, _join_all(units[members.start:members.stop]), _join_all(earlier)))
        return out

    def _evidence(self, document: Document, members: list[tuple[Unit, tuple[int, _Match] | None]],
                  paragraph: int, weight: Callable[[str], float]) -> list[Evidence]:
        """One item per earlier paragraph restated, strongest first (at most three);
        ``members`` are the paragraph's sentences with their best matches."""
        groups: dict[int, list[tuple[Unit, _Match]]] = defaultdict(list)
        for u, b in members:
            if b is not None and b[1].prob >= 0.5:
                groups[b[1].ref.paragraph].append((u, b[1]))
        ranked = sorted(groups.items(), key=lambda kv: -sum(m.prob * len(u.terms) for u, m in kv[1]))
        par = document.paragraphs[paragraph]
        out = []
        for ref, items in ranked[:3]:
            shared_names: dict[str, str] = {}
            shared_words: dict[str, str] = {}
            for u, m in items:
                shared = u.terms & m.ref.terms
                content = _analyse(document.text[u.start:u.end])
                for t, orig, _ in sorted(content, key=lambda c: -weight(c[0])):
                    if t in shared:
                        if t in u.names or t in u.numbers:
                            shared_names.setdefault(t, orig)
                        else:
                            shared_words.setdefault(t, orig)
            tier = _TIERS[min(m.tier for _, m in items)]
            prob = max(m.prob for _, m in items)
            plural = "s" if len(items) > 1 else ""
            parts = [(f"restates paragraph {ref} ({tier}, {len(items)} sentence{plural}, "
                      f"similarity {prob:.2f})")]
            if shared_names:
                parts.append("shared names/numbers: " + ", ".join(list(shared_names.values())[:6]))
            if shared_words:
                parts.append("shared words: " + ", ".join(list(shared_words.values())[:8]))
            span = (min(u.start for u, _ in items), max(u.end for u, _ in items))
            out.append(self.evidence(par, "; ".join(parts), span, ref))
        return out

    def aggregate(self, document: Document, result: DetectorResult) -> float:
        """Share of the document's text that restates earlier text."""
        return length_weighted_mean(document, result.scores)
