"""Site template chrome left in by the scraper: comment forms, navigation, share counters,
licence nags, bylines and author bios, image credits, slug lines, bare URLs, teaser titles.

Every paragraph gets a probability of being boilerplate from a gradient-boosted tree model
(``models/boilerplate.joblib``, trained by ``scripts/train_boilerplate.py``) over features
that exist for plain text -- length, stop-word density, punctuation and capitalisation
shape, position relative to the document's running text, the same for the neighbours,
URL / e-mail / date patterns, known chrome phrases in several languages, repeats inside the
document and across the corpus -- plus, when the input was HTML (``paragraph.block`` set),
the block's tag, link density and path / attribute keywords (``nav``, ``footer``,
``comment``, ``share``, ``related``, ``sidebar``, ``byline``, ...) and the page's regions
(the main container holding most running text -- never a comment/reply container unless all
are -- and the comment/reply containers outside it). A document none of whose paragraphs
scores below 0.5 keeps its most text-like ones (see :func:`_keep_some`). Missing
features (no HTML, no corpus) are NaN, which the trees handle natively, so one model serves
all inputs.

The features follow the boilerplate literature: text density and link density (Kohlschütter
et al., "Boilerplate detection using shallow text features", WSDM 2010), stop-word density
and context of neighbouring blocks (Pomikálek, "Removing boilerplate and duplicate content
from web corpora", 2011, the jusText algorithm) and cross-page template frequency
(Bar-Yossef & Rajagopalan, "Template detection via data mining", WWW 2002).

Evidence per flagged paragraph names the chrome phrase or rule that fired and the number of
other documents of the corpus sharing the line; when none of these explains the flag, the
feature groups that moved the score most (found by resetting each group to a typical
running-text value and re-scoring, all probes of a batch in one model call).
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import struct
import threading
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import ahocorasick
import numpy as np

from qualityscan.corpus import normalise_line
from qualityscan.detectors.base import Detector, DetectorResult, length_weighted_mean
from qualityscan.document import Document, Evidence, Paragraph

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


def _flagged(pattern: str) -> str:
    """A phrase as an alternative: case-sensitive only where capitals matter (bylines)."""
    return f"(?:{pattern})" if "[A-Z]" in pattern else f"(?i:{pattern})"


def _top_level(pattern: str) -> list[tuple[str, str]]:
    """``pattern`` cut into top-level pieces: ``("text", run)`` for runs of plain characters,
    ``("group", body)`` for a group that must match (not quantified), ``("other", "")`` for
    anything else (classes, escapes, anchors, optional parts); ``[]`` when the pattern has a
    top-level alternation."""
    pieces: list[tuple[str, str]] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        quantified = i + 1 < len(pattern) and pattern[i + 1] in "?*+{"
        if c == "|":
            return []
        if c == "(":
            depth, j = 1, i + 1
            while depth:
                if pattern[j] == "[":
                    j = pattern.index("]", j + 2)
                depth += {"(": 1, ")": -1}.get(pattern[j], 0)
                j += 1 + (pattern[j] == "\\")  # an escaped character is skipped whole
            quantified = j < len(pattern) and pattern[j] in "?*+{"
            body = pattern[i + 1:j - 1]
            pieces.append(("other", "") if quantified else ("group", body.removeprefix("?:")))
            i = j
            continue
        if c == "[":
            i = pattern.index("]", i + 2)  # a class (its first character may be "]")
            piece = ("other", "")
        elif c == "\\" and not pattern[i + 1].isalnum():
            piece, quantified = ("text", pattern[i + 1]), i + 2 < len(pattern) and pattern[i + 2] in "?*+{"
            i += 1  # an escaped punctuation mark stands for itself
        elif c == "{":
            piece, i = ("other", ""), pattern.index("}", i)  # a counted repeat
        elif c == "\\" or c in "^$.?*+":
            piece = ("other", "")
            i += c == "\\"
        else:
            piece = ("text", c)
        if quantified and piece[0] == "text":
            piece = ("other", "")
        pieces.append(piece)
        i += 1
    return pieces


def _literals(pattern: str) -> tuple[str, ...]:
    """Strings of which every match of ``pattern`` contains at least one, chosen among the
    top-level runs of plain characters and the top-level groups of plain alternatives so the
    shortest is as long as possible; ``()`` when none is :func:`_usable`."""
    pieces = _top_level(pattern)
    options: list[tuple[str, ...]] = []
    run = ""
    for kind, value in [*pieces, ("other", "")]:
        if kind == "text":
            run += value
            continue
        options.append((run,))
        run = ""
        if kind == "group" and not any(ch in value for ch in "()[]\\^$.?*+{}"):
            options.append(tuple(value.split("|")))
    options = [o for o in options if all(map(_usable, o))]
    return max(options, key=lambda o: min(map(len, o)), default=())


def _usable(literal: str) -> bool:
    """Whether a literal is rare enough to be worth testing for: a few letters long, or made
    of marks only ("©", "/")."""
    return len(literal) >= 4 or (literal != "" and not any(c.isalnum() for c in literal))


@dataclass(frozen=True)
class _Category:
    """One category's phrases as one alternation, with a cheap test that rules most phrases
    out before any regex runs: phrase ``k`` can match only if one of ``literals[k]`` occurs
    in the lower-cased line, or, for the phrases anchored at the line start (``starts``),
    if ``start`` matches there. Phrases without a usable literal (``rest``) are always tried."""

    name: str
    phrases: tuple[str, ...]
    pattern: re.Pattern[str]
    literals: tuple[tuple[str, ...], ...]
    starts: tuple[int, ...]
    start: re.Pattern[str] | None
    rest: tuple[int, ...]

    @classmethod
    def build(cls, name: str, patterns: list[str]) -> _Category:
        starts = tuple(k for k, p in enumerate(patterns) if p.startswith("^"))
        literals = tuple(() if k in starts or "[A-Z]" in p else tuple(lit.lower() for lit in _literals(p))
                         for k, p in enumerate(patterns))
        rest = tuple(k for k in range(len(patterns)) if k not in starts and not literals[k])
        return cls(name, tuple(patterns), _alternation(patterns), literals, starts,
                   _alternation([patterns[k] for k in starts]), rest)


def _alternation(patterns: list[str]) -> re.Pattern[str] | None:
    return re.compile("|".join(map(_flagged, patterns))) if patterns else None


_COMPILED: tuple[_Category, ...] = tuple(_Category.build(cat, patterns) for cat, patterns in _PHRASES.items())


def _literal_automaton() -> ahocorasick.Automaton:
    """Every literal of the prefilter, with the ``(category, phrase)`` indices it may
    reveal: one pass over a lower-cased line finds all of them (overlapping ones too)."""
    reveals: dict[str, set[tuple[int, int]]] = {}
    for c, category in enumerate(_COMPILED):
        for k, literals in enumerate(category.literals):
            for literal in literals:
                reveals.setdefault(literal, set()).add((c, k))
    automaton = ahocorasick.Automaton()
    for literal, phrases in reveals.items():
        automaton.add_word(literal, tuple(sorted(phrases)))
    automaton.make_automaton()
    return automaton


_LITERALS = _literal_automaton()
#: Whether any category's start-anchored phrases match.
_ANY_START = re.compile("|".join(c.start.pattern for c in _COMPILED if c.start) or "(?!)")
_HAS_REST = any(c.rest for c in _COMPILED)


@functools.lru_cache(maxsize=1024)
def _some_phrases(category: int, phrases: tuple[int, ...]) -> re.Pattern[str]:
    """The alternation of some phrases of a category, in their order. Where the others
    cannot match, it finds the same first match as the category's whole alternation."""
    return re.compile("|".join(_flagged(_COMPILED[category].phrases[k]) for k in phrases))


