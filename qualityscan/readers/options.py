"""Reading options, the input error type, and the error-document helper shared by all readers."""

from __future__ import annotations

from dataclasses import dataclass

from qualityscan.document import Document

#: The formats a user can force with :attr:`ReadOptions.format`.
FORMATS = ("text", "html", "jsonl")


class InputError(Exception):
    """An input that cannot be read as text; the message starts with the file path."""


@dataclass
class ReadOptions:
    """How inputs are read.

    ``max_bytes`` bounds one document: a text/HTML file (after gunzip), or one JSONL line.
    The ``*_field`` names select JSONL keys. ``format`` forces one of :data:`FORMATS` for
    every input instead of using file extensions and sniffing. Hidden files and folders
    (name starting with ``.``) found while walking a folder are skipped unless
    ``include_hidden``.
    """

    max_bytes: int = 20_000_000
    text_field: str = "text"
    id_field: str = "id"
    url_field: str = "url"
    format: str | None = None
    include_hidden: bool = False

    def __post_init__(self) -> None:
        if self.format is not None and self.format not in FORMATS:
            raise ValueError(f"unknown input format {self.format!r}; choose one of {', '.join(FORMATS)}")
        if self.max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, got {self.max_bytes}")


def error_document(id: str, source: str, message: str, **meta: object) -> Document:
    """A document that could not be read: no text, the reason in ``errors``."""
    return Document(id=id, source=source, errors=[message], meta=dict(meta))
