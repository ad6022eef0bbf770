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
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from qualityscan.detectors.base import Detector, DetectorResult, length_weighted_mean
from qualityscan.document import Document, Evidence
from qualityscan.model import load_model, shipped_model_path

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

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
                rest = text[end:].lstrip()
                if not rest or not (rest[0].isupper() or rest[0].isdigit() or rest[0] in _OPENERS):
                    continue
            elif not (nxt.isupper() or nxt in _OPENERS):
                continue
            words = _WORD.findall(text[max(start, match.start() - 12):match.start()])
            prev = words[-1] if words else ""
            if punct[0] == "." and (len(prev) == 1 or prev.lower() in _ABBREV):
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


@dataclass
class Unit:
    """One sentence (or two joined sentences) reduced to what matching needs."""

    start: int
    end: int
    paragraph: int
    key: int
    terms: frozenset[str]
    shingles: frozenset[int]
    names: frozenset[str]
    numbers: frozenset[str]

    def join(self, other: Unit) -> Unit:
        """This unit and ``other`` read as one (for sentences merged by a rewrite)."""
        return Unit(min(self.start, other.start), max(self.end, other.end), self.paragraph, -1,
                    self.terms | other.terms, self.shingles | other.shingles,
                    self.names | other.names, self.numbers | other.numbers)


def _analyse(text: str) -> tuple[list[str], list[tuple[str, str, bool]]]:
    """Normalised words, and (term, original form, is name or number) per content word."""
    toks = _tokens(unicodedata.normalize("NFKC", text))
    content = []
    for i, (w, orig) in enumerate(toks):
        t = term_of(w)
        if t is not None:
            content.append((t, orig, _DIGIT.search(w) is not None or (i > 0 and orig[0].isupper())))
    return [w for w, _ in toks], content


def make_unit(text: str, start: int = 0, end: int | None = None, paragraph: int = 0) -> Unit:
    """Reduce one sentence to terms, word-trigram shingles, names and numbers."""
    words, content = _analyse(text)
    terms = frozenset(sys.intern(t) for t, _, _ in content)
    names = frozenset(t for t, _, name in content if name and not _DIGIT.search(t))
    numbers = frozenset(t for t, _, _ in content if _DIGIT.search(t))
    if len(words) >= 3:
        shingles = frozenset(_hash(" ".join(words[i:i + 3])) for i in range(len(words) - 2))
    else:
        shingles = frozenset(_hash(w) for w in words)
    return Unit(start, len(text) + start if end is None else end, paragraph,
                _hash(" ".join(words)), terms, shingles, names, numbers)


#: A unit's term weights, their sum and their sum of squares.
Weighted = tuple[dict[str, float], float, float]


def weigh(unit: Unit, weight: Callable[[str], float]) -> Weighted:
    """Term weights of ``unit`` with their sum and sum of squares."""
    w = {t: weight(t) for t in unit.terms}
    return w, sum(w.values()), sum(v * v for v in w.values())


