import codecs
import gzip
import io
import json
import os
import sys
import types
import zipfile
from pathlib import Path

import pytest

from qualityscan.readers import ReadOptions, iter_documents, read_file, read_stream

CAFE = "The café’s “naïve” menu — crème brûlée for €5.\nSecond line.\n"


def _summary(docs):
    return [(d.id, d.text, d.errors) for d in docs]


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("inner.txt", "zipped text")
    return buffer.getvalue()


@pytest.fixture
def messy(tmp_path: Path) -> Path:
    """A scraper's output folder: good files in several encodings next to bad ones."""
    root = tmp_path / "scrape"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / ".cache").mkdir()
    (root / "b.txt").write_bytes(b"bee\r\nline two\rline three\n")
    (root / "a.md").write_text("# Heading\n\nBody.\n", encoding="utf-8")
    (root / "sub" / "c.txt").write_bytes(codecs.BOM_UTF8 + "BOM text ✓".encode())
    (root / "sub" / "deeper" / "d.txt").write_bytes(CAFE.encode("cp1252"))
    (root / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(100))
    (root / "bundle.dat").write_bytes(_zip_bytes())
    (root / "empty.txt").write_bytes(b"")
    (root / "blank.txt").write_bytes(b" \r\n\t\n")
    (root / ".hidden.txt").write_text("secret", encoding="utf-8")
    (root / ".cache" / "x.txt").write_text("cached", encoding="utf-8")
    return root


def test_folder_walk_is_sorted_recursive_and_skips_hidden(messy: Path):
    docs = list(iter_documents([messy]))
    assert [d.id for d in docs] == ["a.md", "b.txt", "blank.txt", "bundle.dat", "empty.txt", "image.txt",
                                    "sub/c.txt", "sub/deeper/d.txt"]
    assert [d.source for d in docs][-1] == str(messy / "sub" / "deeper" / "d.txt")
    by_id = {d.id: d for d in docs}
    assert by_id["a.md"].text == "# Heading\n\nBody.\n"
    assert by_id["b.txt"].text == "bee\nline two\nline three\n"
    assert (by_id["sub/c.txt"].text, by_id["sub/c.txt"].meta["encoding"]) == ("BOM text ✓", "utf-8")
    assert (by_id["sub/deeper/d.txt"].text, by_id["sub/deeper/d.txt"].meta["encoding"]) == (CAFE, "cp1252")
    src = {d.id: d.source for d in docs}
    assert by_id["image.txt"].errors == [f"{src['image.txt']}: binary file (PNG image)"]
    assert by_id["bundle.dat"].errors == [f"{src['bundle.dat']}: binary file (ZIP archive or Office/EPUB document)"]
    assert by_id["empty.txt"].errors == [f"{src['empty.txt']}: empty file"]
    assert by_id["blank.txt"].errors == [f"{src['blank.txt']}: empty file (only white space)"]
    for doc in docs:
        assert bool(doc.text) != bool(doc.errors)


def test_include_hidden(messy: Path):
    ids = [d.id for d in iter_documents([messy], ReadOptions(include_hidden=True))]
    assert ids[:3] == [".cache/x.txt", ".hidden.txt", "a.md"]


def test_file_argument_keeps_the_path_as_given_and_missing_paths_are_errors(messy: Path, monkeypatch):
    monkeypatch.chdir(messy)
    docs = list(iter_documents(["./b.txt", "sub/c.txt", "no/such.txt"]))
    assert [(d.id, d.source) for d in docs] == [("./b.txt", "./b.txt"), ("sub/c.txt", "sub/c.txt"),
                                                ("no/such.txt", "no/such.txt")]
    assert docs[2].errors == ["no/such.txt: cannot read: No such file or directory"]


@pytest.mark.parametrize(("codec", "bom"), [
    ("utf-16-le", codecs.BOM_UTF16_LE), ("utf-16-be", codecs.BOM_UTF16_BE),
    ("utf-16-le", b""), ("utf-16-be", b""),
])
def test_utf16_files(tmp_path: Path, codec, bom):
    path = tmp_path / "wide.txt"
    path.write_bytes(bom + CAFE.replace("\n", "\r\n").encode(codec))
    (doc,) = read_file(path)
    assert (doc.text, doc.meta["encoding"], doc.errors) == (CAFE, codec, [])


