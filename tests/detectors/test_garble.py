"""Garble detector: each feature family on small synthetic cases, the seeds, the model hash
check, and false positives on held-out human news when the shared data is present."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qualityscan.detectors import create, garble
from qualityscan.detectors.garble import (
    _DOT_GLUE,
    _STRAY,
    ARTICLES,
    BOS,
    EOS,
    FEATURES,
    FUNCTION_WORDS,
    PREPOSITIONS,
    UNK,
    GarbleDetector,
    KeyIndex,
    NGramLM,
    Resources,
    _close_pairs,
    _ref,
    _segment_worst,
    _shape_flags,
    batch_features,
    document_features,
    fold,
    function_view,
    hashed_char_ngrams,
    load_bundle,
    name_variants,
    paragraph_features,
    paragraph_rows,
    sound_code,
    token_table,
    tokenize,
    word_view,
)
from qualityscan.document import Document
from qualityscan.model import ModelError, ModelIntegrityError, shipped_model_path
from qualityscan.segment import segment


@pytest.fixture(scope="module")
def res():
    return load_bundle(shipped_model_path("garble"))[0]


def kinds(findings, kind):
    return [f for f in findings if f.kind == kind]


@pytest.fixture(scope="module")
def seed_paragraphs(seeds_dir: Path):
    def load(prefix: str) -> list[str]:
        path = next(seeds_dir.glob(f"{prefix}_*.txt"))
        return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

    return load


# -- text handling ---------------------------------------------------------------------------

def test_fold_keeps_offsets_and_removes_quote_style():
    text = "\u201cHe said \u2018no\u2019 \u2014 twice.\u201d"
    folded = fold(text)
    assert len(folded) == len(text)
    assert folded == "\"He said 'no' - twice.\""


def test_abbreviations_do_not_end_sentences():
    sents = tokenize("U.S. officials met Mr. Smith in Jan. on Friday. They left.")
    assert len(sents) == 2
    assert [t.text for t in sents[1] if t.initial] == ["They"]


# An independent, deliberately plain tokenizer: sentence by sentence, a token at a time (the
# batch tokenizer in garble.py must give exactly these tokens, sentences and initial flags).
_REF_TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*|\d+(?:[.,:]\d+)*|[^\w\s]")
_REF_SENT_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+")
_REF_ABBREV = re.compile(
    r"(?:\b[A-Za-z]\.|\b(?:Mr|Mrs|Ms|Dr|St|Jr|Sr|No|vs|Gen|Gov|Sen|Rep|Col|Lt|Sgt|Capt|Prof|Inc|Co|"
    r"Corp|Ltd|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|etc|al|approx|Fig|Vol|Rev)\.)$")


def reference_tokens(text):
    bounds = [m.end() for m in _REF_SENT_END.finditer(text) if not _REF_ABBREV.search(text, 0, m.start())]
    sentences, pos = [], 0
    for end in bounds + [len(text)]:
        tokens, initial = [], True
        for m in _REF_TOKEN.finditer(text, pos, end):
            t = m.group()
            tokens.append((t, m.start(), m.end(), initial and t[0].isalpha()))
            if t[0].isalpha() or t[0].isdigit():
                initial = False
            elif t in "\":(-":
                initial = True
        if tokens:
            sentences.append(tokens)
        pos = end
    return sentences


TRICKY = ["", " ", "U.S. officials met Mr. Smith in Jan. on Friday. They left.", "a. b", "ends with a dot.",
          ". starts with one", '"Hi," he said: "go." (yes) - no', "\u00b2abc \u216b x\u0301y 3.5,2 don't",
          "approx. 5 km. e.g. so", "x ,", ", y", "tail (", ") head", "one ,, two . . three ; four",
          "May.Meanwhile the ministerSaid", "Q.\nNext line", "  \t  ", "!?", "A.B. C"]


def test_batch_tokenizer_matches_a_plain_per_sentence_tokenizer():
    for text in TRICKY:
        got = [[(t.text, t.start, t.end, t.initial) for t in s] for s in tokenize(text)]
        assert got == reference_tokens(text), text
    table = token_table(TRICKY)
    expected = [(k, t) for k, text in enumerate(TRICKY) for s in reference_tokens(text) for t in s]
    got = list(zip(table.para.tolist(), zip(table.text, table.start.tolist(), table.end.tolist(),
                                            table.initial.tolist())))
    assert got == expected
    # sentences never span paragraphs and are numbered in order
    sizes = [len(reference_tokens(text)) for text in TRICKY]
    assert table.sent.max() + 1 == sum(sizes)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(alphabet="aZq.,;:!?\"'()- \t\nUSMrJ3`\u2019\u201c", max_size=30), max_size=6))
def test_tokens_and_rows_of_a_batch_match_each_paragraph_alone(res, texts):
    table = token_table(texts)
    for k, text in enumerate(texts):
        mine = table.para == k
        flat = [t for s in reference_tokens(text) for t in s]
        assert list(zip([table.text[i] for i in np.flatnonzero(mine)], table.start[mine].tolist(),
                        table.end[mine].tolist(), table.initial[mine].tolist())) == flat
    together = paragraph_rows(texts, res)
    for k, text in enumerate(texts):
        # the fast pre-filters miss no match of the full patterns
        worded = any(t[0][0].isalpha() for s in reference_tokens(text) for t in s)
        for col, pattern in (("stray_punct", _STRAY), ("dot_glue", _DOT_GLUE)):
            assert together.matrix[k, FEATURES.index(col)] == (len(pattern.findall(text)) if worded else 0), text
        alone = paragraph_rows([text], res)
        assert np.array_equal(together.matrix[k], alone.matrix[0]), text
        assert together.findings[k] == alone.findings[0] and together.mentions[k] == alone.mentions[0]
        assert together.titled[k] == alone.titled[0]


def test_fast_views_score_like_the_reference_views(res):
    """The id-based views in paragraph_rows give the language-model statistics that the
    reference word_view / function_view (used in training) give."""
    texts = ["The minister said that the talks would continue. Hong Kongas well as the sea.",
             "In Beijing, 3.5 per cent of People met Qin Gang: \"Yes\" - they said. Xyzzyq plorped."]
    rows = paragraph_rows(texts, res)
    for text, row in zip(texts, rows.matrix):
        sents = tokenize(text)
        wl = np.concatenate([res.word_lm.logprob(word_view(s, res.word_lm.index))[:-1] for s in sents])
        fw = np.concatenate([res.fw_lm.logprob(function_view(s))[:-1] for s in sents])
        assert row[FEATURES.index("word_lp_mean")] == pytest.approx(wl.mean(), abs=1e-12)
        assert row[FEATURES.index("fw_lp_mean")] == pytest.approx(fw.mean(), abs=1e-12)
        assert row[FEATURES.index("word_surprising")] == pytest.approx((wl < -16).mean(), abs=1e-12)


def test_feature_caches_do_not_change_results(res):
    texts = ["Hong Kongas well as the sea. balloon over america", "The Minister met Anthony Blinken."]
    warm = paragraph_rows(texts, res)
    fresh = Resources(res.word_lm, res.fw_lm, res.char_lm, res.counts, res.cap_ratio, res.char_lr)
    cold = paragraph_rows(texts, fresh)  # empty per-word caches
    assert np.array_equal(cold.matrix, warm.matrix) and cold.findings == warm.findings
    assert fresh._types and fresh._chars


def plain_shape_flags(token: str) -> int:
    """The definition of garble's token shape bits, one condition per bit in bit order."""
    first, name = token[0], token.removesuffix("'s")
    conditions = (
        first.isalpha(), first.isdigit(), first.isupper(), token.islower(), first.isalpha() or first.isdigit(),
        token in "\":(-", token == "I", len(token) >= 3, token in ".!?\"", token in ".!?\"')",
        token.lower() in ARTICLES, token.lower() in PREPOSITIONS, token.lower() in FUNCTION_WORDS,
        first.isalpha() and first.isupper() and not name.isupper(), name.lower() in FUNCTION_WORDS,
        len(name) <= 3,
    )
    return sum(1 << bit for bit, on in enumerate(conditions) if on)


