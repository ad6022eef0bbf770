import gzip
import io
import zipfile

import pytest

from qualityscan.readers.sniff import binary_kind, sniff_format, utf16_without_bom


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.txt", "hello")
    return buffer.getvalue()


def _tar_bytes() -> bytes:
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("a.txt")
        info.size = 5
        archive.addfile(info, io.BytesIO(b"hello"))
    return buffer.getvalue()


@pytest.mark.parametrize(("data", "kind"), [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "PNG image"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", "JPEG image"),
    (b"GIF89a\x01\x00", "GIF image"),
    (b"%PDF-1.7\n%\xe2\xe3", "PDF document"),
    (_zip_bytes(), "ZIP archive or Office/EPUB document"),
    (gzip.compress(b"text"), "gzip archive"),
    (_tar_bytes(), "tar archive"),
    (b"\x7fELF\x02\x01\x01", "ELF executable"),
    (b"MZ\x90\x00\x03\x00\x00\x00", "Windows executable"),
    (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "WebP image"),
    (b"SQLite format 3\x00\x10\x00", "SQLite database"),
    (b"\x00\x00\x00\x18ftypmp42", "MP4/QuickTime media"),
])
def test_binary_kinds(data, kind):
    assert binary_kind(data) == kind


@pytest.mark.parametrize("data", [
    b"Plain text\n", b"MZ is a postcode area\n", b"", "caf\u00e9".encode("utf-16"),
    b"\xff\xfe\x00\x00" + "hi".encode("utf-32-le"),
])
def test_text_is_not_binary(data):
    assert binary_kind(data) is None


def test_utf16_without_bom_by_nul_pattern():
    text = "Plain English text, long enough to count the NUL bytes.\n"
    assert utf16_without_bom(text.encode("utf-16-le")) == "utf-16-le"
    assert utf16_without_bom(text.encode("utf-16-be")) == "utf-16-be"
    assert utf16_without_bom(text.encode("utf-32-le")) == "utf-32-le"
    assert utf16_without_bom(text.encode("utf-32-be")) == "utf-32-be"
    assert utf16_without_bom(text.encode("utf-8")) is None
    assert utf16_without_bom(b"\x00" * 64) is None


@pytest.mark.parametrize(("head", "fmt"), [
    (b'{"text": "a"}\n{"text": "b"}\n', "jsonl"),
    (b'\n\n  {"id": 1, "text": "a"}\n', "jsonl"),
    (b'{"text": "cut off', "jsonl"),  # a broken first record is still JSON Lines
    (b"{ }\n", "jsonl"),
    (b"{{Infobox person}}\nA wiki page\n", "text"),
    (b"<!DOCTYPE html>\n<html><body>x</body></html>", "html"),
    (b'<?xml version="1.0"?>\n<!-- c -->\n<html><p>x</p></html>', "html"),
    (b"<div class=a>hello</div>", "html"),
    (b"Notes about the <html> element\nsecond line\n", "html"),
    (b"Plain text that mentions a <b>tag</b> later.\n", "text"),
    (b"2 < 3 and 5 > 4\n", "text"),
    ("<p>wide</p>".encode("utf-16"), "html"),
])
def test_sniff_format(head, fmt):
    assert sniff_format(head, complete=not head.endswith(b"off")) == fmt


def test_incomplete_line_opening_with_brace_needs_a_key():
    assert sniff_format(b"{ not json yet", complete=False) == "text"