def test_latin1_file(tmp_path: Path):
    text = "Ærøskøbing er en by på Ærø. Året rundt får byen besøg af turister fra hele Danmark.\n"
    path = tmp_path / "dk.txt"
    path.write_bytes(text.encode("latin-1"))
    (doc,) = read_file(path)
    assert doc.text == text


def test_oversized_file(tmp_path: Path):
    path = tmp_path / "big.txt"
    path.write_text("x" * 150, encoding="utf-8")
    (doc,) = read_file(path, options=ReadOptions(max_bytes=100))
    assert doc.errors == [f"{path}: file is 150 bytes, over the 100-byte limit (raise it with --max-bytes)"]
    (unknown,) = read_file(path.rename(tmp_path / "big.dat"), options=ReadOptions(max_bytes=100))
    assert unknown.errors == [(f"{tmp_path / 'big.dat'}: file is 150 bytes, over the 100-byte limit "
                               "(raise it with --max-bytes)")]


def test_permission_denied(tmp_path: Path):
    path = tmp_path / "locked.txt"
    path.write_text("secret", encoding="utf-8")
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running with privileges that read a mode-000 file anyway (root)")
        (doc,) = read_file(path)
        assert doc.errors == [f"{path}: cannot read: Permission denied"]
    finally:
        path.chmod(0o644)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need POSIX")
def test_named_pipe_is_not_opened(tmp_path: Path):
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    (doc,) = read_file(fifo)  # opening it would block forever
    assert doc.errors == [f"{fifo}: not a regular file (named pipe)"]


def test_folder_given_to_read_file(tmp_path: Path):
    (doc,) = read_file(tmp_path)
    assert doc.errors == [f"{tmp_path}: is a folder, not a file"]


def test_html_file(tmp_path: Path):
    html = ('<html><head><meta charset="windows-1252"><title>T</title><script>x()</script></head><body>'
            '<nav><a href="/">Home</a></nav><p>Caf\xe9 story.</p><footer>\xa9 Site</footer></body></html>')
    path = tmp_path / "page.HTM"
    path.write_bytes(html.encode("cp1252"))
    (doc,) = read_file(path, root=tmp_path)
    assert (doc.id, doc.text, doc.meta) == ("page.HTM", "Home\nCafé story.\n© Site",
                                            {"title": "T", "encoding": "cp1252"})
    assert [(b.tag, b.link_density) for b in doc.blocks] == [("nav", 1.0), ("p", 0.0), ("footer", 0.0)]


def test_jsonl_file_ids_sources_and_per_line_limit(tmp_path: Path):
    path = tmp_path / "docs.jsonl"
    records = [{"id": "r1", "text": "one"}, {"text": "two"}, {"text": "x" * 80}]
    path.write_text("\n".join(json.dumps(r) for r in records) + "\nnot json\n", encoding="utf-8")
    docs = list(read_file(path, root=tmp_path, options=ReadOptions(max_bytes=50)))
    assert [(d.id, d.source, d.text) for d in docs] == [
        ("r1", f"{path}:1", "one"), ("docs.jsonl:2", f"{path}:2", "two"),
        ("docs.jsonl:3", f"{path}:3", ""), ("docs.jsonl:4", f"{path}:4", "")]
    assert docs[2].errors == [f"{path}:3: line is over the 50-byte limit (raise it with --max-bytes)"]
    assert docs[3].errors == [f"{path}:4: invalid JSON: Expecting value (column 1)"]
    assert docs[3].meta == {"line": 4, "raw": "not json"}


def test_utf16_jsonl_file(tmp_path: Path):
    path = tmp_path / "wide.ndjson"
    path.write_bytes(codecs.BOM_UTF16_LE + '{"text": "café"}\r\n{"text": "two"}\r\n'.encode("utf-16-le"))
    assert [d.text for d in read_file(path)] == ["café", "two"]


def test_blank_jsonl_file_is_an_error(tmp_path: Path):
    path = tmp_path / "blank.jsonl"
    path.write_text("\n\n   \n", encoding="utf-8")
    (doc,) = read_file(path)
    assert doc.errors == [f"{path}: empty file (only blank lines)"]


