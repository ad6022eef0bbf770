"""The Scrapy item pipeline, tested with a real crawl of a local site.

Site composition: an index page links to one page per seed document (each non-blank line of
the seed becomes a ``<p>``) and, when ``../shared/data`` is present, to the raw HTML of the
first four ``scrapinghub`` pages of ``boilerplate/`` (sorted by file name), served as they
were published. A ThreadingHTTPServer serves it on 127.0.0.1 (random port); the spider runs in a
subprocess (a Twisted reactor cannot be restarted inside one test process), follows the
index links one request at a time (so the crawl order, and with it the corpus line counts, is
the same in every run) and yields ``{"url", "text", "html"}`` items.
"""

from __future__ import annotations

import functools
import gzip
import html
import http.server
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("scrapy")
from scrapy.exceptions import DropItem

from qualityscan import detectors
from qualityscan.integrations.scrapy import QualityScanPipeline

SPIDER = r'''
import json, sys
import scrapy
from scrapy import signals
from scrapy.crawler import CrawlerProcess

start_url, out_dir, extra = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])

class SiteSpider(scrapy.Spider):
    name = "site"
    start_urls = [start_url]

    def parse(self, response):
        for href in response.css("a::attr(href)").getall():
            yield response.follow(href, self.parse_page)

    def parse_page(self, response):
        blocks = response.xpath("//body//*[self::p or self::li or self::h1 or self::h2 or self::h3 or self::td]")
        lines = [b.xpath("normalize-space(string())").get() for b in blocks]
        yield {"url": response.url, "text": "\n".join(line for line in lines if line), "html": response.text}

settings = {
    "ITEM_PIPELINES": {"qualityscan.integrations.scrapy.QualityScanPipeline": 300},
    "FEEDS": {f"{out_dir}/items.jsonl": {"format": "jsonlines", "encoding": "utf8"}},
    "CONCURRENT_REQUESTS": 1, "ROBOTSTXT_OBEY": False, "TELNETCONSOLE_ENABLED": False,
    "LOG_LEVEL": "WARNING",
}
settings.update(extra)
process = CrawlerProcess(settings)
crawler = process.create_crawler(SiteSpider)
drops = []

def on_drop(item, exception, **kwargs):
    drops.append({"url": item["url"], "reason": str(exception)})

crawler.signals.connect(on_drop, signal=signals.item_dropped)
process.crawl(crawler)
process.start()
stats = crawler.stats.get_stats()
with open(f"{out_dir}/result.json", "w") as out:
    json.dump({"drops": drops, "scored": stats.get("qualityscan/scored", 0),
               "dropped": stats.get("qualityscan/dropped", 0)}, out)
'''


def _seed_page(path: Path) -> str:
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    body = "\n".join(f"<p>{html.escape(line)}</p>" for line in lines)
    return f"<!doctype html><html><head><meta charset='utf-8'><title>{path.stem}</title></head><body>{body}</body></html>"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, seeds_dir: Path,
         optional_data_root: Path) -> Iterator[tuple[str, list[str]]]:
    root = tmp_path_factory.mktemp("site")
    pages = []
    for seed in sorted(seeds_dir.glob("*.txt")):
        (root / f"{seed.stem}.html").write_text(_seed_page(seed), encoding="utf-8")
        pages.append(f"{seed.stem}.html")
    data = optional_data_root / "boilerplate" / "html" / "scrapinghub"
    if data.is_dir():  # without the data the crawl covers the seed pages only
        for source in sorted(data.glob("*.html.gz"))[:4]:
            name = source.name.removesuffix(".gz")
            (root / name).write_bytes(gzip.decompress(source.read_bytes()))
            pages.append(name)
    links = "".join(f'<li><a href="{p}">{p}</a></li>' for p in pages)
    (root / "index.html").write_text(f"<html><body><ul>{links}</ul></body></html>", encoding="utf-8")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        yield base, [base + p for p in pages]
    finally:
        server.shutdown()
        server.server_close()


