"""Site template chrome left in by the scraper: comment forms, navigation, share counters,
licence nags, bylines and author bios, image credits, slug lines, bare URLs, teaser titles.

Every paragraph gets a probability of being boilerplate from a gradient-boosted tree model
(``models/boilerplate.joblib``, trained by ``scripts/train_boilerplate.py``) over features
that exist for plain text -- length, stop-word density, punctuation and capitalisation
shape, position relative to the document's running text, the same for the neighbours,
URL / e-mail / date patterns, known chrome phrases in several languages, repeats inside the
document and across the corpus -- plus, when the input was HTML (``paragraph.block`` set),
the block's tag, link density and path / attribute keywords (``nav``, ``footer``,
``comment``, ``share``, ``related``, ``sidebar``, ``byline``, ...). Missing features (no
HTML, no corpus) are NaN, which the trees handle natively, so one model serves all inputs.

The features follow the boilerplate literature: text density and link density (Kohlschütter
et al., "Boilerplate detection using shallow text features", WSDM 2010), stop-word density
and context of neighbouring blocks (Pomikálek, "Removing boilerplate and duplicate content
from web corpora", 2011, the jusText algorithm) and cross-page template frequency
(Bar-Yossef & Rajagopalan, "Template detection via data mining", WWW 2002).

Evidence per flagged paragraph names the chrome phrase that fired, the number of other
documents of the corpus sharing the line, and the feature groups that moved the score most
(found by resetting each group to a typical running-text value and re-scoring).
"""

from __future__ import annotations

import math
import re
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qualityscan.corpus import normalise_line
from qualityscan.detectors.base import Detector, DetectorResult, length_weighted_mean
from qualityscan.document import Document, Paragraph

if TYPE_CHECKING:
    from qualityscan.corpus import CorpusStats

# --------------------------------------------------------------------------------------
# Chrome phrases. Generic strings of content-management systems, themes and site
# templates (WordPress comment forms, pagination, share widgets, legal footers), written
# for this module in English, German, French, Spanish, Italian, Portuguese and Dutch.
# --------------------------------------------------------------------------------------

