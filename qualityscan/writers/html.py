"""A self-contained HTML report of scanned documents: one file, no network, readable without JS.

The page holds a summary (histogram of reliability, per-detector counts), the documents ranked
least reliable first, and every document's paragraphs tinted by their strongest artifact with
scores and evidence written out. Every piece of scanned text is escaped, and a
Content-Security-Policy allows only the page's own inline script and styles, so nothing in a
document can run or fetch anything. The output is deterministic (no timestamps unless passed).
"""

from __future__ import annotations

import base64
import hashlib
import html
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TextIO

from qualityscan.document import Evidence, Paragraph, Report
from qualityscan.writers import rank
from qualityscan.writers.summary import FLAG_THRESHOLD, detector_columns


@dataclass(frozen=True)
class Artifact:
    """How one detector is shown: a label, a strong colour (borders, bars), a light tint
    (paragraph background), a border style (so colour is never the only cue) and a gloss."""

    label: str
    colour: str
    tint: str
    border: str
    gloss: str


#: Okabe & Ito's colour-blind-safe palette (https://jfly.uni-koeln.de/color/); the purple is
#: darkened to keep 3:1 against white for bars and borders. Dark text on each tint is >= 12:1.
ARTIFACTS: dict[str, Artifact] = {
    "garble": Artifact("garble", "#D55E00", "#F6DCC7", "solid",
                       "machine-translation damage: broken phrasing, variant spellings of a name"),
    "boilerplate": Artifact("boilerplate", "#0072B2", "#C7E0EE", "dashed",
                            "site chrome and template lines shared across pages"),
    "repetition": Artifact("repetition", "#009E73", "#C7EAE0", "double",
                           "restates an earlier paragraph of the same document"),
    "prompt_leak": Artifact("prompt leakage", "#A8517F", "#ECD9E3", "dotted",
                            "an instruction to a language model left in the text"),
}
_OTHER = Artifact("", "#595959", "#E4E4E4", "solid", "")

#: Link text for evidence pointing at another paragraph, per detector.
_REF_VERB = {"repetition": "restates", "garble": "compare"}

_JS = """(function () {
  var body = document.body, form = document.getElementById('filters');
  var show = document.getElementById('f-show'), clean = document.getElementById('f-clean');
  function apply() {
    body.setAttribute('data-show', show.value);
    body.classList.toggle('hide-clean', clean.checked);
  }
  form.hidden = false;
  show.addEventListener('change', apply);
  clean.addEventListener('change', apply);
  apply();
})();"""
_JS_HASH = base64.b64encode(hashlib.sha256(_JS.encode()).digest()).decode()