def _crawl(tmp_path: Path, start_url: str, settings: dict) -> tuple[list[dict], dict]:
    script = tmp_path / "crawl.py"
    script.write_text(SPIDER, encoding="utf-8")
    run = subprocess.run([sys.executable, str(script), start_url, str(tmp_path), json.dumps(settings)],
                         check=False, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    items_file = tmp_path / "items.jsonl"
    items = [json.loads(line) for line in items_file.read_text(encoding="utf-8").splitlines()] \
        if items_file.exists() else []
    return items, json.loads((tmp_path / "result.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def registered() -> list[str]:
    names = detectors.available()
    if not names:
        pytest.skip("no detector is registered yet: nothing to score")
    return names


@pytest.fixture(scope="module")
def first_crawl(site: tuple[str, list[str]], tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    base, pages = site
    items, result = _crawl(tmp_path_factory.mktemp("crawl_all"), base + "index.html", {})
    assert result["scored"] == len(pages) and result["dropped"] == 0 and not result["drops"]
    return items


def test_crawl_annotates_every_item(site: tuple[str, list[str]], first_crawl: list[dict]) -> None:
    assert sorted(i["url"] for i in first_crawl) == sorted(site[1])
    for item in first_crawl:
        record = item["qualityscan"]
        assert record["schema"] == "qualityscan/1" and record["id"] == item["url"]
        assert record["source"] == f"scrapy:{item['url']}"
        assert [p["text"] for p in record["paragraphs"]] == [ln for ln in item["text"].splitlines() if ln.strip()]
        if record["language"] == "en":  # each detector scored the page or says why not
            for name in detectors.available():
                assert name in record["scores"] or any(f"detector {name}" in e for e in record["errors"])


def test_crawl_threshold_drops(site: tuple[str, list[str]], first_crawl: list[dict],
                               tmp_path_factory: pytest.TempPathFactory, registered: list[str]) -> None:
    base, pages = site
    scores = {i["url"]: i["qualityscan"]["scores"] for i in first_crawl}

    # a threshold between two observed scores of the detector that spreads the pages most
    name = max(registered, key=lambda d: len({round(s.get(d, 0.0), 4) for s in scores.values()}))
    values = sorted({s[name] for s in scores.values() if name in s})
    assert len(values) >= 2, f"every page got the same {name} score; cannot place a threshold"
    mid = len(values) // 2
    limit = round((values[mid - 1] + values[mid]) / 2, 6)
    expected_drops = {u for u, s in scores.items() if s.get(name, 0.0) > limit}

    items2, result2 = _crawl(tmp_path_factory.mktemp("crawl_threshold"), base + "index.html",
                             {"QUALITYSCAN_MAX_SCORES": {name: limit}, "QUALITYSCAN_OUTPUT": "scores"})
    kept = {i["url"] for i in items2}
    dropped = {d["url"] for d in result2["drops"]}
    assert dropped == expected_drops and kept == set(pages) - expected_drops
    assert result2["dropped"] == len(expected_drops) and result2["scored"] == len(pages)
    for drop in result2["drops"]:
        assert drop["reason"].startswith(f"qualityscan: {drop['url']}: {name} score")
    for item in items2:
        assert "paragraphs" not in item["qualityscan"]
        assert item["qualityscan"]["scores"] == scores[item["url"]]


# ------------------------------------------------------------------ the pipeline without a crawl
@pytest.fixture(scope="module")
def pipeline() -> QualityScanPipeline:
    return QualityScanPipeline(html_field="html", model=None)


def test_html_field_preferred_and_text_fallback(pipeline: QualityScanPipeline, seeds_dir: Path) -> None:
    seed = min(seeds_dir.glob("*.txt"))
    item = pipeline.process_item({"url": "http://x/1", "html": _seed_page(seed), "text": "ignored"})
    record = item["qualityscan"]
    assert record["id"] == "http://x/1" and len(record["paragraphs"]) > 1
    assert "ignored" not in [p["text"] for p in record["paragraphs"]]
    item = pipeline.process_item({"url": "http://x/2", "text": seed.read_text(encoding="utf-8")})
    assert item["qualityscan"]["paragraphs"]


def test_item_without_text_is_kept_with_an_error(pipeline: QualityScanPipeline) -> None:
    item = pipeline.process_item({"title": "no url, no text"})
    record = item["qualityscan"]
    assert record["id"].startswith("item-") and record["scores"] == {} and record["reliability"] is None
    assert "no text to score" in record["errors"][0]


def test_declared_item_needs_the_output_field(pipeline: QualityScanPipeline) -> None:
    import scrapy

    class Page(scrapy.Item):
        url = scrapy.Field()
        text = scrapy.Field()

    with pytest.raises(KeyError, match="QUALITYSCAN_OUTPUT_FIELD"):
        pipeline.process_item(Page(url="http://x/3", text="Some text that is long enough to score here."))


def test_min_reliability(registered: list[str], seeds_dir: Path) -> None:
    from qualityscan.model import shipped_model_path

    if not shipped_model_path("reliability").is_file():
        pytest.skip("no reliability model shipped yet")
    pipe = QualityScanPipeline(min_reliability=0.5)
    kept = pipe.process_item({"url": "http://x/4", "text": ""})  # nothing measured, nothing to drop for
    assert kept["qualityscan"]["reliability"] is None and kept["qualityscan"]["errors"]
    for n, seed in enumerate(sorted(seeds_dir.glob("*.txt"))):
        try:
            item = pipe.process_item({"url": f"http://x/seed{n}", "text": seed.read_text(encoding="utf-8")})
        except DropItem as drop:
            assert "reliability" in str(drop) and "< 0.5" in str(drop)
        else:
            assert item["qualityscan"]["reliability"] >= 0.5


def test_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="no such detector 'nonsense'"):
        QualityScanPipeline(max_scores={"nonsense": 0.5})
    with pytest.raises(ValueError, match="must be a number in 0..1"):
        QualityScanPipeline(min_reliability=-0.1)
    with pytest.raises(ValueError, match="no reliability model"):
        QualityScanPipeline(min_reliability=0.5, model=None)
    with pytest.raises(ValueError, match="QUALITYSCAN_OUTPUT"):
        QualityScanPipeline(output="everything")


def test_from_crawler_reads_settings(registered: list[str]) -> None:
    from scrapy.utils.test import get_crawler

    crawler = get_crawler(settings_dict={
        "QUALITYSCAN_TEXT_FIELD": "body", "QUALITYSCAN_OUTPUT_FIELD": "qs", "QUALITYSCAN_MODEL": "none",
        "QUALITYSCAN_MAX_SCORES": json.dumps({registered[0]: 0.9}), "QUALITYSCAN_CORPUS": "False",
    })
    pipe = QualityScanPipeline.from_crawler(crawler)
    assert (pipe.text_field, pipe.output_field) == ("body", "qs")
    assert pipe.thresholds.max_scores == {registered[0]: 0.9} and pipe._scorer.stats is None
    assert not pipe._scorer.scanner.has_model