SHAPE_TOKENS = ["I", "i", "a", "A", "The", "THE", "of", "Of", "OF", "'s", "John's", "JOHN'S", "It's", "IT'S",
                "Us's", "he's", "\"", ":", "(", "-", ".", "!", ")", "'", "3", "3.5", "\u00c9tat", "\u00e9t\u00e9",
                "\u4e2d\u6587", "\u216b", "x", "xyz", "McDonald", "NATO", "Who's", "an", "AN", "In", "by", "\u00df"]


def test_shape_flags_match_the_plain_definition(res, seed_paragraphs):
    tokens = SHAPE_TOKENS + token_table([fold(p) for name in ("000", "001", "002") for p in
                                         seed_paragraphs(name)]).types
    assert [_shape_flags(t) for t in tokens] == [plain_shape_flags(t) for t in tokens]
    # lexicon rows are the same whether the shape bits come from the token table or not
    table = token_table(TRICKY + SHAPE_TOKENS)
    given_shapes = Resources(res.word_lm, res.fw_lm, res.char_lm, res.counts, res.cap_ratio).lexicon(
        table.types, table.shapes)
    computed = Resources(res.word_lm, res.fw_lm, res.char_lm, res.counts, res.cap_ratio).lexicon(table.types)
    assert table.shapes.tolist() == [plain_shape_flags(t) for t in table.types]
    for a, b in zip(given_shapes, computed):
        assert (a == b).all() if isinstance(a, np.ndarray) else a == b


