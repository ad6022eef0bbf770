"""Boilerplate detector: chrome phrases, features, the seeds' chrome vs their article text,
corpus evidence, HTML input, the model hash check, and a held-out check on the shared data."""

from __future__ import annotations

import json
import re
import shutil
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from qualityscan.corpus import CorpusStats, normalise_line
from qualityscan.detectors import boilerplate, create
from qualityscan.detectors.boilerplate import (
    _COMMENT_HEADER,
    _COMPILED,
    _DATE_FORMS,
    _ROW,
    _SELF_FEATURES,
    _SENTENCE_END,
    _TIME,
    _WORD,
    FEATURE_NAMES,
    BoilerplateDetector,
    _ascii_counts,
    _block_features,
    _char_classes,
    _class_counts,
    _document_features,
    _html_matrix,
    _keep_some,
    _line_features,
    _literals,
    _words,
    feature_matrix,
    find_phrase,
)
from qualityscan.document import Block, Document, Paragraph
from qualityscan.model import ModelIntegrityError, shipped_model_path
from qualityscan.segment import segment


def doc_of(text: str, id: str = "t", language: str | None = "en") -> Document:
    doc = segment(Document(id=id, source=id, text=text))
    doc.language = language
    return doc


@pytest.fixture(scope="module")
def seed(seeds_dir: Path):
    def load(prefix: str) -> Document:
        path = next(seeds_dir.glob(f"{prefix}_*.txt"))
        return doc_of(path.read_text(encoding="utf-8"), prefix)

    return load


@pytest.fixture(scope="module")
def detector() -> BoilerplateDetector:
    return BoilerplateDetector()


def scored(detector: BoilerplateDetector, doc: Document, context: CorpusStats | None = None):
    result = detector.score(doc, context)
    return {p.text: (s, ev) for p, s, ev in zip(doc.paragraphs, result.scores, result.evidence)}


# -- phrases and features ------------------------------------------------------------------

@pytest.mark.parametrize("text, category", [
    ("Leave a Reply", "comment form"),
    ("Your email address will not be published. Required fields are marked *", "comment form"),
    ("Schreibe einen Kommentar", "comment form"),
    ("Laisser un commentaire", "comment form"),
    ("Back to top button", "navigation"),
    ("Artículo anterior", "navigation"),
    ("Shares", "share widget"),
    ("Copyright © 2023 Example Media. All rights reserved.", "legal footer"),
    ("Photo: John Smith/Reuters", "byline or credit"),
])
def test_chrome_phrases(text: str, category: str) -> None:
    match = find_phrase(text)
    assert match is not None and match.category == category
    assert text[match.start:match.end] == match.text


@pytest.mark.parametrize("text", [
    "The minister arrived in Beijing on Sunday for two days of talks with senior officials.",
    "Prices rose by 3 percent in the second quarter, the statistics office said.",
])
def test_running_text_matches_no_phrase(text: str) -> None:
    assert find_phrase(text) is None


def _reference_find_phrase(text: str):
    """find_phrase without its prefilter: every category's alternation on every line."""
    best = None
    for category in _COMPILED:
        m = category.pattern.search(text)
        if m and m.end() > m.start() and (best is None or m.end() - m.start() > best[2] - best[1]):
            best = (category.name, m.start(), m.end())
    return best


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([
    "Leave a Reply", "Photo: AFP via Getty", "REUTERS/", "© 2020", "(c) 2019", "Designed by", "is a writer for",
    "Related Posts", "Previous", "Share", "Comments are closed", "Popular posts", "nächster Artikel",
    "ı", "ſ", "İ", "K", "ﬁ", " ", "the", "text", "Copyright", "SHARE THIS", "x", ":", "1 Comment",
]), max_size=8))
def test_phrase_prefilter_changes_nothing(parts: list[str]) -> None:
    text = "".join(parts)
    found = find_phrase(text)
    assert (found and (found.category, found.start, found.end)) == _reference_find_phrase(text)


