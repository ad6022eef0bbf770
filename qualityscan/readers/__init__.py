"""Input readers: files, folders, standard input; text, Markdown, HTML, JSON Lines (and WARC).

Every reader yields :class:`~qualityscan.document.Document` objects and never raises for bad
input: an unreadable, binary, empty or oversized input becomes a document with no text and
its reason (starting with the file path) in ``errors``. See ``docs/input.md``.
"""

from qualityscan.readers.files import iter_documents, read_file, read_stream
from qualityscan.readers.html import document_from_html
from qualityscan.readers.jsonl import read_jsonl_lines
from qualityscan.readers.options import InputError, ReadOptions
from qualityscan.readers.text import document_from_text

__all__ = [
    "InputError",
    "ReadOptions",
    "document_from_html",
    "document_from_text",
    "iter_documents",
    "read_file",
    "read_jsonl_lines",
    "read_stream",
]