def test_hashed_char_ngrams_match_a_direct_count():
    texts = ["", "a", "Ab", "the the the", "caf\u00e9 \u4e2d\u6587 ab ab", "x" * 40]
    x = hashed_char_ngrams(texts)
    assert x.has_canonical_format and x.shape == (len(texts), 2 ** 18)
    for i, text in enumerate(texts):
        data, counts = text.lower().encode("utf-8"), {}
        for n in (2, 3, 4):
            for k in range(len(data) - n + 1):
                h = ((int.from_bytes(data[k:k + n], "big") + (n << 40)) * 0x9E3779B97F4A7C15) % 2 ** 64 >> (64 - 18)
                counts[h] = counts.get(h, 0) + 1
        row = x.getrow(i)
        assert dict(zip(row.indices.tolist(), row.data.tolist())) == pytest.approx(
            {h: 1 + np.log(c) for h, c in counts.items()}, rel=0, abs=1e-12)


def test_hashed_char_ngrams_are_the_same_computed_in_chunks(monkeypatch):
    texts = [f"Paragraph {k} caf\u00e9 " + "abc " * (k % 7) for k in range(200)]
    whole = hashed_char_ngrams(texts)
    monkeypatch.setattr(garble, "RUN_CHARS", 100)
    chunked = hashed_char_ngrams(texts)
    assert chunked.shape == whole.shape and chunked.has_canonical_format
    for attr in ("indptr", "indices", "data"):
        assert np.array_equal(getattr(chunked, attr), getattr(whole, attr))


def test_char_ngram_scores_are_the_same_computed_in_chunks(monkeypatch):
    texts = [f"Paragraph {k} caf\u00e9 " + "abc " * (k % 7) for k in range(200)]
    rng = np.random.default_rng(0)
    state = {"idf": rng.uniform(1, 5, 2 ** 18), "coef": rng.normal(size=2 ** 18), "intercept": -0.5}
    whole = garble.char_ngram_scores(hashed_char_ngrams(texts), state)
    monkeypatch.setattr(garble, "RUN_CHARS", 100)
    chunked = garble.text_char_ngram_scores(texts, state)
    assert whole.shape == (200,) and np.array_equal(chunked, whole)
    assert garble.text_char_ngram_scores([], state).shape == (0,)


# -- language model --------------------------------------------------------------------------

