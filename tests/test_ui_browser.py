"""The chat in a real browser: Debian's Chromium, headless, driven by Playwright against `python app.py`, which the
test starts on a free localhost port with a fresh index (the example article is indexed into it on start-up) and the
real bundled models. The answerer may answer or decline, so the tests assert what must hold either way.

Screenshots go to $QA_BOT_SCREENSHOTS when it is set (docs/screenshots/ holds the committed set), else to a
temporary folder that the test prints."""
from __future__ import annotations

import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .conftest import REPO
from .servers import free_port
from .test_ui_client import BEES_HTML, XSS_JSONL

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SEED_ID = "000_b060f3c20b339b0c"
SEED_QUESTION = "What did Russia reportedly give North Korea in exchange?"
BEES_QUESTION = "How many kilograms of honey did the beekeepers on the roof of Marlow library harvest?"
STARTUP_S = 300  # models load on start-up; on a busy 2-core machine that takes a while
ANSWER_MS = 120_000
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}

pytestmark = [
    pytest.mark.browser, pytest.mark.real_models, pytest.mark.slow,  # app.py serves the bundled models
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed: apt-get install chromium"),
]

# Finds elements that stick out of the viewport sideways, unless a scrolling box inside the page clips them.
OVERFLOW_JS = """() => {
  const width = document.documentElement.clientWidth;
  const inside = r => r.left >= -1 && r.right <= width + 1;
  const out = [];
  for (const el of document.querySelectorAll("body *")) {
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height || inside(r)) continue;
    let box = el.parentElement, clipped = false;
    while (box && box !== document.body) {
      if (getComputedStyle(box).overflowX !== "visible" && inside(box.getBoundingClientRect())) { clipped = true; break; }
      box = box.parentElement;
    }
    if (!clipped) out.push(`${el.tagName.toLowerCase()}#${el.id}.${el.className} right=${Math.round(r.right)}`);
  }
  return out.slice(0, 8);
}"""
LUMINANCE_JS = """(selector) => {
  const rgb = c => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = ([r, g, b]) => (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
  const el = document.querySelector(selector);
  let bg = el, color = getComputedStyle(el).backgroundColor;
  while (bg && (color === "rgba(0, 0, 0, 0)" || color === "transparent")) {
    bg = bg.parentElement; color = bg ? getComputedStyle(bg).backgroundColor : "rgb(255, 255, 255)";
  }
  return [lum(rgb(color)), lum(rgb(getComputedStyle(el).color))];
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    """`python app.py` on a free port with an empty index; yields its URL once it says it is listening."""
    home = tmp_path_factory.mktemp("browser")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_BOT_")}  # the defaults, whatever the shell says
    env |= {"HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, str(REPO / "app.py"), "--port", str(port), "--index-dir", str(home / "index")],
        cwd=home, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str | None] = queue.Queue()
    log: list[str] = []

    def pump() -> None:  # read the server's output without blocking it, and keep it for failure messages
        for line in process.stdout:
            log.append(line)
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    ready = f"qa-bot chat on http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_S
    try:
        while True:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"app.py did not start within {STARTUP_S}s:\n{''.join(log)}")
            if line is None:
                pytest.fail(f"app.py exited with {process.wait()}:\n{''.join(log)}")
            if line.startswith(ready):
                break
        yield f"http://127.0.0.1:{port}/"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
    assert "Traceback" not in "".join(log), "".join(log)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("QA_BOT_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"screenshots in {folder}")
    return folder


@pytest.fixture
def open_page(browser, server):
    """Open the chat in a fresh browser session; afterwards, check that the page threw no errors and that nothing
    was fetched from anywhere but the local server (the chat is private: no fonts, scripts or analytics from the web)."""
    contexts, errors, requests = [], [], []

    def make(width: int = 1280, height: int = 800, scheme: str = "light"):
        context = browser.new_context(viewport={"width": width, "height": height}, color_scheme=scheme)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.on("request", lambda request: requests.append(request.url))
        page.goto(server)
        page.locator("#question textarea").wait_for()
        page.locator("#header").get_by_text("indexed article").wait_for()  # the page's load event has run
        return page

    yield make
    for context in contexts:
        context.close()
    assert not errors, errors
    assert all(url.startswith(server) for url in requests), [u for u in requests if not u.startswith(server)]


def ask(page, question: str):
    """Type a question, send it, wait for its source cards; returns the sources panel."""
    bots = page.locator("#chat [data-testid=bot]")
    before = bots.count()
    page.locator("#question textarea").fill(question)
    page.locator("#ask").click()
    page.locator("#chat [data-testid=user]").filter(has_text=question).wait_for()
    sources = page.locator("#sources .qa-sources")
    sources.wait_for(timeout=ANSWER_MS)
    assert bots.count() == before + 1
    return sources


def last_answer(page) -> str:
    return page.locator("#chat [data-testid=bot]").last.inner_text()


def library_cell(page, text: str):
    # The table keeps a hidden copy of its rows for measuring; only the visible cell counts.
    return page.locator("#library").get_by_text(text).filter(visible=True).first


def upload(page, *files: Path) -> str:
    page.get_by_role("tab", name="Library").click()
    status = page.locator("#upload-status .qa-note")
    page.locator("#upload input[type=file]").set_input_files([str(f) for f in files])
    status.wait_for(timeout=ANSWER_MS)
    return status.inner_text()


def test_seed_question_gets_a_source_card_with_the_quoted_passage(open_page):
    page = open_page()
    sources = ask(page, SEED_QUESTION)
    card = sources.locator(f'.qa-card[data-doc-id="{SEED_ID}"]').first
    assert "satellite" in card.locator("mark").inner_text()
    assert "North Korea" in card.locator("h4").inner_text()
    if sources.get_attribute("data-state") == "answered":
        assert "[1]" in last_answer(page) and card.locator(".qa-label").inner_text() == "[1]"
        assert "Sources" in sources.inner_text()
    else:  # declined: the passage is offered as related reading, not as a source
        assert "do not say" in last_answer(page) and "related, not sources" in sources.inner_text()


def test_uploaded_html_is_listed_in_the_library_and_cited(open_page, tmp_path):
    page_file = tmp_path / "rooftop-bees.html"
    page_file.write_text(BEES_HTML)
    page = open_page()
    assert "1 added" in upload(page, page_file)
    library_cell(page, "Rooftop bees thrive in Marlow").wait_for()
    library_cell(page, "Marlow Herald").wait_for()
    page.get_by_role("tab", name="Chat").click()
    sources = ask(page, BEES_QUESTION)
    assert sources.get_attribute("data-state") == "answered", sources.inner_text()
    card = sources.locator('.qa-card[data-doc-id="rooftop-bees"]').first
    assert "85 kilograms" in card.locator("mark").inner_text()
    assert card.locator("h4 a").get_attribute("href") == "https://marlow-herald.example/news/rooftop-bees"
    assert "[" in last_answer(page) and "85" in last_answer(page)


def test_markup_in_an_article_is_shown_as_text_and_never_runs(open_page, tmp_path):
    feed = tmp_path / "harbour.jsonl"
    feed.write_text(XSS_JSONL)
    page = open_page()
    assert "1 added" in upload(page, feed)
    title = 'Harbour <img src=x onerror="window.__xss=4"> festival'
    library_cell(page, title).wait_for()  # the markup is there, as text
    page.get_by_role("tab", name="Chat").click()
    question = "How many visitors did the <i>Lowdale</i> harbour festival draw on Saturday?"
    sources = ask(page, question)
    assert "<i>Lowdale</i>" in page.locator("#chat [data-testid=user]").last.inner_text()  # typed markup too
    card = sources.locator('.qa-card[data-doc-id="xss-harbour"]').first
    assert title in card.locator("h4").inner_text()
    assert "Lowdale <b>Gazette</b>" in card.locator(".qa-meta").inner_text()
    assert card.locator("h4 a").count() == 0  # a javascript: address is never made a link
    assert "<script>window.__xss=1</script>" in card.locator(".qa-passage").inner_text()
    assert page.locator("#sources img, #sources script, #chat img, #chat i, #library img").count() == 0
    page.get_by_role("tab", name="Summarise").click()
    page.locator("#pick-article input").click()
    page.get_by_role("option").filter(has_text="Harbour <img").first.wait_for()
    assert page.evaluate("typeof window.__xss") == "undefined"


def test_a_question_the_articles_do_not_answer_is_declined_and_clear_starts_over(open_page):
    page = open_page()
    sources = ask(page, "Who won the 1998 football World Cup final in Paris?")
    assert sources.get_attribute("data-state") == "declined"
    assert "do not say" in last_answer(page)
    assert "No article answers this" in sources.inner_text() and "Sources" not in sources.inner_text()
    page.locator("#clear").click()
    page.locator("#chat [data-testid=bot]").wait_for(state="detached")
    page.locator("#sources .qa-sources").wait_for(state="detached")


@pytest.mark.parametrize("size", list(SIZES))
def test_screenshots_fit_the_width_light_and_dark(open_page, shots, size, tmp_path):
    width, height = SIZES[size]
    page_file = tmp_path / "rooftop-bees.html"
    page_file.write_text(BEES_HTML)
    for scheme in ("light", "dark"):
        page = open_page(width, height, scheme)
        suffix = f"{width}x{height}" + ("-dark" if scheme == "dark" else "")
        upload(page, page_file)  # indexed by the first upload; later ones find it unchanged
        page.get_by_role("tab", name="Chat").click()
        ask(page, BEES_QUESTION)
        if scheme == "dark":
            background, text = page.evaluate(LUMINANCE_JS, "#sources .qa-card")
            assert background < 0.3 and text > 0.7, (background, text)
        assert page.evaluate(OVERFLOW_JS) == []
        page.screenshot(path=shots / f"chat-{suffix}.png", full_page=True)

        page.get_by_role("tab", name="Library").click()
        library_cell(page, "Vladimir Putin").click()  # selects the article
        expect(page.locator("#library-pick input")).to_have_value(re.compile(SEED_ID))
        assert page.evaluate(OVERFLOW_JS) == []
        page.screenshot(path=shots / f"library-{suffix}.png", full_page=True)

        page.get_by_role("tab", name="Summarise").click()
        page.locator("#pick-article input").click()
        page.get_by_role("option").filter(has_text=SEED_ID).first.click()
        page.locator("#summarise-article").click()
        page.wait_for_function("() => document.querySelector('#summary textarea').value.length > 0",
                               timeout=ANSWER_MS)
        assert len(page.locator("#summary textarea").input_value().split()) >= 5
        assert page.evaluate(OVERFLOW_JS) == []
        page.screenshot(path=shots / f"summarise-{suffix}.png", full_page=True)
