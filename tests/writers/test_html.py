"""Unit tests of the HTML report writer on hand-made reports (no browser; see test_html_browser)."""

from __future__ import annotations

import base64
import hashlib
import io
import re

import lxml.html
import pytest

from qualityscan.document import DETECTOR_NAMES, Document, Evidence, Report
from qualityscan.segment import segment
from qualityscan.writers import write_reports
from qualityscan.writers.html import ARTIFACTS, write

HOSTILE = 'Look: <script>window.__pwned=1</script> and <img src=x onerror="window.__pwned=2"> & "quotes"'


def make_report(doc_id: str, paragraphs: list[tuple[str, dict[str, float], list[tuple]]],
                reliability: float | None, errors: list[str] | None = None,
                source: str | None = None) -> Report:
    """A report from (text, scores, evidence) triples; evidence is (detector, message, span, ref)
    with ``span`` relative to the paragraph (None = the whole paragraph)."""
    doc = segment(Document(id=doc_id, source=source or f"/in/{doc_id}.txt",
                           text="\n\n".join(t for t, _, _ in paragraphs), language="en",
                           errors=list(errors or [])))
    assert len(doc.paragraphs) == len(paragraphs)
    for p, (_, scores, evidence) in zip(doc.paragraphs, paragraphs):
        p.scores = dict(scores)
        for detector, message, span, ref in evidence:
            absolute = (p.start + span[0], p.start + span[1]) if span else (p.start, p.end)
            p.evidence.append(Evidence(detector, message, absolute, ref))
    names = {n for p in doc.paragraphs for n in p.scores}
    doc_scores = {n: max(p.scores.get(n, 0.0) for p in doc.paragraphs) for n in names}
    return Report(doc, doc_scores, reliability)


CLEAN = {"garble": 0.05, "boilerplate": 0.1, "repetition": 0.0, "prompt_leak": 0.02}


def folder() -> list[Report]:
    """Four documents in input order: clean, damaged, unreadable, middling."""
    return [
        make_report("clean", [("A plain paragraph about trade talks.", CLEAN, []),
                              ("Another plain one.", CLEAN, [])], 0.93),
        make_report("damaged", [
            ("Secretary Blinken arrived in Beijing on Sunday.", CLEAN, []),
            ("Secretary Brinken landed in Beijing on Sunday.",
             {**CLEAN, "garble": 0.71, "repetition": 0.88},
             [("garble", "'Brinken' is a variant spelling of 'Blinken' (¶0)", (10, 17), 0),
              ("repetition", "restates an earlier paragraph (similarity 0.91)", None, 0)]),
            ("Summarize this content to 100 words", {**CLEAN, "prompt_leak": 0.97},
             [("prompt_leak", "matched instruction: summarize ... to N words", None, None)]),
            ("Back to top button", {**CLEAN, "boilerplate": 0.9},
             [("boilerplate", "template line shared by 41 documents: 'back to top button'", None, None)]),
            (HOSTILE, CLEAN, []),
        ], 0.12),
        make_report("unreadable", [], None, errors=["unreadable.bin: cannot decode <b>bytes</b>"]),
        make_report("middling", [("Some garbled text He arrived.", {**CLEAN, "garble": 0.6},
                                  [("garble", "sentence break inside a name", (18, 28), None)])], 0.55),
    ]


def render(reports: list[Report], **kwargs: object) -> str:
    out = io.StringIO()
    write(reports, out, **kwargs)
    return out.getvalue()


@pytest.fixture(scope="module")
def page() -> str:
    return render(folder())


@pytest.fixture(scope="module")
def tree(page: str) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(page)


def test_document_text_is_escaped_and_rendered_as_text(page: str, tree: lxml.html.HtmlElement) -> None:
    assert page.count("<script") == 1  # only the page's own filter script
    assert "window.__pwned" not in tree.xpath("string(//script)")
    assert not tree.xpath("//img") and not tree.xpath("//*[@onerror]")
    hostile = tree.get_element_by_id("doc-1-p-4").find_class("text")[0]
    assert hostile.text_content() == HOSTILE
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page
    errors = tree.find_class("errors")[0]
    assert "cannot decode <b>bytes</b>" in errors.text_content()
    assert not errors.xpath(".//li/b")


def test_ids_and_sources_are_escaped() -> None:
    report = make_report('x"><script>alert(1)</script>', [("Fine text.", CLEAN, [])], 0.5,
                         source="/tmp/'quoted' & <odd>.txt")
    page = render([report])
    tree = lxml.html.fromstring(page)
    assert page.count("<script") == 1
    assert tree.get_element_by_id("doc-1-h").text_content() == '#1 · x"><script>alert(1)</script>'
    assert "source /tmp/'quoted' & <odd>.txt" in tree.get_element_by_id("doc-1").text_content()


