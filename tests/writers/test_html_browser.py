"""The HTML report in a real browser: headless Debian Chromium driven by Selenium.

Skipped (with the reason) when selenium, /usr/bin/chromium or /usr/bin/chromedriver is missing;
CI installs them. The seeds' report is checked for ranking, highlights, a restatement link and
a hostile document; a small hand-made report checks the filters and links independently of what
the detectors find.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import report_screenshot as browser

from qualityscan.document import Document, Evidence, Report
from qualityscan.segment import segment
from qualityscan.writers import write_reports
from qualityscan.writers.html import ARTIFACTS
from qualityscan.writers.summary import FLAG_THRESHOLD

if (_reason := browser.missing_browser()) is not None:
    pytest.skip(f"no headless browser: {_reason}", allow_module_level=True)

from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select

HOSTILE = ('A scraped page that quotes code: <script>window.__pwned=1</script> and '
           '<img src="x" onerror="window.__pwned=2"> end of quote.')


@pytest.fixture(scope="module")
def driver() -> Iterator[object]:
    with browser.chromium(1366, 900) as d:
        yield d


def _rgb(hex_colour: str) -> str:
    return "rgb({}, {}, {})".format(*(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)))


def _open(driver, reports: list[Report], path: Path) -> None:
    write_reports(reports, "html", path)
    driver.get(path.resolve().as_uri())


def _in_view(driver, element) -> bool:
    return driver.execute_script(
        "const r = arguments[0].getBoundingClientRect();"
        "return r.height > 0 && r.top >= 0 && r.top < window.innerHeight;", element)


def _click(driver, element) -> None:
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
    element.click()


def _strongest(paragraph) -> str | None:
    hits = {n: v for n, v in paragraph.scores.items() if v >= FLAG_THRESHOLD}
    return max(hits, key=hits.__getitem__) if hits else None


def test_seeds_report_in_chromium(driver, seeds_dir: Path, tmp_path: Path) -> None:
    from qualityscan import Scanner

    scanner = Scanner()
    reports = list(scanner.scan_paths([seeds_dir]))
    reports.append(scanner.scan_text(HOSTILE, id="hostile.txt", source="hostile.txt"))
    _open(driver, reports, tmp_path / "report.html")

    # The hostile document's markup is text on the page and never ran.
    assert driver.execute_script("return typeof window.__pwned") == "undefined"
    texts = [e for e in driver.find_elements(By.CSS_SELECTOR, ".para .text") if "window.__pwned=1" in e.text]
    assert len(texts) == 1 and HOSTILE in texts[0].text
    assert not driver.find_elements(By.CSS_SELECTOR, "main img")

    # Ranking: every document once, reliability non-decreasing, unscored last.
    rows = driver.find_elements(By.CSS_SELECTOR, "#ranking tbody tr")
    ids = [r.find_element(By.CSS_SELECTOR, "td.id").text for r in rows]
    assert sorted(ids) == sorted(r.id for r in reports)
    by_id = {r.id: r for r in reports}
    shown = [r.find_elements(By.TAG_NAME, "td")[2].text.strip() for r in rows]
    for doc_id, text in zip(ids, shown):
        reliability = by_id[doc_id].reliability
        assert text == ("unscored" if reliability is None else f"{reliability:.2f}")
    values = [by_id[i].reliability for i in ids]
    scored = [v for v in values if v is not None]
    assert scored == sorted(scored) and values[:len(scored)] == scored
    rank_of = {doc_id: k for k, doc_id in enumerate(ids, 1)}

    # Highlights: each flagged paragraph is tinted with its strongest artifact and labelled.
    shown_paras = driver.execute_script(
        "const out = {}; for (const e of document.querySelectorAll('.para')) {"
        "  const b = e.querySelector('.text > .badge');"
        "  out[e.id] = [getComputedStyle(e).backgroundColor, b ? b.textContent : null]; } return out;")
    flagged = 0
    for report in reports:
        k = rank_of[report.id]
        for p in report.paragraphs:
            background, badge = shown_paras[f"doc-{k}-p-{p.index}"]
            strongest = _strongest(p)
            if strongest is None:
                assert (background, badge) == ("rgba(0, 0, 0, 0)", None), f"doc-{k}-p-{p.index}"
            else:
                flagged += 1
                assert background == _rgb(ARTIFACTS[strongest].tint), f"doc-{k}-p-{p.index}"
                assert badge == ARTIFACTS[strongest].label
    assert flagged, "the detectors flagged no paragraph of the seeds"

    # A restatement links to the paragraph it restates.
    restated = [(rank_of[r.id], p.index, e.ref) for r in reports for p in r.paragraphs
                for e in p.evidence if e.detector == "repetition" and e.ref is not None]
    if "repetition" in scanner.detector_names:
        assert restated, "the repetition detector gave no paragraph reference on the seeds"
        k, index, ref = restated[0]
        link = driver.find_element(By.CSS_SELECTOR, f'#doc-{k}-p-{index} a.ref[href="#doc-{k}-p-{ref}"]')
        assert link.text == f"restates ¶{ref}"
        _click(driver, link)
        assert driver.execute_script("return location.hash") == f"#doc-{k}-p-{ref}"
        assert driver.execute_script("return document.querySelector(':target').id") == f"doc-{k}-p-{ref}"
        assert _in_view(driver, driver.find_element(By.ID, f"doc-{k}-p-{ref}"))

    png = tmp_path / "report.png"
    driver.execute_script("window.scrollTo(0, 0)")
    assert driver.save_screenshot(str(png)) and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _handmade() -> list[Report]:
    """One document: a clean paragraph, a restatement of it, a boilerplate line, hostile text."""
    lines = ["The talks lasted five hours on Sunday.", "On Sunday the talks went on for five hours.",
             "Back to top button", HOSTILE]
    text = "\n".join(lines)
    doc = segment(Document(id="handmade.txt", source="handmade.txt", text=text, language="en"))
    scores = [{"repetition": 0.0, "boilerplate": 0.1}, {"repetition": 0.9, "boilerplate": 0.0},
              {"repetition": 0.0, "boilerplate": 0.95}, {"repetition": 0.0, "boilerplate": 0.0}]
    for p, s in zip(doc.paragraphs, scores):
        p.scores = s
    second = doc.paragraphs[1]
    second.evidence.append(Evidence("repetition", "restates an earlier paragraph", (second.start, second.end), 0))
    other = segment(Document(id="other.txt", source="other.txt", text="Clean text only.", language="en"))
    other.paragraphs[0].scores = {"repetition": 0.0, "boilerplate": 0.0}
    return [Report(doc, {"repetition": 0.9, "boilerplate": 0.95}, 0.2),
            Report(other, {"repetition": 0.0, "boilerplate": 0.0}, 0.9)]


def test_filters_links_and_escaping_in_chromium(driver, tmp_path: Path) -> None:
    _open(driver, _handmade(), tmp_path / "handmade.html")
    assert driver.execute_script("return typeof window.__pwned") == "undefined"
    assert HOSTILE in driver.find_element(By.ID, "doc-1-p-3").text

    form = driver.find_element(By.ID, "filters")
    assert form.is_displayed()  # the script ran under the page's Content-Security-Policy
    clean, restated = driver.find_element(By.ID, "doc-1-p-0"), driver.find_element(By.ID, "doc-1-p-1")
    boiler, other = driver.find_element(By.ID, "doc-1-p-2"), driver.find_element(By.ID, "doc-2")
    assert clean.is_displayed() and restated.is_displayed()

    _click(driver, driver.find_element(By.ID, "f-clean"))
    assert not clean.is_displayed() and restated.is_displayed() and boiler.is_displayed()
    assert other.find_element(By.CLASS_NAME, "allclean").is_displayed()

    # Following a link to a hidden clean paragraph still shows it (it becomes :target).
    _click(driver, restated.find_element(By.CSS_SELECTOR, "a.ref"))
    assert driver.execute_script("return location.hash") == "#doc-1-p-0"
    assert clean.is_displayed() and _in_view(driver, clean)

    Select(driver.find_element(By.ID, "f-show")).select_by_value("boilerplate")
    assert boiler.is_displayed() and not restated.is_displayed() and not other.is_displayed()
    rows = driver.find_elements(By.CSS_SELECTOR, "#ranking tbody tr")
    assert [r.is_displayed() for r in rows] == [True, False]

    Select(driver.find_element(By.ID, "f-show")).select_by_value("")
    _click(driver, driver.find_element(By.ID, "f-clean"))
    assert restated.is_displayed() and other.is_displayed()
    assert driver.find_element(By.ID, "doc-1-p-3").is_displayed()


def test_readable_without_javascript(driver, tmp_path: Path) -> None:
    driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        _open(driver, _handmade(), tmp_path / "nojs.html")
        assert not driver.find_element(By.ID, "filters").is_displayed()
        assert "Filters need JavaScript" in driver.find_element(By.TAG_NAME, "main").text
        paragraphs = driver.find_elements(By.CSS_SELECTOR, ".para")
        assert len(paragraphs) == 5 and all(p.is_displayed() for p in paragraphs)
        assert HOSTILE in driver.find_element(By.ID, "doc-1-p-3").text
    finally:
        driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})
