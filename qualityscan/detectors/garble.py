"""Garble: the damage machine translation and round-trip translation leave in English text.

Every paragraph is turned into a vector of checkable features and a gradient-boosted tree model
(trained by ``scripts/train_garble.py``, shipped as ``models/garble.joblib`` with the language
models below) maps it to 0..1.
Feature families:

* **n-gram language models** fitted on human-written English (see the model metadata for the
  sources): a word trigram model, a function-word 5-gram model (content words reduced to their
  shape, so it sees word *order* rather than topic) and a character 5-gram model inside words.
  Each gives the paragraph's mean log-probability and its least probable window.
* **name consistency** across the document: capitalised name mentions are clustered by edit
  distance and by a loose sound code; a paragraph spelling a person or place differently from
  the rest of the document ("Brinken" beside "Blinken", "Blink He" beside "Blinken") is
  flagged with the paragraph where the main spelling appears.
* **glued words** ("Kongas" = "Kong" + "as", "May.Meanwhile"), **casing anomalies** (a
  sentence starting in lower case, a common word capitalised mid-sentence, a proper noun in
  lower case such as "america"), **stray punctuation** (". .", an unpaired quote
  mark), article/preposition rates and repeated phrases.
* a **stacked lexical score**: a logistic regression over hashed character n-grams, fitted
  out-of-fold on the classifier's training rows (it carries word choice, not evidence).

Batches: :meth:`GarbleDetector.score_many` runs each language model once over all the
paragraphs of a batch of documents and calls the classifier once; every value still depends
on its own paragraph / document only.

Curly quotes and dashes are folded to ASCII before any feature is computed: human
translations in the training data use curly quotes far more often than MT does, and a model
must not learn typography instead of garble.

An optional LanguageTool server (``languagetool_url`` or ``QUALITYSCAN_LANGUAGETOOL_URL``)
adds its grammar matches as evidence; the shipped model never depends on it (see
``docs/evaluation/garble.md``).
"""

from __future__ import annotations

import functools
import itertools
import math
import os
import re
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from rapidfuzz.distance import Levenshtein
from rapidfuzz.process import cdist
from scipy import sparse
from sklearn.preprocessing import normalize
from threadpoolctl import ThreadpoolController

from qualityscan.detectors.base import Detector, DetectorResult, length_weighted_mean
from qualityscan.document import Document, Evidence, Paragraph
from qualityscan.model import load_model, shipped_model_path

if TYPE_CHECKING:
    from qualityscan.corpus import CorpusStats

# --------------------------------------------------------------------------------------------
# Text normalisation and tokens
# --------------------------------------------------------------------------------------------

#: One-to-one character folds (offsets stay valid): typographic quotes and dashes to ASCII.
_FOLD = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2033": '"', "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u00a0": " ",
})

_TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*|\d+(?:[.,:]\d+)*|[^\w\s]")
_SENT_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+")
_ABBREV = re.compile(
    r"(?:\b[A-Za-z]\.|\b(?:Mr|Mrs|Ms|Dr|St|Jr|Sr|No|vs|Gen|Gov|Sen|Rep|Col|Lt|Sgt|Capt|Prof|Inc|Co|"
    r"Corp|Ltd|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|etc|al|approx|Fig|Vol|Rev)\.)$")
_DOT_GLUE = re.compile(r"(?<![\w./@])([A-Za-z][a-z]+)([.!?;,])([A-Z][a-z]+)")
_CAMEL_GLUE = re.compile(r"\b[a-z]{3,}[A-Z][a-z]{2,}\b")
_QUOTE_REOPEN = re.compile(r'^\s*"|[.!?:]\s+"[A-Z]')
_STRAY = re.compile(r"[.,;:]\s+[.,;:](?!\.)|\s[.,;:](?=\s|$)|,,|\(\s*\)")

FUNCTION_WORDS: frozenset[str] = frozenset(["a", "an", "the", "this", "that", "these", "those", "some", "any", "no", "every", "each", "either", "neither", "all", "both", "half", "several", "many", "much", "more", "most", "few", "fewer", "less", "least", "other", "another", "such", "what", "which", "who", "whom", "whose", "i", "me", "my", "mine", "we", "us", "our", "ours", "you", "your", "yours", "he", "him", "his", "she", "her", "hers", "it", "its", "they", "them", "their", "theirs", "myself", "yourself", "himself", "herself", "itself", "ourselves", "themselves", "one", "ones", "of", "in", "on", "at", "by", "for", "with", "about", "against", "between", "into", "through", "during", "before", "after", "above", "below", "to", "from", "up", "down", "out", "off", "over", "under", "again", "further", "then", "once", "here", "there", "when", "where", "why", "how", "as", "until", "while", "since", "than", "because", "although", "though", "unless", "if", "whether", "so", "nor", "or", "and", "but", "yet", "not", "only", "also", "very", "too", "just", "even", "still", "already", "ever", "never", "always", "often", "is", "are", "was", "were", "be", "been", "being", "am", "have", "has", "had", "having", "do", "does", "did", "doing", "will", "would", "shall", "should", "can", "could", "may", "might", "must", "ought", "'s", "'t"])
ARTICLES = frozenset({"a", "an", "the"})
PREPOSITIONS = frozenset(["of", "in", "on", "at", "by", "for", "with", "about", "against", "between", "into", "through", "during", "before", "after", "above", "below", "to", "from", "over", "under"])
#: Endings that make two spellings of a name forms of one word ("Russia"/"Russian").
_INFLECTIONS = ("s", "es", "n", "an", "ian", "ese", "ns", "ans", "ians", "i", "is")

BOS, EOS, UNK, CAP, NUM, LOW = "<s>", "</s>", "<unk>", "<cap>", "<num>", "<low>"


def fold(text: str) -> str:
    """Typographic quotes/dashes to ASCII, keeping every character offset."""
    return text.translate(_FOLD)