def test_phrase_literals_are_required() -> None:
    # every phrase with a literal prefilter: its examples contain the literal
    assert _literals(r"leave a (?:reply|comment)") == ("leave a ",)
    assert _literals(r"(?:designed|developed) by") == ("designed", "developed")
    assert _literals(r"\(c\) (?:19|20)\d\d") == ("(c) ",)
    assert _literals(r"comments? (?:are|is) closed") == ("comment",)
    assert _literals(r"(?:a|b)|c") == ()


_LINE_PIECES = st.lists(st.sampled_from([
    "Jane says:", "says :", "Reply", "reply", "REPORT ABUSE", "Permalink", "July 3, 2012", "at 8:23 pm",
    "3/4/2021", "2021-03-04", "12 Jan 2020", "10:30", "1", "٣", "²", "Ⅻ", "ſ", "K", "é", "ß", "—", "…",
    ".", "!", "?", "\u201d", ")", "\n", " ", "\t", "a", "The", "x" * 13, ":", ",", "/", "@",
    "|", "»", "·", ">", "-", " - ", "\u00a0-\u00a0", "Sept. 4, 2019", "4 MAY 2020", "\u017fep 1, 2020", "June",
]), max_size=8)


@settings(max_examples=300, deadline=None)
@given(_LINE_PIECES)
def test_line_feature_shortcuts_change_nothing(parts: list[str]) -> None:
    # the character counts and the regexes skipped when a line cannot match them
    raw = "".join(parts)
    text = unicodedata.normalize("NFKC", raw)
    classes = [_char_classes(c) for c in text]
    assert _class_counts(text) == tuple(sum(c[k] for c in classes) for k in range(4))
    row = dict(zip(_SELF_FEATURES, _ROW.unpack(_line_features(raw, "en").row)))
    assert row["ends_sentence"] == float(bool(_SENTENCE_END.search(text)))
    assert row["has_date"] == float(bool(re.search(rf"\b(?:{_DATE_FORMS})\b", text, re.IGNORECASE)))
    assert row["separator_count"] == len(re.findall(r"[|»«•·›‹/>]|\s-\s", text))
    assert row["has_time"] == float(bool(_TIME.search(text)))
    assert _line_features(raw, "en").comment_header == bool(_COMMENT_HEADER.search(raw.strip()))


@settings(max_examples=300, deadline=None)
@given(st.one_of(_LINE_PIECES.map("".join), st.text(max_size=40)))
@example("A1B_c D-E x'Y zZ 9Q")
@example("Caf\u00e9 A1B_c D-E")
def test_ascii_word_shortcut_changes_nothing(raw: str) -> None:
    text = unicodedata.normalize("NFKC", raw)
    words = _WORD.findall(text)
    assert _words(raw, text) == (len(words), sum(map(len, words)), sum(w[0].isupper() for w in words),
                                 [w.casefold() for w in words], normalise_line(raw))
    if text.isascii():
        assert _ascii_counts(text) == (_words(raw, text), _class_counts(text))


def test_html_matrix_reads_each_block_kind_once_with_the_same_rows() -> None:
    blocks = [Block(0, 1, "p", 0.0, "html>body>div>p", "content"), None,
              Block(0, 1, "li", 0.5, "html>body>nav>ul>li", "menu"), Block(0, 1, "p", 0.25, "html>body>div>p", "content")]
    paragraphs = [Paragraph(i, 0, 1, "x", block=b) for i, b in enumerate(blocks)]
    expected = [[0.0, *[np.nan] * (len(_block_features("p", "", "")) - 1)] if b is None
                else [*_block_features(b.tag, b.path, b.attrs)] for b in blocks]
    link = FEATURE_NAMES.index("link_density") - FEATURE_NAMES.index("html")
    for row, b in zip(expected, blocks):
        row[link] = np.nan if b is None else b.link_density
    np.testing.assert_array_equal(_html_matrix(paragraphs), np.array(expected))


