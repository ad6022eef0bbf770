"""Train the garble detector's model: n-gram language models on human English, then a
gradient-boosted tree classifier over the detector's features.

    /work/venv/bin/python scripts/train_garble.py [--data-root ../shared/data] [--out models/garble.joblib]

Data (see docs/evaluation/garble.md for the full composition rules):

* language models: human-written English only - the ground-truth main text of the
  ``boilerplate`` pages (scrapinghub, CleanEval, CleanPortalEval; never the AGPL ``dragnet``
  part) and three fifths of the human BBC articles of ``machine_text`` (one fifth is held out
  for the false-positive check, one fifth are classifier negatives), leaving out any article
  that is also a back-translation original.
* classifier: ``mt/`` MQM zh->en (MT with major errors vs human translations, documents
  rebuilt from their segments), ``mt/`` MLQE-PE (MT rated poor vs the post-edits), the
  ``paraphrase/`` back-translation pairs (rewrite vs original; a third of the pairs,
  ``compose.reserved_back_translation``, is left for the reliability model), fluent vs back-translated
  chat-model news, human BBC news (negatives), and damaged copies of some human documents
  (``synthetic_docs``: respelled/split names, glued words, lost sentence boundaries). The
  language-model texts are never classifier rows, so the language-model features are not
  flattered on negatives.
* a logistic regression on hashed character n-grams gives one more feature
  (``char_ngram_lr``), stacked: its value on every training row comes from a regression that
  did not see that row's group.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from compose import reserved_back_translation, round_trip_domain_usable
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.preprocessing import normalize

from qualityscan.detectors.garble import (
    BOS,
    CAP,
    EOS,
    FEATURES,
    LOW,
    NUM,
    UNK,
    NGramLM,
    Resources,
    char_ngram_scores,
    char_view,
    document_features,
    fold,
    function_view,
    hashed_char_ngrams,
    tokenize,
    word_view,
)
from qualityscan.language import identify
from qualityscan.model import save_model, shipped_model_path

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
COMMAND = "python scripts/train_garble.py"

# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    if not path.is_file():
        raise SystemExit(f"{path}: data file not found (set --data-root to the shared data folder)")
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            yield json.loads(line)


def stable_bucket(key: str, buckets: int = 5) -> int:
    return int(hashlib.sha1(key.encode("utf-8")).hexdigest(), 16) % buckets


_GLUED_SENTENCE = re.compile(r'([a-z][.!?]["\']?)([A-Z])')


def repair_flattened(text: str) -> str:
    """Put back the space XSum's flattening removed between paragraphs ("UK".Jolyon)."""
    return _GLUED_SENTENCE.sub(r"\1 \2", text)


def _key12(text: str) -> str:
    return " ".join(re.findall(r"[a-z]+", text.lower())[:12])


def bt_pairs(root: Path) -> list[dict[str, Any]]:
    """Back-translation pairs (original, round-trip rewrite) from paraphrase/."""
    return [r for r in read_jsonl(root / "paraphrase" / "paraphrase_pairs.jsonl.gz")
            if r["subset"] == "back_translation" and r["label"] == 1]


def human_news(root: Path) -> list[dict[str, Any]]:
    """Human BBC articles of machine_text/ (repaired), each with its held-out flag."""
    bt_keys = {_key12(r["text_a"]) for r in bt_pairs(root)}
    rows = []
    for r in read_jsonl(root / "machine_text" / "machine_text.jsonl.gz"):
        if r["label"] != "human":
            continue
        text = repair_flattened(r.get("text_full") or r["text"])
        if _key12(text) in bt_keys or _key12(r["text"]) in bt_keys:
            continue
        bucket = stable_bucket(r["group"])
        # fifth 0: held out for the false-positive check; fifth 1: classifier negatives; rest: LMs
        rows.append({"group": r["group"], "text": text, "heldout": bucket == 0, "classifier": bucket == 1})
    return rows


def lm_paragraphs(root: Path) -> tuple[list[str], dict[str, int]]:
    """Human English paragraphs for the language models, and how many came from each source."""
    out: list[str] = []
    sources: Counter[str] = Counter()
    for r in read_jsonl(root / "boilerplate" / "ground_truth.jsonl.gz"):
        if r["source"] == "dragnet":
            continue  # AGPL: never in a shipped model
        for para in re.split(r"\n\s*\n", r["text"]):
            para = " ".join(para.split())
            if len(para) >= 40 and identify(para)[0] == "en":
                out.append(para)
                sources[f"boilerplate/{r['source']}"] += 1
    for r in human_news(root):
        if not r["heldout"] and not r["classifier"]:
            out.extend(split_sentences_into_paragraphs(r["text"], 3))
            sources["machine_text/human"] += 1
    return out, dict(sources)