class Token:
    """A token of a folded paragraph; offsets index into the paragraph."""

    __slots__ = ("capitalised", "end", "initial", "is_word", "start", "text")

    def __init__(self, text: str, start: int, end: int, initial: bool) -> None:
        self.text = text
        self.start = start
        self.end = end
        self.initial = initial  # first word of a sentence (or after an opening quote / colon)
        first = text[:1]
        self.is_word = first.isalpha()
        self.capitalised = first.isupper()

    def __repr__(self) -> str:
        return f"Token({self.text!r}, {self.start}, {self.end}, {self.initial})"


def sentence_bounds(text: str) -> list[int]:
    """End offsets of the sentences of ``text`` (abbreviations such as "U.S." or "Mr." do not
    end a sentence)."""
    bounds = [m.end() for m in _SENT_END.finditer(text) if not _ABBREV.search(text, 0, m.start())]
    return bounds + [len(text)]


def tokenize(text: str) -> list[list[Token]]:
    """Sentences of tokens of a folded paragraph; offsets index into ``text``."""
    sentences: list[list[Token]] = []
    pos = 0
    bounds = sentence_bounds(text)
    for end in bounds:
        tokens: list[Token] = []
        initial = True
        for m in _TOKEN.finditer(text, pos, end):
            t = m.group()
            c = t[0]
            is_word = c.isalpha()
            start, stop = m.span()
            tokens.append(Token(t, start, stop, initial and is_word))
            if is_word or c.isdigit():
                initial = False
            elif t in "\":(-":
                initial = True
        if tokens:
            sentences.append(tokens)
        pos = end
    return sentences


# --------------------------------------------------------------------------------------------
# n-gram language model on sorted integer keys
# --------------------------------------------------------------------------------------------