_PHRASES: dict[str, list[str]] = {
    "comment form": [
        r"leave a (?:reply|comment)", r"post a comment", r"add (?:a|your) comment", r"cancel reply",
        r"your email address will not be published", r"required fields are marked",
        r"save my name,? email,? and website", r"notify me of (?:new|follow-?up) (?:comments|posts)",
        r"comments? (?:are|is) closed", r"be the first to comment", r"no comments(?: yet)?",
        r"you must be logged in to post", r"join the (?:discussion|conversation)",
        r"^\d+ (?:comments?|responses?|replies)$", r"^(?:comments?|reply|responses?)$",
        r"schreibe einen kommentar", r"kommentar (?:verfassen|schreiben|abbrechen)",
        r"e-mail-adresse wird nicht ver[öo]ffentlicht", r"erforderliche felder sind mit",
        r"laisser un commentaire", r"adresse (?:e-?mail|de messagerie) ne sera pas publi[ée]e",
        r"champs obligatoires sont indiqu[ée]s", r"d[ée]ja(?:r)? un comentario",
        r"direcci[óo]n de correo electr[óo]nico no ser[áa] publicada",
        r"campos obligatorios est[áa]n marcados", r"lascia un commento",
        r"indirizzo email non sar[àa] pubblicato", r"campi obbligatori sono contrassegnati",
        r"deixe um coment[áa]rio", r"e-?mail n[ãa]o ser[áa] publicado",
        r"laat een reactie achter", r"e-?mailadres wordt niet gepubliceerd",
    ],
    "navigation": [
        r"^(?:previous|next|prev|older|newer)(?: (?:article|post|story|page|entry|entries|posts))?$",
        r"back to top", r"skip to (?:main )?(?:content|navigation)", r"^(?:main )?menu$",
        r"^(?:home|search|log ?in|sign ?in|sign ?up|register|contact(?: us)?|about(?: us)?)$",
        r"^(?:read|show|load|see|view) (?:more|all)\b", r"continue reading", r"you are here",
        r"related (?:posts|articles|stories|content|news|topics|links)", r"you (?:may|might) also like",
        r"recommended (?:for you|stories|articles|reading)", r"^more (?:from|stories|news|on)\b",
        r"most (?:popular|read|viewed|shared|commented)", r"^trending(?: now| news| stories)?$",
        r"(?:popular|recent|latest|featured) (?:posts|comments|news|stories|articles)",
        r"^top stories$", r"editor'?s picks", r"^(?:tags?|categories|category|filed under|posted in)\s*:",
        r"zur[üu]ck nach oben", r"^nach oben$", r"^weiterlesen$", r"[äa]hnliche (?:artikel|beitr[äa]ge)",
        r"(?:vorheriger|n[äa]chster) (?:artikel|beitrag)", r"das k[öo]nnte sie auch interessieren",
        r"article (?:pr[ée]c[ée]dent|suivant)", r"retour en haut", r"^lire la suite$",
        r"articles similaires", r"[àa] lire aussi", r"vous aimerez aussi",
        r"art[íi]culo (?:anterior|siguiente)", r"volver arriba", r"^leer m[áa]s$",
        r"art[íi]culos relacionados", r"tambi[ée]n te puede interesar",
        r"articolo (?:precedente|successivo)", r"torna su", r"leggi anche", r"articoli correlati",
        r"artigo anterior", r"pr[óo]ximo artigo", r"voltar ao topo", r"^leia mais$",
        r"artigos relacionados", r"(?:vorig|volgend) artikel", r"terug naar boven", r"^lees meer$",
        r"gerelateerde artikelen",
    ],
    "share widget": [
        (r"^(?:share|shares|shared|tweet|pin(?: it)?|e-?mail|print|whatsapp|facebook|twitter|linkedin|"
         r"reddit|telegram|pinterest|flipboard|messenger|copy link|total)$"),
        r"^share (?:this|on|via|the article|article|story|post)\b", r"click to (?:share|print|email)",
        r"^follow us\b", r"like us on facebook", r"^(?:teilen|partager|compartir|condividi|compartilhar|delen)$",
    ],
    "licence or theme nag": [
        r"licen[cs]e (?:is )?not (?:been )?(?:validated|activated|valid)",
        r"activate (?:your|the) licen[cs]e", r"theme options", r"unregistered (?:version|copy)",
        r"this (?:site|website) uses cookies", r"we use cookies", r"accept (?:all )?cookies",
        r"cookie (?:policy|settings|preferences)", r"javascript (?:is )?(?:disabled|required)",
        r"enable javascript", r"update your browser",
    ],
    "legal footer": [
        r"copyright", r"©", r"\(c\) (?:19|20)\d\d", r"all rights reserved", r"privacy (?:policy|notice)",
        r"terms (?:of (?:use|service)|and conditions|& conditions)", r"^sitemap$", r"powered by",
        r"(?:designed|developed) by", r"alle rechte vorbehalten", r"^impressum$", r"^datenschutz",
        r"tous droits r[ée]serv[ée]s", r"mentions l[ée]gales", r"todos los derechos reservados",
        r"tutti i diritti riservati", r"todos os direitos reservados", r"alle rechten voorbehouden",
    ],
    "subscription or advert": [
        r"subscribe to (?:our|the)", r"^subscribe\b", r"newsletter", r"sign up for", r"enter your e-?mail",
        r"get the latest", r"download (?:our|the) app", r"^advertisement$", r"^sponsored(?: content)?$",
        r"^(?:ad|ads|anzeige|publicit[ée]|publicidad|pubblicit[àa]|advertentie)$",
    ],
    "byline or credit": [
        r"image (?:source|credit)", r"photo(?:graph)?(?: by|:| credit)", r"^credit:", r"getty images",
        r"shutterstock", r"\bap photo\b", r"^(?:file )?photo:", r"(?:reuters|afp|epa|ap)(?:/| via )",
        r"^[Bb][Yy] [A-Z][\w.'-]+(?: [A-Z][\w.'-]+)+$", r"^(?:written|posted|published|updated|reviewed) (?:by|on)\b",
        r"^(?:published|updated|posted)\s*:", r"^author\s*:", r"about the author",
        r"^(?:[Vv]on|[Pp]ar|[Pp]or|[Dd]i|[Dd]oor) [A-Z]\w+ [A-Z]\w+$",
        r"content (?:creator|writer)", r"freelance (?:writer|journalist)",
        r"follow (?:him|her|them|me) on (?:twitter|x|instagram)",
        (r"\b(?:is|was) an? (?:staff )?(?:writer|reporter|journalist|editor|correspondent|contributor|"
         r"columnist|blogger) (?:for|at|with)\b"),
    ],
}

