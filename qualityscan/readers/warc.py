"""Web archives: WARC and the older ARC format, plain or gzip-compressed, read with warcio.

Every HTML response with a 2xx status becomes one Document: ``id`` is the record's
``WARC-Target-URI``, ``source`` is ``<path>#<offset>`` (the record's byte offset in the file,
as a CDX index gives it). Requests, metadata, warcinfo and revisit records, non-HTML
payloads and redirects or error pages are skipped. The payload is decoded like an HTML file
(byte-order mark, strict UTF-8, declared charset, detection) with the charset of the HTTP
``Content-Type`` header, when it names one, taking the place of the ``<meta>`` charset.
Records are streamed one at a time, each payload capped at ``ReadOptions.max_bytes``, so
memory stays flat however large the archive.

warcio (Webrecorder) is used rather than FastWARC because it also reads ARC files and
undoes chunked transfer and gzip/brotli content encoding; parsing is a small share of the
time next to scoring.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

from qualityscan.document import Document
from qualityscan.readers.decode import declared_charset, decode_bytes
from qualityscan.readers.html import document_from_html
from qualityscan.readers.options import InputError, ReadOptions, error_document

#: Media types scored as HTML.
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
#: Record types that carry a captured payload.
_PAYLOAD_RECORDS = frozenset({"response", "resource"})
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)


def read_warc(path: str | os.PathLike[str], file_id: str,
              options: ReadOptions | None = None) -> Iterator[Document]:
    """Yield one Document per HTML response in a WARC/ARC file (``.gz`` or plain).

    A record that cannot be decoded yields a Document carrying the error; a file that stops
    being readable (truncated, not an archive) yields one error Document (id ``file_id``) for
    the rest of it, as does an archive without any HTML response.
    """
    from warcio.archiveiterator import ArchiveIterator

    options = options or ReadOptions()
    path = str(path)
    try:
        handle = open(path, "rb")
    except OSError as exc:
        yield error_document(file_id, path, f"{path}: cannot open: {exc.strerror or exc}")
        return
    with handle:
        records = ArchiveIterator(handle, arc2warc=True)
        seen = scored = 0
        while True:
            try:
                record = next(records)
            except StopIteration:
                break
            except Exception as exc:  # warcio raises bare Exception among others
                where = f"{path}#{records.offset}"
                yield error_document(file_id, where, f"{where}: cannot read WARC/ARC record "
                                     f"{seen + 1}: {type(exc).__name__}: {exc}")
                return
            seen += 1
            document = _record_document(record, f"{path}#{records.offset}", options)
            if document is not None:
                scored += 1
                yield document
        if not scored:
            yield error_document(file_id, path, f"{path}: no HTML response among {seen} WARC/ARC records")


def _record_document(record, source: str, options: ReadOptions) -> Document | None:
    """The Document for one record, or None when the record is not an HTML 2xx response."""
    if record.rec_type not in _PAYLOAD_RECORDS:
        return None
    uri = record.rec_headers.get_header("WARC-Target-URI") or source
    http = record.http_headers
    if http is not None and record.rec_type == "response":
        status = http.get_statuscode() or ""
        if not status.startswith("2"):
            return None
        content_type = http.get_header("Content-Type")
    else:
        content_type = record.rec_headers.get_header("Content-Type")
    content_type = content_type or record.rec_headers.get_header("WARC-Identified-Payload-Type") or ""
    if content_type.split(";", 1)[0].strip().lower() not in HTML_TYPES:
        return None
    try:
        body = _read_capped(record.content_stream(), options.max_bytes + 1)
    except Exception as exc:  # bad chunking/compression; warcio raises bare Exception
        return error_document(uri, source, f"{source}: cannot decode the HTTP payload of {uri}: "
                                            f"{type(exc).__name__}: {exc}")
    if len(body) > options.max_bytes:
        return error_document(uri, source, f"{source}: payload of {uri} is larger than "
                                            f"max_bytes={options.max_bytes}; skipped")
    match = _CHARSET.search(content_type)
    try:
        decoded = decode_bytes(body, source, declared=match.group(1) if match else declared_charset(body))
    except InputError as exc:
        return error_document(uri, source, f"{exc} ({uri})")
    return document_from_html(decoded.text, id=uri, source=source)


def _read_capped(stream, limit: int) -> bytes:
    """Up to ``limit`` bytes of ``stream`` (reads may return short)."""
    chunks, size = [], 0
    while size < limit:
        chunk = stream.read(min(1 << 16, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


__all__ = ["HTML_TYPES", "read_warc"]