class NGramLM:
    """Interpolated absolute-discounting n-gram model (Ney, Essen & Kneser 1994) stored as
    sorted ``int64`` n-gram keys, so scoring a paragraph is a few vectorised binary searches.

    ``state`` holds plain arrays only (it is what the model file stores).
    """

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state
        self.order: int = state["order"]
        self.vocab: list[str] = state["vocab"]
        self.index = {w: i for i, w in enumerate(self.vocab)}
        self.base = len(self.vocab)
        self.unigram: np.ndarray = state["unigram"]  # log2 probabilities

    @classmethod
    def fit(cls, sequences: Iterable[Sequence[str]], vocab: Sequence[str], order: int,
            min_count: int = 2) -> NGramLM:
        """Count n-grams of token sequences (already mapped into ``vocab``) and smooth them."""
        index = {w: i for i, w in enumerate(vocab)}
        base = len(vocab)
        if base ** order >= 2 ** 62:
            raise ValueError(f"vocabulary of {base} too large for order {order}")
        bos = index[BOS]
        streams = []
        for seq in sequences:
            ids = [bos] * (order - 1) + [index[t] for t in seq] + [index[EOS]]
            streams.append(np.asarray(ids, dtype=np.int64))
        uni = np.bincount(np.concatenate([s[order - 1:] for s in streams]), minlength=base)
        state: dict[str, Any] = {
            "order": order, "vocab": list(vocab),
            "unigram": np.log2((uni + 0.5) / (uni.sum() + 0.5 * base)).astype(np.float32),
        }
        for n in range(2, order + 1):
            keys = np.concatenate([_keys(s, n, base, order) for s in streams])
            uniq, counts = np.unique(keys, return_counts=True)
            n1, n2 = (counts == 1).sum(), (counts == 2).sum()
            discount = float(n1 / (n1 + 2 * n2)) if n1 + n2 else 0.5
            ctx = uniq // base
            ctx_keys, ctx_start = np.unique(ctx, return_index=True)
            ctx_total = np.add.reduceat(counts, ctx_start)
            ctx_types = np.diff(np.append(ctx_start, len(ctx)))
            keep = counts >= min_count
            state[f"keys{n}"] = uniq[keep]
            state[f"counts{n}"] = counts[keep].astype(np.int32)
            state[f"ctx{n}"] = ctx_keys
            state[f"ctx_total{n}"] = ctx_total.astype(np.int32)
            state[f"ctx_types{n}"] = ctx_types.astype(np.int32)
            state[f"discount{n}"] = discount
        return cls(state)

    def logprob(self, tokens: Sequence[str]) -> np.ndarray:
        """log2 P of each token (and of the final end-of-sequence) given its history."""
        return self.logprob_many([tokens])[0]

    def logprob_many(self, sequences: Sequence[Sequence[str]]) -> list[np.ndarray]:
        """:meth:`logprob` of several sequences in one vectorised pass."""
        lp, lengths = self.logprob_flat(sequences)
        return np.split(lp, np.cumsum(lengths)[:-1])

    def logprob_flat(self, sequences: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
        """All log-probabilities of :meth:`logprob_many` in one array, and each sequence's length."""
        pad = self.order - 1
        get, unk, bos, eos = self.index.get, self.index[UNK], self.index[BOS], self.index[EOS]
        padding, unks = [bos] * pad, itertools.repeat(unk)
        ids_list: list[int] = []
        for seq in sequences:
            ids_list.extend(padding)
            ids_list.extend(map(get, seq, unks))
            ids_list.append(eos)
        ids = np.asarray(ids_list, dtype=np.int64)
        lengths = np.fromiter((len(seq) + 1 for seq in sequences), dtype=np.int64, count=len(sequences))
        # scored positions: every token and end of sequence, not the padding before them
        pos = np.repeat(_starts(lengths + pad) + pad - _starts(lengths), lengths) + np.arange(lengths.sum())
        words = ids[pos]
        p = np.exp2(self.unigram[words].astype(np.float64))
        ctx = np.zeros(len(words), dtype=np.int64)
        for n in range(2, self.order + 1):
            ctx = ctx + ids[pos - (n - 1)] * self.base ** (n - 2)  # history grows to the left
            keys = self.state[f"ctx{n}"]
            at, found = _find(keys, ctx)
            total = np.where(found, self.state[f"ctx_total{n}"][at], 0)
            types = np.where(found, self.state[f"ctx_types{n}"][at], 0)
            at2, hit = _find(self.state[f"keys{n}"], ctx * self.base + words)
            count = np.where(hit, self.state[f"counts{n}"][at2], 0)
            d = self.state[f"discount{n}"]
            with np.errstate(divide="ignore", invalid="ignore"):
                higher = (np.maximum(count - d, 0) + d * types * p) / total
            p = np.where(found, higher, p)
        return np.log2(np.maximum(p, 1e-30)), lengths


def _keys(ids: np.ndarray, n: int, base: int, order: int) -> np.ndarray:
    start = order - n  # skip surplus padding for lower orders
    seq = ids[start:]
    key = np.zeros(len(seq) - n + 1, dtype=np.int64)
    for j in range(n):
        key = key * base + seq[j: len(seq) - n + 1 + j]
    return key


def _find(keys: np.ndarray, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of ``query`` in sorted ``keys`` and whether each was found."""
    if len(keys) == 0:
        return np.zeros(len(query), dtype=np.int64), np.zeros(len(query), dtype=bool)
    at = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
    return at, keys[at] == query


# --------------------------------------------------------------------------------------------
# Token views for the three language models
# --------------------------------------------------------------------------------------------


def _shape(token: Token, lower_tag: str) -> str:
    """A word outside the kept vocabulary reduced to its shape: number, capitalised, or ``lower_tag``."""
    if token.text[0].isdigit():
        return NUM
    if token.capitalised and not token.initial:
        return CAP
    return lower_tag


def word_view(sentence: Sequence[Token], vocab: dict[str, int] | set[str]) -> list[str]:
    """Lower-cased words in the vocabulary; others reduced to their shape."""
    return [t.text.lower() if t.text.lower() in vocab else _shape(t, UNK) for t in sentence]


def function_view(sentence: Sequence[Token]) -> list[str]:
    """Function words and punctuation kept; content words reduced to ``<cap>``/``<low>``."""
    out = []
    for t in sentence:
        low = t.text.lower()
        keep = low in FUNCTION_WORDS or not (t.is_word or t.text[0].isdigit())
        out.append(low if keep else _shape(t, LOW))
    return out


def char_view(word: str) -> list[str]:
    return list(word.lower())


# --------------------------------------------------------------------------------------------
# Features
# --------------------------------------------------------------------------------------------

FEATURES: tuple[str, ...] = (
    "log_tokens", "word_lp_mean", "word_lp_worst3", "word_surprising", "oov_rate",
    "fw_lp_mean", "fw_lp_worst4", "char_lp_mean", "char_lp_worst_word",
    "glued_words", "dot_glue", "camel_glue", "lower_sentence_start", "mid_capital_common",
    "lower_proper", "title_case", "stray_punct", "quote_unbalanced", "article_rate",
    "preposition_rate", "short_sentence", "no_final_punct", "repeated_bigram",
    "name_variants", "doc_name_variants", "doc_word_lp_mean", "doc_fw_lp_mean", "char_ngram_lr",
)

#: Hashed byte n-grams of the lower-cased text behind the ``char_ngram_lr`` feature:
#: sublinear tf x idf, L2-normalised, scored by a logistic regression fitted on the classifier's
#: training rows (stacked out-of-fold; see scripts/train_garble.py).
CHAR_NGRAM_ORDERS = (2, 3, 4)
CHAR_NGRAM_BITS = 18


def hashed_char_ngrams(texts: Sequence[str]) -> sparse.csr_matrix:
    """Sublinear term frequencies of the hashed 2-4-byte n-grams of each (folded) text, one
    row per text; computed with numpy over all texts at once (Fibonacci hashing of the packed
    bytes, the order mixed in), about ten times faster than scikit-learn's Python analyser."""
    encoded = [t.lower().encode("utf-8") for t in texts]
    size = 2 ** CHAR_NGRAM_BITS
    if not encoded:
        return sparse.csr_matrix((0, size))
    lengths = np.fromiter((len(e) + 1 for e in encoded), dtype=np.int64, count=len(encoded))
    data = np.frombuffer(b"\x00".join(encoded) + b"\x00", dtype=np.uint8).astype(np.uint64)
    row = np.repeat(np.arange(len(encoded)), lengths)
    row[np.cumsum(lengths) - 1] = -1  # the separator byte belongs to no text
    rows, cols = [], []
    code = data.copy()
    for n in range(2, max(CHAR_NGRAM_ORDERS) + 1):
        m = len(data) - n + 1
        code = (code[:m] << np.uint64(8)) | data[n - 1:]
        if n in CHAR_NGRAM_ORDERS:
            ok = (row[:m] >= 0) & (row[:m] == row[n - 1:])
            h = (code[ok] + np.uint64(n << 40)) * np.uint64(0x9E3779B97F4A7C15)
            rows.append(row[:m][ok])
            cols.append((h >> np.uint64(64 - CHAR_NGRAM_BITS)).astype(np.int64))
    r, c = np.concatenate(rows), np.concatenate(cols)
    x = sparse.csr_matrix((np.ones(len(r)), (r, c)), shape=(len(encoded), size))
    x.sum_duplicates()
    np.log(x.data, out=x.data)
    x.data += 1.0
    return x


def char_ngram_scores(x: sparse.csr_matrix, state: dict[str, np.ndarray]) -> np.ndarray:
    """Probability of garble from :func:`hashed_char_ngrams` rows under a fitted ``state``
    (``idf``, ``coef``, ``intercept``)."""
    x = normalize(x.multiply(state["idf"]).tocsr())
    z = x @ state["coef"] + state["intercept"]
    return 1.0 / (1.0 + np.exp(-z))


@dataclass
class Finding:
    """A checkable fact behind a feature: message, span inside the paragraph, ref paragraph."""

    message: str
    start: int
    end: int
    ref: int | None = None
    kind: str = ""


@dataclass
class Resources:
    """The fitted pieces the features need (all in the model file)."""

    word_lm: NGramLM
    fw_lm: NGramLM
    char_lm: NGramLM
    counts: dict[str, int]  # lower-cased word -> count in the human corpus
    cap_ratio: dict[str, float]  # lower-cased word -> share of mid-sentence uses capitalised
    char_lr: dict[str, np.ndarray] | None = None  # see char_ngram_scores; None while training

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Resources:
        return cls(NGramLM(state["word_lm"]), NGramLM(state["fw_lm"]), NGramLM(state["char_lm"]),
                   state["counts"], state["cap_ratio"], state.get("char_lr"))


def _starts(lengths: np.ndarray) -> np.ndarray:
    """Start offset of each of consecutive segments of the given lengths."""
    out = np.zeros(len(lengths), dtype=np.int64)
    np.cumsum(lengths[:-1], out=out[1:])
    return out


def _segment_means(a: np.ndarray, lengths: np.ndarray, empty: float) -> np.ndarray:
    """Mean of each consecutive segment of ``a`` (``empty`` for a segment of length 0)."""
    out = np.full(len(lengths), empty, dtype=np.float64)
    nz = lengths > 0
    if nz.any():
        out[nz] = np.add.reduceat(a, _starts(lengths)[nz]) / lengths[nz]
    return out


def _segment_worst(a: np.ndarray, lengths: np.ndarray, width: int, empty: float,
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Per segment: the lowest mean over ``width`` consecutive values (the segment mean when
    it is not longer than ``width``) and where that window starts inside the segment."""
    worst = _segment_means(a, lengths, empty)
    at = np.zeros(len(lengths), dtype=np.int64)
    long_ = np.flatnonzero(lengths > width)
    if len(long_):
        win = a[: len(a) - width + 1].copy()
        for j in range(1, width):
            win += a[j: len(a) - width + 1 + j]
        win /= width
        counts = lengths[long_] - width + 1
        vstart = _starts(counts)
        v = win[np.repeat(_starts(lengths)[long_] - vstart, counts) + np.arange(counts.sum())]
        mins = np.minimum.reduceat(v, vstart)
        seg = np.repeat(np.arange(len(long_)), counts)
        hit = np.flatnonzero(v == mins[seg])
        first = hit[np.unique(seg[hit], return_index=True)[1]]  # first minimum per segment
        worst[long_] = mins
        at[long_] = first - vstart
    return worst, at


def _is_title(sentences: Sequence[Sequence[Token]]) -> bool:
    """A headline-style line: short, mostly capitalised words, no closing full stop."""
    words = [t for s in sentences for t in s if t.is_word]
    return 0 < len(words) <= 20 and sum(t.capitalised for t in words) > 0.5 * len(words) \
        and sentences[-1][-1].text not in ".!?\""


def _common_lower(res: Resources, low: str, min_count: int = 20) -> bool:
    return res.counts.get(low, 0) >= min_count and res.cap_ratio.get(low, 1.0) < 0.1


def _char_scorable(sentences: list[list[Token]]) -> list[Token]:
    """Words the character model judges: 3+ letters, not a mid-sentence capitalised name."""
    return [t for s in sentences for t in s if t.is_word and len(t.text) >= 3 and (t.initial or not t.capitalised)]


class LMStats(NamedTuple):
    """One paragraph's language-model summary (log2 probabilities; window starts index its
    tokens)."""

    word_mean: float
    word_worst3: float
    word_worst_at: int
    word_surprising: float
    fw_mean: float
    fw_worst4: float
    fw_worst_at: int
    char_mean: float
    char_worst: float


def _drop_eos(lp: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    keep = np.ones(len(lp), dtype=bool)
    keep[np.cumsum(lengths) - 1] = False
    return lp[keep]


def lm_stats(tokenized: Sequence[list[list[Token]]], res: Resources) -> list[LMStats]:
    """:class:`LMStats` of every paragraph (each a list of tokenized sentences): one
    vectorised pass per model over all of them, however many documents they come from."""
    sents = [s for para in tokenized for s in para]
    n_tok = np.array([sum(len(s) for s in para) for para in tokenized], dtype=np.int64)
    scorable = [_char_scorable(para) for para in tokenized]
    words = [t.text.lower() for para in scorable for t in para]
    n_words = np.array([len(w) for w in scorable], dtype=np.int64)
    word_index = res.word_lm.index
    wl = _drop_eos(*res.word_lm.logprob_flat([word_view(s, word_index) for s in sents]))
    fw = _drop_eos(*res.fw_lm.logprob_flat([function_view(s) for s in sents]))
    word_worst, word_at = _segment_worst(wl, n_tok, 3, -8.0)
    fw_worst, fw_at = _segment_worst(fw, n_tok, 4, -3.0)
    if words:  # a word's score does not depend on its context: each distinct word once
        distinct, inverse = np.unique(np.array(words), return_inverse=True)
        ch, lengths = res.char_lm.logprob_flat([char_view(w) for w in distinct.tolist()])
        ch_word = (np.add.reduceat(ch, _starts(lengths)) / lengths)[inverse]
    else:
        ch_word = np.zeros(0)
    char_worst = np.full(len(tokenized), -3.0)
    nz = n_words > 0
    if nz.any():
        char_worst[nz] = np.minimum.reduceat(ch_word, _starts(n_words)[nz])
    columns = (_segment_means(wl, n_tok, -8.0), word_worst, word_at,
               _segment_means((wl < -16).astype(np.float64), n_tok, 0.0),
               _segment_means(fw, n_tok, -3.0), fw_worst, fw_at,
               _segment_means(ch_word, n_words, -3.0), char_worst)
    return [LMStats(*row) for row in zip(*(c.tolist() for c in columns))]


def paragraph_features(text: str, res: Resources, sentences: list[list[Token]] | None = None,
                       lm: LMStats | None = None) -> tuple[dict[str, float], list[Finding]]:
    """Features of one paragraph (without the document-level ones) and its findings;
    ``sentences`` (``tokenize(fold(text))``) and ``lm`` (its :func:`lm_stats`) are passed
    when the caller already has them."""
    text = fold(text)
    if sentences is None:
        sentences = tokenize(text)
    f: dict[str, float] = dict.fromkeys(FEATURES, 0.0)
    findings: list[Finding] = []
    words = [t for s in sentences for t in s if t.is_word]
    flat = [t for s in sentences for t in s]
    f["log_tokens"] = math.log1p(len(flat))
    if not words:
        f.update(word_lp_mean=-8.0, word_lp_worst3=-8.0, fw_lp_mean=-3.0, fw_lp_worst4=-3.0,
                 char_lp_mean=-3.0, char_lp_worst_word=-3.0)
        return f, findings

    # -- language models ---------------------------------------------------------------
    if lm is None:
        lm = lm_stats([sentences], res)[0]
    f["word_lp_mean"] = lm.word_mean
    f["word_lp_worst3"] = lm.word_worst3
    f["word_surprising"] = lm.word_surprising
    f["fw_lp_mean"] = lm.fw_mean
    f["fw_lp_worst4"] = lm.fw_worst4
    for i, lp, width, label in ((lm.word_worst_at, lm.word_worst3, 3, "word"),
                                (lm.fw_worst_at, lm.fw_worst4, 4, "function-word")):
        a, b = flat[i], flat[min(i + width, len(flat)) - 1]
        findings.append(Finding(f"least probable {label} window ({lp:.1f} bits/token under the "
                                f"human-English {label} model)", a.start, b.end, kind=f"{label}_window"))
    lows = [t.text.lower() for t in words]
    counts = res.counts
    f["oov_rate"] = sum(1 for w in lows if w not in counts) / len(words)
    f["char_lp_mean"] = lm.char_mean
    f["char_lp_worst_word"] = lm.char_worst

    # -- glued words -------------------------------------------------------------------
    for t, low in zip(words, lows):
        split = _glued_split(t.text, res) if len(low) >= 5 and low not in counts else None
        if split:
            f["glued_words"] += 1
            findings.append(Finding(f"glued words: {t.text!r} reads as {split[0]!r} + {split[1]!r}",
                                    t.start, t.end, kind="glued"))
    for m in _DOT_GLUE.finditer(text):
        f["dot_glue"] += 1
        findings.append(Finding(f"missing space after punctuation: {m.group()!r}", m.start(), m.end(),
                                kind="glued"))
    f["camel_glue"] = float(sum(1 for m in _CAMEL_GLUE.finditer(text)
                                if m.group().lower() not in res.counts))

    # -- casing ------------------------------------------------------------------------
    f["title_case"] = sum(t.capitalised for t in words) / len(words)
    titled = _is_title(sentences)
    for si, s in enumerate(sentences):
        first = next((t for t in s if t.is_word), None)
        if first is not None and first.text.islower() and si > 0:
            f["lower_sentence_start"] += 1
            findings.append(Finding(f"sentence starts in lower case: {first.text!r}", first.start,
                                    first.end, kind="casing"))
    cap_ratio = res.cap_ratio
    for k, (t, low) in enumerate(zip(words, lows)):
        if t.capitalised and not t.initial and not titled and t.text != "I" \
                and not (k > 0 and words[k - 1].capitalised and not words[k - 1].initial) \
                and not (k + 1 < len(words) and words[k + 1].capitalised) and _common_lower(res, low):
            f["mid_capital_common"] += 1
            findings.append(Finding(f"common word capitalised mid-sentence: {t.text!r}", t.start, t.end,
                                    kind="casing"))
        elif t.text.islower() and counts.get(low, 0) >= 10 and cap_ratio.get(low, 0.0) > 0.95:
            f["lower_proper"] += 1
            findings.append(Finding(f"proper noun in lower case: {t.text!r}", t.start, t.end, kind="casing"))

    # -- punctuation and structure -----------------------------------------------------
    for m in _STRAY.finditer(text):
        f["stray_punct"] += 1
        findings.append(Finding(f"stray punctuation {m.group().strip()!r}", m.start(), m.end(), kind="punct"))
    # an odd count is not damage when a quote re-opens at a paragraph or sentence start (news
    # style for a quotation over several paragraphs, flattened into one line by some scrapers);
    # it is also dropped when the document as a whole pairs up (see batch_features)
    if text.count('"') % 2 and not _QUOTE_REOPEN.search(text):
        f["quote_unbalanced"] = 1.0
        q = text.rindex('"')
        findings.append(Finding("unmatched quotation mark", q, q + 1, kind="quote"))
    f["article_rate"] = sum(w in ARTICLES for w in lows) / len(lows)
    f["preposition_rate"] = sum(w in PREPOSITIONS for w in lows) / len(lows)
    f["short_sentence"] = float(sum(1 for s in sentences if 0 < sum(t.is_word for t in s) <= 3)
                                if len(sentences) > 1 else 0)
    f["no_final_punct"] = float(sentences[-1][-1].text not in ".!?\"')")
    bigrams = Counter(itertools.pairwise(lows))
    f["repeated_bigram"] = float(sum(c - 1 for (a, b), c in bigrams.items()
                                     if c > 1 and not (a in FUNCTION_WORDS and b in FUNCTION_WORDS)))
    return f, findings


#: Function words that turn up glued to a neighbour in MT output ("Kongas", "thenumber") but
#: rarely end or start an unknown English word by chance.
_GLUE_PREFIX = ("the", "to", "of", "and", "for", "with")
_GLUE_SUFFIX = ("the", "of", "and", "as", "for", "with", "was", "that")


def _glued_split(word: str, res: Resources) -> tuple[str, str] | None:
    """``("Kong", "as")`` when ``word`` is unknown but reads as a known word glued to a
    function word."""
    low = word.lower()
    if len(low) < 5 or "'" in low or low in res.counts:
        return None
    capital = word[0].isupper()
    for suffix in _GLUE_SUFFIX:
        head = low[: -len(suffix)]
        if low.endswith(suffix) and len(head) >= 3 and res.counts.get(head, 0) >= 20 and \
                (not capital or res.cap_ratio.get(head, 0.0) > 0.5):
            return word[: len(head)], word[len(head):]
    if not capital:
        for prefix in _GLUE_PREFIX:
            tail = low[len(prefix):]
            if low.startswith(prefix) and len(tail) >= 3 and res.counts.get(tail, 0) >= 20:
                return word[: len(prefix)], word[len(prefix):]
    return None


# --------------------------------------------------------------------------------------------
# Name consistency
# --------------------------------------------------------------------------------------------

_SOUND = {c: d for d, letters in (("1", "bfpv"), ("2", "cgjkqsxz"), ("3", "dt"), ("4", "l"),
                                   ("5", "mn"), ("6", "r")) for c in letters}


def sound_code(name: str) -> str:
    """Soundex-style consonant skeleton that keeps the first letter's sound class too
    ("Qin" and "Chen" -> "25")."""
    out = []
    prev = ""
    for c in name.lower():
        d = _SOUND.get(c, "")
        if d and d != prev:
            out.append(d)
        if c not in "hw":
            prev = d
    return "".join(out)


@dataclass
class NameVariant:
    paragraph: int
    start: int  # offsets inside the paragraph
    end: int
    variant: str
    main: str
    main_paragraph: int


def _name_mentions(sentences: list[list[Token]], res: Resources) -> list[list[Token]]:
    """Runs of capitalised words that are not common lower-case words used at a sentence start."""
    runs: list[list[Token]] = []
    for s in sentences:
        run: list[Token] = []
        for t in s + [Token(".", 0, 0, False)]:
            word = t.text.removesuffix("'s")
            ok = (t.is_word and t.capitalised and not word.isupper()
                  and (word.lower() not in FUNCTION_WORDS or (run and not t.initial and len(word) <= 3))
                  and not (t.initial and _common_lower(res, word.lower(), 5)))
            if ok:
                run.append(Token(word, t.start, t.start + len(word), t.initial))
            else:
                if run:
                    runs.append(run)
                run = []
    return runs


def _related_forms(a: str, b: str) -> bool:
    """Same word in another form: plural, demonym, possessive ("Russia"/"Russian")."""
    short, long_ = sorted((a.lower(), b.lower()), key=len)
    return long_.startswith(short) and (long_[len(short):] in _INFLECTIONS or len(short) < 4)


def _similar_single(a: str, b: str, res: Resources) -> bool:
    la, lb = a.lower(), b.lower()
    if _related_forms(a, b) or la.startswith(lb) or lb.startswith(la):
        return False
    if res.counts.get(la, 0) >= 5 and res.counts.get(lb, 0) >= 5:
        return False  # both are known words/names in human text: distinct entities
    n = min(len(la), len(lb))
    d = Levenshtein.distance(la, lb)
    return (d == 1 and n >= 5) or (d == 2 and n >= 7 and sound_code(la)[:1] == sound_code(lb)[:1])


def name_variants(paragraphs: Sequence[str], res: Resources,
                  tokenized: Sequence[list[list[Token]]] | None = None) -> list[NameVariant]:
    """Mentions spelling a name differently from its main spelling in the document.

    Title-case lines (headlines) do not count towards a name's main spelling."""
    if tokenized is None:
        tokenized = [tokenize(fold(p)) for p in paragraphs]
    mentions = [_name_mentions(sents, res) for sents in tokenized]
    titled = [_is_title(sents) for sents in tokenized]
    single: Counter[str] = Counter()
    first_seen: dict[str, int] = {}
    multi: Counter[tuple[str, ...]] = Counter()
    multi_seen: dict[tuple[str, ...], int] = {}
    for i, runs in enumerate(mentions):
        if titled[i]:
            continue
        for run in runs:
            for t in run:
                if len(t.text) >= 3 and t.text.lower() not in FUNCTION_WORDS:
                    single[t.text] += 1
                    first_seen.setdefault(t.text, i)
            for a, b in itertools.pairwise(run):
                key = (a.text, b.text)
                multi[key] += 1
                multi_seen.setdefault(key, i)
    names = [n for n in single if len(n) >= 5]
    main_of: dict[str, str] = {}
    lowered = [n.lower() for n in names]
    close = np.argwhere(np.triu(cdist(lowered, lowered, scorer=Levenshtein.distance, score_cutoff=2,
                                      dtype=np.int32) <= 2, k=1)) if names else []
    for i, j in close:
        a, b = names[i], names[j]
        if _similar_single(a, b, res):
            main, var = (a, b) if (single[a], -first_seen[a]) >= (single[b], -first_seen[b]) else (b, a)
            if single[main] >= 2 or single[main] > single[var]:
                main_of.setdefault(var, main)
    sharing: dict[tuple[int, str], list[tuple[str, ...]]] = {}  # (kept position, token) -> bigrams
    for key in multi:
        sharing.setdefault((0, key[0]), []).append(key)
        sharing.setdefault((1, key[1]), []).append(key)
    found: list[NameVariant] = []
    for pi, runs in enumerate(mentions):
        for run in runs:
            for k, t in enumerate(run):
                main = main_of.get(t.text)
                if main:
                    found.append(NameVariant(pi, t.start, t.end, t.text, main, _ref(first_seen[main], pi, mentions, main)))
                    continue
                # split name: "Blink He" for "Blinken"
                nxt = run[k + 1].text if k + 1 < len(run) else ""
                if nxt and len(nxt) <= 3 and single[t.text] <= 1 and \
                        (nxt.lower() in FUNCTION_WORDS or nxt.lower() not in res.counts):
                    joined = t.text + nxt.lower()
                    for cand, c in single.items():
                        if c >= 2 and cand not in (t.text, run[k + 1].text) and len(cand) >= 5 \
                                and Levenshtein.distance(joined.lower(), cand.lower()) <= 2 \
                                and cand.lower().startswith(t.text.lower()[:3]):
                            found.append(NameVariant(pi, t.start, run[k + 1].end,
                                                     f"{t.text} {run[k + 1].text}", cand,
                                                     _ref(first_seen[cand], pi, mentions, cand)))
                            break
            # a name whose part sounds like the same part of a more frequent name
            # ("Chen Gang" beside "Qin Gang"): matches around one token are merged into one span
            varied: dict[int, tuple[int, int, str]] = {}  # token index -> (first, last, main part)
            for k in range(len(run) - 1):
                key = (run[k].text, run[k + 1].text)
                for other in sharing.get((0, key[0]), []) + sharing.get((1, key[1]), []):
                    if multi[other] <= multi[key] or other == key:
                        continue
                    j = 0 if other[0] != key[0] else 1
                    a, b = key[j], other[j]
                    if sound_code(a) == sound_code(b) and len(sound_code(a)) >= 2 \
                            and not _related_forms(a, b) and a not in main_of and b not in main_of:
                        lo, hi, _ = varied.get(k + j, (k, k + 1, b))
                        varied[k + j] = (min(lo, k), max(hi, k + 1), b)
                        break
            for v, (lo, hi, b) in varied.items():
                words = [t.text for t in run[lo:hi + 1]]
                main = " ".join(b if i == v else w for i, w in zip(range(lo, hi + 1), words))
                ref = next((multi_seen[key] for key in multi if b in key), pi)
                found.append(NameVariant(pi, run[lo].start, run[hi].end, " ".join(words), main, ref))
    return found


def _ref(first: int, current: int, mentions: list[list[list[Token]]], name: str) -> int:
    """A paragraph other than ``current`` holding ``name`` (the first one, when possible)."""
    if first != current:
        return first
    for i, runs in enumerate(mentions):
        if i != current and any(t.text == name for run in runs for t in run):
            return i
    return first


# --------------------------------------------------------------------------------------------
# Whole-document feature matrix
# --------------------------------------------------------------------------------------------


def document_features(paragraphs: Sequence[str], res: Resources) -> tuple[np.ndarray, list[list[Finding]]]:
    """Feature matrix (rows = paragraphs, columns = :data:`FEATURES`) and findings per paragraph."""
    return batch_features([paragraphs], res)[0]


_COL = {name: i for i, name in enumerate(FEATURES)}


def batch_features(documents: Sequence[Sequence[str]], res: Resources,
                   ) -> list[tuple[np.ndarray, list[list[Finding]]]]:
    """:func:`document_features` of several documents (each given as its paragraph texts),
    with the language models run once over all of them; a document's features do not
    depend on the other documents."""
    folded = [[fold(p) for p in doc] for doc in documents]
    tokenized = [[tokenize(p) for p in doc] for doc in folded]
    stats = iter(lm_stats([sents for doc in tokenized for sents in doc], res))
    out = []
    for texts, doc_tokens in zip(folded, tokenized):
        rows, findings = [], []
        for text, sents in zip(texts, doc_tokens):
            f, fi = paragraph_features(text, res, sents, next(stats))
            rows.append([f[k] for k in FEATURES])
            findings.append(fi)
        matrix = np.array(rows, dtype=np.float64).reshape(len(rows), len(FEATURES))
        if sum(t.count('"') for t in texts) % 2 == 0:
            # a quotation running over several paragraphs (news style: each of its paragraphs
            # opens with a quote mark, only the last closes it) is not damage
            matrix[:, _COL["quote_unbalanced"]] = 0.0
            findings = [[x for x in fi if x.kind != "quote"] for fi in findings]
        variants = name_variants(texts, res, doc_tokens)
        for v in variants:
            matrix[v.paragraph, _COL["name_variants"]] += 1
            findings[v.paragraph].append(Finding(
                f"name spelled {v.variant!r} here but {v.main!r} elsewhere in the document "
                f"(see paragraph {v.main_paragraph})", v.start, v.end, v.main_paragraph, kind="name"))
        if len(rows):
            weights = np.maximum(matrix[:, _COL["log_tokens"]], 0.1)
            for key, src in (("doc_word_lp_mean", "word_lp_mean"), ("doc_fw_lp_mean", "fw_lp_mean")):
                matrix[:, _COL[key]] = float(np.average(matrix[:, _COL[src]], weights=weights))
            matrix[:, _COL["doc_name_variants"]] = len(variants) / len(rows)
        out.append((matrix, findings))
    if res.char_lr is not None and sum(len(m) for m, _ in out):
        lexical = char_ngram_scores(hashed_char_ngrams([t for doc in folded for t in doc]), res.char_lr)
        at = 0
        for matrix, _ in out:
            matrix[:, _COL["char_ngram_lr"]] = lexical[at: at + len(matrix)]
            at += len(matrix)
    return out


# --------------------------------------------------------------------------------------------
# The detector
# --------------------------------------------------------------------------------------------

_CACHE: dict[str, tuple[Resources, Any, dict[str, Any]]] = {}
_CACHE_LOCK = threading.Lock()


def load_bundle(path: str | os.PathLike[str]) -> tuple[Resources, Any, dict[str, Any]]:
    """The model file's resources, classifier and metadata, loaded once per process."""
    key = str(Path(path).resolve())
    with _CACHE_LOCK:
        if key not in _CACHE:
            bundle, meta = load_model(key)
            if not isinstance(bundle, dict) or "resources" not in bundle or "classifier" not in bundle:
                raise ValueError(f"{path}: not a garble model (expected resources and classifier)")
            if tuple(bundle.get("features", ())) != FEATURES:
                raise ValueError(f"{path}: model was trained on features {bundle.get('features')}, "
                                 f"this code computes {FEATURES}; retrain with scripts/train_garble.py")
            _CACHE[key] = (Resources.from_state(bundle["resources"]), bundle["classifier"], meta)
        return _CACHE[key]


@functools.lru_cache(maxsize=1)
def _thread_controller() -> ThreadpoolController:
    return ThreadpoolController()


class GarbleDetector(Detector):
    """Scores paragraphs for machine-translation / back-translation damage.

    Parameters
    ----------
    model_path:
        Model file (default: the shipped ``models/garble.joblib``).
    threshold:
        Paragraphs scoring at least this get their findings as evidence (name variants are
        shown at any score).
    max_findings:
        Evidence items per flagged paragraph (name variants come first).
    languagetool_url:
        Base URL of a LanguageTool server (e.g. ``http://localhost:8081``); default from the
        ``QUALITYSCAN_LANGUAGETOOL_URL`` environment variable. Its matches become evidence.
    """

    name = "garble"
    languages = frozenset({"en"})

    def __init__(self, model_path: str | None = None, threshold: float = 0.5, max_findings: int = 5,
                 languagetool_url: str | None = None) -> None:
        self.model_path = model_path
        self.threshold = threshold
        self.max_findings = max_findings
        self.languagetool_url = languagetool_url

    def _bundle(self) -> tuple[Resources, Any, dict[str, Any]]:
        return load_bundle(self.model_path or shipped_model_path("garble"))

    def _grammar(self) -> Any:
        from qualityscan.backends.languagetool import get_checker

        return get_checker(self.languagetool_url)

    def predict(self, paragraphs: Sequence[str]) -> tuple[np.ndarray, list[list[Finding]]]:
        """Scores (0..1) and findings for a document given as its paragraph texts."""
        return self.predict_many([paragraphs])[0]

    def predict_many(self, documents: Sequence[Sequence[str]]) -> list[tuple[np.ndarray, list[list[Finding]]]]:
        """:meth:`predict` of several documents with one classifier call for all of them."""
        res, clf, _ = self._bundle()
        feats = batch_features(documents, res)
        sizes = [len(m) for m, _ in feats]
        scores = np.zeros(0)
        if sum(sizes):
            # small matrices: OpenMP threads only add start-up and contention cost
            with _thread_controller().limit(limits=1, user_api="openmp"):
                scores = clf.predict_proba(np.vstack([m for m, _ in feats]))[:, 1]
        parts = np.split(scores, np.cumsum(sizes)[:-1]) if sizes else []
        return [(part, fi) for part, (_, fi) in zip(parts, feats)]

    def score(self, document: Document, context: CorpusStats | None = None) -> DetectorResult:
        return self.score_many([document], context)[0]

    def score_many(self, documents: Sequence[Document],
                   context: CorpusStats | None = None) -> list[DetectorResult]:
        """Features of the whole batch first, then one classifier call (see :meth:`predict_many`)."""
        predictions = self.predict_many([[p.text for p in d.paragraphs] for d in documents])
        checker = self._grammar()
        return [self._result(d, scores, findings, checker) for d, (scores, findings) in zip(documents, predictions)]

    def _result(self, document: Document, scores: np.ndarray, findings: list[list[Finding]],
                checker: Any) -> DetectorResult:
        evidence: list[list[Evidence]] = []
        for p, s, fi in zip(document.paragraphs, scores, findings):
            # a name spelled two ways is a checkable fact worth showing at any score
            items = [self._to_evidence(p, x) for x in fi if x.kind == "name"]
            if s >= self.threshold:
                others = [x for x in fi if x.kind != "name"][: max(0, self.max_findings - len(items))]
                items.extend(self._to_evidence(p, x) for x in others)
                if checker is not None:
                    items.extend(self._grammar_evidence(p, checker))
            evidence.append(items)
        return DetectorResult([float(s) for s in scores], evidence)

    def aggregate(self, document: Document, result: DetectorResult) -> float:
        """Share of the text (by characters) judged garbled, as a length-weighted mean score."""
        return length_weighted_mean(document, result.scores)

    def _to_evidence(self, p: Paragraph, x: Finding) -> Evidence:
        return self.evidence(p, x.message, (p.start + x.start, p.start + x.end), x.ref)

    def _grammar_evidence(self, p: Paragraph, checker: Any) -> list[Evidence]:
        matches = checker.check(p.text)
        if matches is None:
            return []
        words = max(1, len(p.text.split()))
        out = [self.evidence(p, f"grammar: {len(matches)} LanguageTool matches "
                                f"({100 * len(matches) / words:.1f} per 100 words)")]
        for m in matches[: self.max_findings]:
            out.append(self.evidence(p, f"grammar ({m.rule_id}): {m.message}",
                                     (p.start + m.offset, p.start + m.offset + m.length)))
        return out


__all__ = [
    "FEATURES",
    "GarbleDetector",
    "NGramLM",
    "Resources",
    "batch_features",
    "document_features",
    "fold",
    "load_bundle",
    "name_variants",
    "paragraph_features",
    "sound_code",
    "tokenize",
]
