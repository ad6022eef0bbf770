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


@given(st.text(alphabet=st.sampled_from(list("ab \t\n\r.")), max_size=200))
def test_offsets_always_index_the_text(text):
    paragraphs = split_paragraphs(text)
    previous_end = -1
    for p in paragraphs:
        assert p.text and p.text == p.text.strip()
        assert text[p.start:p.end] == p.text
        assert "\n" not in p.text and "\r" not in p.text
        assert p.start > previous_end
        previous_end = p.end
    assert "".join(p.text for p in paragraphs).replace(" ", "").replace("\t", "") == \
        "".join(text.split())