_CASE_TRAPS = ("\u0131", "\u017f", "\u0130")

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_URL = re.compile(r"(?:https?://|www\.)\S+|\b[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|co\.uk|io|de|fr|gov|edu)\b(?:/\S*)?",
                  re.IGNORECASE)
#: Every match of ``_URL`` contains one of these (a quick test before the slow pattern).
_URL_HINT = re.compile(r"://|www\.|\.(?:com|org|net|co\.uk|io|de|fr|gov|edu)", re.IGNORECASE)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b")
_MONTHS = (r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|jun(?:e)?|jul(?:y)?|aug(?:ust)?|"
           r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?")
_DATE_FORMS = (rf"\d{{1,2}}[./-]\d{{1,2}}[./-]\d{{2,4}}|\d{{4}}-\d\d-\d\d|(?:{_MONTHS})\.? \d{{1,2}},? \d{{4}}|"
               rf"\d{{1,2}} (?:{_MONTHS})\.? \d{{4}}")
#: A date: one of ``_DATE_FORMS`` as a whole word. The lookahead (a digit or a month's first
#: letter) only spares the regex engine trying every form at every other word.
_DATE = re.compile(rf"\b(?=[\dadfjmnos])(?:{_DATE_FORMS})\b", re.IGNORECASE)
_TIME = re.compile(r"\b\d{1,2}:\d\d(?:\s?[ap]\.?m\.?)?\b", re.IGNORECASE)
_SLUG = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+){2,}$")
#: Separators of navigation trails and title lines: these characters, and a spaced hyphen.
_SEPARATOR_CHARS = "|»«•·›‹/>"
_SPACED_DASH = re.compile(r"\s-\s")
_SENTENCE_END = re.compile(r"[.!?…。]['\"”’)\]]?$")
_CREDIT_SLASHES = re.compile(r"^[A-Z][\w.' -]+(?:/[A-Z][\w.' -]+){1,}$")
_SENTENCE_STOP = re.compile(r"[.!?](?:\s|$)")
_NUMBER_LINE = re.compile(r"[\d\s.,:%+()-]+")
_PATH_ROOT = re.compile(r"^(?:html>)?(?:body>?)?")
_PATH_STEP = re.compile(r"[/>]")
_LIST_PATH = re.compile(r"\b(?:li|ul|ol|dl|dd|dt|menu)\b")

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

