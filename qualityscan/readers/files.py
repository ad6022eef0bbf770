"""Files, folders and streams -> documents.

Formats come from the forced ``ReadOptions.format``, else the file extension, else sniffing the
first bytes (:mod:`qualityscan.readers.sniff`). Every problem with one input becomes an error
document whose message starts with the file path; reading goes on with the next input.
"""

from __future__ import annotations

import gzip
import io
import os
import stat
import sys
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from qualityscan.document import Document
from qualityscan.readers.decode import declared_charset, decode_bytes
from qualityscan.readers.html import document_from_html
from qualityscan.readers.jsonl import read_jsonl_lines
from qualityscan.readers.options import InputError, ReadOptions, error_document
from qualityscan.readers.sniff import BOMS_TO_CODEC, GZIP_MAGIC, binary_kind, sniff_format, utf16_without_bom
from qualityscan.readers.text import document_from_text

_SUFFIXES = {
    **dict.fromkeys((".txt", ".text", ".md", ".markdown"), "text"),
    **dict.fromkeys((".html", ".htm", ".xhtml"), "html"),
    **dict.fromkeys((".jsonl", ".ndjson"), "jsonl"),
}
_WARC_SUFFIXES = (".warc", ".warc.gz", ".arc", ".arc.gz")
#: Most bytes read to decide a format before committing to one.
SNIFF_BYTES = 65_536
#: Read at least this much (or to the end) so magic numbers at small offsets are visible.
_MIN_HEAD = 512


def format_from_name(name: str) -> tuple[str | None, bool]:
    """``(format, gzipped)`` from a file name; format is None when the extension is unknown."""
    lower = name.lower()
    if lower.endswith(_WARC_SUFFIXES):
        return "warc", False
    gzipped = lower.endswith(".gz")
    if gzipped:
        lower = lower[:-3]
    return _SUFFIXES.get(os.path.splitext(lower)[1]), gzipped


def iter_documents(paths: Iterable[str | os.PathLike[str]],
                   options: ReadOptions | None = None) -> Iterator[Document]:
    """Documents from files, folders (recursive, sorted by name) and ``"-"`` (standard input).

    One document per text/HTML file, one per record of a JSONL (or WARC) file, and an error
    document for every input that cannot be read, including paths that do not exist.
    """
    options = options or ReadOptions()
    for given in paths:
        name = os.fspath(given)
        if name == "-":
            yield from read_stream(sys.stdin.buffer, options)
            continue
        try:
            is_folder = stat.S_ISDIR(os.stat(name).st_mode)
        except OSError as exc:
            yield error_document(name, name, f"{name}: cannot read: {_reason(exc)}")
            continue
        yield from _walk(Path(name), options) if is_folder else read_file(name, None, options)


def read_file(path: str | os.PathLike[str], root: str | os.PathLike[str] | None = None,
              options: ReadOptions | None = None) -> Iterator[Document]:
    """Documents from one file; ids are the path relative to ``root`` (POSIX), else the path as given."""
    options = options or ReadOptions()
    source = os.fspath(path)
    file_id = Path(path).relative_to(root).as_posix() if root is not None else source
    fmt, gzipped = format_from_name(Path(path).name)
    if fmt == "warc" and options.format is None:
        yield from _guarded(_read_warc(Path(path), file_id, options), file_id, source)
        return
    try:
        info = os.stat(source)
    except OSError as exc:
        yield error_document(file_id, source, f"{source}: cannot read: {_reason(exc)}")
        return
    problem = _irregular(info.st_mode)
    if problem:
        yield error_document(file_id, source, f"{source}: {problem}")
        return
    fmt = options.format or fmt
    if not gzipped and fmt in ("text", "html") and info.st_size > options.max_bytes:
        yield error_document(file_id, source, _too_big(source, options.max_bytes, info.st_size))
        return
    yield from _guarded(_read_path(source, file_id, fmt, gzipped, info.st_size, options), file_id, source)


def read_stream(stream: BinaryIO, options: ReadOptions | None = None,
                source: str = "<stdin>") -> Iterator[Document]:
    """Documents from a binary stream (standard input): gzip, format and encoding are sniffed.

    JSON Lines are read lazily, line by line; text and HTML are read up to ``max_bytes``.
    """
    options = options or ReadOptions()
    yield from _guarded(_read_binary(stream, source, source, options.format, False, None, options,
                                     noun="input"), source, source)


def _read_path(source: str, file_id: str, fmt: str | None, gzipped: bool, size: int,
               options: ReadOptions) -> Iterator[Document]:
    with open(source, "rb") as handle:
        yield from _read_binary(handle, file_id, source, fmt, gzipped, size, options)


def _read_binary(stream: BinaryIO, file_id: str, source: str, fmt: str | None, gzipped: bool,
                 size: int | None, options: ReadOptions, noun: str = "file") -> Iterator[Document]:
    """The common path for files and streams; raises :class:`InputError` for a bad input."""
    if gzipped:
        stream, size = gzip.GzipFile(fileobj=stream, mode="rb"), None
    head = _read_head(stream)
    if not head:
        raise InputError(f"{source}: empty {noun}" + (" after decompression" if gzipped else ""))
    if head.startswith(GZIP_MAGIC) and not gzipped:
        yield from _read_binary(_Prefixed.reader(head, stream), file_id, source, fmt, True, None, options, noun)
        return
    kind = binary_kind(head)
    if kind:
        raise InputError(f"{source}: binary {noun} ({kind})")
    fmt = fmt or sniff_format(head, complete=len(head) < SNIFF_BYTES or b"\n" in head.lstrip())
    if fmt == "jsonl":
        yield from _read_jsonl(head, stream, file_id, source, options, noun)
        return
    data = head + (stream.read(options.max_bytes + 1 - len(head)) if len(head) <= options.max_bytes else b"")
    if len(data) > options.max_bytes:
        raise InputError(_too_big(source, options.max_bytes, size, noun, gzipped))
    decoded = decode_bytes(data, source, declared_charset(data) if fmt == "html" else None)
    if not decoded.text.strip():
        raise InputError(f"{source}: empty {noun} (only white space)")
    if fmt == "html":
        doc = document_from_html(decoded.text, file_id, source)
    else:
        doc = document_from_text(decoded.text, file_id, source)
    doc.meta["encoding"] = decoded.encoding
    yield doc


