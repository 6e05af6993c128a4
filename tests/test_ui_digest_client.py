"""The Digest tab's endpoint through gradio_client, on the fakes of test_ui_client.py (its app and client fixtures):
the two indexed articles are listed under their topics with their one-liners; a bad date is a sentence, not a
traceback; a period without articles says so."""
from __future__ import annotations

from . import test_ui_client as ui

# The app on fakes, served in this process, and a client of it: the fixtures of test_ui_client.py, shared by name.
served, client = ui.served, ui.client


def test_digest_lists_every_article_under_a_topic(client):
    page = client.predict("", "", "", api_name="/digest")
    assert "2 articles in" in page and page.count('class="qa-card qa-topic"') >= 1
    assert "<code>volcano</code>" in page and "<code>budget</code>" in page
    assert "Volcano erupts near Lowdale" in page or "City budget passes" in page  # a topic's headline


def test_digest_errors_and_empty_periods_are_sentences(client):
    bad = client.predict("last week", "", "", api_name="/digest")
    assert 'class="qa-error"' in bad and "must be a date like" in bad and "Traceback" not in bad
    empty = client.predict("", "", "No Such Publisher", api_name="/digest")
    assert "No indexed articles match" in empty
