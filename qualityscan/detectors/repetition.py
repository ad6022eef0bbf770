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

import math
import re
import sys
import unicodedata
import zlib
from collections import defaultdict
from dataclasses import dataclass
from operator import mul
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from scipy.special import expit
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from qualityscan.detectors.base import Detector, DetectorResult, length_weighted_mean
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
    for match in _END.finditer(text):
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
                words = _WORD.findall(text[max(start, match.start() - 12):match.start()])
                prev = words[-1] if words else ""
                if len(prev) == 1 or prev.lower() in _ABBREV:
                    continue
        if text[start:end].strip():
            spans.append((start, end))
        start = end
    if text[start:].strip():
        spans.append((start, n))
    # trim white space so spans cover exactly the sentence
    out = []
    for s, e in spans:
        seg = text[s:e]
        s2 = s + (len(seg) - len(seg.lstrip()))
        e2 = e - (len(seg) - len(seg.rstrip()))
        if e2 > s2:
            out.append((s2, e2))
    return out


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


#: Content term of each lower-cased word seen: ``(term, is a number)``, or ``()`` for stop
#: words and scraps. Words recur across sentences and documents; cleared when full.
_WORD_TERMS: dict[str, tuple[str, bool] | tuple[()]] = {}
_WORD_TERMS_MAX = 1 << 18


def _word_terms(words: list[str]) -> list[tuple[str, bool] | tuple[()]]:
    """``_WORD_TERMS`` entries of ``words`` (lower-cased tokens), filling in new words."""
    found = list(map(_WORD_TERMS.get, words))
    if None in found:
        if len(_WORD_TERMS) >= _WORD_TERMS_MAX:
            _WORD_TERMS.clear()
        for k, (word, entry) in enumerate(zip(words, found)):
            if entry is None:
                term = term_of(word)
                entry = () if term is None else (sys.intern(term), _DIGIT.search(word) is not None)
                found[k] = _WORD_TERMS[word] = entry
    return found


def _analyse(text: str) -> tuple[list[str], list[tuple[str, str, bool]]]:
    """Normalised words, and (term, original form, is name or number) per content word."""
    toks = _tokens(unicodedata.normalize("NFKC", text))
    words = [w for w, _ in toks]
    content = [(found[0], orig, found[1] or (i > 0 and orig[0].isupper()))
               for i, (found, (_, orig)) in enumerate(zip(_word_terms(words), toks)) if found]
    return words, content


def make_unit(text: str, start: int = 0, end: int | None = None, paragraph: int = 0) -> Unit:
    """Reduce one sentence to terms, word-trigram shingles, names and numbers."""
    normal = unicodedata.normalize("NFKC", text)
    if not normal.isascii() and _NOSPACE.search(normal):
        toks = _tokens(normal)
        words, originals = [w for w, _ in toks], [o for _, o in toks]
    else:  # the common case, as _tokens does it, without the pairs
        originals = _WORD.findall(normal)
        words = [w.lower() for w in originals]
    found = _word_terms(words)
    terms = [f[0] for f in found if f]
    numbers = [f[0] for f in found if f and f[1]]
    names = [f[0] for f, o in zip(found[1:], originals[1:]) if f and not f[1] and o[0].isupper()]
    # 64-bit string hashes: compact, not tracked by the garbage collector, and collisions
    # (which would merge two shingles) are vanishingly rare within one document
    shingles = frozenset(map(hash, map(" ".join, zip(words, words[1:], words[2:])) if len(words) >= 3 else words))
    return Unit(start, len(text) + start if end is None else end, paragraph, hash(" ".join(words)),
                frozenset(terms), shingles, frozenset(names), frozenset(numbers))


#: A unit's term weights, their sum and their sum of squares.
Weighted = tuple[dict[str, float], float, float]


def weigh(unit: Unit, weight: Callable[[str], float]) -> Weighted:
    """Term weights of ``unit`` with their sum and sum of squares."""
    values = list(map(weight, unit.terms))
    return dict(zip(unit.terms, values)), sum(values), sum(map(mul, values, values))


