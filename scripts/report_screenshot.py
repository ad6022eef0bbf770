"""Write the HTML report of a folder (default: ``seeds/``) and screenshot it in headless Chromium.

    python scripts/report_screenshot.py --hide-clean          # seeds/ -> docs/report.png
    python scripts/report_screenshot.py PATH --html out.html --png out.png --width 1366 --height 1500

Uses Debian's ``/usr/bin/chromium`` and ``/usr/bin/chromedriver`` through Selenium; the driver
path is given explicitly, so selenium-manager never downloads anything. The browser test
(``tests/writers/test_html_browser.py``) uses :func:`chromium` from here.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("QUALITYSCAN_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("QUALITYSCAN_CHROMEDRIVER", "/usr/bin/chromedriver")


def missing_browser() -> str | None:
    """Why a headless browser cannot be started here, or None when it can."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install 'qualityscan[test]')"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            return f"{path} not found (apt-get install chromium chromium-driver)"
    return None


@contextlib.contextmanager
def chromium(width: int = 1366, height: int = 900) -> Iterator[object]:
    """A headless Chromium WebDriver with networking extras off and a throw-away profile."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="qualityscan-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--hide-scrollbars", f"--user-data-dir={profile}",
                 f"--window-size={width},{height}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def screenshot(html_path: Path, png_path: Path, width: int, height: int, hide_clean: bool = False) -> None:
    """Open ``html_path`` and save the top ``width`` x ``height`` CSS pixels as ``png_path``
    (after ticking "hide clean paragraphs" when ``hide_clean``)."""
    with chromium(width, height) as driver:
        driver.get(html_path.resolve().as_uri())
        if hide_clean:
            driver.find_element("id", "f-clean").click()
        # The window size includes browser chrome; size the viewport itself exactly.
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        png_path.parent.mkdir(parents=True, exist_ok=True)
        if not driver.save_screenshot(str(png_path)):
            raise RuntimeError(f"{png_path}: Chromium did not write the screenshot")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", default=[str(ROOT / "seeds")], help="files or folders to scan")
    parser.add_argument("--html", type=Path, help="also keep the HTML report here")
    parser.add_argument("--png", type=Path, default=ROOT / "docs" / "report.png")
    parser.add_argument("--width", type=int, default=1366)
    parser.add_argument("--height", type=int, default=1400)
    parser.add_argument("--hide-clean", action="store_true", help="tick 'hide clean paragraphs' first")
    args = parser.parse_args(argv)
    reason = missing_browser()
    if reason:
        print(f"cannot take the screenshot: {reason}", file=sys.stderr)
        return 2

    from qualityscan import Scanner
    from qualityscan.writers import write_reports

    with tempfile.TemporaryDirectory() as tmp:
        html_path = args.html or Path(tmp) / "report.html"
        scanner = Scanner()
        write_reports(scanner.scan_paths(args.paths), "html", html_path)
        screenshot(html_path, args.png, args.width, args.height, args.hide_clean)
    print(f"detectors: {', '.join(scanner.detector_names) or 'none'}; "
          f"reliability model: {'yes' if scanner.has_model else 'no'}")
    print(f"wrote {args.png} ({args.width}x{args.height})" + (f" and {args.html}" if args.html else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
