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
on its own paragraph / document only. The paragraphs of a batch are tokenised by one regex
pass into parallel arrays (:func:`token_table`); per-token-string facts (casing, vocabulary
ids, corpus counts, character-model score) are looked up once per distinct string and cached,
and the counts behind the features are numpy operations over the whole batch.

Curly quotes and dashes are folded to ASCII before any feature is computed: human
translations in the training data use curly quotes far more often than MT does, and a model
must not learn typography instead of garble.

An optional LanguageTool server (``languagetool_url`` or ``QUALITYSCAN_LANGUAGETOOL_URL``)
adds its grammar matches as evidence; the shipped model never depends on it (see
``docs/evaluation/garble.md``).
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
import os
import re
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from rapidfuzz.distance import Levenshtein
from rapidfuzz.process import cdist
from scipy import sparse
from sklearn.preprocessing import normalize
from threadpoolctl import ThreadpoolController

from qualityscan.detectors.base import Detector, DetectorResult, length_weighted_mean, remembered
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
_SENT_END = re.compile(r"[.!?][\"')\]]*\s+")  # the sentence ends after the match, from the mark on
_ABBREV = re.compile(
    r"(?:\b[A-Za-z]\.|\b(?:Mr|Mrs|Ms|Dr|St|Jr|Sr|No|vs|Gen|Gov|Sen|Rep|Col|Lt|Sgt|Capt|Prof|Inc|Co|"
    r"Corp|Ltd|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|etc|al|approx|Fig|Vol|Rev)\.)$")
_DOT_GLUE = re.compile(r"(?<![\w./@])([A-Za-z][a-z]+)([.!?;,])([A-Z][a-z]+)")
_CAMEL_GLUE = re.compile(r"\b[a-z]{3,}[A-Z][a-z]{2,}\b")
_QUOTE_REOPEN = re.compile(r'^\s*"|[.!?:]\s+"[A-Z]')
_STRAY = re.compile(r"[.,;:]\s+[.,;:](?!\.)|\s[.,;:](?=\s|$)|,,|\(\s*\)")
# Patterns every match of the one above contains, found fast (a rare first character): only
# paragraphs where one occurs are searched with the full pattern.
_DOT_GLUE_HINT = re.compile(r"[.!?;,][A-Z]")
_CAMEL_GLUE_HINT = re.compile(r"[A-Z](?<=[a-z][A-Z])")
_STRAY_HINT = re.compile(r"[.,;:](?<=\s[.,;:])|,,|\(\s*\)")

FUNCTION_WORDS: frozenset[str] = frozenset(["a", "an", "the", "this", "that", "these", "those", "some", "any", "no", "every", "each", "either", "neither", "all", "both", "half", "several", "many", "much", "more", "most", "few", "fewer", "less", "least", "other", "another", "such", "what", "which", "who", "whom", "whose", "i", "me", "my", "mine", "we", "us", "our", "ours", "you", "your", "yours", "he", "him", "his", "she", "her", "hers", "it", "its", "they", "them", "their", "theirs", "myself", "yourself", "himself", "herself", "itself", "ourselves", "themselves", "one", "ones", "of", "in", "on", "at", "by", "for", "with", "about", "against", "between", "into", "through", "during", "before", "after", "above", "below", "to", "from", "up", "down", "out", "off", "over", "under", "again", "further", "then", "once", "here", "there", "when", "where", "why", "how", "as", "until", "while", "since", "than", "because", "although", "though", "unless", "if", "whether", "so", "nor", "or", "and", "but", "yet", "not", "only", "also", "very", "too", "just", "even", "still", "already", "ever", "never", "always", "often", "is", "are", "was", "were", "be", "been", "being", "am", "have", "has", "had", "having", "do", "does", "did", "doing", "will", "would", "shall", "should", "can", "could", "may", "might", "must", "ought", "'s", "'t"])
ARTICLES = frozenset({"a", "an", "the"})
PREPOSITIONS = frozenset(["of", "in", "on", "at", "by", "for", "with", "about", "against", "between", "into", "through", "during", "before", "after", "above", "below", "to", "from", "over", "under"])
#: Endings that make two spellings of a name forms of one word ("Russia"/"Russian").
_INFLECTIONS = ("s", "es", "n", "an", "ian", "ese", "ns", "ans", "ians", "i", "is")

BOS, EOS, UNK, CAP, NUM, LOW = "<s>", "</s>", "<unk>", "<cap>", "<num>", "<low>"


def fold(text: str) -> str:
    """Typographic quotes/dashes to ASCII, keeping every character offset."""
    if text.isascii() and "`" not in text:  # the only ASCII character folded
        return text
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


#: re.split with the token pattern captured: gaps and tokens alternate, all built in C.
_TOKEN_SPLIT = re.compile(f"({_TOKEN.pattern})")
#: An abbreviation ends at most this many characters before a sentence end ("approx.").
_ABBREV_WIDTH = 8

# Bits of a token's shape (:func:`_shape_flags`) and, from _OOV on, of its type in a model's
# vocabulary (:meth:`Resources.lexicon`).
_WORD, _DIGIT, _CAP, _LOWER, _CLEAR, _OPEN, _I, _LONG, _TITLE_END, _FINAL, _ARTICLE, _PREP, _FUNC, \
    _NAME, _NAME_FUNC, _NAME_SHORT, _OOV, _COMMON, _PROPER, _NAME_COMMON, _GLUED = \
    (1 << i for i in range(21))


def _shape_flags(token: str) -> int:
    """Vocabulary-free bits of a token (a word, a number, capitalised, a name candidate...)."""
    first = token[0]
    low = token.lower()
    name = token.removesuffix("'s")
    name_low = low if name is token else name.lower()
    alpha, upper = first.isalpha(), first.isupper()
    bits = _WORD if alpha else 0
    if first.isdigit():
        bits |= _DIGIT
    if upper:
        bits |= _CAP
    if token.islower():
        bits |= _LOWER
    if alpha or first.isdigit():
        bits |= _CLEAR
    if token in "\":(-":
        bits |= _OPEN
    if token == "I":
        bits |= _I
    if len(token) >= 3:
        bits |= _LONG
    if token in ".!?\"":
        bits |= _TITLE_END
    if token in ".!?\"')":
        bits |= _FINAL
    if low in ARTICLES:
        bits |= _ARTICLE
    if low in PREPOSITIONS:
        bits |= _PREP
    if low in FUNCTION_WORDS:
        bits |= _FUNC
    if alpha and upper and not name.isupper():
        bits |= _NAME
    if name_low in FUNCTION_WORDS:
        bits |= _NAME_FUNC
    if len(name) <= 3:
        bits |= _NAME_SHORT
    return bits


