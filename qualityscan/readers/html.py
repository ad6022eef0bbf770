"""HTML -> text blocks in reading order, with the layout facts the boilerplate detector needs.

lxml's HTML parser (libxml2) is fast and recovers from the broken markup scrapers save. We walk
the tree the way a browser lays it out: block-level elements (p, li, h1-h6, td, div, nav,
footer, ...) start and end lines; inline content (text, a, span, b, ...) flows into the line
of its nearest block-level ancestor; ``<br>`` and the line breaks of ``<pre>`` end a line.
Each non-empty line becomes one line of :attr:`Document.text` and one :class:`Block`.

Navigation, headers, footers, sidebars and comment forms are kept on purpose: deciding what
is boilerplate is the boilerplate detector's job, and it needs to see them. Only content a
reader never sees as text is dropped: script, style, noscript, template, svg, math, iframe,
object, embed, canvas, textarea, the head (its ``<title>`` goes to ``meta["title"]``),
comments, and lines without a word character. The element lists and the link-density
definition match those used to build the labelled blocks in ``shared/data/boilerplate``
(see its README), so a detector trained on those blocks sees the same units here; one
difference: that data keeps a single ``<br>`` inside a block, we end the line (and block).
"""

from __future__ import annotations

import re

from lxml import etree
from lxml import html as lxml_html

from qualityscan.document import Block, Document
from qualityscan.readers.decode import declared_charset, decode_bytes, normalise_text
from qualityscan.readers.options import InputError, error_document

_DROP = ("script", "style", "noscript", "template", "svg", "math", "iframe", "object", "embed", "canvas",
         "textarea", "head", "title")
_BLOCK = frozenset({
    "address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details",
    "dialog", "dir", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "frame",
    "frameset", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hgroup", "hr", "html", "legend", "li",
    "main", "menu", "nav", "noframes", "ol", "p", "pre", "section", "select", "summary", "table",
    "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
})
#: A line needs at least one word character; lone separators ("|", "»", "•") are layout.
_WORDY = re.compile(r"\w")
#: An ``</html>`` end tag. libxml2 drops everything after the first one, while browsers keep
#: reading (HTML5 "after after body" mode): scraped pages with a stray one mid-page, or pages
#: saved one after another into a file, would lose text silently. The parser closes the root
#: at the end of the input anyway, so these tags are removed before parsing.
_HTML_END = re.compile(r"</html\s*>", re.IGNORECASE)
#: Longest tag path kept (innermost tags); real pages nest far less.
MAX_PATH_DEPTH = 32
#: Longest class/id string kept per block.
MAX_ATTRS_CHARS = 200


def document_from_html(html: str | bytes, id: str, source: str) -> Document:
    """A document whose text is the HTML's text blocks, one per line, with ``blocks`` set.

    Bytes are decoded like files (byte-order mark, UTF-8, the ``<meta charset>``, detection).
    ``meta["title"]`` holds the ``<title>``, ``meta["lang"]`` the ``<html lang>`` when present.
    """
    meta: dict[str, object] = {}
    if isinstance(html, bytes):
        try:
            decoded = decode_bytes(html, source, declared=declared_charset(html))
        except InputError as exc:
            return error_document(id, source, str(exc))
        html, meta["encoding"] = decoded.text, decoded.encoding
    else:
        html = normalise_text(html)
    if not html.strip():
        return error_document(id, source, f"{source}: no text found", **meta)
    parser = _parser()
    try:
        root = lxml_html.document_fromstring(_HTML_END.sub("", html).encode("utf-8"), parser=parser)
    except (etree.LxmlError, ValueError) as exc:
        if "empty" in str(exc).lower():
            return error_document(id, source, f"{source}: no text found", **meta)
        return error_document(id, source, f"{source}: cannot parse HTML ({exc})", **meta)
    title = root.find(".//title")
    title_text = " ".join(title.text_content().split()) if title is not None else ""
    if title_text:
        meta["title"] = title_text
    lang = (root.get("lang") or "").strip()
    if lang:
        meta["lang"] = lang
    # libxml2 recovers from broken markup but stops at hard limits (nesting deeper than 2048);
    # say so rather than silently return part of the page.
    stopped = [f"{source}: HTML parsing stopped early at line {e.line} ({e.message.strip()}); "
               "the text after that point is missing" for e in parser.error_log if e.level_name == "FATAL"]
    etree.strip_elements(root, *_DROP, with_tail=False)
    lines, blocks = _extract(root)
    if not lines:
        return Document(id=id, source=source, meta=meta, errors=[*stopped, f"{source}: no text found"])
    return Document(id=id, source=source, text="\n".join(lines), blocks=blocks, meta=meta, errors=stopped)