#: Stop word -> indices (into ``_STOPWORDS``) of the languages listing it.
_STOPWORD_LANGUAGES: dict[str, tuple[int, ...]] = {
    w: tuple(k for k, words in enumerate(_STOPWORDS.values()) if w in words)
    for w in set().union(*_STOPWORDS.values())}

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
_COMMENT_CONTAINER = re.compile(r"comment|respond|repl(?:y|ies)|disqus|discussion|livefyre|talkback|gig-comments")
#: A comment's header line: "<name> says:", a posting date with a time, a lone "Reply".
_COMMENT_HEADER = re.compile(
    r"\b(?:says|said|wrote|writes|sagt|schreibt|dit|dice|disse|zegt)\s*:\s*$|^(?:reply|antworten|r[ée]pondre|"
    r"responder|rispondi|reageer)$|^(?:permalink|report(?: abuse)?|flag|like|recommend)$", re.IGNORECASE)

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
#: Page regions, from the HTML containers (blocks sharing tag path and class/id chain): how
#: much of the page's text a block's container holds, where the block lies relative to the
#: main container (the one holding most words of long paragraphs), whether it sits in a
#: comment/reply container that is not the main one; and, for any input, how many comment
#: headers ("Jane says:", "July 3, 2012 at 8:23 pm", "Reply") precede it.
_REGION_FEATURES: tuple[str, ...] = (
    "container_word_share", "in_main_container", "before_main", "after_main", "dist_to_main",
    "comment_container", "comment_container_share", "comment_header", "comment_headers_before",
)
_NEIGHBOUR_BASE: tuple[str, ...] = ("log_words", "stopword_density", "ends_sentence", "link_density",
                                    "phrase_coverage")
_NEIGHBOUR_FEATURES: tuple[str, ...] = tuple(
    f"{side}_{name}" for side in ("prev", "next", "window") for name in _NEIGHBOUR_BASE)

#: Column names of the feature matrix, in order.
FEATURE_NAMES: tuple[str, ...] = (_SELF_FEATURES + _HTML_FEATURES + _DOC_FEATURES + _NEIGHBOUR_FEATURES
                                   + _REGION_FEATURES)
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
    "page region (comments, outside the main container)": _REGION_FEATURES,
}

_SELF_SLICE = slice(0, len(_SELF_FEATURES))
_HTML_SLICE = slice(_SELF_SLICE.stop, _SELF_SLICE.stop + len(_HTML_FEATURES))
_DOC_SLICE = slice(_HTML_SLICE.stop, _HTML_SLICE.stop + len(_DOC_FEATURES))
_NEIGHBOUR_SLICE = slice(_DOC_SLICE.stop, _DOC_SLICE.stop + len(_NEIGHBOUR_FEATURES))
_REGION_SLICE = slice(_NEIGHBOUR_SLICE.stop, len(FEATURE_NAMES))
_NEIGHBOUR_BASE_COLUMNS = [FEATURE_NAMES.index(f) for f in _NEIGHBOUR_BASE]
_COMMENT_COLUMN = FEATURE_NAMES.index("comment_container")
_GROUP_COLUMNS: list[list[int]] = [[FEATURE_NAMES.index(f) for f in g] for g in FEATURE_GROUPS.values()]

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
    lowered = text.lower()
    patterns: list[re.Pattern[str] | None]
    if not text.isascii() and (len(lowered) != len(text) or any(c in text for c in _CASE_TRAPS)):
        # the literals would not be a safe test: try every phrase
        patterns = [c.pattern for c in _COMPILED]
    else:
        found = [hit for _, phrases in _LITERALS.iter(lowered) for hit in phrases]
        if _ANY_START.match(text):
            found += [(c, k) for c, category in enumerate(_COMPILED)
                      if category.start and category.start.match(text) for k in category.starts]
        if not found and not _HAS_REST:
            return None
        candidates: list[set[int]] = [set(c.rest) for c in _COMPILED]
        for c, k in found:
            candidates[c].add(k)
        patterns = [_some_phrases(c, tuple(sorted(ks))) if ks else None for c, ks in enumerate(candidates)]
    best: PhraseMatch | None = None
    for category, pattern in zip(_COMPILED, patterns):
        m = pattern.search(text) if pattern is not None else None
        if m and m.end() > m.start() and (best is None or m.end() - m.start() > best.end - best.start):
            best = PhraseMatch(category.name, m.start(), m.end(), m.group())
    return best


#: Score given by a rule precise enough to overrule the model (see :func:`rule`).
RULE_SCORE = 0.9
_COMMENT_RULE = "in a comment/reply container that is not the page's main container"
#: Paragraphs at or above this score are chrome; below it, kept as text (the issue's line).
FLAG_LINE = 0.5
#: A document none of whose paragraphs falls below ``FLAG_LINE`` keeps the paragraphs within
#: ``FALLBACK_MARGIN`` of its lowest score (at ``FALLBACK_SCORE``), unless even that score is
#: ``FALLBACK_CAP`` or more (the page is all chrome). Every page of an extraction benchmark has
#: some main text, as the extractors' fallbacks assume (trafilatura's, for one).
FALLBACK_MARGIN, FALLBACK_SCORE, FALLBACK_CAP = 0.05, 0.49, 0.7
#: Flagged rows explained per model call (:meth:`BoilerplateDetector._top_groups`): a batch of
#: ordinary documents takes one call; a huge document's probes (one row per flagged row and
#: feature group) stay a bounded size.
PROBE_ROWS = 2000