def test_ngram_model_is_a_distribution_and_prefers_seen_order():
    corpus = [["the", "cat", "sat"], ["the", "dog", "sat"], ["a", "cat", "ran"]] * 3
    vocab = [BOS, EOS, UNK, "the", "a", "cat", "dog", "sat", "ran"]
    lm = NGramLM.fit(corpus, vocab, order=3, min_count=1)
    for history in (["the"], ["the", "cat"], ["dog", "ran"], []):
        total = sum(2 ** lm.logprob(history + [w])[-2] for w in vocab)
        assert total == pytest.approx(1.0, abs=1e-6), history
    assert lm.logprob(["the", "cat", "sat"]).sum() > lm.logprob(["sat", "the", "cat"]).sum()
    many = lm.logprob_many([["the", "cat"], ["a", "dog", "ran"]])
    assert np.allclose(many[1], lm.logprob(["a", "dog", "ran"]))


def reference_logprob(lm, seq):
    """Interpolated absolute discounting computed directly, one position at a time."""
    idx = [lm.index[BOS]] * (lm.order - 1) + [lm.index.get(t, lm.index[UNK]) for t in seq] + [lm.index[EOS]]
    out = []
    for i in range(lm.order - 1, len(idx)):
        w = idx[i]
        p = 2.0 ** float(lm.unigram[w])
        for n in range(2, lm.order + 1):
            ctx = 0
            for k in range(n - 1, 0, -1):
                ctx = ctx * lm.base + idx[i - k]
            keys = lm.state[f"ctx{n}"]
            at = np.searchsorted(keys, ctx)
            if at == len(keys) or keys[at] != ctx:
                continue
            total, types = lm.state[f"ctx_total{n}"][at], lm.state[f"ctx_types{n}"][at]
            grams = lm.state[f"keys{n}"]
            at2 = np.searchsorted(grams, ctx * lm.base + w)
            count = lm.state[f"counts{n}"][at2] if at2 < len(grams) and grams[at2] == ctx * lm.base + w else 0
            d = lm.state[f"discount{n}"]
            p = (max(count - d, 0) + d * types * p) / total
        out.append(np.log2(max(p, 1e-30)))
    return np.array(out)


@pytest.mark.parametrize("space", [5000, 10 ** 12])  # a direct table / a hash table
@pytest.mark.parametrize("n", [0, 1, 3000])
def test_key_index_finds_exactly_the_keys(space, n):
    rng = np.random.default_rng(n)
    keys = np.unique(rng.integers(0, min(space, 10 ** 12), n))
    index = KeyIndex(keys, space)
    at, found = index.find(keys)
    assert found.all() and (at == np.arange(len(keys))).all()
    query = rng.integers(0, min(space, 10 ** 12), 5000)
    at, found = index.find(query)
    assert (found == np.isin(query, keys)).all() and (keys[at[found]] == query[found]).all()
    assert (at[~found] == 0).all()


def test_shipped_models_match_a_direct_computation(res):
    """Dense look-ups for small key spaces, binary search for large ones, and skipping the
    higher orders of an unseen history all give the textbook probabilities."""
    seqs = {res.word_lm: [["the", "talks", "would", "continue", "."], ["zzq", "of", "the", "the", "<cap>"]],
            res.fw_lm: [["the", "<low>", "of", "<cap>", "<num>", ",", "and", "<low>"]],
            res.char_lm: [list("kongas"), list("the"), list("qxzj")]}
    for lm, batch in seqs.items():
        for seq, got in zip(batch, lm.logprob_many(batch)):
            assert np.allclose(got, reference_logprob(lm, seq), rtol=0, atol=1e-9)


def test_shipped_models_nest_their_histories(res):
    """logprob_ids looks an order up only where the shorter history was seen: every history
    of a higher order must end in a history of the order below."""
    rng = np.random.default_rng(0)
    vocab = [BOS, EOS, UNK, *"abcdef"]
    fitted = NGramLM.fit([rng.choice(list("abcdef"), rng.integers(1, 9)).tolist() for _ in range(300)], vocab,
                         order=4, min_count=2)
    for lm in (res.word_lm, res.fw_lm, res.char_lm, fitted):
        for n in range(2, lm.order):
            assert np.isin(lm.state[f"ctx{n + 1}"] % lm.base ** (n - 1), lm.state[f"ctx{n}"]).all()