def test_gzipped_inputs(tmp_path: Path):
    (tmp_path / "a.txt.gz").write_bytes(gzip.compress(CAFE.encode("cp1252")))
    (tmp_path / "b.jsonl.gz").write_bytes(gzip.compress(b'{"id": "g1", "text": "zipped"}\n'))
    (tmp_path / "c.html.gz").write_bytes(gzip.compress(b"<p>Gzipped <b>HTML</b></p>"))
    (tmp_path / "d.bin").write_bytes(gzip.compress(b"sniffed after gunzip\n"))
    (tmp_path / "e.txt.gz").write_bytes(b"\x1f\x8b\x08\x00" + b"not really gzip")
    docs = list(iter_documents([tmp_path]))
    assert _summary(docs[:4]) == [("a.txt.gz", CAFE, []), ("g1", "zipped", []), ("c.html.gz", "Gzipped HTML", []),
                                  ("d.bin", "sniffed after gunzip\n", [])]
    assert docs[4].id == "e.txt.gz" and docs[4].errors[0].startswith(f"{tmp_path / 'e.txt.gz'}: corrupt gzip data")


def test_gzip_bounded_by_decompressed_size(tmp_path: Path):
    path = tmp_path / "bomb.txt.gz"
    path.write_bytes(gzip.compress(b"a" * 10_000))
    assert path.stat().st_size < 100
    (doc,) = read_file(path, options=ReadOptions(max_bytes=1000))
    assert doc.errors == [(f"{path}: file is more than 1,000 bytes after decompression, over the 1,000-byte "
                           "limit (raise it with --max-bytes)")]


def test_unknown_extensions_are_sniffed(tmp_path: Path):
    (tmp_path / "page").write_text("<!doctype html><title>x</title><h2>Sniffed</h2>", encoding="utf-8")
    (tmp_path / "records.out").write_text('{"text": "a"}\n{"text": "b"}\n', encoding="utf-8")
    (tmp_path / "notes.log").write_text("plain <notes>\n", encoding="utf-8")
    docs = list(iter_documents([tmp_path]))
    assert [(d.id, d.text, d.blocks is not None) for d in docs] == [
        ("notes.log", "plain <notes>\n", False), ("page", "Sniffed", True),
        ("records.out:1", "a", False), ("records.out:2", "b", False)]


def test_forced_format(tmp_path: Path):
    path = tmp_path / "markup.txt"
    path.write_text("<p>One</p><p>Two</p>", encoding="utf-8")
    (as_text,) = read_file(path)
    (as_html,) = read_file(path, options=ReadOptions(format="html"))
    assert (as_text.text, as_html.text) == ("<p>One</p><p>Two</p>", "One\nTwo")


def test_symlink_loop_terminates(tmp_path: Path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f.txt").write_text("once", encoding="utf-8")
    (tmp_path / "d" / "loop").symlink_to(tmp_path / "d", target_is_directory=True)
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "gone.txt")
    docs = list(iter_documents([tmp_path]))
    assert [d.id for d in docs] == ["d/f.txt", "dangling.txt"]
    assert docs[1].errors == [f"{tmp_path / 'dangling.txt'}: cannot read: No such file or directory"]


def test_warc_delegated_to_the_warc_module(tmp_path: Path, monkeypatch):
    path = tmp_path / "crawl.warc.gz"
    path.write_bytes(b"whatever")
    calls = []
    fake = types.ModuleType("qualityscan.readers.warc")

    def read_warc(p, file_id, options):
        calls.append((p, file_id, options.max_bytes))
        yield from read_stream(io.BytesIO(b"record text"), options, source=f"{p}#0")

    fake.read_warc = read_warc
    monkeypatch.setitem(sys.modules, "qualityscan.readers.warc", fake)
    (doc,) = iter_documents([tmp_path], ReadOptions(max_bytes=99))
    assert calls == [(path, "crawl.warc.gz", 99)] and doc.text == "record text"


def test_warc_without_support_is_an_error_document(tmp_path: Path, monkeypatch):
    path = tmp_path / "old.arc"
    path.write_bytes(b"whatever")
    monkeypatch.setitem(sys.modules, "qualityscan.readers.warc", None)  # makes the import fail
    (doc,) = read_file(path)
    assert doc.errors[0].startswith(f"{path}: WARC support is not installed (")