_SHAPES: dict[str, int] = {}  # _shape_flags of the token strings seen (cleared at _CACHE_SIZE)


def _shapes(types: Sequence[str]) -> np.ndarray:
    """:func:`_shape_flags` of each token string, cached."""
    return np.array(remembered(_SHAPES, types, _CACHE_SIZE, _shape_flags), dtype=np.int64)


class TokenTable(NamedTuple):
    """The tokens of several folded paragraphs as parallel arrays (:func:`tokenize` gives the
    same tokens as objects); offsets index into each token's own paragraph."""

    text: list[str]
    start: np.ndarray
    end: np.ndarray
    para: np.ndarray  # paragraph of each token
    sent: np.ndarray  # sentence of each token, numbered over all paragraphs (non-empty ones)
    initial: np.ndarray  # first word of a sentence (or after an opening quote / colon)
    kind: np.ndarray  # index of the token's string in ``types``
    types: list[str]  # distinct token strings
    n_paragraphs: int
    shapes: np.ndarray  # :func:`_shape_flags` of each of ``types``


def token_table(texts: Sequence[str]) -> TokenTable:
    """Tokens and sentences of folded paragraphs, found by one regex pass over all of them
    joined by newlines (no token or sentence end spans a newline into the next paragraph;
    abbreviations such as "U.S." or "Mr." do not end a sentence)."""
    sizes = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    offsets = _starts(sizes + 1)
    joined = "\n".join(texts)
    parts = _TOKEN_SPLIT.split(joined)  # gap, token, gap, ..., token, gap
    edges = np.cumsum(np.fromiter(map(len, parts), dtype=np.int64, count=len(parts)))
    start, end, text = edges[0:-1:2], edges[1::2], parts[1::2]
    para = np.searchsorted(offsets, start, side="right") - 1
    ends = [m.end() for m in _SENT_END.finditer(joined)
            if not _ABBREV.search(joined, max(0, m.start() + 1 - _ABBREV_WIDTH), m.start() + 1)]
    cuts = np.sort(np.concatenate([np.asarray(ends, dtype=np.int64), offsets + sizes]))
    raw = np.searchsorted(cuts, start, side="right")
    new = np.ones(len(raw), dtype=bool)
    new[1:] = raw[1:] != raw[:-1]
    sent = np.cumsum(new) - 1
    types = list(dict.fromkeys(text))
    kind = np.fromiter(map({t: i for i, t in enumerate(types)}.__getitem__, text), dtype=np.int64,
                       count=len(text))
    shapes = _shapes(types)
    flags = shapes[kind]
    # a word is sentence-initial when the last word, number, quote, colon, bracket or dash
    # before it in its sentence is a quote/colon/bracket/dash, or when there is none
    index = np.arange(len(text))
    event = np.maximum.accumulate(np.where(flags & (_CLEAR | _OPEN) > 0, index, -1))
    before = np.full(len(text), -1, dtype=np.int64)
    before[1:] = event[:-1]
    sent_start = np.flatnonzero(new)[sent]
    opened = np.where(before >= sent_start, flags[np.maximum(before, 0)] & _CLEAR == 0, True)
    initial = (flags & _WORD > 0) & opened
    return TokenTable(text, start - offsets[para], end - offsets[para], para, sent, initial, kind, types,
                      len(texts), shapes)


def tokenize(text: str) -> list[list[Token]]:
    """Sentences of tokens of a folded paragraph; offsets index into ``text``."""
    table = token_table([text])
    tokens = [Token(*t) for t in zip(table.text, table.start.tolist(), table.end.tolist(),
                                     table.initial.tolist())]
    bounds = [0, *itertools.accumulate(np.bincount(table.sent).tolist())] if tokens else [0]
    return [tokens[a:b] for a, b in itertools.pairwise(bounds)]


# --------------------------------------------------------------------------------------------
# n-gram language model on sorted integer keys
# --------------------------------------------------------------------------------------------


#: Key spaces up to this size are looked up in a direct table rather than hashed.
_DENSE_KEYS = 1 << 17