def split_sentences_into_paragraphs(text: str, per: int) -> list[str]:
    """Cut a one-line text into paragraphs of ``per`` sentences."""
    sents = [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z\"'])", " ".join(text.split())) if s]
    return [" ".join(sents[i:i + per]) for i in range(0, len(sents), per)]


# ---------------------------------------------------------------------------------------------
# Language models
# ---------------------------------------------------------------------------------------------

PUNCT_KEEP = list(".,;:!?\"'()-/&%$")


def fit_resources(paragraphs: list[str], word_vocab_size: int = 30000) -> dict[str, Any]:
    """Fit the word, function-word and character models and the casing statistics."""
    sentences = [s for p in paragraphs for s in tokenize(fold(p))]
    counts: Counter[str] = Counter()
    caps: Counter[str] = Counter()
    mid: Counter[str] = Counter()
    chars: Counter[str] = Counter()
    for s in sentences:
        for t in s:
            if not t.is_word:
                continue
            low = t.text.lower()
            counts[low] += 1
            chars.update(low)
            if not t.initial:
                mid[low] += 1
                caps[low] += t.capitalised
    vocab_words = [w for w, c in counts.most_common(word_vocab_size) if c >= 3]
    specials = [BOS, EOS, UNK, CAP, NUM, LOW]
    word_vocab = specials + vocab_words + [p for p in PUNCT_KEEP if p not in vocab_words]
    word_index = {w: i for i, w in enumerate(word_vocab)}

    def word_seq(s):  # punctuation outside the vocabulary -> <unk>
        return [w if w in word_index else UNK for w in word_view(s, word_index)]

    word_lm = NGramLM.fit((word_seq(s) for s in sentences), word_vocab, order=3, min_count=2)
    fw_sents = [function_view(s) for s in sentences]
    fw_types = Counter(t for s in fw_sents for t in s)
    fw_vocab = specials + sorted(t for t, c in fw_types.items() if c >= 20 and t not in specials)
    fw_set = set(fw_vocab)
    fw_lm = NGramLM.fit(([t if t in fw_set else UNK for t in s] for s in fw_sents), fw_vocab, order=5,
                        min_count=2)
    char_vocab = specials + sorted(c for c, n in chars.items() if n >= 200)
    char_set = set(char_vocab)
    words = [w for w, c in counts.items() for _ in range(min(c, 50)) if len(w) >= 2]
    char_lm = NGramLM.fit(([c if c in char_set else UNK for c in char_view(w)] for w in words), char_vocab,
                          order=5, min_count=2)
    return {
        "word_lm": word_lm.state, "fw_lm": fw_lm.state, "char_lm": char_lm.state,
        "counts": {w: c for w, c in counts.items() if c >= 2},
        "cap_ratio": {w: round(caps[w] / mid[w], 3) for w in counts if counts[w] >= 2 and mid[w]},
    }


# ---------------------------------------------------------------------------------------------
# Classifier data: documents of labelled paragraphs
# ---------------------------------------------------------------------------------------------


@dataclass
class Doc:
    """A document of paragraphs with per-paragraph labels (1 garbled / 0 fluent / -1 unused)."""

    source: str  # mqm | mlqe | bt
    group: str
    system: str
    family: str
    human: bool
    paragraphs: list[str]
    labels: list[int]
    info: list[dict[str, Any]] = field(default_factory=list)


def system_family(system: str) -> str:
    """One name per MT system family ("DiDi_NLP.401" and "DIDI-NLP" -> "didi")."""
    base = re.split(r"[._-]", system.lower())[0]
    if base.startswith("metricsystem"):
        return "metricsystem"
    return {"human": "human", "ref": "human"}.get(base, base)


def mqm_major(r: dict[str, Any]) -> bool:
    """At least one major (or non-translation) error per rater on average."""
    return (r["n_major"] + r["n_non_translation"]) / r["n_raters"] >= 1