def _read_jsonl(head: bytes, stream: BinaryIO, file_id: str, source: str, options: ReadOptions,
                noun: str) -> Iterator[Document]:
    reader: io.BufferedReader | io.TextIOWrapper = _Prefixed.reader(head, stream)
    wide = next((codec for bom, codec in BOMS_TO_CODEC if head.startswith(bom) and codec != "utf-8"),
                None) or utf16_without_bom(head)
    if wide:  # UTF-16/32 lines cannot be split on b"\n"; let a text wrapper decode them.
        reader = io.TextIOWrapper(reader, encoding=wide)
    count = 0
    for doc in read_jsonl_lines(_bounded_lines(reader, options.max_bytes), options, source, file_id):
        count += 1
        yield doc
    if not count:
        raise InputError(f"{source}: empty {noun} (only blank lines)")


def _read_warc(path: Path, file_id: str, options: ReadOptions) -> Iterator[Document]:
    try:
        from qualityscan.readers.warc import read_warc
    except ImportError as exc:
        raise InputError(f"{path}: WARC support is not installed ({exc})") from None
    yield from read_warc(path, file_id, options)


def _guarded(documents: Iterator[Document], file_id: str, source: str) -> Iterator[Document]:
    """Turn the reading failures of one input into a final error document."""
    try:
        yield from documents
    except InputError as exc:
        yield error_document(file_id, source, str(exc))
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        yield error_document(file_id, source, f"{source}: corrupt gzip data ({exc or 'cut short'})")
    except UnicodeDecodeError as exc:
        yield error_document(file_id, source, f"{source}: invalid {exc.encoding} text at byte {exc.start}")
    except OSError as exc:
        yield error_document(file_id, source, f"{source}: cannot read: {_reason(exc)}")


def _walk(root: Path, options: ReadOptions) -> Iterator[Document]:
    """Files under ``root`` depth-first, entries of each folder sorted by name."""

    def visit(folder: Path, seen: frozenset[tuple[int, int]]) -> Iterator[Document]:
        try:
            with os.scandir(folder) as scan:
                entries = sorted(scan, key=lambda entry: entry.name)
        except OSError as exc:
            rel = folder.relative_to(root).as_posix()
            yield error_document(rel, str(folder), f"{folder}: cannot list folder: {_reason(exc)}")
            return
        for entry in entries:
            if entry.name.startswith(".") and not options.include_hidden:
                continue
            path = Path(entry.path)
            if _is_folder(entry):
                info = entry.stat()
                key = (info.st_dev, info.st_ino)
                if key not in seen:  # a symlink back up the tree would loop forever
                    yield from visit(path, seen | {key})
            else:
                yield from read_file(path, root, options)

    info = os.stat(root)
    yield from visit(root, frozenset({(info.st_dev, info.st_ino)}))


def _is_folder(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _read_head(stream: BinaryIO) -> bytes:
    """First lines of ``stream``: through the first non-blank line and at least ``_MIN_HEAD``
    bytes, at most :data:`SNIFF_BYTES` (line by line so a slow pipe is not waited on)."""
    head = b""
    while len(head) < SNIFF_BYTES:
        line = stream.readline(SNIFF_BYTES - len(head))
        if not line:
            break
        head += line
        if len(head) >= _MIN_HEAD and head.strip():
            break
    return head


def _bounded_lines(reader: io.BufferedReader | io.TextIOWrapper, limit: int) -> Iterator[bytes | str]:
    """Lines of ``reader``; a line over ``limit`` is handed on cut at ``limit + 1`` (the JSONL
    reader reports it) and the rest of it is skipped without being held in memory."""
    while True:
        line = reader.readline(limit + 1)
        if not line:
            return
        if len(line) > limit and line[-1:] not in (b"\n", "\n"):
            while True:
                rest = reader.readline(1 << 20)
                if not rest or rest[-1:] in (b"\n", "\n"):
                    break
        yield line


class _Prefixed(io.RawIOBase):
    """A stream that replays already-read ``head`` bytes, then continues with ``stream``."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        super().__init__()
        self._head = memoryview(head)
        self._stream = stream

    @classmethod
    def reader(cls, head: bytes, stream: BinaryIO) -> io.BufferedReader:
        return io.BufferedReader(cls(head, stream))

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._stream.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


def _too_big(source: str, limit: int, size: int | None, noun: str = "file", gzipped: bool = False) -> str:
    if size is not None:
        amount = f"{noun} is {size:,} bytes"
    else:
        amount = f"{noun} is more than {limit:,} bytes" + (" after decompression" if gzipped else "")
    return f"{source}: {amount}, over the {limit:,}-byte limit (raise it with --max-bytes)"


def _irregular(mode: int) -> str | None:
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    for test, kind in ((stat.S_ISFIFO, "named pipe"), (stat.S_ISSOCK, "socket"),
                       (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device")):
        if test(mode):
            return f"not a regular file ({kind})"
    return None


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)
