"""Plain text and Markdown: the decoded text is the document (Markdown syntax is kept as is)."""

from __future__ import annotations

from qualityscan.document import Document
from qualityscan.readers.decode import normalise_text
from qualityscan.readers.options import error_document


def document_from_text(text: str, id: str, source: str) -> Document:
    """A document from already-decoded text (line endings normalised to ``"\\n"``).

    Text with nothing but white space gives an error document ``"<source>: no text found"``.
    """
    text = normalise_text(text)
    if not text.strip():
        return error_document(id, source, f"{source}: no text found")
    return Document(id=id, source=source, text=text)