def test_function_word_model_flags_scrambled_order(res):
    fluent, _ = paragraph_features("The minister said that the talks would continue in the spring.", res)
    scrambled, findings = paragraph_features("The minister the said talks that of would in continue spring.", res)
    assert scrambled["fw_lp_mean"] < fluent["fw_lp_mean"]
    window = kinds(findings, "function-word_window")
    assert window and "bits/token" in window[0].message


# -- glued words, casing, punctuation --------------------------------------------------------

def test_glued_words(res):
    f, findings = paragraph_features("Human rights in China to Hong Kongas well as the sea.", res)
    assert f["glued_words"] == 1 and "'Kong' + 'as'" in kinds(findings, "glued")[0].message
    f, _ = paragraph_features("Human rights in China and Hong Kong as well as the sea.", res)
    assert f["glued_words"] == 0
    f, findings = paragraph_features("Burns went to China in May.Meanwhile, the minister flew home.", res)
    assert f["dot_glue"] == 1 and "May.Meanwhile" in kinds(findings, "glued")[0].message
    f, _ = paragraph_features("The U.S. team visited www.example.com on Friday.", res)
    assert f["dot_glue"] == 0


def test_casing_anomalies(res):
    text = "The trip was postponed after a shootout. balloon seen in the skies of america"
    f, findings = paragraph_features(text, res)
    assert f["lower_sentence_start"] == 1 and f["lower_proper"] == 1
    assert any("'america'" in x.message for x in kinds(findings, "casing"))
    f, findings = paragraph_features("The mission tries to calm the tension It worries many people.", res)
    assert f["mid_capital_common"] == 1
    f, _ = paragraph_features("Talks at the Asia-Pacific Economic Cooperation summit in America went well.", res)
    assert f["mid_capital_common"] == 0 and f["lower_proper"] == 0


def test_stray_punctuation_and_quotes(res):
    f, findings = paragraph_features("It plans to open five new embassies over the next year. .", res)
    assert f["stray_punct"] == 1 and kinds(findings, "punct")
    f, _ = paragraph_features('He called it "far-fetched and professional." I refused as no. And stop it. "', res)
    assert f["quote_unbalanced"] == 1
    f, _ = paragraph_features('He called it "far-fetched and unprofessional."', res)
    assert f["quote_unbalanced"] == 0 and f["stray_punct"] == 0


def test_quotes_over_several_paragraphs_are_not_damage(res):
    col = FEATURES.index("quote_unbalanced")
    # news style: every paragraph of a long quotation opens with a quote mark, the last closes it
    x, findings = document_features(['"The talks were long and hard.', '"We agreed on a timetable," he said.'], res)
    assert x[:, col].tolist() == [0, 0] and not any(kinds(fi, "quote") for fi in findings)
    # the same flattened onto one line by a scraper
    f, _ = paragraph_features('He thanked the team. "The talks were long. "We agreed," he said.', res)
    assert f["quote_unbalanced"] == 0
    # a quotation opened in one paragraph and closed in the next pairs up over the document
    x, _ = document_features(['He said the talks went "well and', 'quickly" on Friday.'], res)
    assert x[:, col].tolist() == [0, 0]
    x, _ = document_features(['He said the talks went well" on Friday.', 'They left.'], res)
    assert x[:, col].tolist() == [1, 0]


# -- batching --------------------------------------------------------------------------------

def test_segment_statistics_match_a_direct_computation():
    rng = np.random.default_rng(0)
    lengths = np.array([0, 1, 3, 4, 9, 2, 0, 7])
    a = rng.normal(-8, 4, lengths.sum())
    worst, at = _segment_worst(a, lengths, 3, -99.0)
    for k, (start, n) in enumerate(zip(np.cumsum(lengths) - lengths, lengths)):
        seg = a[start:start + n]
        if n == 0:
            assert worst[k] == -99.0
        elif n <= 3:
            assert worst[k] == pytest.approx(seg.mean()) and at[k] == 0
        else:
            means = np.convolve(seg, np.ones(3) / 3, mode="valid")
            assert worst[k] == pytest.approx(means.min()) and at[k] == means.argmin()


