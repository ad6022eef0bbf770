"""Tests of the prompt-leak detector: seeds, news that must stay quiet, languages, exact spans."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qualityscan.detectors import create
from qualityscan.detectors.prompt_leak import PromptLeakDetector
from qualityscan.document import Document
from qualityscan.segment import segment

FLAG = 0.5  # the flag threshold documented in docs/evaluation/prompt_leak.md

PROSE = ("The talks lasted for several hours and both sides described them as candid and "
         "constructive, officials said on Sunday after the meeting ended in the capital.")

DETECTOR = PromptLeakDetector()


def scored(text: str):
    doc = segment(Document(id="t", source="t", text=text))
    return doc, DETECTOR.score(doc)


def between_prose(line: str):
    """Score ``line`` as the middle paragraph of three; returns (doc, score, evidence)."""
    doc, result = scored(f"{PROSE}\n{line}\n{PROSE}")
    return doc, result.scores[1], result.evidence[1]


def assert_spans_exact(doc: Document, evidence, phrase: str) -> None:
    assert evidence, "expected evidence"
    assert any(phrase in doc.text[e.span[0]:e.span[1]] for e in evidence), \
        [doc.text[e.span[0]:e.span[1]] for e in evidence]
    for e in evidence:
        assert e.detector == "prompt_leak"
        assert doc.text[e.span[0]:e.span[1]].strip()


@pytest.fixture(scope="module")
def seed_doc(seeds_dir: Path):
    def load(prefix: str) -> Document:
        [path] = sorted(seeds_dir.glob(f"{prefix}_*.txt"))
        return segment(Document(id=path.name, source=str(path), text=path.read_text(encoding="utf-8")))

    return load


def flagged_texts(doc: Document) -> list[tuple[float, str]]:
    result = DETECTOR.score(doc)
    return [(s, doc.text[e.span[0]:e.span[1]])
            for s, ev in zip(result.scores, result.evidence) if s >= FLAG for e in ev]


# --- the seeds ---------------------------------------------------------------------------
def test_seed_summarize_instruction_is_flagged_with_its_span(seed_doc):
    hits = flagged_texts(seed_doc("004"))
    assert any(t == "Summarize this content to 100 words" and s >= 0.9 for s, t in hits), hits


def test_seed_glued_title_date_header_and_bare_question_are_flagged(seed_doc):
    doc = seed_doc("000")
    hits = flagged_texts(doc)
    texts = [t for _, t in hits]
    assert any(t.startswith("Title: U.S. Secretary of State") for t in texts), texts
    assert any(t.startswith("Date: June 18, 2023") for t in texts), texts
    assert any(t.startswith("What actions or compromises") for t in texts), texts
    # The glued header sits mid-line: its span starts right after "stability."
    title = next(e for ev in DETECTOR.score(doc).evidence for e in ev
                 if doc.text[e.span[0]:e.span[1]].startswith("Title:"))
    assert doc.text[title.span[0] - len("stability."):title.span[0]] == "stability."


def test_seed_opinion_piece_label_is_flagged(seed_doc):
    texts = [t for _, t in flagged_texts(seed_doc("003"))]
    assert any(t.startswith("Opinion Piece: A Delicate Balancing Act") for t in texts), texts


@pytest.mark.parametrize("prefix", ["001", "002"])
def test_seeds_without_leaked_instructions_stay_below_the_flag(seed_doc, prefix):
    doc = seed_doc(prefix)
    assert DETECTOR.aggregate(doc, DETECTOR.score(doc)) < FLAG


# --- leaks that must be caught -----------------------------------------------------------
ENGLISH_LEAKS = [
    ("Summarize this content to 100 words", "Summarize this content"),
    ("Rewrite this article in your own words", "Rewrite this article"),
    ("Write a news article about the meeting between the two foreign ministers", "Write a news article"),
    ("As an AI language model, I cannot predict the outcome of the talks.", "As an AI language model"),
    ("Certainly! Here is a rewritten version of the article:", "Certainly! Here is a rewritten version"),
    ("Sure, here's a 5-sentence news article based on the provided summary:The talks began on Sunday.",
     "Sure, here's a 5-sentence news article based on the provided summary:"),
    ("Regenerate response", "Regenerate response"),
    ("Regenerate response The talks were constructive, officials said.", "Regenerate response"),
    ("As of my last knowledge update in September 2021, no date had been set.", "As of my last knowledge update"),
    ("(Word count: 450)", "Word count: 450"),
    ("Best regards, [Your Name]", "[Your Name]"),
    ("[Insert quote from a government spokesperson here]", "[Insert quote"),
    ("The minister called the talks useful.【3†source】", "【3†source】"),
    ("Here is an eight-sentence news article based on the summary. The minister arrived.",
     "Here is an eight-sentence"),
    ("[assistant]: Okay, here's a news article with 6 sentences: The minister arrived.", "[assistant]:"),
    ("Let me know if you would like me to adjust the tone of the article.",
     "Let me know if you would like me to adjust"),
]
MULTILINGUAL_LEAKS = [
    ("Resume este contenido en 100 palabras", "Resume este contenido"),
    ("Reescribe este artículo con tus propias palabras", "Reescribe este artículo"),
    ("Claro, aquí tienes un artículo de noticias sobre la reunión:", "Claro, aquí tienes un artículo"),
    ("Como modelo de lenguaje, no tengo acceso a información en tiempo real.", "Como modelo de lenguaje"),
    ("Resuma este conteúdo em 100 palavras", "Resuma este conteúdo"),
    ("Claro! Aqui está um artigo sobre a reunião:", "Claro! Aqui está um artigo"),
    ("Como um modelo de linguagem, não posso opinar sobre isso.", "Como um modelo de linguagem"),
    ("Résumez ce contenu en 100 mots", "Résumez ce contenu"),
    ("Bien sûr ! Voici un article sur la rencontre :", "Bien sûr ! Voici un article"),
    ("En tant que modèle de langage, je ne peux pas donner d'avis.", "En tant que modèle de langage"),
    ("Fasse diesen Inhalt in 100 Wörtern zusammen", "Fasse diesen Inhalt"),
    ("Gerne! Hier ist ein Artikel über das Treffen:", "Gerne! Hier ist ein Artikel"),
    ("Als KI-Sprachmodell kann ich keine Meinung äußern.", "Als KI-Sprachmodell"),
]


@pytest.mark.parametrize("line, phrase", ENGLISH_LEAKS)
def test_english_leaks_are_flagged_with_exact_spans(line, phrase):
    doc, score, evidence = between_prose(line)
    assert score >= FLAG, (line, score, evidence)
    assert_spans_exact(doc, evidence, phrase)


@pytest.mark.parametrize("line, phrase", MULTILINGUAL_LEAKS)
def test_multilingual_leaks_are_flagged(line, phrase):
    doc, score, evidence = between_prose(line)
    assert score >= FLAG, (line, score, evidence)
    assert_spans_exact(doc, evidence, phrase)


def test_title_and_date_header_between_articles_is_flagged():
    doc, result = scored(f"{PROSE}\nTitle: Ministers Meet in Beijing\nDate: June 18, 2023\n{PROSE}")
    assert result.scores[1] >= 0.8 and result.scores[2] >= 0.8
    assert_spans_exact(doc, result.evidence[1], "Title: Ministers Meet in Beijing")
    assert_spans_exact(doc, result.evidence[2], "Date: June 18, 2023")


# --- ordinary news that must stay quiet --------------------------------------------------
ORDINARY_NEWS = [
    "Beijing, June 16, 2023 – U.S. Secretary of State Antony Blinken arrived in Beijing today.",
    "\"What do you think will happen next?\" she asked the minister.",
    "What happens next?",
    "Q: What did you think of the match?",
    "What are the main obstacles that remain between the two governments after this week's talks?",
    "Blinken arrives in Beijing amid high diplomatic tensions with China",
    "Why Delhi's air pollution gets so bad at this time of year",
    "Opinion",
    "By Jane Smith, BBC News",
    "[citation needed]",
    "He said [the president] would attend the summit.",
    "Of course, this is still a problem for the government.",
    "Here's what we know so far:",
    "Write to your MP today.",
    "Write a review",
    "Sure, the plan is ambitious.",
    "Date: 12 March 2019",
    "The word count of the bill exceeds 2,000 pages.",
    "As an AI researcher, she has warned about such systems for years.",
    "I'm sorry, but I can't comment on that, the spokesman said.",
    "Leah Millis/Pool/AFP via Getty Images",
    "Could you summarize your results?",
    "Q: Could you summarize your findings for our readers?",
    "Write these hours on a piece of paper and put them over your desk.",
]


@pytest.mark.parametrize("line", ORDINARY_NEWS)
def test_ordinary_news_is_not_flagged(line):
    _, score, evidence = between_prose(line)
    assert score < FLAG, (line, score, [e.message for e in evidence])


@pytest.mark.parametrize("line", [
    "When the chatbot was asked about the election, it replied: \"As an AI language model, I cannot take sides.\"",
    "Reviewers found listings that read “As an AI language model, I cannot” in their descriptions.",
])
def test_stories_about_chatbots_keep_evidence_with_a_low_score(line):
    doc, score, evidence = between_prose(line)
    assert 0 < score < FLAG
    assert_spans_exact(doc, evidence, "As an AI language")
    assert any("quotation marks" in e.message for e in evidence)


def test_bare_question_needs_prose_on_both_sides():
    question = ("What actions are the two governments willing to take in order to address the "
                "detention of citizens and the trade in precursor chemicals")
    _, between = scored(f"{PROSE}\n{question}\n{PROSE}")
    _, at_top = scored(f"{question}\n{PROSE}")
    assert between.scores[1] >= FLAG
    assert at_top.scores[0] < FLAG


# --- framework conventions ---------------------------------------------------------------
def test_registered_and_parameters_round_trip():
    detector = create("prompt_leak", quote_factor=0.2)
    assert isinstance(detector, PromptLeakDetector)
    assert detector.get_params() == {"quote_factor": 0.2, "bare_line_words": 30, "question_score": 0.65}
    assert detector.languages is None


def test_document_score_is_the_highest_paragraph_score():
    doc, result = scored(f"{PROSE}\nRegenerate response\n{PROSE}")
    assert DETECTOR.aggregate(doc, result) == max(result.scores) >= FLAG
    assert result.scores[0] == result.scores[2] == 0.0


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400))
def test_scores_are_bounded_and_spans_inside_their_paragraph(text):
    doc, result = scored(text)
    assert len(result.scores) == len(result.evidence) == len(doc.paragraphs)
    for p, s, evidence in zip(doc.paragraphs, result.scores, result.evidence):
        assert 0.0 <= s <= 1.0
        for e in evidence:
            assert p.start <= e.span[0] < e.span[1] <= p.end


# --- real data (skipped when ../shared/data is absent) -----------------------------------
def _rows(path: Path, n: int):
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for i, line in enumerate(handle):
            if i >= n:
                break
            yield json.loads(line)


def test_real_chat_preambles_are_flagged(data_root: Path):
    rows = [r for r in _rows(data_root / "prompt_leak" / "examples.jsonl.gz", 400)
            if r["residue_span"].lower().startswith(("sure", "here", "title:", "of course", "[assistant]"))]
    hits = 0
    for r in rows:
        _, result = scored(r["text"].replace("\n", " "))
        hits += result.scores[0] >= FLAG
    assert rows and hits / len(rows) >= 0.9, (hits, len(rows))


def test_human_news_articles_are_not_flagged(data_root: Path):
    rows = [r for r in _rows(data_root / "machine_text" / "machine_text.jsonl.gz", 2000)
            if r["label"] == "human"]
    flagged = [r["id"] for r in rows if max(scored(r["text"])[1].scores, default=0.0) >= FLAG]
    assert rows and len(flagged) <= 0.01 * len(rows), flagged


def test_fast_prechecks_change_no_result(monkeypatch, seeds_dir: Path):
    """Rule.triggers, Rule.words and Rule.requires only skip regexes that could not match: same
    output without them."""
    from dataclasses import replace

    import qualityscan.detectors.prompt_leak as module

    texts = [p.read_text(encoding="utf-8") for p in sorted(seeds_dir.glob("*.txt"))]
    lines = [line for line, _ in ENGLISH_LEAKS + MULTILINGUAL_LEAKS] + ORDINARY_NEWS
    texts += [f"{PROSE}\n{line}\n{PROSE}" for line in lines]
    before = [_outputs(t) for t in texts]
    monkeypatch.setattr(module, "RULES", tuple(replace(r, triggers=(), words=frozenset(), requires=()) for r in module.RULES))
    assert [_outputs(t) for t in texts] == before


def test_fast_prechecks_change_no_result_on_real_documents(monkeypatch, data_root: Path):
    """The same on real LLM outputs with chat residue and on human news."""
    from dataclasses import replace

    import qualityscan.detectors.prompt_leak as module

    texts = [r["text"] for r in _rows(data_root / "prompt_leak" / "examples.jsonl.gz", 150)]
    texts += [r["text"] for r in _rows(data_root / "machine_text" / "machine_text.jsonl.gz", 150)]
    before = [_outputs(t) for t in texts]
    assert sum(max(scores, default=0.0) >= FLAG for scores, _ in before) >= 50
    monkeypatch.setattr(module, "RULES", tuple(replace(r, triggers=(), words=frozenset(), requires=()) for r in module.RULES))
    assert [_outputs(t) for t in texts] == before


def test_verb_precheck_needs_the_whole_word():
    """An instruction verb only inside a longer word (``rewriter``) does not count as the
    word, at the start or the end of a paragraph; the verb itself does."""
    assert between_prose("Rewrite this article in 100 words for a blog.")[1] >= FLAG
    assert between_prose("The rewriter said the article was engaging.")[1] < FLAG
    assert between_prose("Engaging articles are what every copy rewriter hopes to write")[1] < FLAG


def _outputs(text: str):
    _, result = scored(text)
    return result.scores, [[(e.message, e.span) for e in ev] for ev in result.evidence]