def mqm_docs(root: Path) -> list[Doc]:
    by_doc: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in read_jsonl(root / "mt" / "mqm_zhen_segments.jsonl.gz"):
        by_doc.setdefault((r["doc_id"], r["system"]), []).append(r)
    docs = []
    for (doc_id, system), segs in by_doc.items():
        segs.sort(key=lambda r: r["doc_seg_index"])
        human = segs[0]["is_human"]
        labels, info = [], []
        for r in segs:
            clean = r["target_agreement"] == 1
            if human:
                labels.append(0 if clean else -1)
            else:
                labels.append(1 if (mqm_major(r) and clean) else -1)
            info.append({"major": mqm_major(r), "mqm": r["mqm_score"], "agree": clean,
                         "testset": r["testset"], "fluency_major": r["n_fluency_major"] > 0,
                         "accuracy_only": r["n_major"] == r["n_accuracy_major"] and not r["n_non_translation"]})
        docs.append(Doc("mqm", doc_id, system, "human" if human else system_family(system), human,
                        [r["target"] for r in segs], labels, info))
    return docs


def mlqe_docs(root: Path, per_doc: int = 20) -> list[Doc]:
    """MT and post-edit documents of up to ``per_doc`` sentences of one source article."""
    by_article: dict[str, list[dict[str, Any]]] = {}
    for r in read_jsonl(root / "mt" / "mlqe_pe_toen.jsonl.gz"):
        if r["doc_id"] and r["post_edit"]:
            by_article.setdefault(r["doc_id"], []).append(r)
    docs = []
    for doc_id, rows in sorted(by_article.items()):
        rows.sort(key=lambda r: r["id"])
        for i in range(0, len(rows), per_doc):
            chunk = rows[i:i + per_doc]
            info = [{"hter": r["hter"], "da": r["da_z_mean"], "lp": r["lp"]} for r in chunk]
            mt_labels = [1 if (r["da_z_mean"] < -0.5 and r["hter"] >= 0.3) else -1 for r in chunk]
            docs.append(Doc("mlqe", doc_id, "mlqe-pe-nmt", "mlqe-pe-nmt", False, [r["mt"] for r in chunk],
                            mt_labels, info))
            docs.append(Doc("mlqe", doc_id, "post-edit", "human", True, [r["post_edit"] for r in chunk],
                            [0] * len(chunk), info))
    return docs


def bt_docs(root: Path) -> list[Doc]:
    """Back-translation pairs as documents, except the pairs reserved for the reliability
    model (``compose.reserved_back_translation``)."""
    docs = []
    for r in bt_pairs(root):
        if not round_trip_domain_usable(r["domain"]) or reserved_back_translation(r["text_a"]):
            continue
        group = "bt|" + hashlib.sha1(r["text_a"].encode()).hexdigest()[:12]
        for text, human in ((r["text_a"], True), (r["text_b"], False)):
            paras = split_sentences_into_paragraphs(text, 3)
            docs.append(Doc("bt", group, "original" if human else "back-translation",
                            "human" if human else "back-translation", human, paras,
                            [0 if human else 1] * len(paras), [{"domain": r["domain"]}] * len(paras)))
    return docs


def llm_docs(root: Path) -> list[Doc]:
    """Fluent chat-model news from machine_text/ as negatives (garble is damage, not machine
    authorship), and its back-translated variant as positives. Rows with deliberate typos
    (``adversarial_*``) and base-model continuations are left out."""
    docs = []
    for r in read_jsonl(root / "machine_text" / "machine_text.jsonl.gz"):
        if r["label"] != "machine" or r["generator_family"] not in ("openai-gpt", "google", "meta-llama") \
                or r["variant"].startswith("adversarial"):
            continue
        garbled = r["variant"] == "paraphrase_back_translation_llm"
        paras = split_sentences_into_paragraphs(r["text"], 3)
        docs.append(Doc("llm", "llm|" + r["group"], r["generator"], "back-translation" if garbled else "llm",
                        False, paras, [int(garbled)] * len(paras), [{"variant": r["variant"]}] * len(paras)))
    return docs


def news_docs(root: Path) -> list[Doc]:
    """Human BBC news (the fifth of articles kept out of the language models and of the
    false-positive check) as negatives: the fluent human text the detector must leave alone."""
    docs = []
    for r in human_news(root):
        if r["classifier"]:
            paras = split_sentences_into_paragraphs(r["text"], 3)
            docs.append(Doc("news", "news|" + r["group"], "human-news", "human", True, paras, [0] * len(paras),
                            [{}] * len(paras)))
    return docs


def load_docs(root: Path, mlqe_share: int = 3) -> list[Doc]:
    """All classifier documents; MLQE-PE is thinned to every ``mlqe_share``-th article."""
    mlqe = [d for d in mlqe_docs(root) if stable_bucket(d.group, mlqe_share) == 0]
    docs = mqm_docs(root) + mlqe + bt_docs(root) + llm_docs(root) + news_docs(root)
    return docs + synthetic_docs(docs)


