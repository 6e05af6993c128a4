"""The Digest tab in a real browser (Chromium, headless, `python app.py` with the real bundled models: the same server
and browser fixtures as test_ui_browser.py). The app indexes the example article on start-up, so the digest holds at
least that article, in one topic, with its one-line summary; a filter that matches nothing says so."""
from __future__ import annotations

from pathlib import Path

import pytest

from . import test_ui_browser as ui
from .test_ui_browser import ANSWER_MS, CHROMIUM, SEED_ID

# The app server, the browser and a fresh page: the fixtures of test_ui_browser.py, shared by name.
server, browser, open_page = ui.server, ui.browser, ui.open_page

pytestmark = [
    pytest.mark.browser, pytest.mark.real_models, pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed: apt-get install chromium"),
]


def test_digest_tab_groups_the_indexed_articles_and_filters_by_date(open_page):
    page = open_page()
    page.get_by_role("tab", name="Digest").click()
    page.locator("#digest-build").click()
    topic = page.locator("#digest .qa-topic").first
    topic.wait_for(timeout=ANSWER_MS)
    text = page.locator("#digest").inner_text()
    assert "topics" in text and SEED_ID in text
    assert page.locator("#digest .qa-topic li").count() >= 1
    assert "North Korea" in text or "Putin" in text  # the seed article's headline or its one-liner

    page.locator("#digest-from textarea, #digest-from input").first.fill("2100-01-01")
    page.locator("#digest-build").click()
    page.locator("#digest").get_by_text("No indexed articles match").wait_for(timeout=ANSWER_MS)

    page.locator("#digest-from textarea, #digest-from input").first.fill("not a date")
    page.locator("#digest-build").click()
    page.locator("#digest .qa-error").get_by_text("must be a date").wait_for(timeout=ANSWER_MS)