def test_feature_matrix_plain_and_html_shapes() -> None:
    doc = doc_of("Home\nA long paragraph of running text with many words in it, written as an "
                 "article would be, with commas, stop words and a full stop at the end of it.\nShare")
    x, phrases, others = feature_matrix(doc)
    assert x.shape == (3, len(FEATURE_NAMES))
    html = FEATURE_NAMES.index("html")
    assert (x[:, html] == 0).all() and np.isnan(x[:, FEATURE_NAMES.index("link_density")]).all()
    assert np.isnan(x[:, FEATURE_NAMES.index("corpus_log_others")]).all()  # no context
    assert phrases[0] is not None and phrases[1] is None and phrases[2] is not None
    assert others == [0, 0, 0]
    before = FEATURE_NAMES.index("before_first_long")
    assert x[0, before] == 1 and x[1, before] == 0


# -- the seeds ---------------------------------------------------------------------------------

CHROME = {
    "001": ["Image source : Money control", "Related Articles", "Back to top button",
            "Content Creator | Script Writer"],
    "002": ["Leave a Reply", "Your email address will not be published. Required fields are marked *"],
    "003": ["Total", "0", "Shares", "Leave a Reply", "Previous Article", "Next Article", "Related Posts"],
    "004": ["Jannah Theme License is not validated", "china-usa-diplomacy-blinken",
            "Leah Millis/Pool/AFP via Getty Images", "Back to top button"],
}


@pytest.mark.parametrize("prefix", sorted(CHROME))
def test_seed_chrome_scores_high_with_evidence(detector: BoilerplateDetector, seed, prefix: str) -> None:
    results = scored(detector, seed(prefix))
    for start in CHROME[prefix]:
        text = next(t for t in results if t.startswith(start))
        score, evidence = results[text]
        assert score >= 0.5, (text, score)
        assert evidence and all(e.detector == "boilerplate" and e.message for e in evidence), text


@pytest.mark.parametrize("prefix", ["000", "001", "002", "003", "004"])
def test_seed_article_paragraphs_score_low(detector: BoilerplateDetector, seed, prefix: str) -> None:
    results = scored(detector, seed(prefix))
    article = [(t, s) for t, (s, _) in results.items()
               if len(t.split()) >= 30 and not t.startswith("Content Creator")
               and not t.startswith("Jannah")]
    assert article
    high = [(t[:60], round(s, 2)) for t, s in article if s >= 0.5]
    assert len(high) <= len(article) // 20, high


def test_evidence_spans_and_phrase(detector: BoilerplateDetector, seed) -> None:
    doc = seed("002")
    result = detector.score(doc)
    i = next(p.index for p in doc.paragraphs if p.text == "Leave a Reply")
    messages = [e.message for e in result.evidence[i]]
    assert any("comment form" in m and "Leave a Reply" in m for m in messages)
    for e in result.evidence[i]:
        assert doc.paragraphs[i].start <= e.span[0] < e.span[1] <= doc.paragraphs[i].end


def test_aggregate_is_share_of_text(detector: BoilerplateDetector, seed) -> None:
    doc = seed("003")
    result = detector.score(doc)
    share = detector.aggregate(doc, result)
    assert 0.0 < share < 0.5 < max(result.scores)


def test_empty_document(detector: BoilerplateDetector) -> None:
    result = detector.score(doc_of(""))
    assert result.scores == [] and result.evidence == []


# -- the corpus ----------------------------------------------------------------------------------

def test_corpus_count_is_evidence(detector: BoilerplateDetector) -> None:
    footer = "Subscribers get the weekly digest from the Harbour Gazette desk"

    def body(i: int) -> str:
        return (f"The harbour authority approved ferry timetable number {i} after months of complaints "
                "from commuters, who had waited for up to an hour in the mornings, officials said.\n"
                f"Officials said change {i} would take effect in the spring and that fares would stay "
                "the same for the rest of the year, according to the plan published on Monday.")

    docs = [doc_of(f"{body(i)}\n{footer}", str(i)) for i in range(6)]
    corpus = CorpusStats()
    for d in docs:
        corpus.add(d)
    with_corpus = scored(detector, docs[0], corpus)
    alone = scored(detector, docs[0])
    score, evidence = with_corpus[footer]
    assert score >= 0.5
    assert any("shared by 5 other documents" in e.message for e in evidence)
    assert score > alone[footer][0]
    assert with_corpus[docs[0].paragraphs[0].text][0] < 0.5