def rule(text: str, phrase: PhraseMatch | None, comment_region: bool = False) -> str | None:
    """Name of the high-precision chrome rule ``text`` meets, if any.

    Kinds of chrome too rare in the training pages for the model to learn, but unambiguous:
    a URL slug as a line, a bare URL, a licence/theme nag, a line that is mostly a chrome
    phrase, a short credit or byline, a paragraph opening with a credit or bio title, and
    (HTML only, ``comment_region``) a block inside a comment/reply container that is not
    the page's main container -- user comments, which the training pages hardly contain.
    """
    if comment_region:
        return _COMMENT_RULE
    stripped = text.strip()
    if _SLUG.match(stripped):
        return "slug line (URL path words joined by hyphens)"
    if "/" in stripped and _URL.fullmatch(stripped):
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
        words = _STOPWORDS[language]
        return sum(map(words.__contains__, tokens)) / len(tokens)
    counts = [0] * len(_STOPWORDS)  # language unknown: the best-fitting list
    for t in tokens:
        for k in _STOPWORD_LANGUAGES.get(t, ()):
            counts[k] += 1
    return max(counts) / len(tokens)


def _tag_code(tag: str) -> int:
    tag = tag.lower()
    if len(tag) == 2 and tag[0] == "h" and tag[1].isdigit():
        tag = "h"
    return _TAGS.index(tag) if tag in _TAGS else len(_TAGS) - 1


@functools.lru_cache(maxsize=4096)
def _char_classes(c: str) -> tuple[bool, bool, bool, bool]:
    """Letter, upper-case, digit, punctuation."""
    return c.isalpha(), c.isupper(), c.isdigit(), unicodedata.category(c).startswith("P")


#: ASCII byte -> its class in :func:`_char_classes`: "A" upper-case letter, "a" other letter,
#: "0" digit, "." punctuation, " " anything else.
_ASCII_CLASSES = bytes(
    ord("A" if upper else "a" if alpha else "0" if digit else "." if punct else " ")
    for alpha, upper, digit, punct in (_char_classes(chr(b)) if b < 128 else (False,) * 4 for b in range(256)))
#: ASCII byte -> its lower case for a letter, a space for any other byte: on ASCII text, the
#: words ``_WORD`` finds are the runs of letters.
_ASCII_FOLD = bytes(ord(chr(b).lower()) if b < 128 and chr(b).isalpha() else 32 for b in range(256))
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _class_counts(text: str) -> tuple[int, int, int, int]:
    """How many characters of ``text`` are letters, upper-case, digits, punctuation: the
    ASCII ones from a byte translation, the others classified once per distinct character."""
    classes = text.encode("ascii", "ignore").translate(_ASCII_CLASSES)
    upper = classes.count(b"A")
    letters, digits, punct = upper + classes.count(b"a"), classes.count(b"0"), classes.count(b".")
    for c, k in Counter(_NON_ASCII.findall(text)).items():
        is_alpha, is_upper, is_digit, is_punct = _char_classes(c)
        letters += k * is_alpha
        upper += k * is_upper
        digits += k * is_digit
        punct += k * is_punct
    return letters, upper, digits, punct


class _Line(NamedTuple):
    """What a paragraph's text says on its own (see :func:`_line`)."""

    row: bytes  #: the ``_SELF_FEATURES``, packed as float64
    phrase: PhraseMatch | None
    words: int  #: words of the raw line (the position features count these)
    key: str  #: :func:`normalise_line` of the line (repeats inside a document)
    comment_header: bool
    rule: str | None  #: :func:`rule` outside comment regions


_ROW = struct.Struct(f"{len(_SELF_FEATURES)}d")
#: The ``phrase_<category>`` columns of a line whose phrase is of this category (or None).
_CATEGORY_COLUMNS: dict[str | None, tuple[float, ...]] = {
    found: tuple(float(found == c) for c in _CATEGORIES) for found in (None, *_CATEGORIES)}
#: Longest line a comment header's anchored alternatives match ("report abuse"); a longer
#: one is a header only if it ends with a colon ("<name> says:").
_HEADER_MAX_CHARS = 12


def _words(raw: str, text: str) -> tuple[int, int, int, list[str], str]:
    """Of the words of ``text`` (``raw`` in NFKC) as ``_WORD`` finds them: how many there are,
    their summed length, how many start with a capital, their case-folded forms; and
    :func:`normalise_line` of ``raw``."""
    words = _WORD.findall(text)
    return (len(words), sum(map(len, words)), sum([w[0].isupper() for w in words]),
            [w.casefold() for w in words], normalise_line(raw))


def _ascii_counts(text: str) -> tuple[tuple[int, int, int, list[str], str], tuple[int, int, int, int]]:
    """``(_words(raw, text), _class_counts(text))`` for an ASCII ``text`` (the NFKC form of
    ``raw``; case-folding is lower-casing there) from two byte translations, without a
    string per word in its original case."""
    data = text.encode("ascii")
    classes = data.translate(_ASCII_CLASSES)
    folded = data.translate(_ASCII_FOLD).decode("ascii").split()
    upper = classes.count(b"A")
    letters = upper + classes.count(b"a")
    # a word starts after a non-letter or at the start of the line
    marked = b" " + classes
    capitalised = (marked.count(b" A") + marked.count(b"0A") + marked.count(b".A")) if upper else 0
    return ((len(folded), letters, capitalised, folded, " ".join(folded)),
            (letters, upper, classes.count(b"0"), classes.count(b".")))