_CATEGORIES: tuple[str, ...] = tuple(_PHRASES)
# One alternation per category; case-sensitive only where capitals matter (bylines).
_COMPILED: list[tuple[str, re.Pattern[str]]] = [
    (cat, re.compile("|".join(f"(?:{p})" if "[A-Z]" in p else f"(?i:{p})" for p in patterns)))
    for cat, patterns in _PHRASES.items()
]

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_URL = re.compile(r"(?:https?://|www\.)\S+|\b[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|co\.uk|io|de|fr|gov|edu)\b(?:/\S*)?",
                  re.IGNORECASE)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b")
_MONTHS = (r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|jun(?:e)?|jul(?:y)?|aug(?:ust)?|"
           r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?")
_DATE = re.compile(rf"\b(?:\d{{1,2}}[./-]\d{{1,2}}[./-]\d{{2,4}}|\d{{4}}-\d\d-\d\d|(?:{_MONTHS})\.? \d{{1,2}},? \d{{4}}|"
                   rf"\d{{1,2}} (?:{_MONTHS})\.? \d{{4}})\b", re.IGNORECASE)
_TIME = re.compile(r"\b\d{1,2}:\d\d(?:\s?[ap]\.?m\.?)?\b", re.IGNORECASE)
_SLUG = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+){2,}$")
_SEPARATORS = re.compile(r"[|»«•·›‹/>]|\s-\s")
_SENTENCE_END = re.compile(r"[.!?…。]['\"”’)\]]?$")
_CREDIT_SLASHES = re.compile(r"^[A-Z][\w.' -]+(?:/[A-Z][\w.' -]+){1,}$")

# Short stop-word lists (the most frequent function words) per language, used for the
# stop-word density of a paragraph: running text is rich in them, chrome is not.
_STOPWORDS: dict[str, frozenset[str]] = {lang: frozenset(words.split()) for lang, words in {
    "en": "the of and to a in is it that for on was with as he she be by at are this his her from have "
          "has had not but or an they we you i which their were been its will would there who our can "
          "all more one about when so if than also after said into what them these some other out up",
    "de": "der die und in den von zu das mit sich des auf für ist im dem nicht ein eine als auch es an "
          "werden aus er hat dass sie nach wird bei einer um am sind noch wie einem über einen so zum war",
    "fr": "de la le et les des en un du une que est pour qui dans par plus pas au sur ne se ce il sont "
          "avec ou à son elle nous vous leur été mais comme aux cette ont lui",
    "es": "de la que el en y a los del se las por un para con no una su al lo como más pero sus le ya o "
          "este fue ha sí porque esta son entre cuando muy sin sobre también me hasta hay donde",
    "it": "di e il la che in a per un del non è una le si con da i dei al come lo più ma nel sono della "
          "alla gli anche ha se questo delle",
    "pt": "de a o que e do da em um para é com não uma os no se na por mais as dos como mas foi ao ele "
          "das tem à seu sua ou ser quando muito há nos já está também",
    "nl": "de en van ik te dat die in een hij het niet zijn is was op aan met als voor had er maar om hem "
          "dan zou of wat mijn men dit zo door over ze zich bij ook tot je",
}.items()}