_CSS = """
:root { color-scheme: light; --ink: #1b1b1b; --muted: #555; --rule: #d0d0d0; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--ink); background: #fafafa; }
main { max-width: 1240px; margin: 0 auto; padding: 0 1.25rem 4rem; }
h1 { font-size: 1.5rem; margin: 1.2rem 0 .2rem; }
h2 { font-size: 1.2rem; margin: 0; overflow-wrap: anywhere; }
h3 { font-size: 1rem; margin: 0 0 .5rem; }
a { color: #0b57a8; }
.meta, .note { color: var(--muted); font-size: .9rem; }
.bar { position: sticky; top: 0; z-index: 5; background: #fff; border-bottom: 1px solid var(--rule);
  box-shadow: 0 1px 4px rgba(0,0,0,.06); }
.bar > div { max-width: 1240px; margin: 0 auto; padding: .45rem 1.25rem; display: flex; flex-wrap: wrap;
  gap: .4rem 1.2rem; align-items: center; }
.legend { display: flex; flex-wrap: wrap; gap: .35rem .6rem; margin: 0; padding: 0; list-style: none; }
form { display: flex; gap: 1rem; align-items: center; margin: 0 0 0 auto; font-size: .9rem; }
form[hidden] { display: none; }
select { font: inherit; }
.badge { display: inline-block; padding: 0 .45em; border: 2px solid; border-radius: 3px; font-size: .78rem;
  font-weight: 600; white-space: nowrap; line-height: 1.45; }
.summary { display: grid; grid-template-columns: minmax(300px, 460px) 1fr; gap: 1.5rem; margin: 1rem 0;
  align-items: start; }
.card { background: #fff; border: 1px solid var(--rule); border-radius: 6px; padding: .8rem 1rem; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #e6e6e6; vertical-align: top; }
th { font-weight: 600; background: #f2f2f2; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.hit { font-weight: 700; }
td.id { word-break: break-all; }
.rel { display: inline-flex; align-items: center; gap: .4rem; font-variant-numeric: tabular-nums; }
.meter { display: inline-block; width: 70px; height: .55rem; background: #e3e3e3; border-radius: 2px; }
.meter > i { display: block; height: 100%; background: #3d5a80; border-radius: 2px; }
.hist text { font-size: 11px; fill: var(--ink); }
.hist .b { fill: #3d5a80; }
.doc { background: #fff; border: 1px solid var(--rule); border-radius: 6px; margin: 1.5rem 0;
  scroll-margin-top: 4rem; }
.doc > header { padding: .7rem 1rem; border-bottom: 1px solid var(--rule); display: flex; flex-wrap: wrap;
  gap: .3rem 1.2rem; align-items: baseline; }
.doc > header .scores { display: flex; flex-wrap: wrap; gap: .3rem .9rem; font-size: .88rem; }
.doc .errors { margin: .6rem 1rem; padding: .5rem .8rem; border: 2px solid #8a1c1c; background: #fbeaea;
  color: #5c0f0f; border-radius: 4px; }
.doc .errors ul { margin: .2rem 0 0; padding-left: 1.2rem; }
.allclean { display: none; margin: .6rem 1rem; }
body.hide-clean .doc.clean .allclean { display: block; }
.para { display: grid; grid-template-columns: 3.2rem minmax(0, 1fr) 12.5rem; gap: 0 .8rem;
  padding: .45rem .9rem .45rem .6rem; border-left: 6px solid transparent; border-top: 1px solid #eee;
  scroll-margin-top: 4.5rem; }
.para .no { color: var(--muted); font-size: .8rem; padding-top: .15rem; font-variant-numeric: tabular-nums; }
.para .text { overflow-wrap: anywhere; white-space: pre-wrap; }
.para .badge { margin-right: .4rem; }
.para:target { outline: 3px solid var(--ink); outline-offset: -3px; display: grid !important; }
.side { grid-column: 3; grid-row: 1 / span 2; font-size: .74rem; line-height: 1.25; color: var(--muted);
  display: grid; grid-template-columns: auto 1fr auto; gap: 0 .35rem; align-content: start; padding-top: .2rem; }
.side .m { height: .45rem; background: #e6e6e6; align-self: center; }
.side .m > i { display: block; height: 100%; }
.side .v { font-variant-numeric: tabular-nums; text-align: right; }
.side .hi { font-weight: 700; color: var(--ink); }
.ev { grid-column: 2; margin: .3rem 0 0; padding: 0; list-style: none; font-size: .86rem; }
.ev li { margin: .15rem 0; }
.ev q { font-style: italic; }
.ev a.ref { white-space: nowrap; }
mark { background: transparent; border-bottom: 3px solid; padding: 0 1px; color: inherit; }
@media print { .bar { position: static; } form { display: none; } }
@media (max-width: 860px) {
  .summary { grid-template-columns: 1fr; }
  .para { grid-template-columns: 2.4rem minmax(0, 1fr); }
  .side { grid-column: 2; grid-row: auto; margin-top: .3rem; }
  form { margin-left: 0; }
}
"""


#: Documents whose full text is written by default; the ranking always lists every document.
MAX_DOCUMENTS = 500


