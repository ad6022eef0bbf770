"""Prompt leakage: instructions to a text generator, and chat residue, left in published text.

Auto-blogging pipelines paste a language model's answer straight into a page, and with it
what was never meant to be published: the instruction ("Summarize this content to 100
words"), the assistant's preamble ("Sure, here's a 5-sentence news article based on the
provided summary:"), self-references ("As an AI language model"), knowledge-cutoff notes,
interface text ("Regenerate response"), citation markup, placeholders ("[Your Name]"),
word-count notes, "Title: … / Date: …" headers glued into the body, section labels of the
generated piece ("Opinion Piece: …") and the question the writer was asked to answer left
as a bare line.

The detector matches the general *shape* of each kind of residue (not a list of literal
strings), then weighs the match by where it stands, as the phrase list of
``shared/data/prompt_leak`` recommends: a match that opens a paragraph (or is glued to
the previous sentence with no space, a sign of a lost line break) counts most, one after
a sentence end less, one inside a sentence least; a match inside quotation marks or after a
reporting verb ("the chatbot replied:") is a story *about* a chatbot and is kept as
evidence with a low score. Patterns cover English, Spanish, Portuguese, French and German
for the core shapes (instruction, preamble, self-reference, refusal, cutoff, labels).

A paragraph's score is the noisy-OR of its matches' weights; the document's is the max.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import ahocorasick

from qualityscan.detectors.base import Detector, DetectorResult
from qualityscan.document import Document, Evidence, Paragraph

if TYPE_CHECKING:
    from qualityscan.corpus import CorpusStats

_FLAGS = re.IGNORECASE | re.UNICODE
_APOS = "['’`]"

#: Where a match stands in its paragraph.
START, SENTENCE, INLINE = 0, 1, 2
_POSITION_NAMES = ("at paragraph start", "at a sentence start", "inside a sentence")


@dataclass(frozen=True)
class Rule:
    """One residue shape: a regex and its weight at paragraph start / sentence start / inline."""

    label: str
    regex: re.Pattern[str]
    weights: tuple[float, float, float]
    #: Bonus when the paragraph is little more than the match (a bare instruction line).
    bare_bonus: float = 0.0
    #: (regex, bonus, note): added when the regex matches the match or the text just after it.
    boosts: tuple[tuple[re.Pattern[str], float, str], ...] = ()
    #: Fast pre-check (none given = always run): a match contains one of these lower-case
    #: strings, or one of ``words`` as a whole word.
    triggers: tuple[str, ...] = ()
    words: frozenset[str] = frozenset()
    #: A second pre-check that must pass as well (none given = no second check): a match
    #: also contains one of these lower-case strings.
    requires: tuple[str, ...] = ()


def _rule(label: str, pattern: str, start: float, sentence: float, inline: float,
          bare_bonus: float = 0.0, boosts: tuple[tuple[re.Pattern[str], float, str], ...] = (),
          triggers: tuple[str, ...] = (), words: tuple[str, ...] = (), requires: tuple[str, ...] = ()) -> Rule:
    return Rule(label, re.compile(pattern, _FLAGS), (start, sentence, inline), bare_bonus, boosts, triggers,
                frozenset(words), requires)


# --- vocabulary shared by several rules -------------------------------------------------
# Kinds of text a generator is asked to produce (en, es, pt, fr, de).
_GENRE = (
    r"(?:news |blog |opinion |feature |press |short |polished |revised |rewritten |"
    r"paraphrased |summari[sz]ed |continued )?"
    r"(?:article|story|stories|summary|text|content|passage|paragraph|post|essay|opinion piece|news piece|"
    r"review|abstract|report|headline|title|version|draft|continuation|rewrite|response|"
    r"attempt|op-ed|editorial|release|copy|blurb|caption|item|"
    r"artículo|noticia|resumen|texto|contenido|historia|reseña|"
    r"artigo|notícia|resumo|conteúdo|história|"
    r"article|résumé|texte|contenu|histoire|"
    r"Artikel|Zusammenfassung|Text|Inhalt|Geschichte|Beitrag|Nachricht)"
)
# Phrases that tie a request or an answer to a generation task.
_TASK = (
    r"(?:\b(?:in|to|within|under|of|with|about|around)\s+(?:\d+|one|two|three|four|five|six|"
    r"seven|eight|nine|ten|fifty|hundred)[\s-]+(?:words?|sentences?|paragraphs?|palabras|"
    r"frases|oraciones|palavras|mots|phrases|Wörter|Wörtern|Sätze|Sätzen)"
    r"|\b\d+[\s-]+(?:words?|sentences?|paragraphs?)\b"
    r"|\bin your own words\b|\bhuman(?:[\s-]like)? (?:style|tone|touch)\b|\bkeep (?:the )?html\b"
    r"|\bseo\b|\bplagiari[sz]m|\bunique\b|\bengaging\b"
    r"|\b(?:based on|from) the (?:given|provided|above|following|news|writing)\b"
    r"|\b(?:given|provided) (?:news )?(?:summary|prompt|title|first sentence)"
    r"|\bcon tus propias palabras\b|\bcom suas próprias palavras\b|\bavec vos propres mots\b"
    r"|\bin eigenen Worten\b)"
)
_TASK_BOOST = (re.compile(_TASK, _FLAGS), 0.25, "names a generation task")
# "this content", "the following text": the instruction points at text handed to the generator.
_DEMONSTRATIVE_BOOST = (re.compile(
    r"\s(?:this|these|the following|the above|este|esta|esto|el siguiente|la siguiente|esse|essa|"
    r"o seguinte|a seguinte|ce|cet|cette|le texte suivant|l['’]article suivant|diesen|dieses|diese|"
    r"den folgenden|folgenden)\s", _FLAGS), 0.25, "points at supplied text")
# "Here is the requested / polished / 5-sentence article": an answer to a request.
_ANSWER_BOOST = (re.compile(
    r"\b(?:requested|polished|revised|rewritten|continued|continuation|possible|paraphrased|"
    r"improved|\d+-sentence|in \d+ sentences|with \d+ sentences|based on|you provided|you asked|"
    r"for the given|my attempt|academic|according to the|news article|news story|article (?:with|about|on)|"
    r"blog post|solicitad[oa]|pedid[oa]|demandé|gewünschte)\b", _FLAGS), 0.35, "answers a request")

_OPENER = (
    r"(?:sure|certainly|of course|okay|ok|absolutely|alright|all right|great|no problem|"
    r"claro|por supuesto|desde luego|com certeza|certamente|bien sûr|certainement|"
    r"d'accord|gerne|natürlich|klar|sicher|selbstverständlich)"
)
# Each alternative of _OPENER contains one of these (the second pre-check of the rules that
# open with it: most paragraphs with "here is" have no opener word).
_OPENER_PARTS = ("sure", "sûr", "cert", "of course", "ok", "absolutely", "alright", "all right", "great",
                 "no problem", "claro", "supuesto", "luego", "d'accord", "gerne", "natürlich", "klar",
                 "sicher", "selbstverständlich")
_HERE = (
    rf"(?:here{_APOS}s|here is|here are|below is|i{_APOS}ve (?:written|created|drafted|"
    rf"rewritten|revised)|i have (?:written|created|drafted|rewritten|revised)|"
    rf"i{_APOS}d be (?:happy|glad) to|"
    r"aquí (?:tienes|tiene|está|están|te dejo|le dejo)|te dejo|"
    r"aqui (?:está|estão|vai)|segue|"
    r"voici|voilà|"
    r"hier (?:ist|sind|kommt))"
)

# Fast pre-checks (see Rule.triggers and Rule.words); each covers every alternative of its
# rule's regex, and the more specific they are the fewer paragraphs the regex runs on.
_HERE_TRIGGERS = ("here'", "here’", "here`", "here is", "here are", "below is", "ve written", "ve created",
                  "ve drafted", "ve rewritten", "ve revised", "d be happy", "d be glad", "aquí tiene", "aquí está",
                  "te dejo", "le dejo", "aqui está", "aqui estão", "aqui vai", "segue", "voici", "voilà",
                  "hier ist", "hier sind", "hier kommt")
# The verbs of the instruction rules stand as whole words (``\b`` before, white space after).
_EN_VERB_WORDS = ("summarize", "summarise", "rewrite", "write", "paraphrase", "rephrase", "reword", "spin",
                  "generate", "create", "compose", "draft", "produce", "expand", "shorten", "condense", "polish",
                  "proofread")
_OTHER_VERB_WORDS = ("resume", "resuma", "reescribe", "reescreva", "reescriba", "parafrasea", "parafraseie",
                     "escribe", "escriba", "escreva", "redacta", "redija", "genera", "gere", "crea", "crie",
                     "résume", "résumez", "réécris", "réécrivez", "reformule", "reformulez", "rédige", "rédigez",
                     "écris", "écrivez", "fasse", "fassen", "schreibe", "schreib", "schreiben", "formuliere",
                     "formulieren", "verfasse", "verfassen", "erstelle", "erstellen")
_SELF_TRIGGERS = ("as a ai", "as an ai", "as a artificial", "as an artificial", "as a machine", "as a large",
                  "as an large", "as a text-based", "as an text-based", "as a language", "as an language",
                  "text-based", "i'm", "i’m", "i`m", "i am", "como", "soy un", "sou un", "en tant", "je suis",
                  "sprachmodell", "ki-assistent")
_REFUSAL_TRIGGERS = ("sorry", "apologi", "i can", "i am unable", "i am not able", "m unable to", "m not able to",
                     "lo siento", "desculpe", "désolé", "leid")
_CUTOFF_TRIGGERS = ("as of my", "my knowledge", "my training", "have access", "have real", "have current",
                    "have up", "have live", "have recent", "browse", "access the", "hasta", "según", "mi fecha",
                    "minha", "ma date", "à la date", "stand meines", "wissensstand", "trainingsdaten")

RULES: tuple[Rule, ...] = (
    # "Sure, here's a 5-sentence news article based on the provided summary:"
    _rule("chat preamble",
          rf"\b{_OPENER}\s*[,!.:;]?\s*¡?(?:{_HERE})\b[^\n:]{{0,160}}?\b{_GENRE}\b[^\n:]{{0,100}}:?",
          0.95, 0.85, 0.45, triggers=_HERE_TRIGGERS, requires=_OPENER_PARTS),
    _rule("chat preamble", rf"\bcertainly\s*[,!.]\s*(?:here{_APOS}s|here is|here are)\b", 0.8, 0.7, 0.3,
          triggers=("certainly",)),
    # "Sure, here's what I found:", "Of course, this is the possible continuation:" --
    # without a named genre (or with "this is") the colon is required.
    _rule("chat preamble", rf"\b{_OPENER}\s*[,!.]\s*¡?(?:{_HERE}|this is)\b[^\n:.]{{0,80}}:",
          0.6, 0.5, 0.2, boosts=(_ANSWER_BOOST,), triggers=_HERE_TRIGGERS + ("this is",),
          requires=_OPENER_PARTS),
    # "Here is the requested news article:" / "Voici un article sur …:" (no opener word)
    _rule("preamble presenting generated text",
          rf"\b(?:{_HERE})\s+(?:a|an|the|my|your|un|una|uno|el|la|um|uma|o|a|le|la|l{_APOS}|"
          rf"ein|eine|einen|der|die|das|dein|Ihr|Ihre)\s*(?:[\w\-]+\s+){{0,5}}?{_GENRE}\b[^\n:]{{0,120}}:",
          0.45, 0.3, 0.15, boosts=(_ANSWER_BOOST,), triggers=_HERE_TRIGGERS),
    # Instructions to the generator.
    _rule("instruction to a text generator",
          r"\b(?!write (?:a|your(?: own)?) review\b)(?:please\s+)?(?:summari[sz]e|rewrite|re-write|paraphrase|rephrase|reword|spin|"
          r"write|generate|create|compose|draft|produce|expand|shorten|condense|polish|"
          r"proofread)\s+"
          rf"(?:(?:this|these|the following|the above|the|a|an|my|your|me an?|it)\s+)?"
          rf"(?:[\w\-]+\s+){{0,3}}?{_GENRE}\b",
          0.45, 0.3, 0.1, bare_bonus=0.15, boosts=(_TASK_BOOST, _DEMONSTRATIVE_BOOST),
          words=_EN_VERB_WORDS),
    _rule("instruction to a text generator",
          r"\b(?:resume|resuma|reescribe|reescreva|reescriba|parafrasea|parafraseie|escribe|escriba|"
          r"escreva|redacta|redija|genera|gere|crea|crie|"
          r"résume|résumez|réécris|réécrivez|reformule|reformulez|rédige|rédigez|écris|écrivez|"
          r"fasse|fassen Sie|schreibe|schreib|schreiben Sie|formuliere|formulieren Sie|verfasse|"
          r"verfassen Sie|erstelle|erstellen Sie)\s+"
          r"(?:(?:este|esta|esto|el|la|los|un|una|o|um|uma|esse|essa|ce|cet|cette|le|la|les|un|une|"
          r"diesen|dieses|diese|den|die|das|einen|eine|ein|folgenden)\s+)?"
          rf"(?:[\w\-]+\s+){{0,3}}?{_GENRE}\b",
          0.45, 0.3, 0.1, bare_bonus=0.15, boosts=(_TASK_BOOST, _DEMONSTRATIVE_BOOST),
          words=_OTHER_VERB_WORDS),
    _rule("request addressed to a text generator",
          r"\b(?:can|could|would) you (?:please )?(?:write|rewrite|summari[sz]e|paraphrase|generate|"
          rf"create|draft|compose)\s+(?:(?:me |us )?(?:a|an|the|this|my|our)\s+)?(?:[\w-]+\s+){{0,3}}?{_GENRE}\b"
          r"|\bI want you to act as\b|\bact as an? (?:\w+ ){0,2}"
          r"(?:journalist|writer|reporter|copywriter|editor|blogger)\b|\byou are an? (?:helpful|"
          r"expert|professional|seasoned|experienced) (?:\w+ ){0,2}(?:assistant|journalist|writer|"
          r"reporter|copywriter|editor|blogger)\b",
          0.7, 0.55, 0.3, bare_bonus=0.15, boosts=(_TASK_BOOST,), triggers=("can you", "could you", "would you", "act as", "you are a")),
    # Self-reference of a model.
    _rule("AI self-reference",
          r"\bas an? (?:ai|artificial intelligence)(?:[\s-](?:based|powered|driven))?(?: text-based)?"
          r"(?:(?: (?:large )?language)? (?:model|assistant|chatbot|system)\b| (?:large )?language\b)"
          r"|\bas an ai\b(?=\s*,)|\bas a machine\b(?=\s*,)|\bas an? (?:large |text-based )?language model\b"
          r"|\btext-based ai(?: language model)?\b"
          rf"|\bI(?:{_APOS}m| am) (?:just |only |merely )?(?:an? )?(?:ai|artificial intelligence)"
          r"(?: language)? (?:model|assistant|chatbot)\b"
          rf"|\bI(?:{_APOS}m| am) (?:just |only |merely )?an ai\b(?=\s*[,.;])"
          rf"|\bI(?:{_APOS}m| am) (?:just |only |merely )?a (?:large )?language model\b"
          r"|\bcomo (?:un |una |um |uma )?(?:modelo de (?:lenguaje|idioma|linguagem)|(?:asistente|assistente) "
          r"(?:de |virtual )?(?:ia|inteligencia artificial|inteligência artificial)|uma? (?:ia|inteligência artificial))\b"
          r"|\b(?:soy|sou) un[ao]? (?:modelo de (?:lenguaje|linguagem)|(?:asistente|assistente) (?:de )?ia)\b"
          r"|\ben tant qu['’](?:ia|intelligence artificielle|assistant (?:virtuel|ia))\b"
          r"|\ben tant que (?:modèle de langage|modèle d['’]ia|ia|assistant (?:virtuel|ia))\b"
          r"|\bje suis un (?:modèle de langage|assistant (?:virtuel|ia))\b"
          r"|\bals (?:ein(?:e|er)? )?(?:KI-Sprachmodell|Sprachmodell|KI-Assistent(?:in)?)\b"
          r"|\bich bin ein (?:KI-)?Sprachmodell\b",
          0.95, 0.9, 0.7, triggers=_SELF_TRIGGERS),
    # Refusals.
    _rule("chatbot refusal",
          rf"\bI(?:{_APOS}m| am) sorry,? (?:but )?(?:I|as an?)\b[^.\n]{{0,20}}?"
          rf"(?:can{_APOS}?t|cannot|am unable|{_APOS}m unable|am not able|won{_APOS}t)"
          rf"|\bI apologi[sz]e,? but (?:I|as)\b"
          rf"|\bI(?: cannot| can{_APOS}?t| am unable to|{_APOS}m unable to| am not able to|{_APOS}m not able to) "
          r"(?:fulfil+|comply with|assist with|help with|provide|generate|create|write|complete) "
          rf"(?:this|that|your|such|any|(?:(?:a|an|the) )?(?:[\w-]+ ){{0,3}}?(?:request|{_GENRE}|information|assistance))\b"
          r"|\blo siento,? (?:pero )?(?:no puedo|como)\b|\bdesculpe(?:-me)?,? (?:mas )?(?:não posso|como)\b"
          r"|\bje suis désolée?,? mais je ne (?:peux|suis pas en mesure)\b"
          r"|\bes tut mir leid,? aber (?:ich kann|als)\b",
          0.75, 0.6, 0.35, triggers=_REFUSAL_TRIGGERS),
    _rule("model citing its own rules",
          r"\b(?:against|violates?|beyond|outside) (?:my|the) (?:programming|guidelines|content policy|"
          r"ethical guidelines|usage policies)\b|\bmy (?:programming|guidelines) (?:prohibits?|does not allow|"
          rf"doesn{_APOS}t allow|prevents?)\b",
          0.7, 0.6, 0.5, triggers=("programming", "guidelines", "content policy", "usage policies")),
    # Knowledge-cutoff disclaimers.
    _rule("knowledge-cutoff disclaimer",
          r"\bas of my (?:last |latest |most recent )?(?:knowledge |training )?(?:update|cut-?off|"
          r"training)\b|\bmy (?:knowledge|training)(?: data)?(?: cut-?off| cut off| only goes| extends|"
          r" is limited| ends)\b|\bmy knowledge (?:base )?(?:was last updated|is current)"
          rf"|\bI (?:do not|don{_APOS}t) have (?:access to )?(?:real-time|current|up-to-date|live|recent) "
          r"(?:information|data|news|updates)"
          rf"|\bI (?:do not|don{_APOS}t|cannot|can{_APOS}t) (?:browse|access) the (?:internet|web)\b"
          r"|\b(?:hasta|según) mi (?:última )?(?:fecha de corte|actualización de conocimientos?)"
          r"|\bmi fecha de corte\b|\b(?:até|desde) (?:a )?minha última atualização\b|\bminha data de corte\b"
          r"|\bma date (?:limite|de coupure) de(?:s)? connaissances?\b|\bà la date de ma dernière mise à jour\b"
          r"|\b(?:Stand meines Wissens|mein Wissensstand|meine Trainingsdaten reichen)\b",
          0.9, 0.9, 0.8, triggers=_CUTOFF_TRIGGERS),
    # Interface text copied from a chat window.
    _rule("chat interface residue",
          r"\bRegenerate (?:response|draft)\b|\bThis (?:chat )?conversation (?:is|was) shared from\b"
          r"|\bChatGPT can make mistakes\b|\[\s*(?:assistant|user|system)\s*\]\s*:"
          r"|\*\*(?:assistant|user)\*\*\s*:",
          0.95, 0.9, 0.85,
          triggers=("regenerate", "conversation", "chatgpt", "[", "**")),
    # Citation markup of chat interfaces (not "[citation needed]").
    _rule("chat citation markup",
          r"【\d+(?::\d+)?†[^】\n]{0,40}】|:?contentReference\[oaicite:\d+\](?:\{index=\d+\})?"
          r"|\boaicite\b|\boai_citation\b|\bcite(?:turn\d+[a-z]+\d+)+|\bturn\d+(?:search|news|image|file|view)\d*\b"
          r"|utm_source=(?:chatgpt\.com|openai)\b|\[attached_file:|<grok_card\b"
          r"|\{\"attribution\":\{\"attributableIndex\"|\[web:\d*",
          0.95, 0.95, 0.95,
          triggers=("【", "oaicite", "oai_citation", "turn", "utm_source", "[attached", "<grok", "attributable", "[web:")),
    # Template placeholders the writer never filled in.
    _rule("unfilled placeholder",
          r"\[(?:your|insert|enter|describe|specify|recipient|author['’]?s? name|"
          r"tu|su|insertar|introducir|seu|sua|inserir|votre|insérer|ihr|ihre|einfügen)\b[^\[\]\n]{0,80}\]"
          r"|\|url=URL\b|-XX-XX\b",
          0.85, 0.85, 0.8, triggers=("[", "|url=", "-xx-xx")),
    # Generic slot names also fill human-written templates (ceremony scripts, form letters).
    _rule("unfilled placeholder",
          r"\[(?:name(?: of [^\[\]\n]{1,30})?|full name|date|location|city|country|company(?: name)?|address|phone number|"
          r"email address|organi[sz]ation|recipient|nombre|fecha|ciudad|nome|data|cidade|nom|ville|"
          r"datum|stadt)\]",
          0.45, 0.45, 0.45, triggers=("[",)),
    # "(Word count: 450)"
    _rule("word-count note",
          r"\(?\b(?:word count|total words|number of words|recuento de palabras|número de palabras|"
          r"contagem de palavras|número de palavras|nombre de mots|Wortanzahl|Anzahl der Wörter)"
          r"\s*[:=]?\s*(?:approx(?:imately|\.)?\s*|~\s*|about\s*)?\d[\d,.]*(?:\s*words?)?\)?",
          0.85, 0.85, 0.7, triggers=("word count", "total words", "number of words", "de palabras", "de palavras", "nombre de mots",
                                   "wortanzahl", "anzahl der wörter")),
    _rule("word-count note", r"^\(\s*\d{2,5}\s+(?:words|palabras|palavras|mots|Wörter)\s*\)$",
          0.8, 0.0, 0.0, triggers=("(",)),
    # Closing lines of a chat answer.
    _rule("chat closing",
          rf"\b(?:let me know|feel free to let me know) if you{_APOS}?d? (?:would )?(?:like|want|need) me to "
          r"(?:make|adjust|change|revise|modify|expand|shorten|rewrite|edit|add|tweak)\b"
          r"|\bfeel free to (?:modify|adjust|edit|customi[sz]e|tweak)\b"
          rf"|\bis there anything else (?:I can (?:help|do|assist)|you{_APOS}d like me to)\b"
          r"|\bI hope (?:this|the above) (?:article|story|summary|version|draft|rewrite) (?:meets|helps|is)\b",
          0.85, 0.75, 0.45, triggers=("let me know", "feel free", "anything else", "i hope")),
    _rule("chat closing", r"^I hope this helps\b", 0.45, 0.0, 0.0, triggers=("i hope this helps",)),
    # "Here is an eight-sentence news article": a length spec only a request would fix.
    _rule("preamble presenting generated text",
          rf"\b(?:here{_APOS}s|here is|this is) (?:a|an|the|my) (?:[\w-]+ )?(?:\d+|one|two|three|four|five|six|"
          r"seven|eight|nine|ten|eleven|twelve|fifteen|twenty)[\s-](?:sentences?|words?|paragraphs?)\b",
          0.85, 0.7, 0.4, triggers=("here'", "here’", "here`", "here is", "this is")),
    # Reference to the prompt the output was made from.
    _rule("reference to the generation prompt",
          r"\b(?:based on|using|from) (?:the|this|your) (?:given|provided|above|following)?\s*"
          r"(?:news summary|writing prompt|first sentence|prompt|keywords)\b"
          r"|\b(?:the|this|your) (?:given|provided) (?:news )?(?:summary|title|first sentence|text|content|prompt)\b"
          r"|\bthe (?:given |provided |above )?writing prompts?\b",
          0.8, 0.6, 0.35, triggers=("news summary", "prompt", "first sentence", "keywords") + tuple(
              f"{given} {what}" for given in ("given", "provided")
              for what in ("news summary", "summary", "title", "first sentence", "text", "content"))),
)

# Labels of a generated piece's parts: "Title: …", "Opinion Piece: …", "Date: June 18, 2023".
# Matched only at a paragraph start or glued to the previous sentence (a lost line break).
_LABELS: tuple[tuple[str, float], ...] = (
    ((r"Title|Headline|SEO Title|Meta Title|Meta Description|Subheadline|Sub-headline|Subtitle|"
     r"Título|Titular|Subtítulo|Titre|Sous-titre|Titel|Überschrift|Untertitel"), 0.45),
    ((r"Opinion Piece|Opinion Article|Op-Ed Piece|Editorial Piece|News Article|Blog Post|"
     r"Rewritten (?:Article|Text|Version|Content)|Paraphrased (?:Article|Text|Version)|Revised (?:Article|Version)|"
     r"Artículo de opinión|Artigo de opinião|Article d['’]opinion|Meinungsbeitrag|Gastbeitrag"), 0.75),
    (r"Prompt|Instrucción|Instrução|Consigne|Anweisung", 0.6),
    (r"Instructions?|Task", 0.3),
    (r"Dek|Lede|Byline|Dateline|Slug|Keywords|Palabras clave|Palavras-chave|Mots-clés|Schlagwörter", 0.4),
    ((r"Summary|Introduction|Conclusion|Resumen|Introducción|Conclusión|Resumo|Introdução|Conclusão|"
     r"Résumé|Conclusion|Zusammenfassung|Einleitung|Fazit"), 0.35),
    (r"Date|Fecha|Data|Datum", 0.3),
)
_LABEL_RES = tuple(
    (re.compile(rf"(?:\*\*(?:{alts})(?:\*\*\s*:?|\s*:\s*\*\*|\s*:)|(?:#+\s*)?(?:{alts})\s*:)(?=\s*\S)"), w)
    for alts, w in _LABELS
)
_ANY_LABEL = re.compile("|".join(alts for alts, _ in _LABELS))
_TITLE_LIKE = re.compile(
    r"(?:\*\*)?(?:Title|Headline|Título|Titular|Titre|Titel|Überschrift)(?:\*\*\s*:?|\s*:)")
_DATE_LINE = re.compile(r"^(?:Date|Fecha|Data|Datum)\s*:\s*\S")

# A bare question line opens with an interrogative with an inverted auxiliary early on ("What steps are the two
# sides willing to take ..."), unlike sentence-case subheadings ("Why prices rise in winter").
_QUESTION_START = re.compile(
    r"^(?:(?:what|how|why|which|who|whom|whose|in what|to what extent)\b(?:\s+\S+){0,5}?\s+"
    r"(?:is|are|was|were|do|does|did|can|could|should|would|will|has|have|had|might|must|may)\b"
    r"|(?:do|does|did|is|are|can|could|should|would|will|has|have)\s+(?:the|a|an|this|these|it|they|we|"
    r"you|(?-i:[A-Z])\w+)\b"
    r"|(?:qué|cómo|por qué|cuál|cuáles|quién|o que|como|qual|quais|quem|quel|quelle|quels|quelles|"
    r"comment|pourquoi|welche|welcher|welches|wie|warum)\b(?:\s+\S+){0,5}?\s+"
    r"(?:es|son|está|están|puede|pueden|deben|é|são|pode|podem|devem|est|sont|peut|peuvent|doivent|"
    r"ist|sind|kann|können|sollte|sollten|müssen)\b)",
    _FLAGS)
_SENTENCE_BREAK = re.compile(r"[.!?;]\s+[A-Z]")
_BOLD_HEAD_GLUED = re.compile(r"^\*\*\s?(?:[^*\s]+\s+){3,40}?[^*\s]*\s?\*\*\s?(?=[A-Z\"“])")

_REPORTED = re.compile(
    r"(?:\b(?:said|says|replied|replies|responded|responds|wrote|writes|answered|answers|reads|"
    r"read|stated|states|told [\w ]{1,30}|response|reply|answer|message|output|warning|typed|"
    r"generated|produced|dijo|respondió|disse|respondeu|a répondu|répond|sagte|antwortete)"
    r"\b[^.!?\n]{0,15}[:,]?\s*[\"“‘'«„]?\s*)$",
    _FLAGS)
# "..., he said." closing the match's own sentence: the words are someone's reported speech.
# The gap may not hold a capitalised word (other than "I"), which would mean the match was
# glued to the start of another sentence.
_ATTRIBUTED = re.compile(
    r"(?:[^.!?\n\sA-Z]|\s|\bI\b){0,200}?,\s*(?:he|she|they|it|we|I|the \w+|[A-Z]\w+(?: [A-Z]\w+)?) (?:said|says|added|"
    r"told|wrote|writes|replied|replies|explained|insisted)\b")
_INTERVIEW = re.compile(
    r"^(?:Q|A|Question|Answer|Pregunta|Respuesta|Pergunta|Resposta|Réponse|Frage|Antwort)\s*[:.]\s")
_PREFIX_MARKUP = re.compile(r"^(?:[\s*_#>\-–—•\"“'‘«„]|\[\s*assistant\s*\]\s*:|assistant\s*:)*$", _FLAGS)


_MAX_MARKUP = 40  # longest run of markup before a match that still counts as the paragraph start
#: Matches of one rule examined per paragraph (bounds the work on pathological input).
_MAX_MATCHES = 20


def _position(text: str, pos: int) -> int:
    """START when only markup precedes ``pos`` or the match is glued to the previous
    sentence (no space: a lost line break), SENTENCE after a sentence end, else INLINE."""
    if pos <= _MAX_MARKUP and _PREFIX_MARKUP.match(text[:pos]):
        return START
    before = text[max(0, pos - 8):pos]
    if re.search(r"[.!?…:)\]][*_]*$", before) and pos < len(text) and text[pos].isupper():
        return START
    if re.search(r"[.!?…:;\"”)][\s*_]+$", before):
        return SENTENCE
    return INLINE


def _inside_quotes(text: str, pos: int) -> bool:
    """Whether ``pos`` lies inside quotation marks opened earlier in the paragraph."""
    before = text[:pos]
    if before.count('"') % 2 == 1:
        return True
    if before.count("“") > before.count("”") or before.count("«") > before.count("»"):
        return True
    return before.count("„") > before.count("“")


def _word_count(text: str) -> int:
    return len(text.split())


def _title_case(text: str) -> bool:
    """Most words capitalised: a headline ("Write A Killer Blog Post"), not a typed prompt."""
    words = [w for w in text.split()[1:] if w[0].isalpha()]
    return len(words) >= 3 and sum(w[0].isupper() for w in words) > 0.5 * len(words)


class PromptLeakDetector(Detector):
    """Scores paragraphs holding instructions to, or chat residue of, a text generator."""

    name = "prompt_leak"
    languages = None

    def __init__(self, quote_factor: float = 0.3, bare_line_words: int = 30,
                 question_score: float = 0.65) -> None:
        #: Multiplier for a match inside quotation marks or after a reporting verb.
        self.quote_factor = quote_factor
        #: A paragraph of at most this many words is a "bare line" (instruction, question).
        self.bare_line_words = bare_line_words
        #: Score of a bare question line standing between prose paragraphs.
        self.question_score = question_score

    def score(self, document: Document, context: CorpusStats | None = None) -> DetectorResult:
        paragraphs = document.paragraphs
        result = DetectorResult.empty(len(paragraphs))
        live = _live_rules(paragraphs)
        for i, paragraph in enumerate(paragraphs):
            found = self._rule_matches(paragraph, live[i]) if live[i] or paragraph.index == 0 else []
            found += self._label_matches(paragraphs, i)
            found += self._bare_question(paragraphs, i)
            if found:
                miss = 1.0
                for weight, _ in found:
                    miss *= 1.0 - weight
                result.scores[i] = round(1.0 - miss, 4)
                result.evidence[i] = [ev for _, ev in sorted(found, key=lambda f: -f[0])]
        return result

    # -- rule families -----------------------------------------------------------------
    def _weigh(self, paragraph: Paragraph, rule: Rule, start: int, end: int) -> tuple[float, str]:
        text = paragraph.text
        position = _position(text, start)
        weight = rule.weights[position]
        notes = [_POSITION_NAMES[position]]
        if (rule.bare_bonus and position == START and 4 <= _word_count(text) <= self.bare_line_words
                and not text[start].islower() and not _title_case(text)):
            weight += rule.bare_bonus
            notes.append("bare line")
        window = text[start:min(len(text), end + 120)]
        for regex, bonus, note in rule.boosts:
            if regex.search(window):
                weight += bonus
                notes.append(note)
        if _INTERVIEW.match(text):
            weight *= self.quote_factor
            notes.append("interview question or answer")
        elif _inside_quotes(text, start):
            weight *= self.quote_factor
            notes.append("inside quotation marks")
        elif _REPORTED.search(text[max(0, start - 60):start]) or _ATTRIBUTED.match(text, end):
            weight *= self.quote_factor
            notes.append("reported speech")
        return min(weight, 0.98), ", ".join(notes)

    def _rule_matches(self, paragraph: Paragraph, rules: list[Rule]) -> list[tuple[float, Evidence]]:
        found: list[tuple[float, Evidence]] = []
        text = paragraph.text
        for rule in rules:
            for match in itertools.islice(rule.regex.finditer(text), _MAX_MATCHES):
                weight, notes = self._weigh(paragraph, rule, match.start(), match.end())
                if weight <= 0.0:
                    continue
                end = paragraph.end if "bare line" in notes else paragraph.start + match.end()
                span = (paragraph.start + match.start(), end)
                found.append((weight, self.evidence(
                    paragraph, f"{rule.label} ({notes}): {_clip(match.group())!r}", span)))
        match = _BOLD_HEAD_GLUED.match(text) if paragraph.index == 0 else None
        if match:
            span = (paragraph.start, paragraph.start + match.end())
            found.append((0.55, self.evidence(
                paragraph, "Markdown bold heading glued to the body (generator formatting)", span)))
        return found

    def _label_matches(self, paragraphs: list[Paragraph], i: int) -> list[tuple[float, Evidence]]:
        paragraph = paragraphs[i]
        text = paragraph.text
        found: list[tuple[float, Evidence]] = []
        if ":" not in text and "**" not in text or not _ANY_LABEL.search(text):
            return found  # every label form has a colon or "**", and one of the label words
        for regex, base in _LABEL_RES:
            for match in itertools.islice(regex.finditer(text), _MAX_MATCHES):
                position = _position(text, match.start())
                glued = match.start() > 0 and text[match.start() - 1] in ".!?\"”’)"
                if position != START:
                    continue
                weight, notes = base, ["at paragraph start"]
                if glued:
                    weight, notes = max(weight, 0.6) + 0.25, ["glued to the previous sentence"]
                if _TITLE_LIKE.match(text, match.start()) and not glued:
                    if i > 0 and _word_count(paragraphs[i - 1].text) >= 25:
                        weight += 0.1
                        notes.append("after a prose paragraph (between articles)")
                    if _word_count(text[match.end():]) > 2 * self.bare_line_words:
                        weight += 0.2
                        notes.append("header glued to the body")
                if _TITLE_LIKE.match(text, match.start()) and self._near_date_line(paragraphs, i):
                    weight, notes = max(weight, 0.9), notes + ["next to a 'Date:' line"]
                if _DATE_LINE.match(text) and self._near_title(paragraphs, i):
                    weight, notes = 0.85, ["next to a 'Title:' header"]
                if text.startswith("**"):
                    weight += 0.1
                    notes.append("Markdown bold")
                # The header runs to the end of the line when the rest is short (the title itself).
                short_rest = _word_count(text[match.end():]) <= self.bare_line_words
                end = paragraph.end if short_rest else paragraph.start + match.end()
                span = (paragraph.start + match.start(), end)
                found.append((min(weight, 0.95), self.evidence(
                    paragraph, f"header label of a generated piece ({', '.join(notes)}): "
                    f"{_clip(match.group())!r}", span)))
        return found

    @staticmethod
    def _near_date_line(paragraphs: list[Paragraph], i: int) -> bool:
        return any(0 <= j < len(paragraphs) and _DATE_LINE.match(paragraphs[j].text)
                   for j in (i - 1, i + 1))

    @staticmethod
    def _near_title(paragraphs: list[Paragraph], i: int) -> bool:
        return any(0 <= j < len(paragraphs) and _TITLE_LIKE.search(paragraphs[j].text)
                   for j in (i - 1, i + 1))

    def _bare_question(self, paragraphs: list[Paragraph], i: int) -> list[tuple[float, Evidence]]:
        """A question left as a bare line between prose paragraphs, without a question mark:
        the question a writer (or a generator) was asked to answer."""
        paragraph = paragraphs[i]
        text = paragraph.text
        if not _QUESTION_START.match(text):  # first: most paragraphs fail it, and it is cheap
            return []
        words = text.split()
        if not (14 <= len(words) <= 2 * self.bare_line_words):
            return []
        if (not text[0].isupper() or "?" in text or text[-1] in ".!:;…\"”’'»)"
                or _SENTENCE_BREAK.search(text) or _title_case(text)):
            return []
        prose = [j for j in (i - 1, i + 1)
                 if 0 <= j < len(paragraphs) and _word_count(paragraphs[j].text) >= 25]
        if len(prose) < 2:
            return []
        return [(self.question_score, self.evidence(
            paragraph, "bare question line without a question mark between prose paragraphs "
            "(a question the writer was asked to answer)", (paragraph.start, paragraph.end)))]


def _live_rules(paragraphs: list[Paragraph]) -> list[list[Rule]]:
    """For each paragraph, the rules (in :data:`RULES` order) whose pre-check passes: a
    trigger occurs in the lower-cased paragraph, or one of ``words`` stands in it as a whole
    word; rules without a pre-check always run. A rule with ``requires`` also needs one of
    those in the paragraph.

    All triggers and words are found in one Aho-Corasick pass (pyahocorasick) over the
    document's lower-cased paragraphs, instead of a substring search per trigger per
    paragraph.
    """
    automaton, always = _automaton(RULES)
    lowered = [p.text.lower() for p in paragraphs]
    starts = list(itertools.accumulate((len(t) + 1 for t in lowered[:-1]), initial=0))
    hits: defaultdict[int, set[int]] = defaultdict(set)  # paragraph -> rules triggered
    if automaton is not None and lowered:
        joined = "\n".join(lowered)
        for end, (length, trigger_rules, word_rules) in automaton.iter(joined):
            start = end - length + 1
            k = bisect.bisect_right(starts, start) - 1
            if end >= starts[k] + len(lowered[k]):
                continue  # runs into the next paragraph
            hit = hits[k]
            hit.update(trigger_rules)
            if word_rules and not (start > starts[k] and _is_word_char(joined[start - 1])) \
                    and not (end + 1 < starts[k] + len(lowered[k]) and _is_word_char(joined[end + 1])):
                hit.update(word_rules)

    def live(k: int) -> list[Rule]:
        rules = (RULES[n] for n in sorted(hits.get(k, set()) | always))
        return [r for r in rules if not r.requires or any(part in lowered[k] for part in r.requires)]

    default = [RULES[n] for n in sorted(always)]
    if any(r.requires for r in default):
        return [live(k) for k in range(len(paragraphs))]
    return [live(k) if k in hits else default for k in range(len(paragraphs))]


def _is_word_char(char: str) -> bool:
    """Whether ``char`` is matched by ``\\w`` (alphanumeric or underscore)."""
    return char.isalnum() or char == "_"


_AUTOMATA: dict[int, tuple[tuple[Rule, ...], ahocorasick.Automaton | None, frozenset[int]]] = {}


def _automaton(rules: tuple[Rule, ...]) -> tuple[ahocorasick.Automaton | None, frozenset[int]]:
    """Aho-Corasick automaton of the rules' triggers and words (value: length, indices of the
    rules it triggers, indices of the rules it triggers as a whole word), and the indices of
    the rules without a pre-check. Built once per rule set."""
    cached = _AUTOMATA.get(id(rules))
    if cached is None or cached[0] is not rules:
        keys: dict[str, tuple[set[int], set[int]]] = {}
        for n, rule in enumerate(rules):
            for t in rule.triggers:
                keys.setdefault(t, (set(), set()))[0].add(n)
            for w in rule.words:
                keys.setdefault(w, (set(), set()))[1].add(n)
        automaton = None
        if keys:
            automaton = ahocorasick.Automaton()
            for key, (by_trigger, by_word) in keys.items():
                automaton.add_word(key, (len(key), tuple(sorted(by_trigger)), tuple(sorted(by_word))))
            automaton.make_automaton()
        always = frozenset(n for n, rule in enumerate(rules) if not rule.triggers and not rule.words)
        cached = _AUTOMATA[id(rules)] = (rules, automaton, always)
    return cached[1], cached[2]


def _clip(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
