from qualityscan.readers import document_from_text


def test_line_endings_normalised_and_offsets_index_the_normalised_text():
    doc = document_from_text("one\r\ntwo\rthree\u2028four\n", "i", "s")
    assert doc.text == "one\ntwo\nthree\nfour\n"
    assert (doc.id, doc.source, doc.errors, doc.blocks) == ("i", "s", [], None)


def test_markdown_kept_verbatim():
    text = "# Title\n\n* item with **bold**\n"
    assert document_from_text(text, "i", "s").text == text


def test_whitespace_only_is_an_error_document():
    doc = document_from_text(" \n\t\r\n", "i", "src.txt")
    assert doc.text == "" and doc.errors == ["src.txt: no text found"]


def test_lone_surrogate_replaced():
    assert document_from_text("a\ud800b \U0001F600", "i", "s").text == "a\ufffdb \U0001F600"