_TAGS: tuple[str, ...] = ("p", "div", "li", "td", "h", "dd", "span", "a", "other")
_PATH_KEYWORDS: dict[str, str] = {
    "nav": r"nav|menu|breadcrumb|paginat|pager|topbar|toolbar|skip",
    "footer": r"footer|copyright|bottom|legal|colophon",
    "header": r"header|masthead|banner|logo|brand",
    "comment": r"comment|respond|reply|disqus|discussion|feedback",
    "share": r"share|social|sharing|addthis|sociable|facebook|twitter|follow",
    "related": r"related|recommend|more-?stories|trending|popular|teaser|promo|outbrain|taboola",
    "sidebar": r"sidebar|widget|aside|rail|sidebox|secondary",
    "byline": r"byline|author|credit|caption|meta|date|time|posted|dateline|bio|profile",
    "ad": r"\bads?\b|advert|sponsor|dfp|gpt-|doubleclick",
    "content": r"article|content|post|entry|story|body|text|main|prose|hentry",
    "form": r"form|input|search|login|subscribe|newsletter|signup",
}
_PATH_PATTERNS = {k: re.compile(v) for k, v in _PATH_KEYWORDS.items()}

_SELF_FEATURES: tuple[str, ...] = (
    "log_chars", "log_words", "mean_word_len", "stopword_density", "title_case_share", "upper_share",
    "digit_share", "punct_share", "ends_sentence", "sentences", "commas_per_word", "separator_count",
    "url_share", "has_email", "has_date", "has_time", "is_slug", "is_number", "is_credit_slashes",
    "phrase_coverage", *(f"phrase_{c.replace(' ', '_')}" for c in _CATEGORIES),
)
_HTML_FEATURES: tuple[str, ...] = (
    "html", "tag", "link_density", "path_depth", "in_list", "is_heading",
    *(f"path_{k}" for k in _PATH_KEYWORDS),
)
_DOC_FEATURES: tuple[str, ...] = (
    "rel_position", "rel_char_position", "paragraphs_before", "paragraphs_after", "before_first_long",
    "after_last_long", "dist_to_long", "long_share_window", "short_run", "doc_log_paragraphs",
    "doc_long_share", "dup_in_document", "has_context", "corpus_log_others", "corpus_share",
)
_NEIGHBOUR_BASE: tuple[str, ...] = ("log_words", "stopword_density", "ends_sentence", "link_density",
                                    "phrase_coverage")
_NEIGHBOUR_FEATURES: tuple[str, ...] = tuple(
    f"{side}_{name}" for side in ("prev", "next", "window") for name in _NEIGHBOUR_BASE)

#: Column names of the feature matrix, in order.
FEATURE_NAMES: tuple[str, ...] = _SELF_FEATURES + _HTML_FEATURES + _DOC_FEATURES + _NEIGHBOUR_FEATURES
#: Index of the categorical ``tag`` column (codes into ``_TAGS``).
TAG_COLUMN = FEATURE_NAMES.index("tag")

#: Readable groups of features, used for evidence ("what moved the score").
FEATURE_GROUPS: dict[str, tuple[str, ...]] = {
    "short line": ("log_chars", "log_words", "mean_word_len", "sentences"),
    "few stop words": ("stopword_density",),
    "no sentence punctuation": ("ends_sentence", "commas_per_word", "punct_share"),
    "title-case or capitals": ("title_case_share", "upper_share"),
    "digits, dates or URLs": ("digit_share", "url_share", "has_email", "has_date", "has_time", "is_slug",
                              "is_number", "is_credit_slashes", "separator_count"),
    "chrome phrase": ("phrase_coverage", *(f"phrase_{c.replace(' ', '_')}" for c in _CATEGORIES)),
    "outside the running text": ("rel_position", "rel_char_position", "paragraphs_before", "paragraphs_after",
                                 "before_first_long", "after_last_long", "dist_to_long",
                                 "long_share_window", "short_run"),
    "repeated line": ("dup_in_document", "corpus_log_others", "corpus_share"),
    "HTML tag": ("tag", "in_list", "is_heading", "path_depth"),
    "link density": ("link_density",),
    "HTML class/id keywords": tuple(f"path_{k}" for k in _PATH_KEYWORDS),
    "chrome-like neighbours": _NEIGHBOUR_FEATURES,
}