def _separators(text: str) -> int:
    """``text``'s separators, one by one: the characters (never part of a spaced hyphen),
    then the spaced hyphens."""
    count = sum(map(text.count, "|/>" if text.isascii() else _SEPARATOR_CHARS))
    return count + len(_SPACED_DASH.findall(text)) if "-" in text else count


def _line_features(raw: str, language: str | None) -> _Line:
    """The features of one paragraph's text (see :class:`_Line`)."""
    text = unicodedata.normalize("NFKC", raw)
    n_chars = len(text)
    if text.isascii():
        (n_words, word_chars, capitalised, folded, key), (letters, upper, digits, punct) = _ascii_counts(text)
    else:
        n_words, word_chars, capitalised, folded, key = _words(raw, text)
        letters, upper, digits, punct = _class_counts(text)
    # every URL contains "://", "www." or ".com"-like; every date 4 digits, every time 3 and ":"
    url_chars = (sum(len(m.group()) for m in _URL.finditer(text))
                 if ("." in text or "/" in text) and _URL_HINT.search(text) else 0)
    phrase = find_phrase(text)
    chars = max(n_chars, 1)
    row = (
        math.log1p(n_chars),
        math.log1p(n_words),
        (word_chars / n_words) if n_words else 0.0,
        _stop_density(folded, language),
        (capitalised / n_words) if n_words else 0.0,
        upper / (letters or 1),
        digits / chars,
        punct / chars,
        1.0 if _SENTENCE_END.search(text[-3:]) else 0.0,  # a match ends the line: 2 characters and a "\n"
        float(len(_SENTENCE_STOP.findall(text))),
        text.count(",") / max(n_words, 1),
        float(_separators(text)),
        url_chars / chars,
        1.0 if "@" in text and _EMAIL.search(text) else 0.0,
        1.0 if digits >= 4 and _DATE.search(text) else 0.0,
        1.0 if digits >= 3 and ":" in text and _TIME.search(text) else 0.0,
        1.0 if _SLUG.match(text) else 0.0,
        1.0 if _NUMBER_LINE.fullmatch(text) else 0.0,
        1.0 if "/" in text and _CREDIT_SLASHES.match(text) else 0.0,
        ((phrase.end - phrase.start) / chars) if phrase else 0.0,
        *_CATEGORY_COLUMNS[phrase.category if phrase else None],
    )
    if text != raw:  # the position features count the words of the raw line
        n_words = len(_WORD.findall(raw))
    stripped = raw.strip()
    header = (stripped.endswith(":") or len(stripped) <= _HEADER_MAX_CHARS) and bool(_COMMENT_HEADER.search(stripped))
    return _Line(_ROW.pack(*row), phrase, n_words, key, header, rule(raw, phrase))


#: Lines up to this length are cached (template lines, short, repeat across the pages of a site).
_CACHED_CHARS = 200
_cached_line = functools.lru_cache(maxsize=8192)(_line_features)


def _line(text: str, language: str | None) -> _Line:
    """:func:`_line_features`, from a bounded cache for short lines."""
    return _cached_line(text, language) if len(text) <= _CACHED_CHARS else _line_features(text, language)


_NO_HTML: tuple[float, ...] = (0.0,) + (math.nan,) * (len(_HTML_FEATURES) - 1)


@functools.lru_cache(maxsize=4096)
def _block_features(tag: str, path: str, attrs: str) -> tuple[float, ...]:
    """HTML features of a block (pages repeat the same tag, path and attributes a lot)."""
    # The path runs from the root ("html>body>..."): only the tags below <body> say anything.
    lower_path = path.lower()
    where = f"{_PATH_ROOT.sub('', lower_path)} {attrs.lower()}"
    tag = tag.lower()
    return (
        1.0,
        float(_tag_code(tag)),
        math.nan,  # link density: per block, filled in by _html_matrix
        float(len(_PATH_STEP.findall(path))),
        float(bool(_LIST_PATH.search(f"{tag} {lower_path}"))),
        float(tag in {"h1", "h2", "h3", "h4", "h5", "h6"}),
        *(float(bool(p.search(where))) for p in _PATH_PATTERNS.values()),
    )


def _html_matrix(paragraphs: list[Paragraph]) -> np.ndarray:
    """The ``_HTML_FEATURES`` columns."""
    blocks = [p.block for p in paragraphs]
    if all(b is None for b in blocks):
        return np.broadcast_to(np.asarray(_NO_HTML), (len(paragraphs), len(_NO_HTML)))
    # one row per distinct (tag, path, attributes), row 0 for paragraphs without a block
    kinds: dict[tuple[str, str, str] | None, int] = {None: 0}
    index = [kinds.setdefault(None if b is None else (b.tag, b.path, b.attrs), len(kinds)) for b in blocks]
    table = np.array([_NO_HTML, *(_block_features(*kind) for kind in itertools.islice(kinds, 1, None))])
    out = table[index]
    out[:, _HTML_FEATURES.index("link_density")] = [math.nan if b is None else float(b.link_density)
                                                    for b in blocks]
    return out