def write(reports: Iterable[Report], out: TextIO, *, title: str = "qualityscan report",
          generated: str | None = None, threshold: float = FLAG_THRESHOLD,
          max_documents: int | None = MAX_DOCUMENTS) -> None:
    """Write one self-contained HTML page for ``reports``, least reliable document first.

    ``generated`` is an optional free-text line (e.g. a timestamp) shown under the title; a
    paragraph is flagged, and counted, when a detector scores it at or above ``threshold``. Only
    the ``max_documents`` least reliable documents get their text on the page (None: all), so
    the report of a large folder stays small enough for a browser; summary and ranking cover all.
    """
    if max_documents is not None and max_documents < 0:
        raise ValueError(f"max_documents must be >= 0 or None, got {max_documents}")
    ranked = rank(reports)
    detectors = _detectors(ranked)
    out.write(_head(title, detectors))
    out.write('<body data-show="">\n')
    out.write(_toolbar(detectors))
    out.write("<main>\n")
    out.write(f"<h1>{_e(title)}</h1>\n")
    if generated:
        out.write(f'<p class="meta">{_e(generated)}</p>\n')
    out.write('<noscript><p class="note">Filters need JavaScript; every paragraph is shown.</p></noscript>\n')
    out.write(_summary(ranked, detectors, threshold))
    shown = ranked if max_documents is None else ranked[:max_documents]
    out.write(_ranking(ranked, len(shown), detectors, threshold))
    out.writelines(_document(k, report, detectors, threshold) for k, report in enumerate(shown, 1))
    out.write(f"</main>\n<script>{_JS}</script>\n</body>\n</html>\n")


# ----------------------------------------------------------------------------- page frame
def _head(title: str, detectors: Sequence[str]) -> str:
    csp = (f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{_JS_HASH}'; "
           "form-action 'none'; base-uri 'none'")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="generator" content="qualityscan">\n'
        f"<title>{_e(title)}</title>\n<style>{_CSS}{_artifact_css(detectors)}</style>\n</head>\n"
    )


def _artifact_css(detectors: Sequence[str]) -> str:
    """Colours per detector and the filter rules (``body[data-show=X]`` hides everything not
    flagged by X; ``body.hide-clean`` hides unflagged paragraphs)."""
    rules = ["body.hide-clean .para.clean { display: none; }"]
    for name in detectors:
        a, key = _artifact(name), _key(name)
        rules.append(
            f".t-{key} {{ background: {a.tint}; border-left: 6px {a.border} {a.colour}; }}\n"
            f".k-{key} {{ background: {a.tint}; border-color: {a.colour}; color: var(--ink); }}\n"
            f".c-{key} {{ background: {a.colour}; }}\n"
            f"mark.u-{key} {{ border-bottom-color: {a.colour}; border-bottom-style: {a.border}; }}\n"
            f'body[data-show="{key}"] .para:not([data-flags~="{key}"]),\n'
            f'body[data-show="{key}"] .doc:not([data-flags~="{key}"]),\n'
            f'body[data-show="{key}"] tr.row:not([data-flags~="{key}"]) {{ display: none; }}'
        )
    return "\n".join(rules) + "\n"


def _toolbar(detectors: Sequence[str]) -> str:
    items = "".join(f"<li>{_badge(n)}</li>" for n in detectors)
    options = "".join(f'<option value="{_key(n)}">{_e(_artifact(n).label)} only</option>' for n in detectors)
    return (
        '<nav class="bar" aria-label="Legend and filters"><div>\n'
        f'<ul class="legend" aria-label="Legend">{items}</ul>\n'
        '<form id="filters" hidden>'
        '<label>Show <select id="f-show"><option value="">all artifacts</option>'
        f"{options}</select></label>"
        '<label><input type="checkbox" id="f-clean"> hide clean paragraphs</label>'
        '<a href="#ranking">ranking</a></form>\n</div></nav>\n'
    )


