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
  share of text restating an earlier paragraph (content-term containment).

No feature looks at quote or apostrophe style (a known shortcut in the MT data).
Change :data:`FEATURE_VERSION` whenever a definition changes: a model records it and is
refused when it differs.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Sequence

import numpy as np

from qualityscan.document import DETECTOR_NAMES, Report

FEATURE_VERSION = 1
#: A paragraph counts as flagged by a detector at or above this score.
FLAG_THRESHOLD = 0.5
#: Lines with fewer words than this are "short" (menus, buttons, bylines, captions).
SHORT_LINE_WORDS = 8
#: A paragraph "restates" earlier text when this share of its content terms occurs in two
#: neighbouring earlier paragraphs.
RESTATED_CONTAINMENT = 0.6
_MIN_RESTATE_TERMS = 8
_MAX_NAMES = 400

PER_DETECTOR: tuple[str, ...] = (
    "doc", "mean", "wmean", "max", "q75", "q90", "share_flagged", "text_share_flagged",
    "longest_run", "longest_run_share", "first_flag_pos", "last_flag_pos", "evidence_per_paragraph",
)
DOCUMENT: tuple[str, ...] = (
    "log_chars", "log_paragraphs", "log_words_per_paragraph", "short_line_share",
    "short_line_text_share", "name_variants", "name_variant_share", "restated_share",
    "max_restated_containment",
)

_WORD = re.compile(r"\w+", re.UNICODE)
_NAME = re.compile(r"\b[A-Z][a-z]{3,}\b")
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
    return [f"{d}_{f}" for d in _ordered(detectors) for f in PER_DETECTOR] + [f"doc_{f}" for f in DOCUMENT]


#: The full vector when every known detector is registered.
FEATURE_NAMES: tuple[str, ...] = tuple(feature_names(DETECTOR_NAMES))


def document_features(report: Report) -> dict[str, float]:
    """Named features of a scored document (detectors absent from ``report.scores`` are left out)."""
    paragraphs = report.document.paragraphs
    lengths = np.array([len(p.text) for p in paragraphs], dtype=float)
    out: dict[str, float] = {}
    for name in _ordered(report.scores):
        scores = np.array([p.scores.get(name, 0.0) for p in paragraphs], dtype=float)
        evidence = sum(1 for p in paragraphs for e in p.evidence if e.detector == name)
        values = _detector_features(float(report.scores[name]), scores, lengths, evidence)
        out.update({f"{name}_{k}": v for k, v in zip(PER_DETECTOR, values)})
    out.update({f"doc_{k}": v for k, v in zip(DOCUMENT, _text_features([p.text for p in paragraphs]))})
    return out


def vector(features: dict[str, float], names: Sequence[str]) -> list[float]:
    """``features`` as a list in the order of ``names``; KeyError names what is missing."""
    missing = [n for n in names if n not in features]
    if missing:
        raise KeyError(f"features missing: {', '.join(missing[:8])}{' ...' if len(missing) > 8 else ''}")
    return [float(features[n]) for n in names]


def _detector_features(doc_score: float, scores: np.ndarray, lengths: np.ndarray, evidence: int) -> list[float]:
    n = len(scores)
    if n == 0:
        return [doc_score] + [0.0] * 9 + [1.0, 0.0, 0.0]
    flagged = scores >= FLAG_THRESHOLD
    total = lengths.sum() or 1.0
    longest = run = 0
    for f in flagged:
        run = run + 1 if f else 0
        longest = max(longest, run)
    positions = np.flatnonzero(flagged) / max(1, n - 1)
    return [
        doc_score,
        float(scores.mean()),
        float((scores * lengths).sum() / total),
        float(scores.max()),
        float(np.quantile(scores, 0.75)),
        float(np.quantile(scores, 0.9)),
        float(flagged.mean()),
        float(lengths[flagged].sum() / total),
        math.log1p(longest),
        longest / n,
        float(positions[0]) if len(positions) else 1.0,
        float(positions[-1]) if len(positions) else 0.0,
        evidence / n,
    ]


def _text_features(texts: list[str]) -> list[float]:
    n = len(texts)
    words = [len(_WORD.findall(t)) for t in texts]
    chars = sum(len(t) for t in texts)
    short = [w < SHORT_LINE_WORDS for w in words]
    short_chars = sum(len(t) for t, s in zip(texts, short) if s)
    variants, distinct = _name_variants(texts)
    restated, max_containment = _restated(texts)
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
    ]


def _name_variants(texts: list[str]) -> tuple[int, int]:
    """Capitalised words with a one- or two-letter spelling variant in the same text.

    Words that differ only in their ending (inflections of one stem: "Korea", "Korean",
    "Koreas") do not count. Returns (names having a variant, distinct names considered).
    """
    from collections import Counter

    from rapidfuzz.distance import Levenshtein
    from rapidfuzz.process import cdist

    counts = Counter(m.group() for t in texts for m in _NAME.finditer(t))
    names = [w for w, _ in counts.most_common(_MAX_NAMES)]
    if len(names) < 2:
        return 0, len(names)
    dist = cdist(names, names, scorer=Levenshtein.distance, score_cutoff=2, dtype=np.int8, workers=1)
    involved: set[int] = set()
    for i, j in zip(*np.nonzero((dist > 0) & (dist <= 2))):
        if i >= j:
            continue
        a, b = names[i], names[j]
        limit = 1 if min(len(a), len(b)) < 8 else 2
        if dist[i, j] > limit or len(os.path.commonprefix([a, b])) >= min(len(a), len(b)) - 1:
            continue  # inflections of one stem: Korea/Korean/Koreas, America/Americans
        involved.update((i, j))
    return len(involved), len(names)


def _terms(text: str) -> set[str]:
    return {w[:6] for w in _WORD.findall(text.lower()) if len(w) >= 4 and not w.isdigit() and w not in _STOP}


def _restated(texts: list[str]) -> tuple[float, float]:
    """Share of text in paragraphs whose content terms mostly occur in two neighbouring
    earlier paragraphs, and the highest such containment."""
    terms = [_terms(t) for t in texts]
    # window j = paragraph j with its successor (a restatement may merge two paragraphs)
    windows = [terms[j] | terms[j + 1] if j + 1 < len(terms) else terms[j] for j in range(len(terms))]
    total = sum(len(t) for t in texts) or 1
    restated_chars = 0
    best_overall = 0.0
    for i in range(1, len(texts)):
        mine = terms[i]
        if len(mine) < _MIN_RESTATE_TERMS:
            continue
        best = 0.0
        for j in range(i):
            window = windows[j] if j + 1 < i else terms[j]
            if len(window) >= 3:
                best = max(best, len(mine & window) / len(mine))
        best_overall = max(best_overall, best)
        if best >= RESTATED_CONTAINMENT:
            restated_chars += len(texts[i])
    return restated_chars / total, best_overall