#: A paragraph is "long" running text from this many words on (anchors the position features).
LONG_WORDS = 25
#: Neighbourhood half-width for window features.
WINDOW = 3


@dataclass(frozen=True)
class PhraseMatch:
    """A chrome phrase found in a paragraph."""

    category: str
    start: int
    end: int
    text: str


def find_phrase(text: str) -> PhraseMatch | None:
    """The chrome phrase found in ``text``: per category the first match, of those the
    longest (None when none matches)."""
    best: PhraseMatch | None = None
    for category, pattern in _COMPILED:
        m = pattern.search(text)
        if m and m.end() > m.start() and (best is None or m.end() - m.start() > best.end - best.start):
            best = PhraseMatch(category, m.start(), m.end(), m.group())
    return best


#: Score given by a rule precise enough to overrule the model (see :func:`rule`).
RULE_SCORE = 0.9


def rule(text: str, phrase: PhraseMatch | None) -> str | None:
    """Name of the high-precision chrome rule ``text`` meets, if any.

    Kinds of chrome too rare in the training pages for the model to learn, but unambiguous:
    a URL slug as a line, a bare URL, a licence/theme nag, a line that is mostly a chrome
    phrase, a short credit or byline, a paragraph opening with a credit or bio title.
    """
    stripped = text.strip()
    if _SLUG.match(stripped):
        return "slug line (URL path words joined by hyphens)"
    url = _URL.fullmatch(stripped)
    if url and "/" in stripped:
        return "bare URL"
    if phrase is None:
        return None
    if phrase.category == "licence or theme nag":
        return "licence, cookie or theme nag"
    if (phrase.end - phrase.start) >= 0.5 * len(stripped):
        return "line is mostly a chrome phrase"
    if phrase.category == "byline or credit" and (len(_WORD.findall(stripped)) <= 12 or phrase.start == 0):
        return "credit or byline in a short line or opening the paragraph"
    return None


def _stop_density(tokens: list[str], language: str | None) -> float:
    if not tokens:
        return 0.0
    if language in _STOPWORDS:
        lists = [_STOPWORDS[language]]
    else:
        lists = list(_STOPWORDS.values())
    return max(sum(t in words for t in tokens) for words in lists) / len(tokens)


def _tag_code(tag: str) -> int:
    tag = tag.lower()
    if len(tag) == 2 and tag[0] == "h" and tag[1].isdigit():
        tag = "h"
    return _TAGS.index(tag) if tag in _TAGS else len(_TAGS) - 1


def _self_features(paragraph: Paragraph, language: str | None) -> tuple[list[float], PhraseMatch | None]:
    text = unicodedata.normalize("NFKC", paragraph.text)
    n_chars = len(text)
    words = _WORD.findall(text)
    tokens = [w.casefold() for w in words]
    n_words = len(words)
    letters = sum(c.isalpha() for c in text) or 1
    url_chars = sum(len(m.group()) for m in _URL.finditer(text))
    phrase = find_phrase(text)
    row = [
        math.log1p(n_chars),
        math.log1p(n_words),
        (sum(map(len, words)) / n_words) if n_words else 0.0,
        _stop_density(tokens, language),
        (sum(w[0].isupper() for w in words) / n_words) if n_words else 0.0,
        sum(c.isupper() for c in text) / letters,
        sum(c.isdigit() for c in text) / max(n_chars, 1),
        sum(unicodedata.category(c).startswith("P") for c in text) / max(n_chars, 1),
        float(bool(_SENTENCE_END.search(text))),
        float(len(re.findall(r"[.!?](?:\s|$)", text))),
        text.count(",") / max(n_words, 1),
        float(len(_SEPARATORS.findall(text))),
        url_chars / max(n_chars, 1),
        float(bool(_EMAIL.search(text))),
        float(bool(_DATE.search(text))),
        float(bool(_TIME.search(text))),
        float(bool(_SLUG.match(text))),
        float(bool(re.fullmatch(r"[\d\s.,:%+()-]+", text))),
        float(bool(_CREDIT_SLASHES.match(text))),
        ((phrase.end - phrase.start) / max(n_chars, 1)) if phrase else 0.0,
        *(float(phrase is not None and phrase.category == c) for c in _CATEGORIES),
    ]
    return row, phrase


