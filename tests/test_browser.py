"""The built book (smoke profile) in headless Chromium with the network off: every page loads without console
errors, its math is rendered by the MathJax copy in the build, its images load, its internal links resolve,
and the Fourier chapter's static checkpoint slider changes the picture. Screenshots of two pages are written
to ``_build/browser-test`` for a person to look at.

Chromium is Debian's package (``make test`` installs it); Playwright drives it.
"""
import functools
import re
import http.server
import shutil
import threading
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

import pytest

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
SCREENSHOTS = REPO / "_build" / "browser-test"
PAGES_WITH_SLIDER = ("book/fourier_circuits.html",)
VISIBLE_TEXT = """() => {
    const copy = document.body.cloneNode(true);
    copy.querySelectorAll("pre, code, script, style, mjx-container, .MathJax").forEach(e => e.remove());
    return copy.innerText;
}"""


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files without logging each request."""

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def site(built_book):
    """The built book served over HTTP on localhost: ``(base_url, html_folder)``."""
    handler = functools.partial(QuietHandler, directory=str(built_book))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/", built_book
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is not installed: `make test` installs it (apt-get install chromium)"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield browser
        browser.close()


def pages(html: Path) -> list[str]:
    """Every page of the book, relative to ``html``: Sphinx's index and search pages and redirects aside."""
    skip = {"genindex.html", "search.html"}
    return sorted(p.relative_to(html).as_posix() for p in html.rglob("*.html")
                  if p.name not in skip and "_static" not in p.parts and "_sources" not in p.parts
                  and 'http-equiv="Refresh"' not in p.read_text(errors="replace"))


def test_the_front_page_redirects_to_a_page_of_the_book(site):
    _, html = site
    target = re.search(r'url=([^"]+)"', (html / "index.html").read_text())
    assert target and (html / target.group(1)).is_file()


def open_offline(browser, url: str, block: tuple[str, ...] = ()):
    """A new page at ``url`` that can reach only localhost (and not the paths in ``block``); with its console errors."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.route("**/*", lambda route: route.continue_() if urlparse(route.request.url).hostname == "127.0.0.1"
               and not any(b in route.request.url for b in block) else route.abort())
    page.goto(url, wait_until="load")
    if page.evaluate("() => !!document.querySelector(\"script[src*='mathjax/tex-chtml']\")"):
        page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=20_000)
        page.evaluate("() => MathJax.startup.promise")
    return page, errors


def test_every_page_renders_offline(browser, site):
    base, html = site
    checked = pages(html)
    assert any(p.startswith("book/") for p in checked), f"no chapter pages found in {html}"
    for name in checked:
        page, errors = open_offline(browser, base + name)
        assert errors == [], f"{name}: console errors {errors}"
        text = page.evaluate(VISIBLE_TEXT)
        assert "\\(" not in text and "$$" not in text, f"{name}: raw LaTeX is left on the page"
        if "$" in page.content() and page.query_selector("span.math, div.math"):
            assert page.query_selector("mjx-container"), f"{name}: its math was not typeset"
        broken = page.evaluate("() => [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)")
        assert broken == [], f"{name}: images that did not load: {broken[:3]}"
        for link in page.evaluate("() => [...document.querySelectorAll('a[href]')].map(a => a.href)"):
            assert_resolves(link, base, html, name)
        page.close()


def assert_resolves(link: str, base: str, html: Path, name: str) -> None:
    """An internal link points at a file of the build, and at an element with its fragment's id, if any."""
    if not link.startswith(base):
        return
    url, fragment = urldefrag(link)
    target = html / unquote(url[len(base):])
    if target.is_dir():
        target = target / "index.html"
    assert target.is_file(), f"{name}: link to a missing file: {link}"
    if fragment and target.suffix == ".html":
        page = target.read_text(errors="replace")
        assert f'id="{fragment}"' in page, f"{name}: link to a missing anchor: {link}"


def test_math_falls_back_to_the_cdn_when_the_local_copy_is_missing(browser, site):
    base, html = site
    page = browser.new_page()
    cdn_hits = []

    def serve_cdn_from_the_build(route):
        cdn_hits.append(route.request.url)
        route.fulfill(path=str(html / "_static" / "mathjax" / "tex-chtml.js"), content_type="text/javascript")

    page.route("**/_static/mathjax/**", lambda route: route.abort())
    page.route("https://cdn.jsdelivr.net/**", serve_cdn_from_the_build)
    page.goto(base + "book/power_division.html", wait_until="load")
    page.wait_for_selector("mjx-container", timeout=20_000)
    assert cdn_hits and "mathjax@3" in cdn_hits[0]
    page.close()


def test_static_slider_changes_the_picture(browser, site):
    base, _ = site
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name in PAGES_WITH_SLIDER:
        page, errors = open_offline(browser, base + name)
        slider = page.locator("input.anim-slider").first
        slider.scroll_into_view_if_needed()
        frame = page.locator("img[id^='_anim_img']").first
        page.wait_for_function("(img) => img.src.startsWith('data:image')", arg=frame.element_handle())
        before = frame.get_attribute("src")
        last = int(slider.get_attribute("max"))
        assert last >= 1, f"{name}: the slider has a single frame"
        slider.evaluate("(s, v) => { s.value = v; s.dispatchEvent(new Event('input')); }", last)
        assert frame.get_attribute("src") != before, f"{name}: moving the slider did not change the picture"
        page.screenshot(path=str(SCREENSHOTS / "fourier_circuits-slider.png"))
        assert errors == []
        page.close()
    page, _ = open_offline(browser, base + "book/power_division.html")
    page.locator("div.admonition.tip").first.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "power_division-run-box.png"))
    page.close()
    print(f"screenshots in {SCREENSHOTS}")
