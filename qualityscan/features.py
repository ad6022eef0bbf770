"""Document features for the reliability model: the one definition, used for training and scoring.

Two groups of features:

* per detector (only for detectors that scored the document, so a detector that is not
  registered is simply absent from the vector): the document score, mean, length-weighted
  mean, max and upper quantiles of the paragraph scores, the share of paragraphs and of text
  flagged (score >= :data:`FLAG_THRESHOLD`), the longest run of consecutive flagged
  paragraphs, where the first and last flagged paragraphs sit, and evidence per paragraph;
* of the document itself: length, paragraph count, words per paragraph, share of text in
  short lines (site chrome is short lines), how many capitalised names have a near-identical
  spelling variant elsewhere in the text ("Blinken" / "Brinken": MT name garble), and the
  share of text restating an earlier paragraph (content-term containment);
* of its writing style, which sets machine-written articles apart from reporters' prose
  (:func:`_style_features`): sentence length and its variation ("burstiness", after GPTZero
  and Gehrmann et al. 2019's GLTR observations that model text is more uniform), vocabulary
  variety, and the density of digits, capitalised words, commas, long words and reporting
  verbs ("said", "told": news quotes its sources, models summarise);
* of its edges: whether the first and last lines end like a sentence and how short the
  shortest of the first / last three lines are (site chrome a scraper leaves in sits at the
  top and bottom of the text: "Archives", "Back to top");
* numbers a detector reports about the whole document (``Report.features``, see
  :data:`DETECTOR_SUMMARIES`): the garble detector's language-model, casing and article-rate
  columns summarised over paragraphs (token-weighted mean, 10th percentile, spread), which
  tell translated and machine-written prose from human prose better than paragraph scores.

No feature looks at quote or apostrophe style (a known shortcut in the MT data).
Change :data:`FEATURE_VERSION` whenever a definition changes: a model records it and is
refused when it differs.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

import numpy as np

from qualityscan.detectors.garble import GarbleDetector
from qualityscan.document import DETECTOR_NAMES, Report

FEATURE_VERSION = 3
#: A paragraph counts as flagged by a detector at or above this score.
FLAG_THRESHOLD = 0.5
#: Lines with fewer words than this are "short" (menus, buttons, bylines, captions).
SHORT_LINE_WORDS = 8
#: A paragraph "restates" earlier text when this share of its content terms occurs in two
#: neighbouring earlier paragraphs.
RESTATED_CONTAINMENT = 0.6
_MIN_RESTATE_TERMS = 8
_MAX_NAMES = 400
#: Extra rare terms probed per paragraph in :func:`_restated`; a window must share this many
#: of them to be compared (more probing, fewer comparisons).
_PREFIX_SLACK = 3
#: Paragraphs this close to the start are compared with every earlier window directly.
_DIRECT_WINDOWS = 24
#: A paragraph is compared with the windows starting at most this many paragraphs earlier, so
#: a huge document costs time in proportion to its length. No document of the labelled
#: training set has more than 1,723 paragraphs, so none of its values depends on the reach.
RESTATED_REACH = 5_000

PER_DETECTOR: tuple[str, ...] = (
    "doc", "mean", "wmean", "max", "q75", "q90", "share_flagged", "text_share_flagged",
    "longest_run", "longest_run_share", "first_flag_pos", "last_flag_pos", "evidence_per_paragraph",
)
DOCUMENT: tuple[str, ...] = (
    "log_chars", "log_paragraphs", "log_words_per_paragraph", "short_line_share",
    "short_line_text_share", "name_variants", "name_variant_share", "restated_share",
    "max_restated_containment",
    "log_words_per_sentence", "sentence_length_variation", "type_token_ratio_100", "digit_share",
    "capitalised_share", "commas_per_word", "chars_per_word", "reporting_verbs_per_word",
    "first_line_terminal", "last_line_terminal", "log_last_line_words", "head_unterminated_share",
    "tail_unterminated_share", "log_head_min_words", "log_tail_min_words",
)
#: Document-level numbers each detector reports in ``DetectorResult.features`` (carried on
#: ``Report.features`` as ``<detector>_<name>``) that the model reads.
DETECTOR_SUMMARIES: dict[str, tuple[str, ...]] = {"garble": GarbleDetector.summary_names()}
#: Lines at each end of a document looked at by the edge features.
EDGE_LINES = 3
#: Endings of a line that closes a sentence (quotes and brackets may follow the stop).
_TERMINAL = tuple(".!?:;\"')\u201d\u2019")
#: Style features read at most this many characters of a document.
STYLE_CHARS = 20_000
#: A sentence break: the stop, closing quotes or brackets, white space, then what can open a
#: sentence. Splitting on it drops the stop too, which changes no sentence's word count (and
#: a pattern that starts with the stop is found much faster than one that looks back for it).
_SENTENCE_BREAK = re.compile(r"[.!?][\"')\]\u201d\u2019]*\s+(?=[\"'(\[\u201c\u2018]?[A-Z0-9])")
_REPORTING = frozenset({"said", "says", "told", "according"})

_WORD = re.compile(r"\w+", re.UNICODE)
#: A capitalised word (``\b[A-Z][a-z]{3,}\b``, written to start with the capital, which
#: the regex engine finds faster than a word boundary).
_NAME = re.compile(r"[A-Z](?<!\w[A-Z])[a-z]{3,}(?!\w)")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_STOP = frozenset({
    "that", "this", "with", "from", "have", "were", "they", "their", "there", "which", "would",
    "about", "been", "will", "into", "also", "than", "then", "them", "these", "those", "what", "when",
    "where", "while", "your", "more", "most", "other", "some", "such", "only", "over", "after",
    "before", "said", "says", "could", "should", "just", "like", "very", "many", "much", "being",
    "because",
})


def _ordered(detectors: Iterable[str]) -> list[str]:
    names = set(detectors)
    return [d for d in DETECTOR_NAMES if d in names] + sorted(names - set(DETECTOR_NAMES))


def feature_names(detectors: Iterable[str]) -> list[str]:
    """The feature vector's names, in order, for documents scored by ``detectors``."""
    return [f"{d}_{f}" for d in _ordered(detectors) for f in PER_DETECTOR + DETECTOR_SUMMARIES.get(d, ())] \
        + [f"doc_{f}" for f in DOCUMENT]