def test_self_contained_with_a_policy_that_allows_only_the_page_script(page: str,
                                                                      tree: lxml.html.HtmlElement) -> None:
    assert not re.search(r"(src|href)\s*=\s*\"(?!#)", page), "only in-page links are allowed"
    assert "url(" not in page and "@import" not in page and "http" not in page.replace(
        'http-equiv="Content-Security-Policy"', "")
    csp = tree.xpath('//meta[@http-equiv="Content-Security-Policy"]/@content')[0]
    assert "default-src 'none'" in csp
    script = tree.xpath("//script")[0].text
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp


def test_every_in_page_link_has_a_target(tree: lxml.html.HtmlElement) -> None:
    ids = set(tree.xpath("//@id"))
    hrefs = tree.xpath("//a/@href")
    assert hrefs and all(h.startswith("#") and h[1:] in ids for h in hrefs)


def test_ranking_is_least_reliable_first_with_unscored_last(tree: lxml.html.HtmlElement) -> None:
    rows = tree.xpath('//section[@id="ranking"]//tbody/tr')
    assert [r.xpath("string(td[2])") for r in rows] == ["damaged", "middling", "clean", "unreadable"]
    assert [r.xpath("string(td[3])").strip() for r in rows] == ["0.12", "0.55", "0.93", "unscored"]
    sections = [s.get("id") for s in tree.xpath("//section[contains(@class, 'doc')]")]
    assert sections == ["doc-1", "doc-2", "doc-3", "doc-4"]
    assert tree.get_element_by_id("doc-1-h").text_content().endswith("damaged")
    assert tree.get_element_by_id("doc-4-h").text_content().endswith("unreadable")


def test_ranking_does_not_depend_on_input_order() -> None:
    reports = folder()
    forward = lxml.html.fromstring(render(reports)).xpath('//section[@id="ranking"]//tbody/tr/td[2]/a/text()')
    backward = lxml.html.fromstring(render(reports[::-1])).xpath(
        '//section[@id="ranking"]//tbody/tr/td[2]/a/text()')
    assert forward == backward


def test_flagged_paragraphs_are_tinted_labelled_and_scored(tree: lxml.html.HtmlElement) -> None:
    para = tree.get_element_by_id("doc-1-p-1")
    assert "t-repetition" in para.classes and "clean" not in para.classes
    assert para.get("data-flags") == "repetition garble"
    badges = para.xpath("./div[@class='text']/span[contains(@class, 'badge')]/text()")
    assert badges == ["repetition", "garble"]
    assert "garble 0.71" in para.get("title") and "repetition 0.88" in para.get("title")
    side = para.find_class("side")[0].text_content()
    assert "repetition0.88" in side.replace(" ", "") and "promptleakage0.02" in side.replace(" ", "")
    clean = tree.get_element_by_id("doc-1-p-0")
    assert "clean" in clean.classes and clean.get("data-flags") == ""
    assert tree.get_element_by_id("doc-1").get("data-flags") == "boilerplate garble prompt_leak repetition"
    assert "clean" in tree.get_element_by_id("doc-3").classes  # the clean document


def test_evidence_is_written_out_with_links_and_marked_spans(tree: lxml.html.HtmlElement) -> None:
    para = tree.get_element_by_id("doc-1-p-1")
    items = [li.text_content() for li in para.xpath(".//ul[@class='ev']/li")]
    assert any("restates an earlier paragraph (similarity 0.91)" in t and "restates ¶0" in t for t in items)
    assert any("'Brinken' is a variant spelling" in t and "“Brinken”" not in t for t in items)
    links = {a.text_content(): a.get("href") for a in para.xpath(".//a[@class='ref']")}
    assert links == {"restates ¶0": "#doc-1-p-0", "compare ¶0": "#doc-1-p-0"}
    marks = para.xpath(".//mark")
    assert [m.text_content() for m in marks] == ["Brinken"] and "u-garble" in marks[0].classes
    template = tree.get_element_by_id("doc-1-p-3").text_content()
    assert "template line shared by 41 documents: 'back to top button'" in template
    assert "matched instruction: summarize ... to N words" in tree.get_element_by_id("doc-1-p-2").text_content()


def test_overlapping_spans_are_marked_without_losing_text() -> None:
    text = "Anthony Blink He arrived in Beijing"
    report = make_report("o", [(text, {"garble": 0.9, "repetition": 0.2}, [
        ("garble", "split name", (8, 16), None), ("repetition", "echo", (14, 24), None)])], 0.3)
    para = lxml.html.fromstring(render([report])).get_element_by_id("doc-1-p-0")
    assert para.find_class("text")[0].text_content().endswith(text)
    assert [m.text_content() for m in para.xpath(".//mark")] == ["Blink ", "He", " arrived"]
    assert [m.get("class") for m in para.xpath(".//mark")] == ["u-garble", "u-garble", "u-repetition"]