class KeyIndex:
    """Where each query key sits in a sorted array of distinct non-negative ``int64`` keys:
    a direct table when the key space is small (short histories of a small vocabulary), else a
    hash table of positions (open addressing with linear probing and no wrap-around, load
    factor 1/3 to 2/3, Fibonacci hashing). One or two gathers per query, where a binary search
    of a large array costs ~log2(n) cache misses (the language models ran twice as fast; the
    tables take about 17 MB for the shipped models)."""

    def __init__(self, keys: np.ndarray, space: int) -> None:
        self.keys = keys
        if space <= _DENSE_KEYS:
            self.bits = 0
            self.slots = np.full(space, -1, dtype=np.int32)
            self.slots[keys] = np.arange(len(keys))
            return
        self.bits = max(4, int(len(keys) + len(keys) // 2).bit_length())
        # insert in order of home slot: each key takes the first free slot from its home on
        home = self._slot(keys)
        order = np.argsort(home, kind="stable")
        rank = np.arange(len(keys))
        at = np.maximum.accumulate(home[order] - rank) + rank if len(keys) else rank
        # past the last key, at least one empty slot ends every probe
        self.slots = np.full(max(1 << self.bits, int(at[-1]) + 1 if len(keys) else 0) + 1, -1, dtype=np.int32)
        self.slots[at] = order

    def _slot(self, keys: np.ndarray) -> np.ndarray:
        if not self.bits:
            return keys
        return ((keys.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(64 - self.bits)).astype(np.int64)

    def find(self, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Position of each query key in the key array (0 where absent) and whether it is there."""
        slot = self._slot(query)
        at = self.slots[slot].astype(np.int64)
        occupied = at >= 0
        if not self.bits or not len(self.keys):
            return np.maximum(at, 0), occupied
        # every slot's key is read (an empty slot's as key 0): cheaper than selecting by a mask
        np.maximum(at, 0, out=at)
        found = occupied & (self.keys[at] == query)
        todo = np.flatnonzero(occupied & ~found)  # the slot holds another key: probe on
        slot = slot[todo]
        while len(todo):
            slot = slot + 1
            cand = self.slots[slot].astype(np.int64)
            filled = cand >= 0
            hit = filled & (self.keys[np.maximum(cand, 0)] == query[todo])
            at[todo[hit]] = cand[hit]
            found[todo[hit]] = True
            more = filled & ~hit
            todo, slot = todo[more], slot[more]
        at[~found] = 0
        return at, found


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
        self._index: dict[str, KeyIndex] = {}  # built on first use

    def _find(self, name: str, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions of ``query`` in the sorted key array ``state[name]`` (0 where absent) and
        whether each was found."""
        index = self._index.get(name)
        if index is None:
            size = int(name.removeprefix("ctx").removeprefix("keys")) - name.startswith("ctx")  # ids per key
            index = self._index[name] = KeyIndex(self.state[name], self.base ** size)
        return index.find(query)

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
        get, unks = self.index.get, itertools.repeat(self.index[UNK])
        ids = np.fromiter(itertools.chain.from_iterable(map(get, seq, unks) for seq in sequences), dtype=np.int64)
        return self.logprob_ids(ids, np.fromiter(map(len, sequences), dtype=np.int64, count=len(sequences)))

    def logprob_ids(self, tokens: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`logprob_flat` of sequences given as vocabulary ids: ``tokens`` holds them one
        after the other, ``sizes`` their lengths."""
        pad = self.order - 1
        lengths = sizes + 1  # each sequence is padded with <s> and ends with </s>
        ids = np.full(len(tokens) + len(sizes) * (pad + 1), self.index[BOS], dtype=np.int64)
        ids[np.arange(len(tokens)) + np.repeat(np.arange(len(sizes)) * (pad + 1) + pad, sizes)] = tokens
        ids[_starts(lengths + pad) + pad + sizes] = self.index[EOS]
        # scored positions: every token and end of sequence, not the padding before them
        pos = np.repeat(_starts(lengths + pad) + pad - _starts(lengths), lengths) + np.arange(lengths.sum())
        words = ids[pos]
        p = np.exp2(self.unigram[words].astype(np.float64))
        # a history unseen at one order is unseen at all higher ones (fit counts every n-gram
        # whose shorter history it also counts), so each order looks up only the positions
        # whose shorter history was found
        live = np.arange(len(words))
        ctx = np.zeros(len(words), dtype=np.int64)
        for n in range(2, self.order + 1):
            ctx = ctx + ids[pos[live] - (n - 1)] * self.base ** (n - 2)  # history grows to the left
            at, found = self._find(f"ctx{n}", ctx)
            live, ctx, at = live[found], ctx[found], at[found]
            at2, hit = self._find(f"keys{n}", ctx * self.base + words[live])
            count = np.zeros(len(at2), dtype=np.int64)
            count[hit] = self.state[f"counts{n}"][at2[hit]]
            d = self.state[f"discount{n}"]
            types, total = self.state[f"ctx_types{n}"][at], self.state[f"ctx_total{n}"][at]
            p[live] = (np.maximum(count - d, 0) + d * types * p[live]) / total
        return np.log2(np.maximum(p, 1e-30)), lengths


def _keys(ids: np.ndarray, n: int, base: int, order: int) -> np.ndarray:
    start = order - n  # skip surplus padding for lower orders
    seq = ids[start:]
    key = np.zeros(len(seq) - n + 1, dtype=np.int64)
    for j in range(n):
        key = key * base + seq[j: len(seq) - n + 1 + j]
    return key


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
_COL = {name: i for i, name in enumerate(FEATURES)}

#: Hashed byte n-grams of the lower-cased text behind the ``char_ngram_lr`` feature:
#: sublinear tf x idf, L2-normalised, scored by a logistic regression fitted on the classifier's
#: training rows (stacked out-of-fold; see scripts/train_garble.py).
CHAR_NGRAM_ORDERS = (2, 3, 4)
CHAR_NGRAM_BITS = 18


#: Paragraph rows (:func:`batch_features`) and hashed n-grams are computed over runs of
#: paragraphs of about this many characters at a time, so the transient arrays of a huge
#: document (about 70 and 180 bytes per character of a run, tracemalloc) stay a bounded size;
#: a paragraph's values do not depend on the others, so they are the same.
RUN_CHARS = 1 << 17


def paragraph_runs(texts: Sequence[str]) -> Iterator[slice]:
    """Consecutive slices of ``texts`` of about :data:`RUN_CHARS` characters each; none when
    ``texts`` is empty."""
    first, used = 0, 0
    for i, text in enumerate(texts):
        used += len(text) + 1
        if used >= RUN_CHARS or i == len(texts) - 1:
            yield slice(first, i + 1)
            first, used = i + 1, 0


def hashed_char_ngrams(texts: Sequence[str]) -> sparse.csr_matrix:
    """Sublinear term frequencies of the hashed 2-4-byte n-grams of each (folded) text, one
    row per text; computed with numpy over many texts at once (Fibonacci hashing of the packed
    bytes, the order mixed in), about ten times faster than scikit-learn's Python analyser.
    Rows are independent: :func:`paragraph_runs` of texts are computed one after the other and
    stacked."""
    parts = list(_hashed_runs(texts))
    if not parts:
        return sparse.csr_matrix((0, 2 ** CHAR_NGRAM_BITS))
    return parts[0] if len(parts) == 1 else sparse.vstack(parts, format="csr")


def text_char_ngram_scores(texts: Sequence[str], state: dict[str, np.ndarray]) -> np.ndarray:
    """:func:`char_ngram_scores` of :func:`hashed_char_ngrams` of ``texts``, one run of texts
    at a time, so a huge document never holds its whole n-gram matrix (the same values)."""
    scores = [char_ngram_scores(x, state) for x in _hashed_runs(texts)]
    return np.concatenate(scores) if scores else np.zeros(0)


def _hashed_runs(texts: Sequence[str]) -> Iterator[sparse.csr_matrix]:
    """The rows of :func:`hashed_char_ngrams`, one matrix per :func:`paragraph_runs` of the texts."""
    for run in paragraph_runs(texts):
        yield _hashed_rows([t.lower().encode("utf-8") for t in texts[run]], 2 ** CHAR_NGRAM_BITS)


def _hashed_rows(encoded: list[bytes], size: int) -> sparse.csr_matrix:
    """:func:`hashed_char_ngrams` of some lower-cased, UTF-8 encoded texts."""
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
    # rows in order (a merge of one sorted run per order), then CSR -> CSC -> CSR: the two
    # transpositions are counting sorts that leave each row's columns in order, so summing the
    # duplicates needs no comparison sort
    indptr = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum(np.bincount(r, minlength=len(encoded)), out=indptr[1:])
    x = sparse.csr_matrix((np.ones(len(r)), c[np.argsort(r, kind="stable")], indptr),
                          shape=(len(encoded), size)).tocsc().tocsr()
    x.sum_duplicates()
    np.log(x.data, out=x.data)
    x.data += 1.0
    return x


def char_ngram_scores(x: sparse.csr_matrix, state: dict[str, np.ndarray]) -> np.ndarray:
    """Probability of garble from :func:`hashed_char_ngrams` rows under a fitted ``state``
    (``idf``, ``coef``, ``intercept``)."""
    x = x.copy()
    x.data *= state["idf"][x.indices]
    x = normalize(x)
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
    # per token string / lower-cased word, filled as texts are scored (see lexicon, char_means)
    _types: dict[str, tuple[int, int, int, str]] = field(default_factory=dict, init=False, repr=False,
                                                         compare=False)
    _chars: dict[str, float] = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Resources:
        return cls(NGramLM(state["word_lm"]), NGramLM(state["fw_lm"]), NGramLM(state["char_lm"]),
                   state["counts"], state["cap_ratio"], state.get("char_lr"))

    def lexicon(self, types: Sequence[str], shapes: np.ndarray | None = None,
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
        """For each token string: its flag bits (shape, and its lower case's standing in the
        human corpus), its word-model id and its function-word-model id (-1 where the model
        sees the token by its shape) and its lower case. ``shapes``: the strings'
        :func:`_shape_flags` when already known (:attr:`TokenTable.shapes`). Cached (up to
        :data:`_CACHE_SIZE` strings, then started afresh)."""
        cache = self._types
        if len(cache) > _CACHE_SIZE:
            cache.clear()
        rows = list(map(cache.get, types))
        if None in rows:
            known = (_shapes(types) if shapes is None else shapes).tolist()
            rows = [self._type_row(t, f) if r is None else r for t, r, f in zip(types, rows, known)]
        flags, word_id, fw_id = (np.fromiter(map(itemgetter(i), rows), dtype=np.int64, count=len(rows))
                                 for i in range(3))
        return flags, word_id, fw_id, list(map(itemgetter(3), rows))

    def _type_row(self, token: str, flags: int) -> tuple[int, int, int, str]:
        """The :meth:`lexicon` row of ``token``, whose :func:`_shape_flags` are ``flags``."""
        low = token.lower()
        counts = self.counts
        for bit, on in ((_OOV, low not in counts), (_COMMON, _common_lower(self, low)),
                        (_PROPER, token.islower() and counts.get(low, 0) >= 10 and self.cap_ratio.get(low, 0.0) > 0.95),
                        (_NAME_COMMON, _common_lower(self, token.removesuffix("'s").lower(), 5)),
                        (_GLUED, flags & _WORD and len(low) >= 5 and low not in counts and _glued_split(token, self))):
            flags |= bit if on else 0
        # function-word view: function words and punctuation kept, words and numbers by shape
        fw_id = self.fw_lm.index.get(low, self.fw_lm.index[UNK]) if flags & _FUNC or not flags & _CLEAR else -1
        row = (flags, self.word_lm.index.get(low, -1), fw_id, low)
        self._types[token] = row
        return row

    def char_means(self, words: list[str]) -> np.ndarray:
        """Mean log2 probability of each (lower-cased) word's characters and end under the
        character model (a word's value does not depend on its context); cached like
        :meth:`lexicon`."""
        cache = self._chars
        if len(cache) > _CACHE_SIZE:
            cache.clear()
        known = {w: cache.get(w) for w in dict.fromkeys(words)}
        missing = [w for w, v in known.items() if v is None]
        if missing:
            lp, lengths = self.char_lm.logprob_flat([list(w.lower()) for w in missing])
            known.update(zip(missing, (np.add.reduceat(lp, _starts(lengths)) / lengths).tolist()))
            cache.update((w, known[w]) for w in missing)
        return np.fromiter(map(known.__getitem__, words), dtype=np.float64, count=len(words))


#: Token strings / words whose lexicon rows and character scores are kept between calls.
_CACHE_SIZE = 1 << 16


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


def _common_lower(res: Resources, low: str, min_count: int = 20) -> bool:
    return res.counts.get(low, 0) >= min_count and res.cap_ratio.get(low, 1.0) < 0.1


def _drop_eos(lp: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    keep = np.ones(len(lp), dtype=bool)
    keep[np.cumsum(lengths) - 1] = False
    return lp[keep]


class ParagraphRows(NamedTuple):
    """What :func:`paragraph_rows` finds in a list of paragraphs."""

    matrix: np.ndarray  # one row per paragraph; the document-level columns are left at 0
    findings: list[list[Finding]]
    mentions: list[list[list[Mention]]]  # per paragraph: runs of capitalised words (name mentions)
    titled: list[bool]  # headline-style line: short, mostly capitalised words, no closing full stop


def _stacked(parts: list[ParagraphRows]) -> ParagraphRows:
    """Several :class:`ParagraphRows` (of consecutive runs of paragraphs) as one."""
    if len(parts) == 1:
        return parts[0]
    return ParagraphRows(np.vstack([r.matrix for r in parts]), [f for r in parts for f in r.findings],
                         [m for r in parts for m in r.mentions], [t for r in parts for t in r.titled])


def _per_para(para: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """Sum of ``weights`` (booleans count 1) over the tokens of each of ``n`` paragraphs."""
    return np.bincount(para, weights=weights.astype(np.float64), minlength=n)


def _shape_ids(lm: NGramLM, digit: np.ndarray, mid_cap: np.ndarray, lower_tag: str) -> np.ndarray:
    """Model ids of token shapes: number, capitalised mid-sentence, or ``lower_tag``."""
    get, unk = lm.index.get, lm.index[UNK]
    return np.where(digit, get(NUM, unk), np.where(mid_cap, get(CAP, unk), get(lower_tag, unk)))


def paragraph_rows(texts: Sequence[str], res: Resources) -> ParagraphRows:
    """Features (without the document-level ones), findings and name mentions of folded
    paragraphs: the tokens of all of them in one table, each language model run once over
    it, every count taken with numpy per paragraph; a paragraph's values depend on its own
    text only."""
    n = len(texts)
    tab = token_table(texts)
    type_flags, type_word_id, type_fw_id, type_low = res.lexicon(tab.types, tab.shapes)
    kind, para, sent, init = tab.kind, tab.para, tab.sent, tab.initial
    flags = type_flags[kind]
    cap, digit = flags & _CAP > 0, flags & _DIGIT > 0
    n_tok = np.bincount(para, minlength=n)
    first_tok = _starts(n_tok)
    last_flags = np.zeros(n, dtype=np.int64)  # of each paragraph's last token
    last_flags[n_tok > 0] = flags[(first_tok + n_tok - 1)[n_tok > 0]]
    m = np.zeros((n, len(FEATURES)))
    m[:, _COL["log_tokens"]] = [math.log1p(k) for k in n_tok.tolist()]

    # -- language models: words (shapes outside the vocabulary), function words, characters
    sent_len = np.bincount(sent)
    ids = type_word_id[kind]
    ids = np.where(ids >= 0, ids, _shape_ids(res.word_lm, digit, cap & ~init, UNK))
    wl = _drop_eos(*res.word_lm.logprob_ids(ids, sent_len))
    ids = type_fw_id[kind]
    ids = np.where(ids >= 0, ids, _shape_ids(res.fw_lm, digit, cap & ~init, LOW))
    fw = _drop_eos(*res.fw_lm.logprob_ids(ids, sent_len))
    word_worst, word_at = _segment_worst(wl, n_tok, 3, -8.0)
    fw_worst, fw_at = _segment_worst(fw, n_tok, 4, -3.0)
    m[:, _COL["word_lp_mean"]] = _segment_means(wl, n_tok, -8.0)
    m[:, _COL["word_lp_worst3"]] = word_worst
    m[:, _COL["word_surprising"]] = _segment_means((wl < -16).astype(np.float64), n_tok, 0.0)
    m[:, _COL["fw_lp_mean"]] = _segment_means(fw, n_tok, -3.0)
    m[:, _COL["fw_lp_worst4"]] = fw_worst
    # words the character model judges: 3+ letters, not a mid-sentence capitalised name
    judged = np.flatnonzero(type_flags & (_WORD | _LONG) == _WORD | _LONG)
    type_char = np.zeros(len(tab.types))
    type_char[judged] = res.char_means([type_low[k] for k in judged.tolist()])
    scored = np.flatnonzero((flags & (_WORD | _LONG) == _WORD | _LONG) & (init | ~cap))
    ch = type_char[kind[scored]]
    n_scored = np.bincount(para[scored], minlength=n)
    m[:, _COL["char_lp_mean"]] = _segment_means(ch, n_scored, -3.0)
    char_worst = np.full(n, -3.0)
    if len(scored):
        char_worst[n_scored > 0] = np.minimum.reduceat(ch, _starts(n_scored)[n_scored > 0])
    m[:, _COL["char_lp_worst_word"]] = char_worst

    # -- counts over the words of each paragraph
    w = np.flatnonzero(flags & _WORD)
    wpara, wflags, wsent = para[w], flags[w], sent[w]
    n_words = np.bincount(wpara, minlength=n)
    has = n_words > 0
    per_word = np.maximum(n_words, 1)
    for col, bit in (("oov_rate", _OOV), ("title_case", _CAP), ("article_rate", _ARTICLE),
                     ("preposition_rate", _PREP)):
        m[:, _COL[col]] = _per_para(wpara, wflags & bit > 0, n) / per_word
    m[:, _COL["glued_words"]] = _per_para(wpara, wflags & _GLUED > 0, n)
    titled = has & (n_words <= 20) & (_per_para(wpara, wflags & _CAP > 0, n) > 0.5 * n_words) \
        & (last_flags & _TITLE_END == 0)
    m[:, _COL["no_final_punct"]] = last_flags & _FINAL == 0
    # a sentence (not the first) starting in lower case
    first_sent = sent[first_tok[wpara]] if len(w) else wsent
    opening = np.ones(len(w), dtype=bool)
    opening[1:] = wsent[1:] != wsent[:-1]
    lower_start = opening & (wsent > first_sent) & (wflags & _LOWER > 0)
    m[:, _COL["lower_sentence_start"]] = _per_para(wpara, lower_start, n)
    # a common lower-case word capitalised mid-sentence, outside a run of capitalised words
    wcap, winit = wflags & _CAP > 0, init[w]
    same_next = np.zeros(len(w), dtype=bool)
    same_next[:-1] = wpara[1:] == wpara[:-1]
    after_name = np.zeros(len(w), dtype=bool)
    after_name[1:] = (wcap & ~winit)[:-1] & same_next[:-1]
    before_cap = np.zeros(len(w), dtype=bool)
    before_cap[:-1] = wcap[1:] & same_next[:-1]
    mid_capital = wcap & ~winit & ~titled[wpara] & (wflags & (_I | _COMMON) == _COMMON) & ~after_name \
        & ~before_cap
    proper = wflags & _PROPER > 0
    m[:, _COL["mid_capital_common"]] = _per_para(wpara, mid_capital, n)
    m[:, _COL["lower_proper"]] = _per_para(wpara, proper, n)
    # sentences of 1-3 words, in paragraphs of several sentences
    sent_para = np.zeros(len(sent_len), dtype=np.int64)
    sent_para[sent] = para
    short = _per_para(sent_para, np.isin(np.bincount(wsent, minlength=len(sent_len)), (1, 2, 3)), n)
    m[:, _COL["short_sentence"]] = np.where(np.bincount(sent_para, minlength=n) > 1, short, 0.0)
    m[:, _COL["repeated_bigram"]] = _repeated_bigrams(wpara, kind[w], type_low, wflags & _FUNC > 0, n)

    # -- findings, in the order: windows, glued words, casing, punctuation
    findings: list[list[Finding]] = [[] for _ in range(n)]
    start, end = tab.start.tolist(), tab.end.tolist()
    worded = np.flatnonzero(has)
    for at, worst, width, label in ((word_at, word_worst, 3, "word"), (fw_at, fw_worst, 4, "function-word")):
        a = tab.start[(first_tok + at)[worded]].tolist()
        b = tab.end[(first_tok + np.minimum(at + width, n_tok) - 1)[worded]].tolist()
        kind_ = f"{label}_window"
        for p, lp, s, e in zip(worded.tolist(), worst[worded].tolist(), a, b):
            findings[p].append(Finding(f"least probable {label} window ({lp:.1f} bits/token under the "
                                       f"human-English {label} model)", s, e, kind=kind_))
    text = tab.text
    for k in w[wflags & _GLUED > 0].tolist():
        head, tail = _glued_split(text[k], res) or ("", "")
        findings[para[k]].append(Finding(f"glued words: {text[k]!r} reads as {head!r} + {tail!r}",
                                         start[k], end[k], kind="glued"))
    joined = "\n".join(texts)
    offsets = _starts(np.fromiter(map(len, texts), dtype=np.int64, count=n) + 1).tolist()
    for p in _hinted(_DOT_GLUE_HINT, joined, offsets, has):
        for mt in _DOT_GLUE.finditer(texts[p]):
            m[p, _COL["dot_glue"]] += 1
            findings[p].append(Finding(f"missing space after punctuation: {mt.group()!r}", mt.start(), mt.end(),
                                       kind="glued"))
    for p in _hinted(_CAMEL_GLUE_HINT, joined, offsets, has):
        m[p, _COL["camel_glue"]] = sum(1 for mt in _CAMEL_GLUE.finditer(texts[p]) if mt.group().lower() not in res.counts)
    for k in w[lower_start].tolist():
        findings[para[k]].append(Finding(f"sentence starts in lower case: {text[k]!r}", start[k], end[k],
                                         kind="casing"))
    for k, is_mid in zip(w[mid_capital | proper].tolist(), mid_capital[mid_capital | proper].tolist()):
        message = f"common word capitalised mid-sentence: {text[k]!r}" if is_mid else \
            f"proper noun in lower case: {text[k]!r}"
        findings[para[k]].append(Finding(message, start[k], end[k], kind="casing"))
    for p in _hinted(_STRAY_HINT, joined, offsets, has):
        for mt in _STRAY.finditer(texts[p]):
            m[p, _COL["stray_punct"]] += 1
            findings[p].append(Finding(f"stray punctuation {mt.group().strip()!r}", mt.start(), mt.end(),
                                       kind="punct"))
    # an odd count is not damage when a quote re-opens at a paragraph or sentence start (news
    # style for a quotation over several paragraphs, flattened into one line by some scrapers);
    # it is also dropped when the document as a whole pairs up (see batch_features)
    for p, t in enumerate(texts):
        if has[p] and t.count('"') % 2 and not _QUOTE_REOPEN.search(t):
            m[p, _COL["quote_unbalanced"]] = 1.0
            q = t.rindex('"')
            findings[p].append(Finding("unmatched quotation mark", q, q + 1, kind="quote"))

    # a paragraph without words keeps its token count and neutral language-model values only
    m[~has, 1:] = 0.0
    for col, value in (("word_lp_mean", -8.0), ("word_lp_worst3", -8.0), ("fw_lp_mean", -3.0),
                       ("fw_lp_worst4", -3.0), ("char_lp_mean", -3.0), ("char_lp_worst_word", -3.0)):
        m[~has, _COL[col]] = value
    return ParagraphRows(m, findings, _mentions(tab, type_flags), titled.tolist())


def _hinted(hint: re.Pattern[str], joined: str, offsets: list[int], has: np.ndarray) -> list[int]:
    """The paragraphs with words that a match of ``hint`` in ``joined`` (the paragraphs joined
    by newlines, starting at ``offsets``) touches, in order."""
    touched = set()
    for mt in hint.finditer(joined):
        touched.update(range(bisect.bisect_right(offsets, mt.start()) - 1, bisect.bisect_right(offsets, mt.end() - 1)))
    return [p for p in sorted(touched) if has[p]]


def _repeated_bigrams(para: np.ndarray, kind: np.ndarray, type_low: list[str], function: np.ndarray,
                      n: int) -> np.ndarray:
    """Per paragraph: how often a word bigram (not of two function words) repeats one seen
    before in the paragraph (``para``/``kind``/``function``: each word's paragraph, type and
    whether it is a function word)."""
    lows = {low: i for i, low in enumerate(dict.fromkeys(type_low))}
    low_id = np.fromiter(map(lows.__getitem__, type_low), dtype=np.int64, count=len(type_low))[kind]
    pair = np.flatnonzero((para[1:] == para[:-1]) & ~(function[1:] & function[:-1]))
    key = low_id[pair] * len(lows) + low_id[pair + 1]
    order = np.lexsort((key, para[pair]))
    key, where = key[order], para[pair][order]
    repeat = np.zeros(len(key), dtype=bool)
    repeat[1:] = (key[1:] == key[:-1]) & (where[1:] == where[:-1])
    return _per_para(where, repeat, n)


class Mention(NamedTuple):
    """A capitalised word in a run of them (its possessive 's dropped); offsets in its paragraph."""

    text: str
    start: int
    end: int


def _mentions(tab: TokenTable, type_flags: np.ndarray) -> list[list[list[Mention]]]:
    """Per paragraph: runs of capitalised words that are not common lower-case words used at a
    sentence start (a capitalised function word only inside a run, short and mid-sentence)."""
    flags, init = type_flags[tab.kind], tab.initial
    capital = (flags & _NAME > 0) & ~(init & (flags & _NAME_COMMON > 0))
    inside = capital & (flags & _NAME_FUNC > 0) & ~init & (flags & _NAME_SHORT > 0)
    ok = capital & (flags & _NAME_FUNC == 0)
    same_sent = np.zeros(len(ok), dtype=bool)
    same_sent[1:] = tab.sent[1:] == tab.sent[:-1]
    while True:  # a function word joins a run only after a member of it
        grown = ok.copy()
        grown[1:] |= inside[1:] & ok[:-1] & same_sent[1:]
        if (grown == ok).all():
            break
        ok = grown
    out: list[list[list[Mention]]] = [[] for _ in range(tab.n_paragraphs)]
    idx = np.flatnonzero(ok)
    names = [t.removesuffix("'s") for t in tab.types]
    words = list(map(names.__getitem__, tab.kind[idx].tolist()))
    start = tab.start[idx]
    end = start + np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    # tuple.__new__ straight from C: Mention's generated __new__ is a Python call per mention
    found = list(map(tuple.__new__, itertools.repeat(Mention), zip(words, start.tolist(), end.tolist())))
    new_run = np.ones(len(idx), dtype=bool)
    new_run[1:] = (idx[1:] != idx[:-1] + 1) | ~same_sent[idx[1:]]
    bounds = np.flatnonzero(new_run).tolist()
    for a, b, p in zip(bounds, bounds[1:] + [len(idx)], tab.para[idx[new_run]].tolist()):
        out[p].append(found[a:b])
    return out


def paragraph_features(text: str, res: Resources) -> tuple[dict[str, float], list[Finding]]:
    """Features of one paragraph (without the document-level ones) and its findings."""
    rows = paragraph_rows([fold(text)], res)
    return dict(zip(FEATURES, rows.matrix[0].tolist())), rows.findings[0]


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


def name_variants(paragraphs: Sequence[str], res: Resources) -> list[NameVariant]:
    """Mentions spelling a name differently from its main spelling in the document.

    Title-case lines (headlines) do not count towards a name's main spelling."""
    rows = paragraph_rows([fold(p) for p in paragraphs], res)
    return _variants(rows.mentions, rows.titled, res)


def _variants(mentions: list[list[list[Mention]]], titled: list[bool], res: Resources) -> list[NameVariant]:
    """:func:`name_variants` from each paragraph's name mentions and headline flag."""
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
    for i, j in _close_pairs([n.lower() for n in names]):
        a, b = names[i], names[j]
        if _similar_single(a, b, res):
            main, var = (a, b) if (single[a], -first_seen[a]) >= (single[b], -first_seen[b]) else (b, a)
            if single[main] >= 2 or single[main] > single[var]:
                main_of.setdefault(var, main)
    sharing: dict[tuple[int, str], list[tuple[str, ...]]] = {}  # (kept position, token) -> bigrams
    for key in multi:
        sharing.setdefault((0, key[0]), []).append(key)
        sharing.setdefault((1, key[1]), []).append(key)

    def sound_alike(key: tuple[str, ...]) -> tuple[int, str] | None:
        """The part of ``key`` that sounds like the same part of a more frequent name, and that part."""
        for other in sharing.get((0, key[0]), []) + sharing.get((1, key[1]), []):
            if multi[other] <= multi[key] or other == key:
                continue
            j = 0 if other[0] != key[0] else 1
            a, b = key[j], other[j]
            if sound_code(a) == sound_code(b) and len(sound_code(a)) >= 2 \
                    and not _related_forms(a, b) and a not in main_of and b not in main_of:
                return j, b
        return None

    alike: dict[tuple[str, ...], tuple[int, str] | None] = {}
    # main spellings a split name may join up to, in order, and by their first three letters
    joinable = [cand for cand, c in single.items() if c >= 2 and len(cand) >= 5]
    by_prefix: dict[str, list[str]] = {}
    for cand in joinable:
        by_prefix.setdefault(cand.lower()[:3], []).append(cand)
    occurrences: dict[str, list[int]] = {}  # filled when the first variant is found
    first_bigram: dict[str, int] = {}  # token -> paragraph of the first bigram holding it

    def ref_of(name: str, current: int) -> int:
        if not occurrences:
            occurrences.update(_occurrences(mentions))
        return _ref(first_seen[name], current, occurrences[name])

    found: list[NameVariant] = []
    for pi, runs in enumerate(mentions):
        for run in runs:
            for k, t in enumerate(run):
                main = main_of.get(t.text)
                if main:
                    found.append(NameVariant(pi, t.start, t.end, t.text, main, ref_of(main, pi)))
                    continue
                # split name: "Blink He" for "Blinken"
                nxt = run[k + 1].text if k + 1 < len(run) else ""
                if nxt and len(nxt) <= 3 and single[t.text] <= 1 and \
                        (nxt.lower() in FUNCTION_WORDS or nxt.lower() not in res.counts):
                    joined = (t.text + nxt.lower()).lower()
                    prefix = t.text.lower()[:3]
                    pool = by_prefix.get(prefix, ()) if len(prefix) == 3 else \
                        [c for c in joinable if c.lower().startswith(prefix)]
                    for cand in pool:
                        if cand not in (t.text, run[k + 1].text) \
                                and Levenshtein.distance(joined, cand.lower(), score_cutoff=2) <= 2:
                            found.append(NameVariant(pi, t.start, run[k + 1].end,
                                                     f"{t.text} {run[k + 1].text}", cand,
                                                     ref_of(cand, pi)))
                            break
            # a name whose part sounds like the same part of a more frequent name
            # ("Chen Gang" beside "Qin Gang"): matches around one token are merged into one span
            varied: dict[int, tuple[int, int, str]] = {}  # token index -> (first, last, main part)
            for k in range(len(run) - 1):
                key = (run[k].text, run[k + 1].text)
                if key not in alike:
                    alike[key] = sound_alike(key)
                if alike[key]:
                    j, b = alike[key]
                    lo, hi, _ = varied.get(k + j, (k, k + 1, b))
                    varied[k + j] = (min(lo, k), max(hi, k + 1), b)
            for v, (lo, hi, b) in varied.items():
                words = [t.text for t in run[lo:hi + 1]]
                main = " ".join(b if i == v else w for i, w in zip(range(lo, hi + 1), words))
                if not first_bigram:
                    for key in multi:
                        for token in key:
                            first_bigram.setdefault(token, multi_seen[key])
                ref = first_bigram.get(b, pi)
                found.append(NameVariant(pi, run[lo].start, run[hi].end, " ".join(words), main, ref))
    return found


#: Up to this many names, :func:`_close_pairs` compares every pair directly.
_DIRECT_PAIRS = 1000


def _close_pairs(words: list[str]) -> list[tuple[int, int]]:
    """Index pairs ``(i, j)``, ``i < j``, in order, of ``words`` that may be spelling variants
    under :func:`_similar_single`: every pair within edit distance 1, and within 2 when both
    words have at least 7 letters (it may return more pairs; they are checked there).

    Few words: one all-pairs distance matrix. Many (a huge document's names): pairs that share
    a deletion variant (at most one letter deleted, two from words of 7 letters or more) are
    the only candidates (the symmetric-delete index of SymSpell, Garbe 2012), so the cost
    grows with the number of words, not its square."""
    if len(words) <= _DIRECT_PAIRS:
        if not words:
            return []
        close = cdist(words, words, scorer=Levenshtein.distance, score_cutoff=2, dtype=np.int32) <= 2
        return [(int(i), int(j)) for i, j in np.argwhere(np.triu(close, k=1))]
    keys: dict[str, list[int]] = {}
    for i, word in enumerate(words):
        for key in _deletions(word, 2 if len(word) >= 7 else 1):
            keys.setdefault(key, []).append(i)
    candidates = {pair for group in keys.values() if len(group) > 1 for pair in itertools.combinations(group, 2)}
    return sorted((i, j) for i, j in candidates
                  if Levenshtein.distance(words[i], words[j], score_cutoff=2) <= (2 if min(len(words[i]), len(words[j])) >= 7 else 1))


def _deletions(word: str, k: int) -> set[str]:
    """``word`` and every string made from it by deleting up to ``k`` characters."""
    out = {word}
    frontier = {word}
    for _ in range(k):
        frontier = {w[:i] + w[i + 1:] for w in frontier for i in range(len(w))}
        out |= frontier
    return out


def _occurrences(mentions: list[list[list[Mention]]]) -> dict[str, list[int]]:
    """Each mentioned token's first two paragraphs (fewer if it is in fewer)."""
    out: dict[str, list[int]] = {}
    for i, runs in enumerate(mentions):
        for run in runs:
            for t in run:
                seen = out.setdefault(t.text, [])
                if len(seen) < 2 and (not seen or seen[-1] != i):
                    seen.append(i)
    return out


def _ref(first: int, current: int, occurrences: list[int]) -> int:
    """A paragraph other than ``current`` holding a name (the first one, when possible), given
    the first paragraph counted for it and the first two it occurs in (:func:`_occurrences`)."""
    if first != current:
        return first
    return next((i for i in occurrences if i != current), first)


# --------------------------------------------------------------------------------------------
# Whole-document feature matrix
# --------------------------------------------------------------------------------------------


def document_features(paragraphs: Sequence[str], res: Resources) -> tuple[np.ndarray, list[list[Finding]]]:
    """Feature matrix (rows = paragraphs, columns = :data:`FEATURES`) and findings per paragraph."""
    return batch_features([paragraphs], res)[0]


def batch_features(documents: Sequence[Sequence[str]], res: Resources,
                   ) -> list[tuple[np.ndarray, list[list[Finding]]]]:
    """:func:`document_features` of several documents (each given as its paragraph texts),
    with the language models run once over all of them; a document's features do not
    depend on the other documents."""
    folded = [[fold(p) for p in doc] for doc in documents]
    flat = [p for doc in folded for p in doc]
    rows = _stacked([paragraph_rows(flat[run], res) for run in paragraph_runs(flat)] or [paragraph_rows(flat, res)])
    out = []
    at = 0
    for texts in folded:
        doc = slice(at, at + len(texts))
        at = doc.stop
        matrix, findings = rows.matrix[doc], rows.findings[doc]
        if sum(t.count('"') for t in texts) % 2 == 0:
            # a quotation running over several paragraphs (news style: each of its paragraphs
            # opens with a quote mark, only the last closes it) is not damage
            for p in np.flatnonzero(matrix[:, _COL["quote_unbalanced"]]).tolist():
                findings[p] = [x for x in findings[p] if x.kind != "quote"]
            matrix[:, _COL["quote_unbalanced"]] = 0.0
        variants = _variants(rows.mentions[doc], rows.titled[doc], res)
        for v in variants:
            matrix[v.paragraph, _COL["name_variants"]] += 1
            findings[v.paragraph].append(Finding(
                f"name spelled {v.variant!r} here but {v.main!r} elsewhere in the document "
                f"(see paragraph {v.main_paragraph})", v.start, v.end, v.main_paragraph, kind="name"))
        if len(texts):
            weights = np.maximum(matrix[:, _COL["log_tokens"]], 0.1)
            for key, src in (("doc_word_lp_mean", "word_lp_mean"), ("doc_fw_lp_mean", "fw_lp_mean")):
                matrix[:, _COL[key]] = float(np.average(matrix[:, _COL[src]], weights=weights))
            matrix[:, _COL["doc_name_variants"]] = len(variants) / len(texts)
        out.append((matrix, findings))
    if res.char_lr is not None and sum(len(m) for m, _ in out):
        lexical = text_char_ngram_scores(flat, res.char_lr)
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
    #: Paragraph feature columns summarised per document in ``DetectorResult.features`` (see
    #: :meth:`summary`): document-level inputs of the reliability model.
    SUMMARY_COLUMNS: tuple[str, ...] = (
        "word_lp_mean", "word_surprising", "oov_rate", "fw_lp_mean", "char_lp_mean", "char_ngram_lr",
        "title_case", "article_rate", "preposition_rate",
    )

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
        return [(scores, findings) for scores, findings, _ in self._predict(documents)]

    def _predict(self, documents: Sequence[Sequence[str]],
                 ) -> list[tuple[np.ndarray, list[list[Finding]], np.ndarray]]:
        """Scores, findings and paragraph feature matrix of each document."""
        res, clf, _ = self._bundle()
        feats = batch_features(documents, res)
        sizes = [len(m) for m, _ in feats]
        scores = np.zeros(0)
        if sum(sizes):
            # small matrices: OpenMP threads only add start-up and contention cost
            with _thread_controller().limit(limits=1, user_api="openmp"):
                scores = clf.predict_proba(np.vstack([m for m, _ in feats]))[:, 1]
        parts = np.split(scores, np.cumsum(sizes)[:-1]) if sizes else []
        return [(part, fi, matrix) for part, (matrix, fi) in zip(parts, feats)]

    def score(self, document: Document, context: CorpusStats | None = None) -> DetectorResult:
        return self.score_many([document], context)[0]

    def score_many(self, documents: Sequence[Document],
                   context: CorpusStats | None = None) -> list[DetectorResult]:
        """Features of the whole batch first, then one classifier call (see :meth:`predict_many`)."""
        predictions = self._predict([[p.text for p in d.paragraphs] for d in documents])
        checker = self._grammar()
        return [self._result(d, scores, findings, matrix, checker)
                for d, (scores, findings, matrix) in zip(documents, predictions)]

    @classmethod
    def summary(cls, matrix: np.ndarray) -> dict[str, float]:
        """Document-level summary of a paragraph feature matrix: for each of
        :data:`SUMMARY_COLUMNS`, the token-weighted mean, the 10th percentile and the standard
        deviation over paragraphs (empty for a document without paragraphs)."""
        if not len(matrix):
            return {}
        tokens = np.maximum(np.expm1(matrix[:, _COL["log_tokens"]]), 1.0)
        columns = matrix[:, [_COL[c] for c in cls.SUMMARY_COLUMNS]]
        values = np.concatenate([tokens @ columns / tokens.sum(), np.quantile(columns, 0.1, axis=0),
                                 columns.std(axis=0)])
        return dict(zip(cls.summary_names(), values.tolist()))

    @classmethod
    def summary_names(cls) -> tuple[str, ...]:
        """The keys of :meth:`summary`, in order."""
        return tuple(f"{c}_{stat}" for stat in ("mean", "p10", "std") for c in cls.SUMMARY_COLUMNS)

    def _result(self, document: Document, scores: np.ndarray, findings: list[list[Finding]],
                matrix: np.ndarray, checker: Any) -> DetectorResult:
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
        return DetectorResult([float(s) for s in scores], evidence, self.summary(matrix))

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
    "paragraph_rows",
    "sound_code",
    "token_table",
    "tokenize",
]
