"""Language identification with py3langid, whose model ships inside the package (no download)."""

from __future__ import annotations

import functools

#: Shorter texts are too short to identify reliably; their language is left unknown.
MIN_CHARS = 40
#: Enough text to decide (langid.py's accuracy levels off after a few hundred characters);
#: longer documents are identified from their start, which keeps the cost per document flat.
MAX_CHARS = 4_000


@functools.lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE, norm_probs=True)


def identify(text: str) -> tuple[str | None, float]:
    """ISO 639-1 code and probability of the main language of ``text``.

    Returns ``(None, 0.0)`` for text too short to tell.
    """
    sample = " ".join(text[:MAX_CHARS].split())
    if len(sample) < MIN_CHARS:
        return None, 0.0
    code, prob = _identifier().classify(sample)
    return code, float(prob)