def test_summary_counts_and_histogram(tree: lxml.html.HtmlElement) -> None:
    rows = {r.xpath("string(td[1])"): (r.xpath("string(td[2])"), r.xpath("string(td[3])"))
            for r in tree.xpath("//section[@class='summary']//tbody/tr")}
    # 8 scored paragraphs; documents with a score: clean, damaged, middling (not unreadable).
    assert rows == {"garble": ("2 / 8", "2 / 3"), "boilerplate": ("1 / 8", "1 / 3"),
                    "repetition": ("1 / 8", "1 / 3"), "prompt leakage": ("1 / 8", "1 / 3")}
    bars = tree.xpath("//svg//g/title/text()")
    assert len(bars) == 10
    assert "reliability 0.1–0.2: 1 document" in bars and "reliability 0.5–0.6: 1 document" in bars
    assert "reliability 0.9–1.0: 1 document" in bars and "reliability 0.0–0.1: 0 documents" in bars
    assert "4 documents · 1 with errors · 1 without a reliability score" in tree.text_content()


def test_output_is_deterministic_and_timestamp_only_when_given() -> None:
    assert render(folder()) == render(folder())
    assert "2026-11-24" not in render(folder())
    assert "generated 2026-11-24" in render(folder(), generated="generated 2026-11-24")


def test_threshold_decides_what_is_flagged() -> None:
    tree = lxml.html.fromstring(render(folder(), threshold=0.8))
    assert "clean" in tree.get_element_by_id("doc-2").classes  # middling's garble 0.6 < 0.8
    assert tree.get_element_by_id("doc-1-p-1").get("data-flags") == "repetition"


def test_filters_are_hidden_until_script_runs_and_have_css_rules(page: str,
                                                                 tree: lxml.html.HtmlElement) -> None:
    form = tree.get_element_by_id("filters")
    assert form.get("hidden") is not None
    assert tree.xpath("//select[@id='f-show']/option/@value") == ["", *DETECTOR_NAMES]
    for name in DETECTOR_NAMES:
        assert f'body[data-show="{name}"] .para:not([data-flags~="{name}"])' in page
    assert "body.hide-clean .para.clean { display: none; }" in page


def test_empty_input_and_unknown_detectors() -> None:
    tree = lxml.html.fromstring(render([]))
    assert "0 documents" in tree.text_content() and "No document has a reliability score" in tree.text_content()
    odd = make_report("odd", [("Text.", {"my det<x>": 0.9}, [("my det<x>", "odd <reason>", None, None)])], 0.4)
    page = render([odd])
    tree = lxml.html.fromstring(page)
    para = tree.get_element_by_id("doc-1-p-0")
    assert para.get("data-flags") == "my_det_x_" and "t-my_det_x_" in para.classes
    assert "odd <reason>" in para.text_content() and "<x>" not in page.split("</style>")[1].replace(
        "&lt;x&gt;", "")


def test_palette_contrast() -> None:
    def luminance(hex_colour: str) -> float:
        rgb = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    def contrast(a: str, b: str) -> float:
        hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
        return (hi + 0.05) / (lo + 0.05)

    assert set(ARTIFACTS) == set(DETECTOR_NAMES)
    for artifact in ARTIFACTS.values():
        assert contrast("#1B1B1B", artifact.tint) >= 7.0  # WCAG AAA for body text on a tint
        assert contrast(artifact.colour, "#FFFFFF") >= 3.0  # WCAG 1.4.11 for bars and borders
    assert len({a.border for a in ARTIFACTS.values()}) == len(ARTIFACTS)  # not colour alone


def test_write_reports_picks_the_html_writer(tmp_path) -> None:
    target = tmp_path / "report.html"
    write_reports(folder(), "html", target)
    assert target.read_text(encoding="utf-8") == render(folder())


def test_max_documents_limits_text_but_not_ranking() -> None:
    tree = lxml.html.fromstring(render(folder(), max_documents=2))
    rows = tree.xpath('//section[@id="ranking"]//tbody/tr/td[2]')
    assert [r.text_content() for r in rows] == ["damaged", "middling", "clean", "unreadable"]
    assert [bool(r.xpath("a")) for r in rows] == [True, True, False, False]
    assert [s.get("id") for s in tree.xpath("//section[contains(@class, 'doc')]")] == ["doc-1", "doc-2"]
    assert "The text of only the first 2 documents is on this page." in tree.text_content()
    assert "4 documents" in tree.text_content()
    with pytest.raises(ValueError, match="max_documents"):
        render(folder(), max_documents=-1)


def test_evidence_of_the_strongest_artifact_comes_first() -> None:
    report = make_report("e", [("Back to top button", {"garble": 0.6, "boilerplate": 0.9, "repetition": 0.1}, [
        ("repetition", "weak echo", None, None), ("garble", "odd casing", None, None),
        ("boilerplate", "template line", None, None)])], 0.3)
    para = lxml.html.fromstring(render([report])).get_element_by_id("doc-1-p-0")
    assert para.xpath(".//ul[@class='ev']/li/span/text()") == ["boilerplate", "garble", "repetition"]