def _html_features(paragraph: Paragraph) -> list[float]:
    block = paragraph.block
    if block is None:
        return [0.0] + [math.nan] * (len(_HTML_FEATURES) - 1)
    # The path runs from the root ("html>body>..."): only the tags below <body> say anything.
    inner = re.sub(r"^(?:html>)?(?:body>?)?", "", block.path.lower())
    where = f"{inner} {block.attrs.lower()}"
    tag = block.tag.lower()
    return [
        1.0,
        float(_tag_code(tag)),
        float(block.link_density),
        float(len(re.findall(r"[/>]", block.path))),
        float(bool(re.search(r"\b(?:li|ul|ol|dl|dd|dt|menu)\b", f"{tag} {block.path.lower()}"))),
        float(tag in {"h1", "h2", "h3", "h4", "h5", "h6"}),
        *(float(bool(p.search(where))) for p in _PATH_PATTERNS.values()),
    ]


def feature_matrix(
    document: Document, context: CorpusStats | None = None, document_counted: bool = True,
) -> tuple[np.ndarray, list[PhraseMatch | None], list[int]]:
    """Features of every paragraph of a segmented document.

    Returns the ``(n_paragraphs, len(FEATURE_NAMES))`` matrix, the chrome phrase found in
    each paragraph and, per paragraph, how many other corpus documents share the line
    (0 without ``context``). ``document_counted`` says whether ``context`` already counted
    this document (the Scanner's first pass does).
    """
    paragraphs = document.paragraphs
    n = len(paragraphs)
    width = len(FEATURE_NAMES)
    if n == 0:
        return np.zeros((0, width)), [], []
    selfs, phrases = zip(*(_self_features(p, document.language) for p in paragraphs))
    html = [_html_features(p) for p in paragraphs]
    self_m = np.asarray(selfs, dtype=float)
    html_m = np.asarray(html, dtype=float)
    n_words = np.array([len(_WORD.findall(p.text)) for p in paragraphs])
    long = n_words >= LONG_WORDS
    long_idx = np.flatnonzero(long)
    chars = np.array([len(p.text) for p in paragraphs], dtype=float)
    cum_chars = (np.cumsum(chars) - chars / 2) / max(chars.sum(), 1.0)
    idx = np.arange(n)
    keys = [normalise_line(p.text) for p in paragraphs]
    key_counts: dict[str, int] = {}
    for key in keys:
        key_counts[key] = key_counts.get(key, 0) + 1
    others = [context.others(p.text, document_counted) if context is not None else 0 for p in paragraphs]

    if long_idx.size:
        pos = np.searchsorted(long_idx, idx)
        left = long_idx[np.clip(pos - 1, 0, long_idx.size - 1)]
        right = long_idx[np.clip(pos, 0, long_idx.size - 1)]
        dist = np.minimum(np.abs(idx - left), np.abs(right - idx)).astype(float)
        before, after = (idx < long_idx[0]).astype(float), (idx > long_idx[-1]).astype(float)
    else:
        dist, before, after = np.full(n, float(n)), np.ones(n), np.ones(n)
    run_id = np.cumsum(long)  # paragraphs between the same two long ones share an id
    run_len = np.bincount(run_id[~long], minlength=run_id.max() + 1)[run_id] * (~long)
    long_window = _window_mean(long.astype(float)[:, None])[:, 0]
    if context is not None:
        denominator = max(context.documents - int(document_counted), 1)
        ctx = np.column_stack([np.ones(n), np.log1p(others), np.asarray(others) / denominator])
    else:
        ctx = np.column_stack([np.zeros(n), np.full(n, np.nan), np.full(n, np.nan)])
    dup = np.array([key_counts[k] - 1 if k else 0 for k in keys], dtype=float)
    doc_m = np.column_stack([
        idx / max(n - 1, 1), cum_chars, np.log1p(idx), np.log1p(n - 1 - idx), before, after,
        np.log1p(np.minimum(dist, 50.0)), long_window, np.log1p(run_len), np.full(n, math.log1p(n)),
        np.full(n, long.mean()), dup, ctx,
    ])

    base = np.column_stack([
        self_m[:, _SELF_FEATURES.index("log_words")],
        self_m[:, _SELF_FEATURES.index("stopword_density")],
        self_m[:, _SELF_FEATURES.index("ends_sentence")],
        html_m[:, _HTML_FEATURES.index("link_density")],
        self_m[:, _SELF_FEATURES.index("phrase_coverage")],
    ])
    pad = np.full((1, base.shape[1]), np.nan)
    padded = np.vstack([pad, base, pad])
    prev_m, next_m = padded[:-2], padded[2:]
    window_m = _window_mean(base)
    matrix = np.hstack([self_m, html_m, doc_m, prev_m, next_m, window_m])
    return matrix, list(phrases), others


