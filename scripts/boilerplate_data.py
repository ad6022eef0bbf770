"""Shared by ``train_boilerplate.py`` and ``evaluate_boilerplate.py``: read the
``boilerplate`` data set (``../shared/data/boilerplate``, see its README), segment every
page with qualityscan's own HTML reader, and label each of *our* paragraphs with the data
set's rule applied to our segmentation.

Labelling rule (the README's, re-applied to our paragraphs so train and score time see the
same segmentation): tokens are NFKC-normalised, lower-cased ``\\w+`` runs; all paragraph
tokens of a page are aligned to the ground-truth tokens with a longest-common-subsequence
alignment (rapidfuzz ``LCSseq``); a token counts as matched only inside an aligned run of at
least 3 tokens; a paragraph is content iff at least half its tokens are matched. The same
alignment maps a peer's extracted text onto our paragraphs for block-level scores.
"""

from __future__ import annotations

import gzip
import json
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz.distance import LCSseq

from qualityscan.document import Document
from qualityscan.language import identify
from qualityscan.segment import segment

DEFAULT_DATA_ROOT = Path(__file__).resolve().parents[1].parent / "shared" / "data"
_TOKEN = re.compile(r"\w+", re.UNICODE)
MIN_RUN = 3


def tokens(text: str) -> list[str]:
    """The data set's tokens: NFKC-normalised, lower-cased ``\\w+`` runs."""
    return _TOKEN.findall(unicodedata.normalize("NFKC", text).lower())


def aligned_share(paragraph_tokens: list[list[str]], reference: list[str]) -> list[float]:
    """Per paragraph, the share of its tokens aligned to ``reference`` inside LCS runs of at
    least ``MIN_RUN`` tokens (0.0 for a paragraph without tokens)."""
    flat = [t for toks in paragraph_tokens for t in toks]
    matched = [False] * len(flat)
    if flat and reference:
        for block in LCSseq.opcodes(flat, reference).as_matching_blocks():
            if block.size >= MIN_RUN:
                matched[block.a:block.a + block.size] = [True] * block.size
    shares, pos = [], 0
    for toks in paragraph_tokens:
        n = len(toks)
        shares.append(sum(matched[pos:pos + n]) / n if n else 0.0)
        pos += n
    return shares


@dataclass
class Page:
    """One page of the data set, segmented by our reader and labelled."""

    page_id: str
    source: str
    fold: int
    domain: str
    html: str
    truth: str
    document: Document          # HTML input: paragraphs carry their blocks
    labels: list[int]           # per paragraph: 1 = boilerplate (not main text), 0 = content
    has_words: list[bool]       # per paragraph: holds at least one token (the data drops others)

    def plain(self) -> Document:
        """The same page as plain text: one line per paragraph, no markup."""
        doc = Document(self.page_id, self.document.source,
                       "\n".join(p.text for p in self.document.paragraphs))
        doc.language = self.document.language
        return segment(doc)


def _read_jsonl(path: Path) -> Iterator[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            yield json.loads(line)


def _reader():
    try:
        from qualityscan.readers import document_from_html
    except ImportError:
        pass
    else:
        return document_from_html
    try:  # the package's public name may not be exported yet; the module is the same code
        from qualityscan.readers.html import document_from_html
    except ImportError as exc:
        raise SystemExit(f"qualityscan.readers.document_from_html is not available ({exc}); "
                         "the boilerplate scripts need the HTML reader") from None
    return document_from_html


def load_pages(data_root: Path, select=lambda meta: True, limit: int | None = None) -> list[Page]:
    """Read, segment and label the pages whose ``pages.jsonl`` record passes ``select``."""
    folder = data_root / "boilerplate"
    if not (folder / "pages.jsonl.gz").is_file():
        raise SystemExit(f"{folder}: boilerplate data not found (expected pages.jsonl.gz); pass --data-root")
    document_from_html = _reader()
    metas = [m for m in _read_jsonl(folder / "pages.jsonl.gz") if select(m)]
    if limit:
        metas = metas[:limit]
    wanted = {m["page_id"] for m in metas}
    truth = {r["page_id"]: r["text"] for r in _read_jsonl(folder / "ground_truth.jsonl.gz")
             if r["page_id"] in wanted}
    pages = []
    for meta in metas:
        raw = gzip.decompress((folder / meta["html_file"]).read_bytes())
        html = raw.decode(meta["encoding"] or "utf-8", errors="replace")
        doc = document_from_html(html, id=meta["page_id"], source=meta["html_file"])
        if not doc.paragraphs:
            segment(doc)
        doc.language = identify(doc.text[:20000])[0]
        para_tokens = [tokens(p.text) for p in doc.paragraphs]
        shares = aligned_share(para_tokens, tokens(truth.get(meta["page_id"], "")))
        pages.append(Page(meta["page_id"], meta["source"], meta["fold"], meta["domain"] or "", html,
                          truth.get(meta["page_id"], ""), doc, [int(s < 0.5) for s in shares],
                          [bool(t) for t in para_tokens]))
    return pages