def feature_matrix(
    document: Document, context: CorpusStats | None = None, document_counted: bool = True,
) -> tuple[np.ndarray, list[PhraseMatch | None], list[int]]:
    """Features of every paragraph of a segmented document.

    Returns the ``(n_paragraphs, len(FEATURE_NAMES))`` matrix, the chrome phrase found in
    each paragraph and, per paragraph, how many other corpus documents share the line
    (0 without ``context``). ``document_counted`` says whether ``context`` already counted
    this document (the Scanner's first pass does).
    """
    matrix, lines, others = _document_features([document], context, document_counted)
    return matrix, [line.phrase for line in lines], others


def _document_features(documents: Sequence[Document], context: CorpusStats | None,
                       document_counted: bool) -> tuple[np.ndarray, list[_Line], list[int]]:
    """:func:`feature_matrix` of several documents, their rows stacked in order, with each
    paragraph's :class:`_Line` instead of its phrase. A row depends on its own document only:
    per-document sums run over that document's rows alone, in the same order as for one."""
    paragraphs = [p for d in documents for p in d.paragraphs]
    n = len(paragraphs)
    if n == 0:
        return np.zeros((0, len(FEATURE_NAMES))), [], []
    sizes = np.array([len(d.paragraphs) for d in documents if d.paragraphs])
    starts = np.cumsum(sizes) - sizes
    doc = np.repeat(np.arange(sizes.size), sizes)  # each row's document (among the non-empty ones)
    size, first = sizes[doc], starts[doc]
    rows = np.arange(n)
    idx = rows - first  # index inside the document
    texts = [p.text for p in paragraphs]
    lines = [_line(p.text, d.language) for d in documents for p in d.paragraphs]
    keys = [line.key for line in lines]
    others = context.others_many(texts, document_counted, keys) if context is not None else [0] * n
    matrix = np.empty((n, len(FEATURE_NAMES)))
    self_m = matrix[:, _SELF_SLICE]
    self_m[:] = np.frombuffer(b"".join([line.row for line in lines])).reshape(n, len(_SELF_FEATURES))
    matrix[:, _HTML_SLICE] = _html_matrix(paragraphs)
    n_words = np.array([line.words for line in lines])
    long = n_words >= LONG_WORDS
    chars = np.array([len(t) for t in texts], dtype=float)
    doc_chars = np.cumsum(chars)  # whole numbers: exact, whatever rows it spans
    doc_chars -= (doc_chars - chars)[starts][doc]

    doc_m = matrix[:, _DOC_SLICE]
    doc_m[:, 0] = idx / np.maximum(size - 1, 1)
    doc_m[:, 1] = (doc_chars - chars / 2) / np.maximum(doc_chars[starts + sizes - 1], 1.0)[doc]
    doc_m[:, 2] = np.log1p(idx)
    doc_m[:, 3] = np.log1p(size - 1 - idx)
    # the nearest long paragraph at or before / at or after each row, inside its document
    before = np.maximum.accumulate(np.where(long, rows, -1))
    after = np.minimum.accumulate(np.where(long, rows, n)[::-1])[::-1]
    has_before, has_after = before >= first, after < first + size
    doc_m[:, 4] = ~has_before
    doc_m[:, 5] = ~has_after
    dist = np.minimum(np.where(has_before, rows - before, n), np.where(has_after, after - rows, n))
    dist = np.where(has_before | has_after, dist, size)  # no long paragraph: the document's length
    doc_m[:, 6] = np.log1p(np.minimum(dist.astype(float), 50.0))
    run_id = np.cumsum(long | (idx == 0))  # paragraphs between the same two long ones share an id
    doc_m[:, 8] = np.log1p(np.bincount(run_id[~long], minlength=run_id.max() + 1)[run_id] * (~long))
    doc_m[:, 9] = np.array([math.log1p(k) for k in sizes.tolist()])[doc]
    doc_m[:, 10] = (np.add.reduceat(long.astype(float), starts) / sizes)[doc]
    key_counts = Counter(zip(doc.tolist(), keys))
    doc_m[:, 11] = [key_counts[d, k] - 1 if k else 0 for d, k in zip(doc.tolist(), keys)]
    if context is not None:
        denominator = max(context.documents - int(document_counted), 1)
        doc_m[:, 12] = 1.0
        doc_m[:, 13] = np.log1p(others)
        doc_m[:, 14] = np.asarray(others) / denominator
    else:
        doc_m[:, 12] = 0.0
        doc_m[:, 13:15] = math.nan

    # the neighbours' base features, and (first column) whether a paragraph is long, which
    # share one window mean
    base = np.empty((n, 1 + len(_NEIGHBOUR_BASE)))
    base[:, 0] = long
    base[:, 1:] = matrix[:, _NEIGHBOUR_BASE_COLUMNS]
    window = _window_mean(base, starts, sizes)
    doc_m[:, 7] = window[:, 0]
    prev_m, next_m, window_m = np.split(matrix[:, _NEIGHBOUR_SLICE], 3, axis=1)
    prev_m[1:], next_m[:-1] = base[:-1, 1:], base[1:, 1:]
    prev_m[starts], next_m[starts + sizes - 1] = math.nan, math.nan
    window_m[:] = window[:, 1:]
    header = np.array([line.comment_header for line in lines])
    region = matrix[:, _REGION_SLICE]
    region[:] = _region_features(paragraphs, n_words, self_m, header, starts, doc)
    for start, k in zip(starts.tolist(), sizes.tolist()):
        if all(p.block is not None for p in paragraphs[start:start + k]):
            part = slice(start, start + k)
            region[part, :-2] = _container_features(paragraphs[part], n_words[part], long[part])
    return matrix, lines, others