# ---------------------------------------------------------------------------------------------
# Synthetic surface damage (composition rule in docs/evaluation/garble.md)
# ---------------------------------------------------------------------------------------------

_MID_NAME = re.compile(r"(?<=[a-z,] )[A-Z][a-z]{4,}\b")
_GLUE_NEXT = re.compile(r"(?<=[A-Za-z]{3}) (?=(?:as|of|the|and|for|with|was|that) )")
_BOUNDARY = re.compile(r"(?<=[a-z])\. (?=[A-Z][a-z])")
_SOUND_ALIKE = dict(zip("lrbpdtgkszmnvwaeiou", "rlpbtdkgzsnmwveaieo"))


def _respell(name: str, rng: random.Random) -> str:
    """One edit a transliteration round trip makes: a sound-alike letter, a dropped or a doubled
    letter (never the first letter)."""
    i = rng.randrange(1, len(name))
    kind = rng.randrange(3)
    if kind == 0 and name[i] in _SOUND_ALIKE:
        return name[:i] + _SOUND_ALIKE[name[i]] + name[i + 1:]
    if kind == 1:
        return name[:i] + name[i + 1:]
    return name[:i] + name[i] + name[i:]


def corrupt(text: str, names: Counter[str], rng: random.Random) -> str | None:
    """``text`` with one kind of round-trip-translation surface damage, or None if none applies:
    a name respelled or split, a function word glued to the word before it, a lost space or a
    lost full stop at a sentence boundary, a proper noun in lower case, stray punctuation."""
    ops = []
    mid = [m for m in _MID_NAME.finditer(text) if names[m.group()] >= 2]
    if mid:
        ops += ["respell", "split", "lower"]
    if _GLUE_NEXT.search(text):
        ops.append("glue")
    if _BOUNDARY.search(text):
        ops += ["dot_glue", "lost_stop"]
    if text.rstrip().endswith("."):
        ops.append("stray")
    if not ops:
        return None
    op = rng.choice(ops)
    if op in ("respell", "split", "lower"):
        m = rng.choice(mid)
        name = m.group()
        new = {"respell": lambda: _respell(name, rng),
               "split": lambda: name[:-2] + " " + name[-2:].capitalize(),
               "lower": name.lower}[op]()
        return text[:m.start()] + new + text[m.end():]
    if op == "stray":
        return text.rstrip() + " ."
    pattern, repl = {"glue": (_GLUE_NEXT, ""), "dot_glue": (_BOUNDARY, "."), "lost_stop": (_BOUNDARY, " ")}[op]
    m = rng.choice(list(pattern.finditer(text)))
    return text[:m.start()] + repl + text[m.end():]


def synthetic_docs(docs: list[Doc], share: int = 3, rate: float = 0.5) -> list[Doc]:
    """Damaged copies of every ``share``-th human document of ``mqm`` and ``bt`` (by group
    hash): each paragraph is damaged by :func:`corrupt` with probability ``rate`` and becomes a
    positive; undamaged paragraphs of the copy are not rows (they duplicate the original). The
    copy keeps the original's group, so grouped splits never separate them."""
    rng = random.Random(0)
    out = []
    for d in docs:
        if not d.human or d.source not in ("mqm", "bt") or stable_bucket(d.group, share) != 0:
            continue
        names = Counter(m.group() for p in d.paragraphs for m in _MID_NAME.finditer(p))
        paras, labels = [], []
        for p in d.paragraphs:
            new = corrupt(p, names, rng) if rng.random() < rate else None
            paras.append(new or p)
            labels.append(1 if new else -1)
        if 1 in labels:
            out.append(Doc("synthetic", d.group, "synthetic", "synthetic", False, paras, labels,
                           [{}] * len(paras)))
    return out


def featurize(docs: list[Doc], res: Resources) -> list[np.ndarray]:
    return [document_features(d.paragraphs, res)[0] for d in docs]