# -- HTML input ----------------------------------------------------------------------------------

def test_html_blocks_are_used(detector: BoilerplateDetector) -> None:
    from qualityscan import readers
    article = " ".join(f"Sentence {k} of the report explains what the council decided and why it matters "
                       "to the people who live in the town." for k in range(4))
    page = (
        "<html><body><div class='site-header'><ul class='menu'><li><a href='/'>News</a></li>"
        "<li><a href='/s'>Sport</a></li><li><a href='/w'>Weather</a></li></ul></div>"
        f"<article class='post'><h1>Council approves budget</h1><p>{article}</p><p>{article}</p></article>"
        "<div class='sidebar widget'><h3>Popular</h3><ul><li><a href='/a'>Storm closes bridge</a></li>"
        "<li><a href='/b'>Mayor opens new library</a></li></ul></div>"
        "<footer><p>Registered office: 1 High Street</p></footer></body></html>")
    doc = readers.document_from_html(page, id="p", source="p.html")
    segment(doc)
    doc.language = "en"
    assert all(p.block is not None for p in doc.paragraphs)
    results = scored(detector, doc)
    for chrome in ("News", "Sport", "Weather", "Storm closes bridge", "Mayor opens new library",
                   "Registered office: 1 High Street"):
        assert results[chrome][0] >= 0.5, (chrome, results[chrome][0])
    assert results[article][0] < 0.5


def test_comment_thread_after_the_article(detector: BoilerplateDetector) -> None:
    from qualityscan import readers
    article = " ".join(f"Sentence {k} of the report explains what the council decided and why it matters "
                       "to the people who live in the town." for k in range(4))
    comment = ("I have lived here for thirty years and I think the council is wrong about this, "
               "because the budget should have gone to the schools and the roads first.")
    page = (
        f"<html><body><article class='post'><h1>Council approves budget</h1><p>{article}</p><p>{article}</p>"
        "</article><div id='comments' class='comments-area'><h3>2 Responses</h3><ol class='comment-list'>"
        f"<li id='comment-1' class='comment'><p>Jane says:</p><p>{comment}</p></li>"
        f"<li id='comment-2' class='comment'><p>Tom says:</p><p>{comment} Really.</p></li></ol></div>"
        "</body></html>")
    doc = readers.document_from_html(page, id="c", source="c.html")
    segment(doc)
    doc.language = "en"
    x, _, _ = feature_matrix(doc)
    results = scored(detector, doc)
    row = {p.text: i for i, p in enumerate(doc.paragraphs)}
    assert x[row[comment], FEATURE_NAMES.index("comment_container")] == 1
    assert x[row[comment], FEATURE_NAMES.index("after_main")] == 1
    assert x[row[article], FEATURE_NAMES.index("in_main_container")] == 1
    assert results[comment][0] >= 0.5
    assert any("comment/reply container" in e.message for e in results[comment][1])
    assert results[article][0] < 0.5


def test_long_comment_does_not_become_the_main_container(detector: BoilerplateDetector) -> None:
    from qualityscan import readers
    article = ("The council approved the budget on Tuesday after a long debate about schools, roads and "
               "the new library, and the mayor said the vote showed the town could agree on hard choices.")
    comment = " ".join(f"Point {k}: I have lived here for thirty years and I think the council is wrong "
                       "about this, because the money should have gone to the schools first." for k in range(6))
    page = (
        "<html><body><div class='comments'><ol class='commentlist'>"
        f"<li class='comment comment-77'><p>{comment}</p></li></ol></div>"
        f"<div class='entry-content'><p>{article}</p><p>{article} Again.</p></div></body></html>")
    doc = readers.document_from_html(page, id="m", source="m.html")
    segment(doc)
    doc.language = "en"
    x, _, _ = feature_matrix(doc)
    row = {p.text: i for i, p in enumerate(doc.paragraphs)}
    # the comment holds more words of long paragraphs than the article, and comes first
    assert x[row[article], FEATURE_NAMES.index("in_main_container")] == 1
    assert x[row[comment], FEATURE_NAMES.index("comment_container")] == 1
    assert x[row[comment], FEATURE_NAMES.index("before_main")] == 1
    results = scored(detector, doc)
    assert results[comment][0] >= 0.5
    assert any("comment/reply container" in e.message for e in results[comment][1])
    assert results[article][0] < 0.5