def test_batch_results_do_not_depend_on_the_batch(res):
    texts = ["The minister said that the talks would continue.\nAnthony Brinken met Blinken. Blinken left.",
             "A short note.", "", "Hong Kongas well as the sea. balloon over america\nA fluent closing line."]
    docs = [segment(Document(str(i), "t", t)) for i, t in enumerate(texts)]
    det = GarbleDetector()
    together = det.score_many(docs)
    for doc, batched in zip(docs, together):
        alone = det.score(doc)
        assert alone.scores == batched.scores and alone.evidence == batched.evidence
    many = batch_features([[p.text for p in d.paragraphs] for d in docs], res)
    for doc, (x, _) in zip(docs, many):
        assert np.array_equal(x, document_features([p.text for p in doc.paragraphs], res)[0])
    lexical = np.concatenate([x[:, FEATURES.index("char_ngram_lr")] for x, _ in many])
    assert ((lexical > 0) & (lexical < 1)).all()


def test_runs_cover_the_texts_in_order(monkeypatch):
    monkeypatch.setattr(garble, "RUN_CHARS", 50)
    texts = [f"paragraph {k} " * (k % 4) for k in range(40)]
    slices = list(garble.paragraph_runs(texts))
    assert [i for s in slices for i in range(len(texts))[s]] == list(range(len(texts)))
    assert len(slices) > 5 and all(sum(len(t) + 1 for t in texts[s][:-1]) < 50 for s in slices)
    assert list(garble.paragraph_runs([])) == []


def test_features_are_the_same_computed_in_runs(monkeypatch, res, seed_paragraphs):
    docs = [seed_paragraphs(prefix) for prefix in ("000", "002", "004")]
    whole = batch_features(docs, res)
    monkeypatch.setattr(garble, "RUN_CHARS", 300)
    assert len(list(garble.paragraph_runs([p for doc in docs for p in doc]))) > 20
    for (x, findings), (y, in_runs) in zip(whole, batch_features(docs, res)):
        assert np.array_equal(x, y) and findings == in_runs


# -- names -----------------------------------------------------------------------------------

def test_sound_code_links_romanisations():
    assert sound_code("Qin") == sound_code("Chen")
    assert sound_code("Joe") != sound_code("Jill")


def test_name_variants_flag_respelled_and_split_names(res):
    doc = [
        "Secretary of State Antony Blinken arrived in Beijing on Sunday.",
        "Blinken will meet the foreign minister on Monday.",
        "Officials said Brinken planned to raise the issue of detained citizens.",
        "Anthony Blink He also met business leaders before leaving.",
    ]
    found = {v.variant: v for v in name_variants(doc, res)}
    assert found["Brinken"].main == "Blinken" and found["Brinken"].main_paragraph == 0
    assert found["Blink He"].main == "Blinken" and found["Blink He"].paragraph == 3
    x, findings = document_features(doc, res)
    assert x[2, FEATURES.index("name_variants")] == 1 and x[1, FEATURES.index("name_variants")] == 0
    name = kinds(findings[2], "name")[0]
    assert "'Brinken'" in name.message and "'Blinken'" in name.message and name.ref == 0
    assert doc[2][name.start:name.end] == "Brinken"


def test_name_variants_sound_alike_part(res):
    doc = ["Foreign Minister Qin Gang met the envoy.", "Qin Gang said talks were candid.",
           "Later Chen Gang held a phone call with the envoy."]
    found = name_variants(doc, res)
    assert [(v.variant, v.main, v.paragraph, v.main_paragraph) for v in found] == [("Chen Gang", "Qin Gang", 2, 0)]


def _variant_pairs(words, pairs):
    """The pairs :func:`_similar_single` can accept: distance 1, or 2 between words of 7+ letters."""
    return [(i, j) for i, j in pairs
            if (d := garble.Levenshtein.distance(words[i], words[j])) == 1
            or (d == 2 and min(len(words[i]), len(words[j])) >= 7)]