def stack(docs: list[Doc], feats: list[np.ndarray], keep=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows with a training label (and ``keep(doc)``): X, y, doc index."""
    xs, ys, di = [], [], []
    for i, (d, x) in enumerate(zip(docs, feats)):
        if keep is not None and not keep(d):
            continue
        lab = np.asarray(d.labels)
        m = lab >= 0
        xs.append(x[m])
        ys.append(lab[m])
        di.append(np.full(m.sum(), i))
    return np.vstack(xs), np.concatenate(ys), np.concatenate(di)


def row_texts(docs: list[Doc], keep=None) -> list[str]:
    """Folded text of the rows :func:`stack` returns, in the same order."""
    return [fold(p) for d in docs if keep is None or keep(d)
            for p, label in zip(d.paragraphs, d.labels) if label >= 0]


def fit_char_lr(h: sparse.csr_matrix, y: np.ndarray) -> dict[str, np.ndarray]:
    """idf over the given rows, then a class-balanced logistic regression (the settings of the
    evaluation's TF-IDF baseline) on hashed character n-grams; plain arrays for the model file."""
    df = np.bincount(h.indices, minlength=h.shape[1])
    idf = (np.log((1 + h.shape[0]) / (1 + df)) + 1.0).astype(np.float32)
    lr = LogisticRegression(C=4.0, class_weight="balanced", max_iter=1000, solver="liblinear")
    lr.fit(normalize(h.multiply(idf).tocsr()), y)
    return {"idf": idf, "coef": lr.coef_[0].astype(np.float32), "intercept": float(lr.intercept_[0])}


def stacked_char_column(h: sparse.csr_matrix, y: np.ndarray, groups: np.ndarray, train: np.ndarray,
                        test: np.ndarray | None = None, inner_folds: int = 2,
                        ) -> tuple[np.ndarray, np.ndarray | None, dict[str, np.ndarray]]:
    """The ``char_ngram_lr`` feature without label leakage: out-of-fold values for the
    ``train`` rows (inner GroupKFold), values for ``test`` rows from a regression fitted on all
    ``train`` rows, and that regression's state."""
    col = np.empty(len(train))
    for a, b in GroupKFold(inner_folds).split(train, groups=groups[train]):
        col[b] = char_ngram_scores(h[train[b]], fit_char_lr(h[train[a]], y[train[a]]))
    state = fit_char_lr(h[train], y[train])
    return col, (char_ngram_scores(h[test], state) if test is not None else None), state


def make_classifier():
    """Gradient-boosted trees (beat logistic regression on the held-out folds: see
    docs/evaluation/garble.md)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(max_iter=200, learning_rate=0.1, random_state=0)


def source_weights(sources: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Sample weights giving every (source, class) cell the same total weight, so the large
    MQM set, whose MT and human sides differ little on the surface, does not pull every fluent
    paragraph towards 0.5."""
    w = np.ones(len(y), dtype=np.float64)
    for src in np.unique(sources):
        for c in (0, 1):
            m = (sources == src) & (y == c)
            if m.any():
                w[m] = 1.0 / m.sum()
    return w * len(y) / w.sum()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-root", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--out", type=Path, default=shipped_model_path("garble"))
    args = ap.parse_args(argv)
    t0 = time.time()
    paragraphs, sources = lm_paragraphs(args.data_root)
    print(f"language-model corpus: {len(paragraphs)} paragraphs {sources}", flush=True)
    state = fit_resources(paragraphs)
    res = Resources.from_state(state)
    print(f"language models fitted in {time.time() - t0:.0f}s", flush=True)
    docs = load_docs(args.data_root)
    feats = featurize(docs, res)
    x, y, di = stack(docs, feats)
    print(f"classifier rows: {len(y)} ({int(y.sum())} garbled) from {len(docs)} documents", flush=True)
    row_sources = np.array([d.source for d in docs])[di]
    groups = np.array([d.group for d in docs])[di]
    h = hashed_char_ngrams(row_texts(docs))
    col, _, state["char_lr"] = stacked_char_column(h, y, groups, np.arange(len(y)))
    x[:, FEATURES.index("char_ngram_lr")] = col
    print(f"stacked character n-gram regression fitted in {time.time() - t0:.0f}s", flush=True)
    clf = make_classifier().fit(x, y, sample_weight=source_weights(row_sources, y))

    meta = save_model({"resources": state, "classifier": clf, "features": FEATURES}, args.out, {
        "name": "garble",
        "kind": "HistGradientBoostingClassifier over garble features + n-gram LMs + stacked char n-gram LR",
        "features": list(FEATURES),
        "lm_sources": sources,
        "classifier_sources": {s: sum(1 for d in docs if d.source == s)
                               for s in ("mqm", "mlqe", "bt", "llm", "news", "synthetic")},
        "data_root": str(args.data_root),
        "training_rows": len(y), "training_positives": int(y.sum()),
        "metrics": "see docs/evaluation/garble.md (scripts/evaluate_garble.py)",
        "command": COMMAND,
    })
    size = args.out.stat().st_size / 1e6
    print(f"wrote {args.out} ({size:.1f} MB, sha256 {meta['sha256'][:12]}) in {time.time() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