@pytest.mark.parametrize("scores, expected", [
    ([0.62, 0.66, 0.95], [0.49, 0.49, 0.95]),  # nothing kept: the most text-like paragraphs are
    ([0.62, 0.68, 0.95], [0.49, 0.68, 0.95]),  # ... only those within the margin of the lowest
    ([0.75, 0.8], [0.75, 0.8]),                # all chrome: the lowest is too high to keep
    ([0.3, 0.66, 0.95], [0.3, 0.66, 0.95]),    # something is kept already: unchanged
])
def test_a_page_keeps_its_most_text_like_paragraphs(scores: list[float], expected: list[float]) -> None:
    values = np.array(scores)
    _keep_some(values)
    assert values.tolist() == expected


def test_all_chrome_document_stays_flagged(detector: BoilerplateDetector) -> None:
    result = detector.score(doc_of("Leave a Reply\nBack to top\nAll rights reserved."))
    assert min(result.scores) >= 0.5


def test_score_many_equals_score(detector: BoilerplateDetector, seed) -> None:
    docs = [seed(prefix) for prefix in ("000", "001", "002", "003", "004")]
    corpus = CorpusStats()
    for d in docs:
        corpus.add(d)
    together = detector.score_many(docs, corpus)
    for doc, result in zip(docs, together):
        alone = detector.score(doc, corpus)
        assert result.scores == alone.scores and result.evidence == alone.evidence
    reversed_batch = detector.score_many(docs[::-1], corpus)[::-1]
    assert [r.scores for r in reversed_batch] == [r.scores for r in together]


def test_stacked_documents_get_the_rows_each_gets_alone(seed) -> None:
    # a batch's positions, windows, neighbours and sums stay inside each document, bit for bit
    from qualityscan import readers
    page = readers.document_from_html(
        "<html><body><div class='menu'><p>Home</p><p>News</p></div><article><p>"
        + "The council met on Tuesday and agreed the budget for the coming year after a long debate. " * 3
        + "</p></article><div class='comments'><p>Jane says:</p><p>July 3, 2012 at 8:23 pm</p>"
        "<p>I disagree with the council.</p></div></body></html>", id="p", source="p.html")
    segment(page)
    page.language = "en"
    docs = [seed("001"), doc_of(""), doc_of("Home\nShare\nHome"), page, doc_of("One line.", language=None),
            seed("004")]
    corpus = CorpusStats()
    for d in docs[:4]:
        corpus.add(d)
    for context in (corpus, None):
        stacked, lines, others = _document_features(docs, context, True)
        alone = [_document_features([d], context, True) for d in docs]
        assert stacked.tobytes() == np.vstack([a[0] for a in alone]).tobytes()
        assert lines == [x for a in alone for x in a[1]] and others == [k for a in alone for k in a[2]]