def pair_features(later: Unit, earlier: Unit, weight: Callable[[str], float],
                  weighted: tuple[Weighted, Weighted] | None = None) -> list[float]:
    """Similarity features of ``later`` against ``earlier`` (order: :data:`FEATURES`);
    ``weighted`` passes precomputed :func:`weigh` results for both."""
    (wl, sum_l, sq_l), (we, sum_e, sq_e) = weighted or (weigh(later, weight), weigh(earlier, weight))
    shared = later.terms & earlier.terms
    dot = sum(wl[t] * we[t] for t in shared)
    norm = math.sqrt(sq_l * sq_e)
    sh = len(later.shingles & earlier.shingles)
    sh_union = len(later.shingles) + len(earlier.shingles) - sh
    names = later.names | earlier.names
    nums = later.numbers | earlier.numbers
    return [
        dot / norm if norm else 0.0,
        sum(wl[t] for t in shared) / sum_l if sum_l else 0.0,
        sum(we[t] for t in shared) / sum_e if sum_e else 0.0,
        sh / sh_union if sh_union else 0.0,
        sh / len(later.shingles) if later.shingles else 0.0,
        len(later.names & earlier.names) / len(names) if names else 0.0,
        1.0 if names else 0.0,
        len(later.numbers ^ earlier.numbers) / len(nums) if nums else 0.0,
        math.log((1 + len(later.terms)) / (1 + len(earlier.terms))),
        math.log1p(min(len(later.terms), len(earlier.terms))),
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


@dataclass
class _Match:
    ref: Unit
    prob: float
    tier: int
    in_run: bool = False


class RepetitionDetector(Detector):
    """Scores each paragraph for restating earlier paragraphs of the same document."""

    name = "repetition"
    #: Lexical: works in any language; text in scripts without spaces is cut into
    #: character bigrams. The pair model is calibrated on English STS data.
    languages: ClassVar[frozenset[str] | None] = None

    _cache: ClassVar[dict[str, tuple[Any, dict[str, Any]]]] = {}

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

    # -- scoring -----------------------------------------------------------------------
    def units(self, document: Document) -> list[Unit]:
        """The sentences of every paragraph, in document order."""
        units: list[Unit] = []
        for p in document.paragraphs:
            for s, e in split_sentences(p.text):
                units.append(make_unit(p.text[s:e], p.start + s, p.start + e, p.index))
        return units

    def score(self, document: Document, context: CorpusStats | None = None) -> DetectorResult:
        """Score every paragraph; ``context`` is unused (corpus IDF ships with the model)."""
        n_par = len(document.paragraphs)
        result = DetectorResult.empty(n_par)
        units = self.units(document)
        if len(units) < 2:
            return result
        model = self._model()
        idf = model["idf"]
        n = len(units)
        df: dict[str, int] = defaultdict(int)
        for u in units:
            for t in u.terms:
                df[t] += 1
        log_n = math.log1p(n)
        weights: dict[str, float] = {}

        def weight(t: str) -> float:
            w = weights.get(t)
            if w is None:
                # corpus IDF times within-document IDF: words the whole document repeats
                # say little about which paragraph is restated
                w = float(idf[_hash(t) % IDF_BUCKETS]) * math.log1p(n / df[t]) / log_n
                weights[t] = w
            return w

        matches = self._match(units, df, weight, model["pair_model"])
        self._boost(units, matches)
        return self._paragraph_scores(document, units, matches, weight, model["pair_model"], result)

    def _candidates(self, units: list[Unit], df: dict[str, int],
                    weight: Callable[[str], float]) -> Iterator[tuple[int, list[int]]]:
        """For each unit, the earlier units (other paragraphs) worth scoring, best first,
        from an inverted index over terms seen in at most ``max_postings`` units."""
        postings: dict[str, list[int]] = defaultdict(list)
        by_key: dict[int, int] = {}
        for j, u in enumerate(units):
            acc: dict[int, float] = defaultdict(float)
            hits: dict[int, int] = defaultdict(int)
            for t in u.terms:
                if df[t] > self.max_postings:
                    continue
                w = weight(t)
                plist = postings[t]
                for i in plist:
                    if units[i].paragraph != u.paragraph:
                        acc[i] += w
                        hits[i] += 1
                plist.append(j)
            chosen = sorted((i for i in acc if hits[i] >= 2), key=acc.__getitem__,
                            reverse=True)[:self.max_candidates]
            same = by_key.setdefault(u.key, j)
            if same != j and same not in chosen and units[same].paragraph != u.paragraph:
                chosen.append(same)
            if chosen:
                yield j, chosen

    def _match(self, units: list[Unit], df: dict[str, int], weight: Callable[[str], float],
               pair_model: Any) -> list[list[tuple[int, _Match]]]:
        """Probability that each candidate pair is a restatement; the two best candidates
        are also tried joined with a neighbour (sentences merged by a rewrite). Pairs are
        scored in batches so memory stays bounded."""
        matches: list[list[tuple[int, _Match]]] = [[] for _ in units]
        cache: dict[int, Weighted] = {}

        def weighted(i: int) -> Weighted:
            if i not in cache:
                cache[i] = weigh(units[i], weight)
            return cache[i]

        rows: list[list[float]] = []
        meta: list[tuple[int, int, bool, int]] = []

        def flush() -> None:
            if not rows:
                return
            probs = pair_model.predict_proba(np.asarray(rows, dtype=np.float64))[:, 1]
            best: dict[tuple[int, int], _Match] = {}
            for (j, i, same, tier), p in zip(meta, probs):
                p = max(float(p), 0.99) if same and len(units[j].terms) >= 3 else float(p)
                cur = best.get((j, i))
                if cur is None or p > cur.prob:
                    best[(j, i)] = _Match(units[i], p, tier)
            for (j, i), m in best.items():
                matches[j].append((i, m))
            rows.clear()
            meta.clear()

        for j, chosen in self._candidates(units, df, weight):
            later = units[j]
            wl = weighted(j)
            for rank, i in enumerate(chosen):
                options = [(units[i], weighted(i))]
                if rank < 2:
                    for k in (i - 1, i + 1):
                        if 0 <= k < len(units) and units[k].paragraph < later.paragraph:
                            joined = units[i].join(units[k]) if k > i else units[k].join(units[i])
                            options.append((joined, weigh(joined, weight)))
                for earlier, we in options:
                    feats = pair_features(later, earlier, weight, (wl, we))
                    rows.append(feats)
                    meta.append((j, i, later.key == earlier.key, _tier(later, earlier, feats)))
            if len(rows) >= 4096:
                flush()
        flush()
        return matches

    def _boost(self, units: list[Unit], matches: list[list[tuple[int, _Match]]]) -> None:
        """Raise matches that sit on a diagonal run: neighbouring later sentences restating
        neighbouring earlier sentences in the same order, the earlier run wholly before."""
        if not self.run_bonus:
            return
        boosted: list[list[float]] = []
        for j, cands in enumerate(matches):
            row = []
            for i, m in cands:
                support = 0
                for dj in (-2, -1, 1, 2):
                    k = j + dj
                    if not 0 <= k < len(units) or j - i <= 3:
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
                          matches: list[list[tuple[int, _Match]]], weight: Callable[[str], float],
                          pair_model: Any, result: DetectorResult) -> DetectorResult:
        restated: dict[int, float] = defaultdict(float)
        in_run: dict[int, float] = defaultdict(float)
        total: dict[int, float] = defaultdict(float)
        terms: dict[int, int] = defaultdict(int)
        best: list[tuple[int, _Match] | None] = []
        for j, u in enumerate(units):
            w = float(len(u.terms))
            top = max(matches[j], key=lambda x: x[1].prob, default=None)
            best.append(top)
            total[u.paragraph] += w
            terms[u.paragraph] += len(u.terms)
            if top is not None:
                restated[u.paragraph] += w * top[1].prob
                in_run[u.paragraph] += w * top[1].in_run
        whole = self._whole_paragraphs(units, best, weight, pair_model) if self.paragraph_pass else {}
        for p in document.paragraphs:
            if not total[p.index]:
                continue
            score = max(restated[p.index] / total[p.index], whole.get(p.index, 0.0))
            if in_run[p.index] < total[p.index] / 2:
                # a short line restated on its own is left to the boilerplate detector
                score *= min(1.0, terms[p.index] / self.min_paragraph_terms) ** 2
            result.scores[p.index] = score
            if score >= self.evidence_threshold:
                result.evidence[p.index] = self._evidence(document, units, best, p.index, weight)
        return result

    def _whole_paragraphs(self, units: list[Unit], best: list[tuple[int, _Match] | None],
                          weight: Callable[[str], float], pair_model: Any) -> dict[int, float]:
        """Each paragraph with some matched sentence, compared whole against the earlier
        stretch its sentences point into: catches a rewrite that splits and merges
        sentences differently, where no single sentence pair is convincing. The probability
        is scaled by the share of the paragraph whose sentences found some match."""
        spans: dict[int, list[int]] = defaultdict(list)
        for j, (u, b) in enumerate(zip(units, best)):
            spans[u.paragraph].append(j)
        rows: list[list[float]] = []
        order: list[int] = []
        coverage: dict[int, float] = {}
        for par, members in spans.items():
            refs = [best[j][0] for j in members if best[j] is not None
                    and best[j][1].prob >= self.support_min]
            if not refs:
                continue
            matched = sum(len(units[j].terms) for j in members if best[j] is not None
                          and best[j][1].prob >= self.support_min)
            coverage[par] = matched / max(1, sum(len(units[j].terms) for j in members))
            lo, hi = min(refs), max(refs)
            window = range(lo, hi + 1) if hi - lo < 2 * len(members) + 2 else sorted(set(refs))
            earlier = [units[i] for i in window if units[i].paragraph < par]
            later = units[members[0]]
            for j in members[1:]:
                later = later.join(units[j])
            ref = earlier[0]
            for u in earlier[1:]:
                ref = ref.join(u)
            rows.append(pair_features(later, ref, weight))
            order.append(par)
        if not rows:
            return {}
        probs = pair_model.predict_proba(np.asarray(rows, dtype=np.float64))[:, 1]
        return {par: p * coverage[par] for par, p in zip(order, probs.tolist())}

    def _evidence(self, document: Document, units: list[Unit], best: list[tuple[int, _Match] | None],
                  paragraph: int, weight: Callable[[str], float]) -> list[Evidence]:
        """One item per earlier paragraph restated, strongest first (at most three)."""
        groups: dict[int, list[tuple[Unit, _Match]]] = defaultdict(list)
        for u, b in zip(units, best):
            if u.paragraph == paragraph and b is not None and b[1].prob >= 0.5:
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