#: The full vector when every known detector is registered.
FEATURE_NAMES: tuple[str, ...] = tuple(feature_names(DETECTOR_NAMES))


def document_features(report: Report) -> dict[str, float]:
    """Named features of a scored document (detectors absent from ``report.scores`` are left out)."""
    paragraphs = report.document.paragraphs
    texts = [p.text for p in paragraphs]
    lengths = np.array([len(t) for t in texts], dtype=float)
    total = float(sum(map(len, texts))) or 1.0  # lengths.sum(): a sum of whole numbers is exact
    scores = [p.scores for p in paragraphs]
    evidence = Counter(e.detector for p in paragraphs for e in p.evidence)
    out: dict[str, float] = {}
    for name in _ordered(report.scores):
        keys, summaries = _detector_keys(name)
        out.update(zip(keys, _detector_features(float(report.scores[name]), [s.get(name, 0.0) for s in scores],
                                                lengths, total, evidence[name])))
        out.update((k, report.features[k]) for k in summaries if k in report.features)
    out.update(zip(_DOCUMENT_KEYS, _text_features(texts)))
    return out


@functools.lru_cache(maxsize=64)
def _detector_keys(name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Feature names of detector ``name``: its :data:`PER_DETECTOR` and summary features."""
    return (tuple(f"{name}_{k}" for k in PER_DETECTOR),
            tuple(f"{name}_{k}" for k in DETECTOR_SUMMARIES.get(name, ())))


_DOCUMENT_KEYS = tuple(f"doc_{k}" for k in DOCUMENT)


def vector(features: dict[str, float], names: Sequence[str]) -> list[float]:
    """``features`` as a list in the order of ``names``; KeyError names what is missing."""
    missing = [n for n in names if n not in features]
    if missing:
        raise KeyError(f"features missing: {', '.join(missing[:8])}{' ...' if len(missing) > 8 else ''}")
    return [float(features[n]) for n in names]


def _detector_features(doc_score: float, values: list[float], lengths: np.ndarray, total: float,
                       evidence: int) -> list[float]:
    """:data:`PER_DETECTOR` of one detector's paragraph scores ``values``; ``lengths`` are
    the paragraphs' lengths, ``total`` their sum (1.0 if 0)."""
    n = len(values)
    if n == 0:
        return [doc_score] + [0.0] * 9 + [1.0, 0.0, 0.0]
    scores = np.array(values, dtype=float)
    flagged = scores >= FLAG_THRESHOLD
    marks = flagged.tobytes()  # one byte per paragraph: 1 flagged, 0 not
    count = marks.count(1)
    longest = max(map(len, marks.split(b"\0")))
    ordered = sorted(values)
    # flag counts, positions and flagged lengths are whole numbers: plain division gives
    # exactly what numpy's mean and float division give
    return [
        doc_score,
        float(scores.sum()) / n,  # scores.mean(): numpy's sum, divided by the count
        float((scores * lengths).sum() / total),
        float(ordered[-1]),
        _quantile(ordered, 0.75),
        _quantile(ordered, 0.9),
        count / n,
        float(lengths[flagged].sum()) / total if count else 0.0,
        math.log1p(longest),
        longest / n,
        marks.find(1) / max(1, n - 1) if count else 1.0,
        marks.rfind(1) / max(1, n - 1) if count else 0.0,
        evidence / n,
    ]


def _quantile(ordered: list[float], q: float) -> float:
    """``numpy.quantile(values, q)`` (default "linear" method) of sorted floats, with
    numpy's arithmetic step for step so the value is bit-identical, without its per-call
    overhead (it dominated this module on short documents)."""
    n = len(ordered)
    virtual = (n - 1) * q
    if virtual >= n - 1:
        return float(ordered[-1])
    i = math.floor(virtual)
    gamma = virtual - i
    below, above = float(ordered[i]), float(ordered[i + 1])
    diff = above - below
    return above - diff * (1 - gamma) if gamma >= 0.5 else below + diff * gamma


def _text_features(texts: list[str]) -> list[float]:
    n = len(texts)
    tokens = [_tokens(t) for t in texts]
    words = [count for count, _ in tokens]
    chars = sum(map(len, texts))
    short = [w < SHORT_LINE_WORDS for w in words]
    short_chars = sum(len(t) for t, s in zip(texts, short) if s)
    variants, distinct = _name_variants(texts)
    restated, max_containment = _restated(texts, [terms for _, terms in tokens])
    return [
        math.log1p(chars),
        math.log1p(n),
        math.log1p(sum(words) / n) if n else 0.0,
        sum(short) / n if n else 0.0,
        short_chars / chars if chars else 0.0,
        math.log1p(variants),
        variants / distinct if distinct else 0.0,
        restated,
        max_containment,
        *_style_features("\n".join(texts)),
        *_edge_features(texts, words),
    ]


def _edge_features(texts: list[str], words: list[int]) -> list[float]:
    """Whether the first / last line ends a sentence, the last line's length (log words), the
    share of the first / last :data:`EDGE_LINES` lines not ending a sentence and the length of
    the shortest of them (log words)."""
    if not texts:
        return [0.0] * 7
    head, tail = slice(0, EDGE_LINES), slice(-EDGE_LINES, None)
    first, last = ([t.strip().endswith(_TERMINAL) for t in texts[edge]] for edge in (head, tail))
    return [
        float(first[0]),
        float(last[-1]),
        math.log1p(words[-1]),
        1.0 - sum(first) / len(first),
        1.0 - sum(last) / len(last),
        math.log1p(min(words[head])),
        math.log1p(min(words[tail])),
    ]


def _style_features(text: str) -> list[float]:
    """Sentence-length mean (log) and coefficient of variation, type/token ratio of the first
    100 words, and per-character / per-word densities of digits, capitalised words, commas,
    word length and reporting verbs, over the first :data:`STYLE_CHARS` characters."""
    text = text[:STYLE_CHARS]
    # no word spans a sentence break, so the sentences' words are the text's words
    sentences = [_WORD.findall(s) for s in _SENTENCE_BREAK.split(text)]
    words = list(itertools.chain.from_iterable(sentences))
    if not words:
        return [0.0] * 8
    n = len(words)
    lengths = [k for k in map(len, sentences) if k] or [n]
    mean = sum(lengths) / len(lengths)
    spread = math.sqrt(sum((k - mean) ** 2 for k in lengths) / len(lengths))
    head = [w.casefold() for w in words[:100]]
    counts = Counter(words)  # each distinct word is tested once
    return [
        math.log1p(mean),
        spread / mean,
        len(set(head)) / len(head),
        _digits(text) / len(text),
        sum(k for w, k in counts.items() if w[0].isupper()) / n,
        text.count(",") / n,
        sum(map(len, words)) / n,
        sum(k for w, k in counts.items() if w.casefold() in _REPORTING) / n,
    ]


def _digits(text: str) -> int:
    """``sum(map(str.isdigit, text))``: ASCII digits counted in the UTF-8 bytes (every byte
    of a multi-byte character is >= 0x80), other characters one by one."""
    data = text.encode("utf-8", "surrogatepass")
    count = len(data) - len(data.translate(None, b"0123456789"))
    if not text.isascii():
        count += sum(map(str.isdigit, "".join(_NON_ASCII.findall(text))))
    return count


def _name_variants(texts: list[str]) -> tuple[int, int]:
    """Capitalised words with a one- or two-letter spelling variant in the same text.

    Words that differ only in their ending (inflections of one stem: "Korea", "Korean",
    "Koreas") do not count. Returns (names having a variant, distinct names considered).
    """
    from rapidfuzz.distance import Levenshtein
    from rapidfuzz.process import cdist

    counts = Counter(_NAME.findall("\n".join(texts)))
    names = [w for w, _ in counts.most_common(_MAX_NAMES)]
    if len(names) < 2:
        return 0, len(names)
    by_length: dict[int, list[str]] = {}
    for name in names:
        by_length.setdefault(len(name), []).append(name)
    involved: set[str] = set()
    for length, shorter in by_length.items():
        # the shorter name of a pair sets the edits allowed, and k edits change the length by
        # at most k: compare it only with names as long or up to `limit` letters longer
        limit = 1 if length < 8 else 2
        longer = list(itertools.chain.from_iterable(by_length.get(length + k, ()) for k in range(limit + 1)))
        if len(longer) < 2:
            continue
        dist = cdist(shorter, longer, scorer=Levenshtein.distance, score_cutoff=limit, dtype=np.int8, workers=1)
        for i, j in zip(*np.nonzero((dist > 0) & (dist <= limit))):
            a, b = shorter[i], longer[j]
            if len(os.path.commonprefix([a, b])) < length - 1:  # not inflections of one stem:
                involved.update((a, b))                       # Korea/Korean, America/Americans
    return len(involved), len(names)


def _tokens(text: str) -> tuple[int, set[str]]:
    """Number of words of ``text``, and its content terms (first six letters of the lower-cased
    words of four or more characters, stop words and numbers left out)."""
    lowered = text.lower()
    if len(lowered) == len(text):
        # lower-casing mapped each character to one: same word runs, one regex pass
        words = _WORD.findall(lowered)
        return len(words), {w[:6] for w in words if len(w) >= 4 and w not in _STOP and not w.isdigit()}
    return len(_WORD.findall(text)), {w[:6] for w in _WORD.findall(lowered)
                                      if len(w) >= 4 and w not in _STOP and not w.isdigit()}


def _restated(texts: list[str], terms: list[set[str]]) -> tuple[float, float]:
    """Share of text in paragraphs whose content terms mostly occur in two neighbouring
    earlier paragraphs, and the highest such containment.

    Window ``j`` is paragraph ``j`` with its successor (a restatement may merge two
    paragraphs); for paragraph ``i`` the window just before it is paragraph ``i - 1`` alone.
    Only windows that could change a result are compared, found by prefix filtering as in
    the AllPairs / PPJoin set-similarity joins (Bayardo et al. 2007, Xiao et al. 2008): a
    window holding ``k`` of paragraph ``i``'s ``m`` terms holds at least ``k - (m - L)`` of
    its ``L`` rarest terms. ``k`` is the fewest shared terms that can still matter (the
    restatement threshold, or the best containment so far if lower), so the values are
    exactly those of comparing every pair, at near-linear cost. ``terms`` are the
    paragraphs' content terms (:func:`_tokens`). Windows are looked for at most
    :data:`RESTATED_REACH` paragraphs back.
    """
    df = Counter(itertools.chain.from_iterable(terms))
    indexed = len(terms) > _DIRECT_WINDOWS + 1  # short documents compare every window
    windows: list[set[str]] = []  # windows[j] = terms[j] | terms[j + 1]
    # term -> windows holding it (repeats are harmless); a term of one paragraph links none
    postings: defaultdict[str, list[int]] = defaultdict(list)
    repeated = {t for t, c in df.items() if c > 1} if indexed else set()
    total = sum(len(t) for t in texts) or 1
    restated_chars = 0
    best_overall = 0.0
    for i, mine in enumerate(terms):
        m = len(mine)
        if i and m >= _MIN_RESTATE_TERMS:
            candidates: Iterable[int] = range(max(0, i - RESTATED_REACH), i)
            if i > _DIRECT_WINDOWS:
                # fewest shared terms worth finding (one less, against rounding)
                need = max(1, math.floor(min(RESTATED_CONTAINMENT, best_overall) * m) - 1)
                prefix = min(m, m - need + _PREFIX_SLACK)
                probe = sorted(mine)
                probe.sort(key=df.__getitem__)  # rarest first, ties by term
                lo = i - RESTATED_REACH
                hits = Counter(itertools.chain.from_iterable(
                    postings[t] if lo <= 0 or postings[t][0] >= lo else postings[t][bisect.bisect_left(postings[t], lo):]
                    for t in probe[:prefix] if t in postings))
                least = need - (m - prefix)
                candidates = [j for j, h in hits.items() if h >= least]
            best = 0.0
            for j in candidates:
                window = windows[j] if j + 1 < i else terms[j]
                if len(window) >= 3:
                    best = max(best, len(mine & window) / m)
            best_overall = max(best_overall, best)
            if best >= RESTATED_CONTAINMENT:
                restated_chars += len(texts[i])
        if i:
            windows.append(terms[i - 1] | mine)
        if indexed:
            holding = (i - 1, i) if i else (i,)
            for t in mine & repeated:
                postings[t].extend(holding)
    return restated_chars / total, best_overall