def test_close_pairs_index_finds_the_pairs_of_the_direct_comparison(monkeypatch):
    rng = np.random.default_rng(7)
    letters = list("abcdeghiklmnorstuy")
    words = list(dict.fromkeys("".join(rng.choice(letters, size=rng.integers(5, 12))) for _ in range(600)))
    for w in words[:150]:  # respellings: one letter changed, dropped, or two changed
        i = int(rng.integers(len(w)))
        words += [w[:i] + "z" + w[i + 1:], w[:i] + w[i + 1:], w[:i] + "zq" + w[i + 2:]]
    words = list(dict.fromkeys(words))
    monkeypatch.setattr(garble, "_DIRECT_PAIRS", 10 ** 9)
    direct = _close_pairs(words)
    monkeypatch.setattr(garble, "_DIRECT_PAIRS", 0)
    indexed = _close_pairs(words)
    assert indexed == sorted(indexed) and set(indexed) <= set(direct)
    assert _variant_pairs(words, indexed) == _variant_pairs(words, direct) and len(_variant_pairs(words, direct)) > 100


def test_name_variants_are_the_same_with_the_index(res, monkeypatch):
    doc = [f"Officials from Westbrook{k:03d} met Minister Harrowgate in the capital." for k in range(40)]
    doc += ["Minister Harrowgate spoke on Friday.", "Later Minister Harowgate left.", "Anthony Blinken arrived.",
            "Blinken met officials.", "Anthony Blink He left on Monday."]
    monkeypatch.setattr(garble, "_DIRECT_PAIRS", 10 ** 9)
    direct = name_variants(doc, res)
    monkeypatch.setattr(garble, "_DIRECT_PAIRS", 0)
    assert name_variants(doc, res) == direct
    assert {(v.variant, v.main) for v in direct} >= {("Harowgate", "Harrowgate"), ("Blink He", "Blinken")}


def test_ref_points_at_another_paragraph_holding_the_name():
    assert _ref(0, 3, [0, 3]) == 0  # its first paragraph, when that is another one
    assert _ref(2, 2, [2, 5]) == 5  # else the next paragraph holding it
    assert _ref(1, 1, [0, 1]) == 0  # a headline mention counts as a place to point at
    assert _ref(4, 4, [4]) == 4  # nowhere else: the paragraph itself


@pytest.mark.parametrize("doc", [
    ["Joe Biden spoke on Friday.", "Jill Biden and Joe Biden visited Ohio.", "Biden said more."],
    ["President Xi Jinping arrived.", "Xi met Gates.", "Xi Jinping said the people matter."],
    ["Blinken's visit began.", "Blinken met Wang.", "Blinken spoke; the Blinkens travelled."],
    ["Russia and the Russian army.", "Russian officials in Russia.", "China and Chinese firms."],
    ["Austria beat Australia.", "Australia lost to Austria again.", "Fans in Austria cheered."],
])
def test_name_variants_avoid_false_positives(res, doc):
    assert name_variants(doc, res) == []


# -- the detector ----------------------------------------------------------------------------

def test_detector_contract():
    text = "A fluent opening sentence about the weather.\n\nAnthony Brinken met Blinken. Blinken left."
    doc = segment(Document("d", "d", text))
    det = create("garble", threshold=0.5)
    assert isinstance(det, GarbleDetector)
    result = det.score(doc)
    assert len(result.scores) == len(doc.paragraphs) == len(result.evidence)
    assert all(0.0 <= s <= 1.0 for s in result.scores)
    for p, items in zip(doc.paragraphs, result.evidence):
        for e in items:
            assert p.start <= e.span[0] <= e.span[1] <= p.end and e.detector == "garble"
    assert 0.0 <= det.aggregate(doc, result) <= 1.0
    assert det.get_params()["threshold"] == 0.5
    assert GarbleDetector().score(segment(Document("e", "e", ""))).scores == []