def _parser() -> lxml_html.HTMLParser:
    # The text is UTF-8 by now: force it so a stale <meta charset> cannot re-decode it.
    return lxml_html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True,
                                huge_tree=True, default_doctype=False)


class _LineBuilder:
    """Collects inline text into lines; each flushed line records its block facts."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.blocks: list[Block] = []
        self.offset = 0
        self._pieces: list[tuple[str, bool]] = []
        self._owner: etree._Element | None = None

    def add(self, text: str, owner: etree._Element, in_link: bool) -> None:
        if not self._pieces:
            self._owner = owner
        self._pieces.append((text, in_link))

    def flush(self) -> None:
        pieces, owner = self._pieces, self._owner
        self._pieces, self._owner = [], None
        line = " ".join("".join(text for text, _ in pieces).split())
        if owner is None or not _WORDY.search(line):
            return
        total = sum(_visible_chars(text) for text, _ in pieces)
        linked = sum(_visible_chars(text) for text, in_link in pieces if in_link)
        tags, attrs = _ancestry(owner)
        start = self.offset
        self.blocks.append(Block(start, start + len(line), tags[-1], linked / total if total else 0.0,
                                 ">".join(tags[-MAX_PATH_DEPTH:]), attrs))
        self.lines.append(line)
        self.offset = start + len(line) + 1


def _extract(root: etree._Element) -> tuple[list[str], list[Block]]:
    builder = _LineBuilder()
    owners: list[etree._Element] = []  # block-level ancestors of the current position
    links = 0
    pre = 0

    def add(text: str | None) -> None:
        if not text:
            return
        if pre:
            first, *rest = text.split("\n")
            builder.add(first, owners[-1], links > 0)
            for part in rest:
                builder.flush()
                builder.add(part, owners[-1], links > 0)
        else:
            builder.add(text, owners[-1], links > 0)

    for event, element in etree.iterwalk(root, events=("start", "end")):
        if not isinstance(element.tag, str):  # comments/PIs the parser kept
            if event == "end":
                add(element.tail)
            continue
        tag = _local(element.tag)
        if event == "start":
            if tag in _BLOCK or tag == "br":
                builder.flush()
            if tag in _BLOCK:
                owners.append(element)
            links += tag == "a"
            pre += tag == "pre"
            add(element.text)
        else:
            links -= tag == "a"
            pre -= tag == "pre"
            if tag in _BLOCK:
                builder.flush()
                owners.pop()
            if owners:
                add(element.tail)
    builder.flush()
    return builder.lines, builder.blocks


def _ancestry(element: etree._Element) -> tuple[list[str], str]:
    """Tag path from the root down to ``element``, and the class/id tokens of ``element`` and
    its ancestors (nearest first, each once, cut to :data:`MAX_ATTRS_CHARS`)."""
    chain = [element, *element.iterancestors()]
    tags = [_local(e.tag) for e in reversed(chain)]
    tokens: list[str] = []
    seen: set[str] = set()
    for e in chain:
        for token in f"{e.get('class') or ''} {e.get('id') or ''}".split():
            if token not in seen:
                seen.add(token)
                tokens.append(token)
    attrs = " ".join(tokens)
    if len(attrs) > MAX_ATTRS_CHARS:
        attrs = attrs[:MAX_ATTRS_CHARS].rsplit(" ", 1)[0]
    return tags, attrs


def _local(tag: str) -> str:
    """Lower-case tag name without namespace or prefix (``{ns}p``, ``xhtml:p`` -> ``p``)."""
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1].lower()


def _visible_chars(text: str) -> int:
    return len(text) - sum(ch.isspace() for ch in text)
