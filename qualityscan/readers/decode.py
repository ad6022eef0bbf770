"""Bytes -> text: byte-order marks, BOM-less UTF-16/32, UTF-8, declared and detected code pages.

Every decoded text has its line endings normalised to ``"\\n"`` (``\\r\\n``, lone ``\\r``, and
the Unicode line/paragraph separators U+2028/U+2029), so :attr:`Document.text` and all
offsets into it refer to the normalised text.

Legacy code pages are detected with charset-normalizer, which scores each candidate decoding
for "chaos" (improbable character sequences) and language coherence. Short Western texts
often get the lowest chaos from several code pages at once, and charset-normalizer then
ranks by a coherence score that can favour a wrong one (cp1250, even DOS cp857; see
docs/input.md). Among the candidates with the lowest chaos we therefore take cp1252 when it
is one of them: the most common legacy encoding on the web, and a superset of printable
Latin-1 (WHATWG decodes "latin1" labels as cp1252 for the same reason).
"""

from __future__ import annotations

import codecs
import re
from typing import NamedTuple

from qualityscan.readers.options import InputError
from qualityscan.readers.sniff import BOMS_TO_CODEC, binary_kind, utf16_without_bom

#: Preferred among charset-normalizer candidates that decode equally well.
_TIE_PREFERENCE = ("cp1252",)
_NEWLINES = re.compile(r"\r\n?|[\u2028\u2029]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


class Decoded(NamedTuple):
    """Decoded, newline-normalised text and the Python codec name that decoded it."""

    text: str
    encoding: str


def normalise_text(text: str) -> str:
    """Normalise line endings to ``"\\n"`` and replace lone surrogates with U+FFFD."""
    if text.isascii():  # the common case: no U+2028/U+2029, no surrogates; str methods are faster
        return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text
    text = _NEWLINES.sub("\n", text)
    if _SURROGATE.search(text):
        # JSON "\\ud800" escapes can smuggle lone surrogates in; they cannot be written as UTF-8.
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def declared_charset(head: bytes) -> str | None:
    """The charset an HTML document declares in a ``<meta>`` tag within its first 4 KB."""
    match = _META_CHARSET.search(head[:4096])
    return match.group(1).decode("ascii").lower() if match else None


def decode_bytes(data: bytes, source: str, declared: str | None = None) -> Decoded:
    """Decode ``data`` to normalised text; raise :class:`InputError` for binary/undecodable data.

    Order: byte-order mark; BOM-less UTF-16/32 by NUL pattern; NUL bytes -> binary; strict
    UTF-8; the ``declared`` charset (HTML meta) if it decodes strictly; charset-normalizer.
    """
    kind = binary_kind(data[:512])
    if kind:
        raise InputError(f"{source}: binary file ({kind})")
    for bom, encoding in BOMS_TO_CODEC:
        if data.startswith(bom):
            return Decoded(normalise_text(_strict(data[len(bom):], encoding, source, "byte-order mark")),
                           encoding)
    guessed = _attempt(data, utf16_without_bom(data))
    if guessed is not None:
        return guessed
    if b"\x00" in data:
        raise InputError(f"{source}: binary file (contains NUL bytes)")
    for codec in ("utf-8", _declared_codec(declared)):
        decoded = _attempt(data, codec)
        if decoded is not None:
            return decoded
    encoding = _detect(data)
    if encoding is None:
        raise InputError(f"{source}: cannot determine the text encoding (not UTF-8, no known code page fits)")
    return Decoded(normalise_text(data.decode(encoding, errors="replace")), encoding)


def _attempt(data: bytes, codec: str | None) -> Decoded | None:
    """``data`` decoded strictly with ``codec``; None when there is no codec or it does not fit."""
    if not codec:
        return None
    try:
        return Decoded(normalise_text(data.decode(codec)), codec)
    except UnicodeDecodeError:
        return None


def _strict(data: bytes, encoding: str, source: str, why: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InputError(f"{source}: invalid {encoding} at byte {exc.start} "
                         f"(the file's {why} says {encoding})") from None


def _declared_codec(label: str | None) -> str | None:
    """Python codec for a declared charset label; Latin-1/ASCII labels mean cp1252 (as WHATWG
    decodes them); None for unknown labels and UTF-8 (already tried)."""
    if not label:
        return None
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    if name in ("iso8859-1", "ascii"):
        return "cp1252"
    return None if name == "utf-8" else name


def _detect(data: bytes) -> str | None:
    import charset_normalizer

    results = list(charset_normalizer.from_bytes(data))
    if not results:
        return None
    least = min(r.chaos for r in results)
    calmest = [r for r in results if r.chaos == least]
    for preferred in _TIE_PREFERENCE:
        if any(preferred in r.could_be_from_charset for r in calmest):
            return preferred
    return results[0].encoding