def test_explanations_are_the_same_in_runs_of_rows(detector: BoilerplateDetector, seed,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    docs = [seed(prefix) for prefix in ("000", "001", "002", "003", "004")]
    features, _, _ = _document_features(docs, None, True)
    scores = detector.predict(features)
    rows = np.flatnonzero(scores >= 0.2)
    whole = detector._top_groups(features, scores, rows)
    monkeypatch.setattr(boilerplate, "PROBE_ROWS", 3)
    assert rows.size > 3 * 5 and sum(map(bool, whole.values())) > 3
    assert detector._top_groups(features, scores, rows) == whole
# -- registry and the model file --------------------------------------------------------------

def test_registered() -> None:
    assert isinstance(create("boilerplate"), BoilerplateDetector)


def test_tampered_model_is_refused(tmp_path: Path) -> None:
    source = shipped_model_path("boilerplate")
    target = tmp_path / "boilerplate.joblib"
    shutil.copy(source, target)
    meta = json.loads(source.with_suffix(".json").read_text())
    assert meta["features"] == list(FEATURE_NAMES)
    assert "dragnet" not in meta["data"]["sources"]
    meta["sha256"] = "0" * 64
    target.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(ModelIntegrityError):
        BoilerplateDetector(model_path=target).score(doc_of("Leave a Reply"))


# -- held-out data -------------------------------------------------------------------------------

def test_held_out_pages_beat_phrase_list(detector: BoilerplateDetector, data_root: Path) -> None:
    if not (data_root / "boilerplate" / "pages.jsonl.gz").is_file():
        pytest.skip(f"boilerplate data not found at {data_root / 'boilerplate'}")
    from boilerplate_data import load_pages

    meta = json.loads(shipped_model_path("boilerplate").with_suffix(".json").read_text())
    fold = meta["metrics"]["held_out_fold"]
    pages = load_pages(data_root, lambda m: m["fold"] == fold and m["source"] == "scrapinghub", limit=12)
    y, model_flag, phrase_flag = [], [], []
    for page in pages:
        plain = page.plain()
        scores = detector.score(plain).scores
        for para, label, words, s in zip(plain.paragraphs, page.labels, page.has_words, scores):
            if words:
                y.append(label)
                model_flag.append(s >= 0.5)
                phrase_flag.append(find_phrase(para.text) is not None)

    def f1(flags: list[bool]) -> float:
        tp = sum(f and t for f, t in zip(flags, y))
        return 2 * tp / (sum(flags) + sum(y)) if flags else 0.0

    assert len(y) > 500
    assert f1(model_flag) > 0.8
    assert f1(model_flag) > f1(phrase_flag) + 0.2


def test_evaluation_pools_folds_by_adding_tallies() -> None:
    """The cross-fold check pools folds by adding ``tally`` sums: that must give the same
    figures as summarising all pages at once."""
    from boilerplate_data import Page
    from evaluate_boilerplate import finish, summarise, tally

    def page(i: int, source: str, text: str, truth: str, labels: list[int], kept: list[bool]) -> tuple:
        doc = doc_of(text, f"p{i}")
        has_words = [bool(p.text.strip()) for p in doc.paragraphs]
        kept_text = "\n".join(p.text for p, k in zip(doc.paragraphs, kept) if k)
        return (Page(f"p{i}", source, 0, "d", "", truth, doc, labels, has_words), np.array(kept), kept_text)

    fold_a = [page(0, "a", "Leave a Reply\nThe council met on Monday to vote.", "The council met on Monday to vote.",
                   [1, 0], [False, True]),
              page(1, "b", "Home\nNews\nRain fell all week in the valley.", "Rain fell all week in the valley.",
                   [1, 1, 0], [True, False, True])]
    fold_b = [page(2, "a", "Share this\nPrices rose by two percent in May.", "Prices rose by two percent in May.",
                   [1, 0], [True, False]),
              page(3, "a", "Menu\nNothing here", "", [1, 1], [False, False])]
    pooled_sums: dict = {}
    for rows in (fold_a, fold_b):
        for source, sums in tally(rows).items():
            for name, value in sums.items():
                pooled_sums.setdefault(source, {}).setdefault(name, 0.0)
                pooled_sums[source][name] += value
    direct = summarise(fold_a + fold_b)
    assert set(direct) == {"all", "a", "b"}
    for source, stats in direct.items():
        assert finish(pooled_sums[source]) == pytest.approx(stats)
    assert direct["all"]["pages"] == 3  # the page without ground truth counts for blocks only
    assert 0.0 < direct["all"]["page_f1"] < 1.0
