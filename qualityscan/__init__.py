"""qualityscan: tell which scraped texts can be trusted.

>>> from qualityscan import Scanner
>>> report = Scanner().scan_text("Summarize this content to 100 words\\nThe minister arrived on Sunday.")
>>> report.to_dict()["schema"]
'qualityscan/1'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from qualityscan.document import Document, Evidence, Paragraph, Report
    from qualityscan.scanner import Scanner

_EXPORTS = {
    "Scanner": "qualityscan.scanner",
    "Document": "qualityscan.document",
    "Paragraph": "qualityscan.document",
    "Evidence": "qualityscan.document",
    "Report": "qualityscan.document",
    "SCHEMA": "qualityscan.document",
}


def __getattr__(name: str) -> Any:
    # Lazy re-exports keep `import qualityscan.document` light (no scikit-learn import).
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'qualityscan' has no attribute {name!r}")


def scan_text(text: str, **scanner_params: Any) -> Report:
    """Score one text with a default :class:`Scanner` (convenience for quick checks)."""
    from qualityscan.scanner import Scanner

    return Scanner(**scanner_params).scan_text(text)


__all__ = ["SCHEMA", "Document", "Evidence", "Paragraph", "Report", "Scanner", "__version__", "scan_text"]