def test_read_stream_sniffs_text_html_jsonl_and_gzip():
    assert _summary(read_stream(io.BytesIO(b"a\r\nb"))) == [("<stdin>", "a\nb", [])]
    (html,) = read_stream(io.BytesIO(b"<html><body><p>x</p></body></html>"), source="pipe")
    assert (html.id, html.text, html.blocks[0].tag) == ("pipe", "x", "p")
    jsonl = io.BytesIO(b'{"id": "s1", "text": "one"}\n{"text": "two"}\n')
    assert [(d.id, d.source) for d in read_stream(jsonl)] == [("s1", "<stdin>:1"), ("<stdin>:2", "<stdin>:2")]
    assert _summary(read_stream(io.BytesIO(gzip.compress(b'{"text": "gz"}\n')))) == [("<stdin>:1", "gz", [])]


def test_read_stream_errors():
    assert _summary(read_stream(io.BytesIO(b""))) == [("<stdin>", "", ["<stdin>: empty input"])]
    assert _summary(read_stream(io.BytesIO(_zip_bytes()))) == [
        ("<stdin>", "", ["<stdin>: binary input (ZIP archive or Office/EPUB document)"])]
    assert _summary(read_stream(io.BytesIO(b"y" * 200), ReadOptions(max_bytes=100))) == [
        ("<stdin>", "", ["<stdin>: input is more than 100 bytes, over the 100-byte limit (raise it with --max-bytes)"])]


def test_read_stream_jsonl_is_lazy():
    class OneShot(io.RawIOBase):
        """Serves two records, then fails the test if read further."""

        def __init__(self):
            self.data = io.BytesIO(b'{"text": "first"}\n' + b" " * 600 + b'\n{"text": "second"}\n')

        def readable(self):
            return True

        def readinto(self, buffer):
            chunk = self.data.read(min(len(buffer), 64))
            if not chunk:
                raise AssertionError("read past the records the consumer asked for")
            buffer[:len(chunk)] = chunk
            return len(chunk)

    documents = read_stream(io.BufferedReader(OneShot(), buffer_size=64))
    assert next(documents).text == "first"


def test_dash_reads_stdin(monkeypatch):
    monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(buffer=io.BytesIO(b"from stdin\n")))
    assert _summary(iter_documents(["-"])) == [("<stdin>", "from stdin\n", [])]


def test_seeds_read_cleanly(seeds_dir: Path):
    docs = list(iter_documents([seeds_dir]))
    names = sorted(p.name for p in seeds_dir.iterdir() if not p.name.startswith("."))
    assert [d.id for d in docs] == names and len(docs) == 5
    for doc in docs:
        assert doc.errors == [] and doc.meta["encoding"] == "utf-8"
        text = (seeds_dir / doc.id).read_text(encoding="utf-8")
        assert doc.text == text.replace("\r\n", "\n").replace("\r", "\n")


def test_open_failure_after_listing_is_an_error_document(tmp_path: Path, monkeypatch):
    """A file that turns unreadable between stat and open (permissions changed, file vanished)."""
    from qualityscan.readers import files

    path = tmp_path / "racy.txt"
    path.write_text("text", encoding="utf-8")

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(files, "open", denied, raising=False)
    (doc,) = read_file(path)
    assert doc.errors == [f"{path}: cannot read: Permission denied"]


def test_unlistable_folder_is_an_error_document(tmp_path: Path, monkeypatch):
    from qualityscan.readers import files

    (tmp_path / "a.txt").write_text("kept", encoding="utf-8")
    (tmp_path / "locked").mkdir()
    real_scandir = os.scandir

    def scandir(path):
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(files.os, "scandir", scandir)
    docs = list(iter_documents([tmp_path]))
    assert _summary(docs) == [("a.txt", "kept", []),
                              ("locked", "", [f"{tmp_path / 'locked'}: cannot list folder: Permission denied"])]


def test_truncated_utf16_jsonl_reports_the_rest(tmp_path: Path):
    path = tmp_path / "cut.jsonl"
    path.write_bytes(codecs.BOM_UTF16_LE + '{"text": "whole"}\n{"text": "cut'.encode("utf-16-le") + b"\x00")
    docs = list(read_file(path))
    assert docs[0].text == "whole"
    assert docs[-1].errors[0].startswith(f"{path}: invalid utf-16-le text at byte")
