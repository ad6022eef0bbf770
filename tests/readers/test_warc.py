"""WARC/ARC reading: HTML responses only, target URI as id, charset handling, per-record errors.

The archives are written in each test with warcio's own writer (and one ARC file by hand,
since warcio writes only WARC), from the seed texts.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest

warcio = pytest.importorskip("warcio")
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from qualityscan.readers.options import ReadOptions
from qualityscan.readers.warc import read_warc


def _seed_paragraphs(seeds_dir: Path, n: int = 4) -> list[str]:
    text = sorted(seeds_dir.glob("*.txt"))[2].read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()][:n]


def _page(paragraphs: list[str], head: str = "") -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return f"<!doctype html><html><head>{head}<title>t</title></head><body>{body}</body></html>"


def _response(writer: WARCWriter, uri: str, body: bytes, content_type: str | None,
              status: str = "200 OK", extra: list[tuple[str, str]] | None = None) -> None:
    headers = ([("Content-Type", content_type)] if content_type else []) + (extra or [])
    http = StatusAndHeaders(status, headers, protocol="HTTP/1.1")
    writer.write_record(writer.create_warc_record(uri, "response", payload=io.BytesIO(body),
                                                  http_headers=http))


def _write_archive(path: Path, seeds_dir: Path, gzip_records: bool) -> list[str]:
    """A crawl-like WARC; returns the paragraphs of the UTF-8 page."""
    paragraphs = _seed_paragraphs(seeds_dir)
    with open(path, "wb") as out:
        writer = WARCWriter(out, gzip=gzip_records)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "test"}))
        request = StatusAndHeaders("GET /a HTTP/1.1", [("Host", "example.org")], is_http_request=True)
        writer.write_record(writer.create_warc_record("https://example.org/a", "request",
                                                      payload=io.BytesIO(b""), http_headers=request))
        _response(writer, "https://example.org/a", _page(paragraphs).encode("utf-8"),
                  "text/html; charset=utf-8")
        # HTTP charset only (no <meta>): the bytes are not valid UTF-8, the header must decide.
        _response(writer, "https://example.org/ru", _page(["Привет, мир. Это проверка кодировки."]).encode("cp1251"),
                  "text/html; charset=windows-1251")
        # no HTTP charset: the <meta> charset decides
        _response(writer, "https://example.org/meta",
                  _page(["Ça coûte très cher à Genève."], head='<meta charset="iso-8859-1">').encode("latin-1"),
                  "text/html")
        _response(writer, "https://example.org/logo.png", b"\x89PNG\r\n\x1a\n" + bytes(64), "image/png")
        _response(writer, "https://example.org/missing", _page(["Not found"]).encode(), "text/html",
                  status="404 Not Found")
        _response(writer, "https://example.org/redirect", b"", "text/html", status="301 Moved Permanently",
                  extra=[("Location", "https://example.org/a")])
        # gzip content encoding is undone; a broken gzip body is an error on that record only
        _response(writer, "https://example.org/gz", gzip.compress(_page(["Compressed page text."]).encode()),
                  "text/html", extra=[("Content-Encoding", "gzip")])
        _response(writer, "https://example.org/broken", b"\x1f\x8b\x08\x00garbage-not-deflate",
                  "text/html", extra=[("Content-Encoding", "gzip")])
        writer.write_record(writer.create_warc_record(
            "metadata://example.org/a", "metadata", payload=io.BytesIO(b"fetchTimeMs: 12\r\n"),
            warc_content_type="application/warc-fields"))
        _response(writer, "https://example.org/last", _page(paragraphs[:1]).encode(), "application/xhtml+xml")
    return paragraphs


@pytest.mark.parametrize("name, gzip_records", [("crawl.warc", False), ("crawl.warc.gz", True)])
def test_html_responses_become_documents(tmp_path: Path, seeds_dir: Path, name: str, gzip_records: bool) -> None:
    path = tmp_path / name
    paragraphs = _write_archive(path, seeds_dir, gzip_records)
    docs = list(read_warc(path, name, ReadOptions()))
    by_id = {d.id: d for d in docs}
    assert list(by_id) == ["https://example.org/a", "https://example.org/ru", "https://example.org/meta",
                           "https://example.org/gz", "https://example.org/broken", "https://example.org/last"]
    page = by_id["https://example.org/a"]
    assert page.text.splitlines() == paragraphs
    assert page.blocks and page.blocks[0].tag == "p"
    assert "Привет, мир" in by_id["https://example.org/ru"].text
    assert "Ça coûte très cher à Genève." in by_id["https://example.org/meta"].text
    assert by_id["https://example.org/gz"].text == "Compressed page text."
    broken = by_id["https://example.org/broken"]
    assert not broken.text and broken.errors and "https://example.org/broken" in broken.errors[0]
    # source = path#offset, offsets distinct and increasing
    offsets = [int(d.source.rsplit("#", 1)[1]) for d in docs]
    assert all(d.source.startswith(f"{path}#") for d in docs)
    assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets)
    assert all(not d.errors for d in docs if d is not broken)


def test_record_offsets_point_at_the_record(tmp_path: Path, seeds_dir: Path) -> None:
    """The offset in ``source`` re-opens that very record (as a CDX index would)."""
    from warcio.archiveiterator import ArchiveIterator

    path = tmp_path / "crawl.warc.gz"
    _write_archive(path, seeds_dir, gzip_records=True)
    for doc in read_warc(path, "crawl", ReadOptions()):
        with open(path, "rb") as handle:
            handle.seek(int(doc.source.rsplit("#", 1)[1]))
            record = next(iter(ArchiveIterator(handle)))
            assert record.rec_headers.get_header("WARC-Target-URI") == doc.id


def test_payload_over_max_bytes_is_an_error_not_a_truncation(tmp_path: Path, seeds_dir: Path) -> None:
    path = tmp_path / "crawl.warc"
    _write_archive(path, seeds_dir, gzip_records=False)
    docs = {d.id: d for d in read_warc(path, "crawl", ReadOptions(max_bytes=200))}
    assert "max_bytes=200" in docs["https://example.org/a"].errors[0]
    assert docs["https://example.org/ru"].text  # small pages still read


def test_truncated_archive_yields_what_was_read_then_an_error(tmp_path: Path, seeds_dir: Path) -> None:
    path = tmp_path / "crawl.warc"
    _write_archive(path, seeds_dir, gzip_records=False)
    data = path.read_bytes()
    cut = data.index(b"WARC-Target-URI: https://example.org/meta")
    truncated = tmp_path / "cut.warc"
    truncated.write_bytes(data[:cut] + b"\r\nnot a warc header line at all\r\n\r\n" + bytes(200))
    docs = list(read_warc(truncated, "cut", ReadOptions()))
    assert [d.id for d in docs[:2]] == ["https://example.org/a", "https://example.org/ru"]
    assert docs[-1].id == "cut" and not docs[-1].text
    assert "cannot read WARC/ARC record" in docs[-1].errors[0] and str(truncated) in docs[-1].errors[0]


def test_not_an_archive_and_no_html(tmp_path: Path) -> None:
    junk = tmp_path / "junk.warc.gz"
    junk.write_bytes(gzip.compress(b"hello, this is not a web archive\n"))
    (doc,) = read_warc(junk, "junk", ReadOptions())
    assert doc.id == "junk" and doc.errors and str(junk) in doc.errors[0]

    only_meta = tmp_path / "meta.warc"
    with open(only_meta, "wb") as out:
        writer = WARCWriter(out, gzip=False)
        writer.write_record(writer.create_warcinfo_record("meta.warc", {"software": "test"}))
    (doc,) = read_warc(only_meta, "meta", ReadOptions())
    assert "no HTML response among 1" in doc.errors[0]


def test_arc_file(tmp_path: Path, seeds_dir: Path) -> None:
    """Legacy ARC (Internet Archive / Heritrix before WARC), plain and gzip-compressed."""
    paragraphs = _seed_paragraphs(seeds_dir, 2)
    html = _page(paragraphs).encode("utf-8")
    http = b"HTTP/1.0 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + html
    version = b"1 0 qualityscan-test\nURL IP-address Archive-date Content-type Archive-length\n"
    header = b"filedesc://test.arc 0.0.0.0 20240101000000 text/plain %d\n" % len(version)
    record = b"http://example.com/story 127.0.0.1 20240101000000 text/html %d\n" % len(http)
    arc = header + version + b"\n" + record + http + b"\n"
    plain = tmp_path / "test.arc"
    plain.write_bytes(arc)
    compressed = tmp_path / "test.arc.gz"
    compressed.write_bytes(gzip.compress(header + version + b"\n") + gzip.compress(record + http + b"\n"))
    for path in (plain, compressed):
        (doc,) = read_warc(path, path.name, ReadOptions())
        assert doc.id == "http://example.com/story"
        assert doc.text.splitlines() == paragraphs


def test_missing_file(tmp_path: Path) -> None:
    (doc,) = read_warc(tmp_path / "nope.warc", "nope", ReadOptions())
    assert doc.errors and "cannot open" in doc.errors[0]


def test_scanner_scores_each_response(tmp_path: Path, seeds_dir: Path) -> None:
    """Through the readers' dispatch: one report per HTML response, id = target URI."""
    from qualityscan.scanner import Scanner

    path = tmp_path / "crawl.warc.gz"
    _write_archive(path, seeds_dir, gzip_records=True)
    reports = list(Scanner(model=None).scan_paths([path]))
    assert [r.id for r in reports][:3] == ["https://example.org/a", "https://example.org/ru",
                                           "https://example.org/meta"]
    assert reports[0].paragraphs and all(p.text for p in reports[0].paragraphs)


