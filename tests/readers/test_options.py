import pytest

from qualityscan.readers import ReadOptions
from qualityscan.readers.options import error_document


def test_defaults():
    options = ReadOptions()
    assert (options.max_bytes, options.text_field, options.id_field, options.url_field) == (
        20_000_000, "text", "id", "url")
    assert options.format is None and options.include_hidden is False


def test_unknown_format_rejected():
    with pytest.raises(ValueError, match="unknown input format 'pdf'"):
        ReadOptions(format="pdf")


def test_non_positive_limit_rejected():
    with pytest.raises(ValueError, match="max_bytes must be positive"):
        ReadOptions(max_bytes=0)


def test_error_document_has_no_text_and_the_reason():
    doc = error_document("a", "dir/a", "dir/a: empty file", line=3)
    assert (doc.id, doc.source, doc.text, doc.errors, doc.meta) == ("a", "dir/a", "", ["dir/a: empty file"],
                                                                    {"line": 3})
    assert not doc.ok