def _region_features(paragraphs: list[Paragraph], n_words: np.ndarray, self_m: np.ndarray,
                     comment_header: np.ndarray, starts: np.ndarray, doc: np.ndarray) -> np.ndarray:
    """The ``_REGION_FEATURES`` columns of stacked documents (``starts``: their first rows,
    ``doc``: each row's document), the container ones NaN (see :func:`_container_features`)."""
    has_date = self_m[:, _SELF_FEATURES.index("has_date")] > 0
    has_time = self_m[:, _SELF_FEATURES.index("has_time")] > 0
    short = n_words <= 12
    header = ((has_date & has_time & short) | comment_header).astype(float)
    seen = np.cumsum(header)  # whole numbers: exact, whatever rows it spans
    out = np.full((len(paragraphs), len(_REGION_FEATURES)), np.nan)
    out[:, -2] = header
    out[:, -1] = np.log1p(seen - header - (seen - header)[starts][doc])
    return out


def _container_features(paragraphs: list[Paragraph], n_words: np.ndarray, long: np.ndarray) -> np.ndarray:
    """The ``_REGION_FEATURES`` columns from HTML containers (all but the last two) of a
    document whose paragraphs all have a block."""
    n = len(paragraphs)
    blocks = [p.block for p in paragraphs]
    ids: dict[tuple[str, str], int] = {}
    key = np.array([ids.setdefault((b.path, b.attrs), len(ids)) for b in blocks])
    words = np.bincount(key, weights=n_words, minlength=len(ids))
    long_words = np.bincount(key, weights=n_words * long, minlength=len(ids))
    container_comment = np.array([bool(_COMMENT_CONTAINER.search(f"{path} {attrs}".lower()))
                                  for path, attrs in ids])
    # the main container is not a comment one unless all are: one long user comment can
    # outweigh the article, and a comment thread must not become the page's main text
    weight = long_words if long_words.max() > 0 else words
    not_comment = np.where(container_comment, 0.0, weight)
    main = int(np.argmax(not_comment if not_comment.max() > 0 else weight))
    total = max(float(words.sum()), 1.0)
    idx = np.arange(n)
    in_main = key == main
    main_idx = np.flatnonzero(in_main)
    pos = np.searchsorted(main_idx, idx)
    left = main_idx[np.maximum(pos - 1, 0)]  # pos lies in 0..main_idx.size
    right = main_idx[np.minimum(pos, main_idx.size - 1)]
    dist = np.minimum(np.abs(idx - left), np.abs(right - idx))
    comment = container_comment[key] & ~container_comment[main]
    return np.column_stack([
        words[key] / total, in_main, idx < main_idx[0], idx > main_idx[-1], np.log1p(np.minimum(dist, 50)),
        comment, np.full(n, float(n_words[comment].sum()) / total),
    ])


