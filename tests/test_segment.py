import textwrap

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qualityscan.document import Block, Document
from qualityscan.segment import segment, split_paragraphs


def test_lines_become_paragraphs_with_exact_offsets():
    text = "  First line.  \n\n\nSecond line\n   \nThird"
    paragraphs = split_paragraphs(text)
    assert [p.text for p in paragraphs] == ["First line.", "Second line", "Third"]
    assert [p.index for p in paragraphs] == [0, 1, 2]
    for p in paragraphs:
        assert text[p.start:p.end] == p.text


def test_blank_text_has_no_paragraphs():
    assert split_paragraphs("") == []
    assert split_paragraphs(" \n\t\n  ") == []


def test_html_blocks_attach_to_their_paragraphs():
    text = "Menu\nBody text here\n"
    blocks = [Block(0, 4, "a", 1.0, "html>body>nav>a"), Block(5, 19, "p", 0.0, "html>body>p")]
    paragraphs = split_paragraphs(text, blocks)
    assert [p.block.tag for p in paragraphs] == ["a", "p"]


def test_segment_fills_document():
    doc = segment(Document(id="d", source="s", text="a\nb"))
    assert [p.text for p in doc.paragraphs] == ["a", "b"]


def _as_spaces(span: str) -> str:
    return span.replace("\r", " ").replace("\n", " ")


@given(st.text(alphabet=st.sampled_from(list("ab \t\n\r.")), max_size=200))
def test_offsets_always_index_the_text(text):
    paragraphs = split_paragraphs(text)
    previous_end = -1
    for p in paragraphs:
        assert p.text and p.text == p.text.strip()
        assert _as_spaces(text[p.start:p.end]) == p.text
        assert "\n" not in p.text and "\r" not in p.text
        assert p.start > previous_end
        previous_end = p.end
    assert "".join(p.text for p in paragraphs).replace(" ", "").replace("\t", "") == \
        "".join(text.split())


ARTICLE = [
    ("The council met on Tuesday evening and, after a debate that ran well past midnight, agreed "
     "a budget for the coming year that raises spending on roads and schools by four per cent."),
    ("Opposition members said the increase would not cover the rising cost of materials, and "
     "asked for a review of the contracts signed last spring with two local building firms."),
    "The mayor promised a report by the end of March.",
]


@pytest.mark.parametrize("width", [50, 72, 79])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_hard_wrapped_paragraphs_are_joined(width: int, newline: str):
    article = ARTICLE * 2
    text = "\n\n".join(textwrap.fill(p, width) for p in article).replace("\n", newline)
    paragraphs = split_paragraphs(text)
    assert [" ".join(p.text.split()) for p in paragraphs] == article
    for p in paragraphs:
        assert _as_spaces(text[p.start:p.end]) == p.text
    if newline == "\n":  # one space where the writer wrapped: the text of the unwrapped paragraph
        assert [p.text for p in paragraphs] == article


def test_a_few_short_header_lines_are_not_taken_for_wrapping():
    text = ("Being honest in exit interviews is pointless\nPosted by a staff writer on Monday July 23\n"
            "from the burning-bridges department, filed under careers\n" + " ".join(ARTICLE))
    assert len(split_paragraphs(text)) == 4


def test_wrapped_text_keeps_short_lines_and_list_items_apart():
    first, second = " ".join(ARTICLE[:2]), " ".join(ARTICLE[1:])
    text = ("Budget agreed\n" + textwrap.fill(first, 60) + "\n\n" + textwrap.fill(second, 60)
            + "\n\nSee also:\n- the roads plan for the north of the county, as amended\n"
            "- the schools plan, published last week by the county council")
    texts = [p.text for p in split_paragraphs(text)]
    assert texts == ["Budget agreed", first, second, "See also:",
                     "- the roads plan for the north of the county, as amended",
                     "- the schools plan, published last week by the county council"]


@pytest.mark.parametrize("text", [
    "Home\nNews\nSport\nWeather\nContact us",  # a menu: lines far shorter than any wrap width
    "\n".join(ARTICLE),  # one paragraph per line, longer than any wrap width
    ("Short headline number one here\nA second short line of text that ends.\nThird\n"
     "Fourth line, a little longer than the others, ends here.\nFifth line."),  # uneven lines: breaks on purpose
])
def test_text_that_is_not_hard_wrapped_keeps_one_paragraph_per_line(text: str):
    assert [p.text for p in split_paragraphs(text)] == [line.strip() for line in text.split("\n")]


def test_html_lines_are_never_joined():
    text = textwrap.fill(ARTICLE[0] + " " + ARTICLE[1], 60)
    blocks = [Block(0, len(text), "pre", 0.0, "html>body>pre")]
    assert len(split_paragraphs(text, blocks)) == text.count("\n") + 1


def test_wrapping_does_not_change_the_scores(seeds_dir):
    """A scraped article scored as it came (one paragraph per line) and hard-wrapped at 72
    characters with blank lines between paragraphs: same paragraphs, same scores."""
    from qualityscan import Scanner

    lines = [line for line in (seeds_dir / "001_4dd73c500918dcc5.txt").read_text(encoding="utf-8").splitlines()
             if line.strip()]
    flat = "\n".join(line.strip() for line in lines)
    wrapped = "\n\n".join(textwrap.fill(line, 72, break_long_words=False, break_on_hyphens=False) for line in lines)
    assert wrapped.count("\n") > 2 * flat.count("\n")
    scanner = Scanner()
    one, other = scanner.scan_text(flat), scanner.scan_text(wrapped)
    assert [" ".join(p.text.split()) for p in one.paragraphs] == [" ".join(p.text.split()) for p in other.paragraphs]
    assert [p.scores for p in one.paragraphs] == [p.scores for p in other.paragraphs]
    assert one.reliability == other.reliability


def test_wrapped_gold_texts_are_recognised_and_others_left_alone(data_root):
    """CleanEval's gold texts were retyped hard-wrapped (boilerplate README); scrapinghub's and
    dragnet's are one paragraph per line. The recogniser must tell them apart."""
    import gzip
    import json
    from collections import Counter

    from qualityscan.segment import _lines, wrap_breaks

    found, total = Counter(), Counter()
    with gzip.open(data_root / "boilerplate" / "ground_truth.jsonl.gz", "rt", encoding="utf-8") as handle:
        for row in map(json.loads, handle):
            source = row["source"]
            total[source] += 1
            found[source] += bool(wrap_breaks(row["text"], _lines(row["text"])))
    assert found["cleaneval"] >= 0.7 * total["cleaneval"]
    assert found["scrapinghub"] + found["dragnet"] <= 0.01 * (total["scrapinghub"] + total["dragnet"])