def pair_features(later: Unit, earlier: Unit, weight: Callable[[str], float],
                  weighted: tuple[Weighted, Weighted] | None = None) -> list[float]:
    """Similarity features of ``later`` against ``earlier`` (order: :data:`FEATURES`);
    ``weighted`` passes precomputed :func:`weigh` results for both."""
    (wl, sum_l, sq_l), (we, sum_e, sq_e) = weighted or (weigh(later, weight), weigh(earlier, weight))
    shared = later.terms & earlier.terms
    in_later = list(map(wl.__getitem__, shared))
    in_earlier = list(map(we.__getitem__, shared))
    dot = sum(map(mul, in_later, in_earlier))
    norm = math.sqrt(sq_l * sq_e)
    n_sh = len(later.shingles)
    sh = len(later.shingles & earlier.shingles)
    sh_union = n_sh + len(earlier.shingles) - sh
    names = len(later.names | earlier.names)
    nums = len(later.numbers | earlier.numbers)
    n_l = len(later.terms)
    n_e = len(earlier.terms)
    return [
        dot / norm if norm else 0.0,
        sum(in_later) / sum_l if sum_l else 0.0,
        sum(in_earlier) / sum_e if sum_e else 0.0,
        sh / sh_union if sh_union else 0.0,
        sh / n_sh if n_sh else 0.0,
        len(later.names & earlier.names) / names if names else 0.0,
        1.0 if names else 0.0,
        len(later.numbers ^ earlier.numbers) / nums if nums else 0.0,
        math.log((1 + n_l) / (1 + n_e)),
        math.log1p(min(n_l, n_e)),
    ]


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


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _tier(later: Unit, earlier: Unit, feats: list[float]) -> int:
    """Index into ``_TIERS``: identical words or shingle Jaccard >= 0.8 is an exact copy."""
    if later.key == earlier.key or feats[3] >= 0.8:
        return 0
    return 1 if feats[3] >= 0.4 or feats[4] >= 0.6 else 2


@dataclass(slots=True)
class _Match:
    ref: Unit
    prob: float
    tier: int
    in_run: bool = False