def _window_mean(values: np.ndarray, starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Mean of each column over rows ``i - WINDOW .. i + WINDOW`` of the same document
    (documents stacked: ``starts``, ``sizes``), ignoring NaN (NaN when the whole window is)."""
    valid = ~np.isnan(values)
    filled = np.where(valid, values, 0.0)
    # each document's running sums, from a zero row of its own (float sums depend on where
    # they start)
    csum = np.zeros((values.shape[0] + sizes.size, values.shape[1]))
    ccount = np.zeros(csum.shape, dtype=np.int64)
    for k, (start, size) in enumerate(zip(starts.tolist(), sizes.tolist())):
        np.cumsum(filled[start:start + size], axis=0, out=csum[start + k + 1:start + k + 1 + size])
        np.cumsum(valid[start:start + size], axis=0, out=ccount[start + k + 1:start + k + 1 + size])
    doc = np.repeat(np.arange(sizes.size), sizes)
    idx = np.arange(values.shape[0]) - starts[doc]
    offset = starts[doc] + doc  # the document's zero row
    lo = offset + np.maximum(idx - WINDOW, 0)
    hi = offset + np.minimum(idx + WINDOW + 1, sizes[doc])
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
        return self.score_many([document], context)[0]

    def score_many(self, documents: Sequence[Document],
                   context: CorpusStats | None = None) -> list[DetectorResult]:
        """Score several documents with one model call for all their paragraphs (and one
        more for the explanation probes of the flagged paragraphs nothing else explains)."""
        features, lines, others = _document_features(documents, context, True)
        sizes = [len(d.paragraphs) for d in documents]
        model_scores = self.predict(features)
        comments = features[:, _COMMENT_COLUMN] == 1
        rules = [_COMMENT_RULE if c else line.rule for line, c in zip(lines, comments.tolist())]
        scores = np.where([r is not None for r in rules], np.maximum(model_scores, RULE_SCORE), model_scores)
        starts = np.cumsum([0, *sizes]).tolist()
        for lo, hi in itertools.pairwise(starts):
            _keep_some(scores[lo:hi])
        flagged = np.flatnonzero(scores >= self.threshold)
        phrases = [line.phrase for line in lines]
        # the model is explained only where no phrase, rule or corpus count says why
        unexplained = np.array([i for i in flagged.tolist() if phrases[i] is None and rules[i] is None
                                and others[i] < self.min_corpus_others], dtype=int)
        reasons = self._top_groups(features, model_scores, unexplained)
        results = []
        model_list, flagged_list = model_scores.tolist(), flagged.tolist()
        bounds = np.searchsorted(flagged, starts).tolist()
        for k, (document, n) in enumerate(zip(documents, sizes)):
            offset = starts[k]
            evidence: list[list[Evidence]] = [[] for _ in range(n)]
            for i in flagged_list[bounds[k]:bounds[k + 1]]:
                evidence[i - offset] = self._evidence(document.paragraphs[i - offset], phrases[i], rules[i],
                                                      model_list[i], others[i], reasons.get(i))
            results.append(DetectorResult(scores[offset:offset + n].tolist(), evidence))
        return results

    def _evidence(self, paragraph: Paragraph, phrase: PhraseMatch | None, rule_name: str | None,
                  model_score: float, others: int, groups: list[str] | None) -> list[Evidence]:
        """Evidence of one flagged paragraph: phrase, rule, corpus count, strongest signals."""
        out = []
        if phrase is not None:
            start = paragraph.start + _raw_offset(paragraph.text, phrase.start)
            end = paragraph.start + _raw_offset(paragraph.text, phrase.end)
            out.append(self.evidence(paragraph, f"chrome phrase ({phrase.category}): {phrase.text!r}", (start, end)))
        if rule_name is not None and model_score < RULE_SCORE:
            out.append(self.evidence(
                paragraph, f"rule: {rule_name} (score {RULE_SCORE}; model alone {model_score:.2f})"))
        if others >= self.min_corpus_others:
            out.append(self.evidence(paragraph, f"line shared by {others} other documents of the corpus"))
        if groups:
            out.append(self.evidence(paragraph, f"model {model_score:.2f}; strongest signals: {', '.join(groups)}"))
        return out

    def aggregate(self, document: Document, result: DetectorResult) -> float:
        """Share of the document's characters that is boilerplate (length-weighted score)."""
        return length_weighted_mean(document, result.scores)

    def _top_groups(self, features: np.ndarray, scores: np.ndarray, rows: np.ndarray) -> dict[int, list[str]]:
        """For each flagged row, the feature groups whose reset to a running-text value lowers
        the score most (at least 0.05), strongest first."""
        if rows.size == 0 or self.top_features <= 0:
            return {}
        # runs of rows bound the probe matrix of a huge document; each row's drops are its own
        drops = np.vstack([self._drops(features, scores, rows[k:k + PROBE_ROWS])
                           for k in range(0, rows.size, PROBE_ROWS)])
        names = list(FEATURE_GROUPS)
        orders = np.argsort(-drops, axis=1)[:, : self.top_features].tolist()
        return {i: [f"{names[g]} (-{row[g]:.2f})" for g in order if row[g] >= 0.05]
                for i, order, row in zip(rows.tolist(), orders, drops.tolist())}

    def _drops(self, features: np.ndarray, scores: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Score drop of each of ``rows`` (one column per feature group) when the group is
        reset to its running-text value. One model call for all probes; a probe equal to its
        row (the group is missing or already at the running-text value) is not scored: its
        drop is 0."""
        _, meta = self._model()
        reference = np.asarray(meta["content_reference"], dtype=float)
        original = features[rows]
        drops = np.zeros((rows.size, len(FEATURE_GROUPS)))
        probes, where = [], []
        for g, cols in enumerate(_GROUP_COLUMNS):
            part = original[:, cols]
            missing = np.isnan(part)
            reset = np.where(missing, np.nan, reference[cols])
            changed = ~np.all((reset == part) | missing, axis=1)
            if changed.any():
                probe = original[changed]
                probe[:, cols] = reset[changed]
                probes.append(probe)
                where.append((np.flatnonzero(changed), g))
        if probes:
            probed = self.predict(np.vstack(probes))
            k = 0
            for r, g in where:
                drops[r, g] = scores[rows[r]] - probed[k:k + r.size]
                k += r.size
        return drops


def _keep_some(scores: np.ndarray) -> None:
    """In place: when no score of a document is below ``FLAG_LINE`` and its lowest is below
    ``FALLBACK_CAP``, the paragraphs within ``FALLBACK_MARGIN`` of the lowest get at most
    ``FALLBACK_SCORE`` (the page's most text-like paragraphs are its text)."""
    if scores.size == 0:
        return
    best = scores.min()
    if best >= FLAG_LINE and best < FALLBACK_CAP:
        near = scores <= best + FALLBACK_MARGIN
        scores[near] = np.minimum(scores[near], FALLBACK_SCORE)


def _raw_offset(raw: str, normalised_offset: int) -> int:
    """Offset in ``raw`` of an offset found in its NFKC form (the same unless NFKC changed
    the length of the text before it)."""
    if unicodedata.normalize("NFKC", raw) == raw:
        return normalised_offset
    for k in range(len(raw) + 1):
        if len(unicodedata.normalize("NFKC", raw[:k])) >= normalised_offset:
            return k
    return len(raw)
