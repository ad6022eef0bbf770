"""JSON Lines: one document per line, read lazily so a pipeline stage keeps memory bounded.

Each line must be a JSON object with a string text field (``ReadOptions.text_field``); the
record's id and url fields are kept when present. The parsed object of a well-formed record
is kept unchanged in ``meta["record"]`` so a filter can pass it through (a record whose text is
empty is well-formed: it has ``meta["record"]`` and the error "no text found"). A malformed
line (bad JSON, not an object, missing or non-string text) becomes an error document with no
``meta["record"]`` and the raw line, without its line break, in ``meta["raw"]``. JSON Lines
is UTF-8 by definition; a line that is not valid UTF-8 is decoded like a file (code-page
detection) rather than lost, and its encoding is noted in ``meta["encoding"]``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from qualityscan.document import Document
from qualityscan.readers.decode import decode_bytes
from qualityscan.readers.options import InputError, ReadOptions, error_document
from qualityscan.readers.text import document_from_text


def read_jsonl_lines(lines: Iterable[str | bytes], options: ReadOptions | None = None,
                     source: str = "<stdin>", id_prefix: str = "") -> Iterator[Document]:
    """Yield one document per non-blank line of ``lines`` (lazily).

    Ids: the record's id field (``str()`` of it) when present and not null, else
    ``f"{id_prefix}:{line}"`` (just the line number when ``id_prefix`` is empty). Sources are
    ``f"{source}:{line}"``; ``meta["line"]`` is the 1-based line number. A line longer than
    ``options.max_bytes`` is an error document without ``meta["raw"]`` (``meta["oversized"]``
    is set instead; readers hand such lines over cut at ``max_bytes + 1`` bytes).
    """
    options = options or ReadOptions()
    for number, raw in enumerate(lines, 1):
        where = f"{source}:{number}"
        fallback_id = f"{id_prefix}:{number}" if id_prefix else str(number)
        if _size(raw, options.max_bytes) > options.max_bytes:
            yield error_document(fallback_id, where, f"{where}: line is over the {options.max_bytes:,}-byte "
                                 "limit (raise it with --max-bytes)", line=number, oversized=True)
            continue
        try:
            line, encoding = _decode_line(raw, where, first=number == 1)
        except InputError as exc:
            yield error_document(fallback_id, where, str(exc), line=number, raw=_raw_text(raw))
            continue
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        yield _document(line, number, where, fallback_id, encoding, options)


def _document(line: str, number: int, where: str, fallback_id: str, encoding: str,
              options: ReadOptions) -> Document:
    def bad(reason: str, **meta: object) -> Document:
        return error_document(fallback_id, where, f"{where}: {reason}", line=number, raw=line, **meta)

    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return bad(f"invalid JSON: {exc.msg} (column {exc.colno})")
    if not isinstance(record, dict):
        return bad(f"not a JSON object (got {_json_type(record)})")
    doc_id = fallback_id if record.get(options.id_field) is None else str(record[options.id_field])
    meta: dict[str, object] = {"line": number}
    if isinstance(record.get(options.url_field), str):
        meta["url"] = record[options.url_field]
    if encoding != "utf-8":
        meta["encoding"] = encoding
    if options.text_field not in record:
        return error_document(doc_id, where, f"{where}: missing text field {options.text_field!r}",
                              raw=line, **meta)
    text = record[options.text_field]
    if not isinstance(text, str):
        return error_document(doc_id, where, f"{where}: text field {options.text_field!r} is "
                              f"{_json_type(text)}, not a string", raw=line, **meta)
    doc = document_from_text(text, doc_id, where)
    doc.meta.update(meta, record=record)
    return doc


def _decode_line(raw: str | bytes, where: str, first: bool) -> tuple[str, str]:
    if isinstance(raw, str):
        return (raw.lstrip("\ufeff") if first else raw), "utf-8"
    if first and raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        decoded = decode_bytes(raw, where)
        return decoded.text, decoded.encoding


def _size(raw: str | bytes, limit: int) -> int:
    if isinstance(raw, bytes) or len(raw) * 4 <= limit:  # a str char is at most 4 UTF-8 bytes
        return len(raw)
    return len(raw.encode("utf-8", "surrogatepass"))


def _raw_text(raw: str | bytes) -> str:
    return (raw if isinstance(raw, str) else raw.decode("utf-8", "replace")).rstrip("\r\n")


def _json_type(value: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
             int: "a number", float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)