def test_model_hash_is_checked(tmp_path):
    src = shipped_model_path("garble")
    dst = tmp_path / "garble.joblib"
    shutil.copy(src, dst)
    shutil.copy(src.with_suffix(".json"), dst.with_suffix(".json"))
    data = bytearray(dst.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dst.write_bytes(bytes(data))
    doc = segment(Document("d", "d", "Some text here."))
    with pytest.raises(ModelIntegrityError, match="SHA-256"):
        GarbleDetector(model_path=str(dst)).score(doc)
    dst.with_suffix(".json").unlink()
    with pytest.raises(ModelError, match="metadata"):
        GarbleDetector(model_path=str(dst)).score(doc)


# -- seeds -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def seed_scores(seed_paragraphs):
    det = GarbleDetector()
    out = {}
    for prefix in ("001", "002", "003", "004"):
        paras = seed_paragraphs(prefix)
        scores, findings = det.predict(paras)
        out[prefix] = (paras, scores, findings)
    return out


def test_back_translated_seeds_score_above_fluent_ones(seed_scores):
    means = {k: float(np.mean(v[1])) for k, v in seed_scores.items()}
    assert min(means["002"], means["004"]) > max(means["001"], means["003"]) + 0.1, means
    assert means["004"] > max(means["001"], means["003"]) + 0.2, means


def test_seed_name_variant_evidence(seed_scores):
    paras, _, findings = seed_scores["004"]
    names = [(i, f) for i, fs in enumerate(findings) for f in kinds(fs, "name")]
    brinken = [(i, f) for i, f in names if "'Brinken'" in f.message and "'Blinken'" in f.message]
    assert brinken
    for i, f in brinken:
        assert paras[i][f.start:f.end] == "Brinken" and "Blinken" in paras[f.ref]
    paras, _, findings = seed_scores["002"]
    assert any("'Blink He'" in f.message for fs in findings for f in kinds(fs, "name"))


def test_seed_composed_document_links_chen_and_qin(res, seed_paragraphs):
    """Two scraped versions of one story in one file (seed 002's paragraphs, then seed 004's)."""
    paras = seed_paragraphs("002") + seed_paragraphs("004")
    found = [v for v in name_variants(paras, res) if "Gang" in v.variant]
    assert found and "Chen Gang" in found[0].variant and "Qin Gang" in found[0].main
    assert "Qin Gang" in paras[found[0].main_paragraph]


def test_detector_evidence_on_seed_document(seeds_dir: Path):
    text = (seeds_dir / next(p.name for p in seeds_dir.glob("004_*.txt"))).read_text(encoding="utf-8")
    doc = segment(Document("004", "seed", text))
    result = GarbleDetector().score(doc)
    names = [e for items in result.evidence for e in items if "'Brinken'" in e.message]
    assert names and all(text[e.span[0]:e.span[1]] == "Brinken" for e in names)
    assert float(np.mean(result.scores)) > 0.5
    text = (seeds_dir / next(p.name for p in seeds_dir.glob("002_*.txt"))).read_text(encoding="utf-8")
    result = GarbleDetector().score(segment(Document("002", "seed", text)))
    split = [e for items in result.evidence for e in items if "'Blink He'" in e.message]
    assert split and text[split[0].span[0]:split[0].span[1]] == "Blink He"
    assert all(e.ref is not None and "Blinken" in doc.paragraphs[e.ref].text for e in names)


# -- shared data -----------------------------------------------------------------------------

def test_few_false_positives_on_held_out_human_news(data_root: Path):
    from train_garble import read_jsonl, repair_flattened, split_sentences_into_paragraphs, stable_bucket

    det = GarbleDetector()
    rows = read_jsonl(data_root / "machine_text" / "machine_text.jsonl.gz")
    news = [r for r in rows if r["label"] == "human" and stable_bucket(r["group"]) == 0][:40]
    scores = np.concatenate([det.predict(split_sentences_into_paragraphs(repair_flattened(r["text_full"]), 3))[0]
                             for r in news])
    assert len(scores) > 100, len(scores)
    # regression guard: scripts/evaluate_garble.py measures the rate on all held-out articles
    assert float((scores >= 0.5).mean()) < 0.5