# ----------------------------------------------------------------------------- summary
def _summary(ranked: Sequence[Report], detectors: Sequence[str], threshold: float) -> str:
    scored = [r.reliability for r in ranked if r.reliability is not None]
    errors = sum(1 for r in ranked if r.errors)
    line = f"{len(ranked)} document{'s' if len(ranked) != 1 else ''}"
    if errors:
        line += f" · {errors} with errors"
    if len(scored) != len(ranked):
        line += f" · {len(ranked) - len(scored)} without a reliability score"
    rows = []
    for name in detectors:
        paras = [p for r in ranked for p in r.paragraphs if name in p.scores]
        p_hit = sum(1 for p in paras if p.scores[name] >= threshold)
        docs = [r for r in ranked if name in r.scores]
        d_hit = sum(1 for r in docs if r.scores[name] >= threshold)
        rows.append(
            f"<tr><td>{_badge(name)}</td><td class=\"num\">{p_hit} / {len(paras)}</td>"
            f"<td class=\"num\">{d_hit} / {len(docs)}</td>"
            f"<td>{_e(_artifact(name).gloss)}</td></tr>"
        )
    counts = (
        "<table><thead><tr><th>artifact</th><th class=\"num\">paragraphs</th>"
        "<th class=\"num\">documents</th><th>what it means</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        if rows else '<p class="note">No detector scores in these reports.</p>'
    )
    return (
        f'<p class="meta">{line}</p>\n<section class="summary" aria-label="Summary">\n'
        f'<div class="card"><h3>Reliability over the folder</h3>{_histogram(scored)}</div>\n'
        f'<div class="card"><h3>Flagged by each detector (score ≥ {threshold:g})</h3>{counts}'
        '<p class="note">Paragraphs: those a detector scores at or above the threshold. '
        "Documents: those whose document-level score from that detector is at or above it.</p>"
        "</div>\n</section>\n"
    )


def _histogram(values: Sequence[float], bins: int = 10) -> str:
    """An inline SVG bar chart of ``values`` (0..1) in ``bins`` equal bins."""
    if not values:
        return '<p class="note">No document has a reliability score (no model, or nothing scored).</p>'
    counts = [0] * bins
    for v in values:
        counts[min(int(v * bins), bins - 1)] += 1
    width, height, left, bottom, top = 420, 150, 30, 22, 14
    plot_w, plot_h = width - left - 8, height - bottom - top
    step = plot_w / bins
    peak = max(counts)
    parts = [
        (f'<svg class="hist" viewBox="0 0 {width} {height}" width="100%" role="img" '
         f'aria-label="Histogram of document reliability: {_e(", ".join(map(str, counts)))} documents '
         f'in {bins} bins from 0 to 1">'),
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#777"/>',
    ]
    for i, n in enumerate(counts):
        h = plot_h * n / peak
        x = left + i * step
        lo, hi = i / bins, (i + 1) / bins
        parts.append(
            f'<g><title>reliability {lo:.1f}–{hi:.1f}: {n} document{"s" if n != 1 else ""}</title>'
            f'<rect class="b" x="{x + 1.5:.1f}" y="{top + plot_h - h:.1f}" width="{step - 3:.1f}" '
            f'height="{h:.1f}"/>'
            + (f'<text x="{x + step / 2:.1f}" y="{top + plot_h - h - 3:.1f}" text-anchor="middle">{n}</text>'
               if n else "")
            + "</g>"
        )
    for i in range(0, bins + 1, 2):
        parts.append(f'<text x="{left + i * step:.1f}" y="{height - 6}" text-anchor="middle">{i / bins:.1f}</text>')
    parts.append(f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end">0</text>'
                 f'<text x="{left - 6}" y="{top + 8}" text-anchor="end">{peak}</text></svg>')
    return "".join(parts) + '<p class="note">Documents per reliability bin (0 = untrustworthy, 1 = clean).</p>'