def restatement_probability(pair_model: Any, rows: list[list[float]]) -> list[float]:
    """The pair model's probability of "restatement" for each feature row.

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
            return expit((z @ logistic.coef_.T + logistic.intercept_).reshape(-1)).tolist()
    return pair_model.predict_proba(X)[:, 1].tolist()


class _Weights(dict):
    """Term weights of one document, computed on first use: corpus IDF times within-document
    IDF, ``idf(t) * log(1 + n / df(t)) / log(1 + n)`` over its ``n`` sentences."""

    def __init__(self, df: dict[str, int], n: int, corpus_idf: Callable[[str], float]) -> None:
        super().__init__()
        self.df = df
        self.n = n
        self.log_n = math.log1p(n)
        self.corpus_idf = corpus_idf

    def __missing__(self, t: str) -> float:
        w = self[t] = self.corpus_idf(t) * math.log1p(self.n / self.df[t]) / self.log_n
        return w


class _PairScorer:
    """Feature rows of sentence pairs waiting for the pair model, scored in one call when
    :meth:`flush` runs (automatically every ``limit`` rows, so memory stays bounded on long
    documents)."""

    def __init__(self, pair_model: Any, limit: int = 4096) -> None:
        self.pair_model = pair_model
        self.limit = limit
        self.rows: list[list[float]] = []
        self._owners: list[tuple[list[Unit], list[Sequence[tuple[int, _Match]]], int, list[tuple[int, bool, int]]]] = []

    def add(self, units: list[Unit], matches: list[Sequence[tuple[int, _Match]]], j: int,
            pairs: list[tuple[int, bool, int]]) -> None:
        """Register (earlier index, identical words, tier) for the rows just appended for
        later unit ``j``; the best row per earlier unit lands in ``matches[j]``."""
        self._owners.append((units, matches, j, pairs))
        if len(self.rows) >= self.limit:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        probs = restatement_probability(self.pair_model, self.rows)
        pos = 0
        for units, matches, j, pairs in self._owners:
            best: dict[int, _Match] = {}
            sure = len(units[j].terms) >= 3
            for (i, same, tier), p in zip(pairs, probs[pos:pos + len(pairs)]):
                if same and sure:
                    p = max(p, 0.99)
                cur = best.get(i)
                if cur is None or p > cur.prob:
                    best[i] = _Match(units[i], p, tier)
            pos += len(pairs)
            matches[j] = list(best.items())
        self.rows.clear()
        self._owners.clear()


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

    def _corpus_idf(self) -> Callable[[str], float]:
        """Corpus IDF of a term, remembered per model file (bounded: cleared when full)."""
        idf = self._model()["idf"]
        known = self._term_idf.setdefault(id(idf), {})

        def corpus_idf(t: str) -> float:
            w = known.get(t)
            if w is None:
                if len(known) >= _TERM_IDF_MAX:
                    known.clear()
                w = known[t] = float(idf[_hash(t) % IDF_BUCKETS])
            return w
        return corpus_idf

    # -- scoring -----------------------------------------------------------------------
    def units(self, document: Document) -> list[Unit]:
        """The sentences of every paragraph, in document order."""
        units: list[Unit] = []
        for p in document.paragraphs:
            for s, e in split_sentences(p.text):
                units.append(make_unit(p.text[s:e], p.start + s, p.start + e, p.index))
        return units

    def score(self, document: Document, context: CorpusStats | None = None) -> DetectorResult:
        """Score every paragraph; ``context`` is unused (corpus IDF ships with the model).

        The base ``score_many`` (one document at a time) is kept on purpose: the pair model
        is evaluated from its parameters (:func:`restatement_probability`, about 15 us a call),
        so batching documents saves nothing, while keeping 32 documents' sentence units alive
        between stages made the garbage collector cost more than the model calls did.
        """
        result = DetectorResult.empty(len(document.paragraphs))
        units = self.units(document)
        if len(units) < 2:
            return result
        pair_model = self._model()["pair_model"]
        df, weight = self._weight(units)
        scorer = _PairScorer(pair_model)
        matches = self._match(units, df, weight, scorer)
        scorer.flush()
        self._boost(units, matches)
        best = [max(m, key=lambda x: x[1].prob, default=None) for m in matches]
        whole: dict[int, float] = {}
        if self.paragraph_pass:
            stretches = self._whole_paragraphs(units, best)
            if stretches:
                probs = restatement_probability(
                    pair_model, [pair_features(later, ref, weight) for _, _, later, ref in stretches])
                whole = {par: p * coverage for (par, coverage, _, _), p in zip(stretches, probs)}
        self._paragraph_scores(document, units, matches, best, whole, weight, result)
        return result

    def _weight(self, units: list[Unit]) -> tuple[dict[str, int], Callable[[str], float]]:
        """Document frequency of each term over ``units``, and the term weight: corpus IDF
        times within-document IDF (words the whole document repeats say little about which
        paragraph is restated)."""
        df: dict[str, int] = defaultdict(int)
        for u in units:
            for t in u.terms:
                df[t] += 1
        return df, _Weights(df, len(units), self._corpus_idf()).__getitem__

    def _candidates(self, units: list[Unit], df: dict[str, int],
                    weight: Callable[[str], float]) -> Iterator[tuple[int, list[int]]]:
        """For each unit, the earlier units (other paragraphs) worth scoring, best first,
        from an inverted index over terms seen in at most ``max_postings`` units."""
        # a term in one unit only can never link two
        postings: dict[str, list[int]] = {t: [] for t, c in df.items() if 1 < c <= self.max_postings}
        by_key: dict[int | None, int] = {}
        paragraph = [u.paragraph for u in units]
        for j, u in enumerate(units):
            acc: dict[int, float] = {}
            hits: dict[int, int] = {}
            par = paragraph[j]
            for t in u.terms:
                plist = postings.get(t)
                if plist is None:
                    continue
                if plist:
                    w = weight(t)
                    for i in plist:
                        if paragraph[i] != par:
                            if i in acc:
                                acc[i] += w
                                hits[i] += 1
                            else:
                                acc[i] = w
                                hits[i] = 1
                plist.append(j)
            chosen = sorted((i for i in acc if hits[i] >= 2), key=acc.__getitem__,
                            reverse=True)[:self.max_candidates]
            same = by_key.setdefault(u.key, j)
            if same != j and same not in chosen and paragraph[same] != par:
                chosen.append(same)
            if chosen:
                yield j, chosen

    def _match(self, units: list[Unit], df: dict[str, int], weight: Callable[[str], float],
               scorer: _PairScorer) -> list[Sequence[tuple[int, _Match]]]:
        """Queue each candidate pair for the pair model (filled in when ``scorer`` flushes);
        the two best candidates are also tried joined with a neighbour (sentences merged by
        a rewrite)."""
        matches: list[Sequence[tuple[int, _Match]]] = [()] * len(units)  # set when the scorer flushes
        cache: dict[int, Weighted] = {}

        def weighted(i: int) -> Weighted:
            if i not in cache:
                cache[i] = weigh(units[i], weight)
            return cache[i]

        def joined(a: int) -> tuple[Unit, Weighted]:
            """Unit ``a`` read together with unit ``a + 1``."""
            unit = units[a].join(units[a + 1])
            return unit, weigh(unit, weight)

        for j, chosen in self._candidates(units, df, weight):
            later = units[j]
            wl = weighted(j)
            pairs: list[tuple[int, bool, int]] = []
            for rank, i in enumerate(chosen):
                options = [(units[i], weighted(i))]
                if rank < 2:
                    for k in (i - 1, i + 1):
                        if 0 <= k < len(units) and units[k].paragraph < later.paragraph:
                            options.append(joined(min(i, k)))
                for earlier, we in options:
                    feats = pair_features(later, earlier, weight, (wl, we))
                    scorer.rows.append(feats)
                    pairs.append((i, later.key == earlier.key, _tier(later, earlier, feats)))
            scorer.add(units, matches, j, pairs)
        return matches

    def _boost(self, units: list[Unit], matches: list[Sequence[tuple[int, _Match]]]) -> None:
        """Raise matches that sit on a diagonal run: neighbouring later sentences restating
        neighbouring earlier sentences in the same order, the earlier run wholly before."""
        if not self.run_bonus:
            return
        boosted: list[list[float]] = []
        for j, cands in enumerate(matches):
            row = []
            if not cands:
                boosted.append(row)
                continue
            for i, m in cands:
                support = 0
                for dj in (-2, -1, 1, 2) if j - i > 3 else ():
                    k = j + dj
                    if not 0 <= k < len(units):
                        continue
                    for r, m2 in matches[k]:
                        if m2.prob >= self.support_min and 1 <= (r - i) * (1 if dj > 0 else -1) <= 3 \
                                and k - r > 3:
                            support += 1
                            break
                row.append(_logit(m.prob) + self.run_bonus * min(support, 2) if support else None)
            boosted.append(row)
        for cands, row in zip(matches, boosted):
            for (_, m), z in zip(cands, row):
                if z is not None:
                    m.prob = 1 / (1 + math.exp(-z))
                    m.in_run = True

    def _paragraph_scores(self, document: Document, units: list[Unit],
                          matches: list[Sequence[tuple[int, _Match]]], best: list[tuple[int, _Match] | None],
                          whole: dict[int, float], weight: Callable[[str], float],
                          result: DetectorResult) -> None:
        restated: dict[int, float] = defaultdict(float)
        in_run: dict[int, float] = defaultdict(float)
        total: dict[int, float] = defaultdict(float)
        terms: dict[int, int] = defaultdict(int)
        members: dict[int, list[int]] = defaultdict(list)
        for j, u in enumerate(units):
            w = float(len(u.terms))
            top = best[j]
            members[u.paragraph].append(j)
            total[u.paragraph] += w
            terms[u.paragraph] += len(u.terms)
            if top is not None:
                restated[u.paragraph] += w * top[1].prob
                in_run[u.paragraph] += w * top[1].in_run
        for p in document.paragraphs:
            if not total[p.index]:
                continue
            score = max(restated[p.index] / total[p.index], whole.get(p.index, 0.0))
            if in_run[p.index] < total[p.index] / 2:
                # a short line restated on its own is left to the boilerplate detector
                score *= min(1.0, terms[p.index] / self.min_paragraph_terms) ** 2
            result.scores[p.index] = score
            if score >= self.evidence_threshold:
                result.evidence[p.index] = self._evidence(
                    document, [(units[j], best[j]) for j in members[p.index]], p.index, weight)

    def _whole_paragraphs(self, units: list[Unit], best: list[tuple[int, _Match] | None]
                          ) -> list[tuple[int, float, Unit, Unit]]:
        """Each paragraph with some matched sentence, to be compared whole against the
        earlier stretch its sentences point into: catches a rewrite that splits and merges
        sentences differently, where no single sentence pair is convincing. Returns
        (paragraph, coverage, the paragraph as one unit, the earlier stretch as one unit);
        the probability is scaled by the coverage, the share of the paragraph whose
        sentences found some match."""
        spans: dict[int, list[int]] = defaultdict(list)
        for j, u in enumerate(units):
            spans[u.paragraph].append(j)
        out = []
        for par, members in spans.items():
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
            later = units[members[0]]
            for j in members[1:]:
                later = later.join(units[j])
            ref = earlier[0]
            for u in earlier[1:]:
                ref = ref.join(u)
            out.append((par, coverage, later, ref))
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
                _, content = _analyse(document.text[u.start:u.end])
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