def _window_mean(values: np.ndarray) -> np.ndarray:
    """Mean of each column over rows ``i - WINDOW .. i + WINDOW``, ignoring NaN (NaN when
    the whole window is NaN)."""
    valid = ~np.isnan(values)
    filled = np.where(valid, values, 0.0)
    zero = np.zeros((1, values.shape[1]))
    csum = np.vstack([zero, np.cumsum(filled, axis=0)])
    ccount = np.vstack([zero, np.cumsum(valid, axis=0)])
    n = values.shape[0]
    lo = np.clip(np.arange(n) - WINDOW, 0, n)
    hi = np.clip(np.arange(n) + WINDOW + 1, 0, n)
    sums, counts = csum[hi] - csum[lo], ccount[hi] - ccount[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


_MODEL_CACHE: dict[str, tuple[Any, dict[str, Any]]] = {}
_MODEL_LOCK = threading.Lock()


def _load(path: Path) -> tuple[Any, dict[str, Any]]:
    from qualityscan.model import load_model

    key = str(path.resolve())
    with _MODEL_LOCK:
        if key not in _MODEL_CACHE:
            model, meta = load_model(path)
            if tuple(meta.get("features", ())) != FEATURE_NAMES:
                raise ValueError(f"{path}: model was trained on other features than this version computes; "
                                 "retrain it with scripts/train_boilerplate.py")
            _MODEL_CACHE[key] = (model, meta)
        return _MODEL_CACHE[key]


class BoilerplateDetector(Detector):
    """Scores each paragraph for site template chrome (0 = running text, 1 = chrome).

    Parameters
    ----------
    model_path:
        The trained model; ``None`` means the shipped ``models/boilerplate.joblib``.
    threshold:
        Paragraphs scoring at or above it get evidence.
    min_corpus_others:
        A line shared with at least this many other documents is named as cross-document
        evidence.
    top_features:
        How many feature groups to name as evidence when no phrase or corpus count explains
        a flagged paragraph.
    """

    name = "boilerplate"
    languages = None

    def __init__(self, model_path: str | Path | None = None, threshold: float = 0.5,
                 min_corpus_others: int = 2, top_features: int = 2) -> None:
        self.model_path = model_path
        self.threshold = threshold
        self.min_corpus_others = min_corpus_others
        self.top_features = top_features

    def _model(self) -> tuple[Any, dict[str, Any]]:
        from qualityscan.model import shipped_model_path

        return _load(Path(self.model_path) if self.model_path else shipped_model_path(self.name))

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Boilerplate probability for each row of a feature matrix."""
        if features.shape[0] == 0:
            return np.zeros(0)
        model, _ = self._model()
        return model.predict_proba(features)[:, 1]

    def score(self, document: Document, context: CorpusStats | None = None) -> DetectorResult:
        """Score every paragraph; evidence for those at or above ``threshold``."""
        n = len(document.paragraphs)
        if n == 0:
            return DetectorResult.empty(0)
        features, phrases, others = feature_matrix(document, context)
        model_scores = self.predict(features)
        rules = [rule(p.text, phrases[i]) for i, p in enumerate(document.paragraphs)]
        scores = np.where([r is not None for r in rules], np.maximum(model_scores, RULE_SCORE), model_scores)
        flagged = np.flatnonzero(scores >= self.threshold)
        reasons = self._top_groups(features, model_scores, flagged)
        evidence: list[list] = [[] for _ in range(n)]
        for i in flagged:
            paragraph = document.paragraphs[i]
            phrase = phrases[i]
            if phrase is not None:
                start = paragraph.start + _raw_offset(paragraph.text, phrase.start)
                end = paragraph.start + _raw_offset(paragraph.text, phrase.end)
                evidence[i].append(self.evidence(
                    paragraph, f"chrome phrase ({phrase.category}): {phrase.text!r}", (start, end)))
            if rules[i] is not None and model_scores[i] < RULE_SCORE:
                evidence[i].append(self.evidence(
                    paragraph, f"rule: {rules[i]} (score {RULE_SCORE}; model alone {model_scores[i]:.2f})"))
            if others[i] >= self.min_corpus_others:
                evidence[i].append(self.evidence(
                    paragraph, f"line shared by {others[i]} other documents of the corpus"))
            groups = reasons.get(int(i))
            if groups:
                evidence[i].append(self.evidence(
                    paragraph, f"model {model_scores[i]:.2f}; strongest signals: {', '.join(groups)}"))
        return DetectorResult([float(s) for s in scores], evidence)

    def aggregate(self, document: Document, result: DetectorResult) -> float:
        """Share of the document's characters that is boilerplate (length-weighted score)."""
        return length_weighted_mean(document, result.scores)

    def _top_groups(self, features: np.ndarray, scores: np.ndarray, rows: np.ndarray) -> dict[int, list[str]]:
        """For each flagged row, the feature groups whose reset to a running-text value lowers
        the score most (at least 0.05), strongest first."""
        if rows.size == 0 or self.top_features <= 0:
            return {}
        _, meta = self._model()
        reference = np.asarray(meta["content_reference"], dtype=float)
        names = list(FEATURE_GROUPS)
        columns = [[FEATURE_NAMES.index(f) for f in FEATURE_GROUPS[g]] for g in names]
        probes = np.repeat(features[rows], len(names), axis=0)
        for r in range(rows.size):
            for g, cols in enumerate(columns):
                row = probes[r * len(names) + g]
                keep_missing = np.isnan(row[cols])
                row[cols] = np.where(keep_missing, np.nan, reference[cols])
        drops = (scores[rows][:, None] - self.predict(probes).reshape(rows.size, len(names)))
        out: dict[int, list[str]] = {}
        for r, i in enumerate(rows):
            order = np.argsort(-drops[r])[: self.top_features]
            out[int(i)] = [f"{names[g]} (-{drops[r, g]:.2f})" for g in order if drops[r, g] >= 0.05]
        return out


def _raw_offset(raw: str, normalised_offset: int) -> int:
    """Offset in ``raw`` of an offset found in its NFKC form (the same unless NFKC changed
    the length of the text before it)."""
    if unicodedata.normalize("NFKC", raw) == raw:
        return normalised_offset
    for k in range(len(raw) + 1):
        if len(unicodedata.normalize("NFKC", raw[:k])) >= normalised_offset:
            return k
    return len(raw)