def _ranking(ranked: Sequence[Report], shown: int, detectors: Sequence[str], threshold: float) -> str:
    heads = "".join(f'<th class="num">{_e(_artifact(n).label)}</th>' for n in detectors)
    rows = []
    for k, report in enumerate(ranked, 1):
        cells = []
        for name in detectors:
            value = report.scores.get(name)
            if value is None:
                cells.append('<td class="num">–</td>')
            elif value >= threshold:
                cells.append(f'<td class="num hit k-{_key(name)}" title="{_e(_artifact(name).label)}: '
                             f'at or above {threshold:g}">▲ {value:.2f}</td>')
            else:
                cells.append(f'<td class="num">{value:.2f}</td>')
        n_flagged = sum(1 for p in report.paragraphs if _flags(p, threshold))
        name = _e(report.id) if k > shown else f'<a href="#doc-{k}">{_e(report.id)}</a>'
        errors = f'<span title="{_e("; ".join(report.errors))}">{len(report.errors)}</span>' if report.errors else ""
        rows.append(
            f'<tr class="row" data-flags="{_doc_flags(report, threshold)}"><td class="num">{k}</td>'
            f'<td class="id">{name}</td>'
            f"<td>{_reliability(report.reliability)}</td>{''.join(cells)}"
            f'<td class="num">{n_flagged} / {len(report.paragraphs)}</td><td class="num">{errors}</td></tr>'
        )
    return (
        '<section class="card" id="ranking" aria-label="Ranking"><h3>Documents, least reliable first</h3>'
        f'<table><thead><tr><th class="num">#</th><th>document</th><th>reliability</th>{heads}'
        '<th class="num">flagged ¶</th><th class="num">errors</th></tr></thead>\n'
        f"<tbody>\n{chr(10).join(rows)}\n</tbody></table>"
        '<p class="note">Detector columns are document-level scores; ▲ marks a score at or above '
        f"{threshold:g}. Documents without a reliability score come last."
        + (f" The text of only the first {shown} documents is on this page." if shown < len(ranked) else "")
        + "</p></section>\n"
    )


def _reliability(value: float | None) -> str:
    if value is None:
        return '<span class="rel">unscored</span>'
    return (f'<span class="rel"><span class="meter" aria-hidden="true"><i style="width:{value * 100:.0f}%">'
            f"</i></span>{value:.2f}</span>")


# ----------------------------------------------------------------------------- documents
def _document(k: int, report: Report, detectors: Sequence[str], threshold: float) -> str:
    doc = report.document
    flags = _doc_flags(report, threshold)
    scores = "".join(
        f'<span>{_e(_artifact(n).label)} <b>{report.scores[n]:.2f}</b></span>'
        for n in detectors if n in report.scores
    )
    meta = [f"source {_e(doc.source)}"] if doc.source and doc.source != doc.id else []
    meta.append(f"language {_e(doc.language or 'unknown')}")
    meta.append(f"{len(doc.paragraphs)} paragraph{'s' if len(doc.paragraphs) != 1 else ''}")
    parts = [
        (f'<section class="doc{"" if flags else " clean"}" id="doc-{k}" data-flags="{flags}" '
         f'aria-labelledby="doc-{k}-h">'),
        (f'<header><h2 id="doc-{k}-h">#{k} · {_e(doc.id)}</h2>'
         f"<span>reliability {_reliability(report.reliability)}</span>"
         f'<span class="scores">{scores}</span>'
         f'<span class="meta">{" · ".join(meta)}</span><a class="meta" href="#ranking">↑ ranking</a></header>'),
    ]
    if report.errors:
        items = "".join(f"<li>{_e(err)}</li>" for err in report.errors)
        parts.append(f'<div class="errors" role="note"><b>Errors</b><ul>{items}</ul></div>')
    parts.append('<p class="allclean note">No flagged paragraph in this document.</p>')
    parts.extend(_paragraph(k, p, doc.text, detectors, threshold) for p in doc.paragraphs)
    parts.append("</section>\n")
    return "\n".join(parts)


