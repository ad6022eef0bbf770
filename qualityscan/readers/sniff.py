"""Content sniffing: binary file types by magic number, and text vs HTML vs JSON Lines.

The magic numbers are the published file signatures of each format (PNG, ZIP, PDF, ELF, ...);
a short table here avoids a dependency on libmagic for the few dozen types a scraper's
output folder actually contains. Anything else with NUL bytes is caught by the decoder.
"""

from __future__ import annotations

import codecs
import json
import re

# UTF-32 first: its little-endian BOM starts with the UTF-16 one.
BOMS_TO_CODEC: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
BOMS: tuple[bytes, ...] = tuple(bom for bom, _ in BOMS_TO_CODEC)

GZIP_MAGIC = b"\x1f\x8b"

# (offset, signature, description); checked in order, first match wins.
_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "PNG image"),
    (0, b"\xff\xd8\xff", "JPEG image"),
    (0, b"GIF87a", "GIF image"),
    (0, b"GIF89a", "GIF image"),
    (0, b"II*\x00", "TIFF image"),
    (0, b"MM\x00*", "TIFF image"),
    (0, b"\x00\x00\x01\x00", "ICO image"),
    (0, b"%PDF-", "PDF document"),
    (0, b"PK\x03\x04", "ZIP archive or Office/EPUB document"),
    (0, b"PK\x05\x06", "ZIP archive"),
    (0, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "legacy Microsoft Office document"),
    (0, GZIP_MAGIC, "gzip archive"),
    (0, b"BZh", "bzip2 archive"),
    (0, b"\xfd7zXZ\x00", "xz archive"),
    (0, b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (0, b"Rar!\x1a\x07", "RAR archive"),
    (0, b"\x28\xb5\x2f\xfd", "Zstandard archive"),
    (257, b"ustar", "tar archive"),
    (0, b"\x7fELF", "ELF executable"),
    (0, b"\xcf\xfa\xed\xfe", "Mach-O executable"),
    (0, b"\xfe\xed\xfa\xcf", "Mach-O executable"),
    (0, b"\xca\xfe\xba\xbe", "Mach-O or Java class file"),
    (0, b"\x00asm", "WebAssembly module"),
    (0, b"SQLite format 3\x00", "SQLite database"),
    (0, b"PAR1", "Parquet file"),
    (0, b"OggS", "Ogg media"),
    (0, b"fLaC", "FLAC audio"),
    (0, b"ID3", "MP3 audio"),
    (4, b"ftyp", "MP4/QuickTime media"),
    (0, b"\x1a\x45\xdf\xa3", "Matroska/WebM media"),
    (0, b"wOFF", "WOFF font"),
    (0, b"wOF2", "WOFF2 font"),
    (0, b"OTTO", "OpenType font"),
    (0, b"\x00\x01\x00\x00\x00", "TrueType font"),
)
# RIFF containers name their type at offset 8.
_RIFF = {b"WEBP": "WebP image", b"WAVE": "WAV audio", b"AVI ": "AVI video"}

_HTML_START = re.compile(
    r"\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*"
    r"<(?:!doctype\s+html|html|head|body|meta|title|link|div|p|table|article|section|header|nav|main"
    r"|h[1-6]|ul|ol|span|a|script|style)[\s>/]",
    re.IGNORECASE | re.DOTALL,
)
_HTML_ANYWHERE = re.compile(r"<!doctype\s+html|<html[\s>]|<body[\s>]", re.IGNORECASE)


def binary_kind(head: bytes) -> str | None:
    """Name of the binary file type ``head`` (the first bytes of a file) starts with, or None."""
    if head.startswith(BOMS):
        return None
    if head[:4] == b"RIFF" and head[8:12] in _RIFF:
        return _RIFF[head[8:12]]
    if head[:2] == b"MZ" and b"\x00" in head[:64]:
        return "Windows executable"
    for offset, signature, name in _MAGIC:
        if head[offset:offset + len(signature)] == signature:
            return name
    return None


def utf16_without_bom(sample: bytes) -> str | None:
    """``"utf-16-le"``/``"utf-16-be"``/``"utf-32-le"``/``"utf-32-be"`` when ``sample`` has the
    NUL-byte pattern of mostly-Latin UTF-16/32 text without a byte-order mark, else None."""
    sample = sample[:4096]
    n = len(sample) // 4 * 4
    if n < 8:
        return None
    cols = [sample[i:n:4].count(0) / (n // 4) for i in range(4)]
    if cols[0] < 0.05 and min(cols[1:]) > 0.6:
        return "utf-32-le"
    if cols[3] < 0.05 and min(cols[:3]) > 0.6:
        return "utf-32-be"
    even, odd = (cols[0] + cols[2]) / 2, (cols[1] + cols[3]) / 2
    if odd > 0.3 and even < 0.05:
        return "utf-16-le"
    if even > 0.3 and odd < 0.05:
        return "utf-16-be"
    return None


def sniff_format(head: bytes, complete: bool) -> str:
    """Guess ``"html"``, ``"jsonl"`` or ``"text"`` from the first bytes of a document.

    ``complete`` says ``head`` holds the whole first non-blank line (it was not cut off).
    JSON Lines: the first non-blank line opens with ``{"`` (even if that record is broken, so
    its error is reported per line) or is a complete JSON object. HTML: the text opens with a
    doctype or a common tag, or has ``<!doctype html``, ``<html`` or ``<body`` anywhere.
    """
    text = _peek_text(head)
    first = next((line for line in text.splitlines() if line.strip()), "").strip()
    if first.startswith('{"'):
        return "jsonl"
    if first.startswith("{") and complete:
        try:
            if isinstance(json.loads(first), dict):
                return "jsonl"
        except ValueError:
            pass
    if _HTML_START.match(text) or _HTML_ANYWHERE.search(text):
        return "html"
    return "text"


def _peek_text(head: bytes) -> str:
    """Best-effort decoding of a head for sniffing only (never used as document text)."""
    for bom, encoding in BOMS_TO_CODEC:
        if head.startswith(bom):
            return head[len(bom):].decode(encoding, errors="ignore")
    encoding = utf16_without_bom(head)
    return head.decode(encoding or "utf-8", errors="replace")