def _paragraph(k: int, p: Paragraph, text: str, detectors: Sequence[str], threshold: float) -> str:
    flags = _flags(p, threshold)
    strongest = flags[0] if flags else None
    title = ", ".join(f"{_artifact(n).label} {p.scores[n]:.2f}" for n in detectors if n in p.scores)
    badges = "".join(_badge(n) for n in flags)
    side = "".join(
        f'<span class="{"hi" if n in flags else ""}">{_e(_artifact(n).label)}</span>'
        f'<span class="m" aria-hidden="true"><i class="c-{_key(n)}" style="width:{p.scores[n] * 100:.0f}%"></i></span>'
        f'<span class="v{" hi" if n in flags else ""}">{p.scores[n]:.2f}</span>'
        for n in detectors if n in p.scores
    )
    order = {n: i for i, n in enumerate(flags)}
    ranked_evidence = sorted(p.evidence, key=lambda e: order.get(e.detector, len(flags)))
    evidence = "".join(_evidence(k, p, e, text) for e in ranked_evidence)
    cls = f"para t-{_key(strongest)}" if strongest else "para clean"
    return (
        f'<div class="{cls}" id="doc-{k}-p-{p.index}" data-flags="{" ".join(map(_key, flags))}" title="{_e(title)}">'
        f'<span class="no">¶{p.index}</span>'
        f'<div class="text">{badges}{_marked(p, text)}</div>'
        f'<div class="side" role="group" aria-label="scores">{side}</div>'
        + (f'<ul class="ev">{evidence}</ul>' if evidence else "")
        + "</div>"
    )


def _evidence(k: int, p: Paragraph, e: Evidence, text: str) -> str:
    quote = ""
    s, t = e.span
    if (s, t) != (p.start, p.end) and 0 <= s < t:
        excerpt = text[s:t] if text else ""
        if excerpt:
            quote = f" <q>{_e(_clip(excerpt))}</q>"
    link = ""
    if e.ref is not None:
        verb = _REF_VERB.get(e.detector, "see")
        link = f' — <a class="ref" href="#doc-{k}-p-{e.ref}">{verb} ¶{e.ref}</a>'
    return f"<li>{_badge(e.detector)} {_e(e.message)}{quote}{link}</li>"


def _marked(p: Paragraph, text: str) -> str:
    """The paragraph's text, escaped, with evidence spans narrower than the paragraph underlined
    in their detector's colour (overlaps take the higher-scoring detector)."""
    spans = [e for e in p.evidence
             if p.start <= e.span[0] < e.span[1] <= p.end and (e.span[0], e.span[1]) != (p.start, p.end)]
    if not spans or not text:
        return _e(p.text)
    cuts = sorted({p.start, p.end, *(c for e in spans for c in e.span)})
    out = []
    for a, b in itertools.pairwise(cuts):
        piece = _e(text[a:b])
        covering = [e for e in spans if e.span[0] <= a and b <= e.span[1]]
        if covering:
            top = max(covering, key=lambda e: p.scores.get(e.detector, 0.0))
            tip = "; ".join(dict.fromkeys(f"{e.detector}: {e.message}" for e in covering))
            out.append(f'<mark class="u-{_key(top.detector)}" title="{_e(tip)}">{piece}</mark>')
        else:
            out.append(piece)
    return "".join(out)


# ----------------------------------------------------------------------------- helpers
def _detectors(ranked: Sequence[Report]) -> list[str]:
    """Detectors with a score anywhere (document or paragraph level), in schema order."""
    present = detector_columns(list(ranked))
    extra = {n for r in ranked for p in r.paragraphs for n in p.scores} - set(present)
    return present + sorted(extra)


def _flags(p: Paragraph, threshold: float) -> list[str]:
    """Detectors scoring ``p`` at or above ``threshold``, strongest first."""
    hits = [n for n, v in p.scores.items() if v >= threshold]
    return sorted(hits, key=lambda n: -p.scores[n])


def _doc_flags(report: Report, threshold: float) -> str:
    names = {n for p in report.paragraphs for n in _flags(p, threshold)}
    return " ".join(sorted(map(_key, names)))


def _artifact(name: str) -> Artifact:
    return ARTIFACTS.get(name) or Artifact(name, _OTHER.colour, _OTHER.tint, _OTHER.border, "")


def _badge(name: str) -> str:
    return f'<span class="badge k-{_key(name)}">{_e(_artifact(name).label)}</span>'


def _key(name: str) -> str:
    """``name`` made safe for a class name, attribute value and CSS selector."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)


def _clip(s: str, limit: int = 100) -> str:
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)
