"""HTML article extraction and its benchmark scoring."""
from __future__ import annotations

import gzip
import json

import pytest

from qa_bot.errors import InputError
from qa_bot.eval.extraction import evaluate_extraction
from qa_bot.eval.metrics import metrics_from_scores, score_extraction
from qa_bot.extract import ExtractedArticle, extract_article

from .conftest import SHARED, SHARED_MISSING

BENCHMARK_DIR = SHARED / "html"


# --------------------------------------------------------------------------------------------------- scoring


def test_identical_texts_score_perfectly():
    text = "The council voted on Tuesday to expand the bus network across the city."
    tp, fp, fn = score_extraction(text, text)
    assert (tp, fp, fn) == (1.0, 0.0, 0.0)
    m = metrics_from_scores([(tp, fp, fn)])
    assert m == {"precision": 1.0, "recall": 1.0, "f1": 1.0}


def test_disjoint_texts_score_zero():
    s = score_extraction("alpha beta gamma delta epsilon", "one two three four five")
    # 2 shingles each side, none shared
    assert s == pytest.approx((0.0, 0.5, 0.5))
    assert metrics_from_scores([s]) == {"precision": 0.0, "recall": 0.0, "f1": 0.0}


def test_partial_overlap_by_hand():
    truth = "a b c d e"  # shingles: abcd, bcde
    # prediction "a b c d x": abcd (shared), bcdx (extra) -> tp 1, fp 1, fn 1 -> each 1/3
    s1 = score_extraction("a b c d x", truth)
    assert s1 == pytest.approx((1 / 3, 1 / 3, 1 / 3))
    # prediction "a b c d": one shingle abcd -> tp 1, fp 0, fn 1 -> (1/2, 0, 1/2)
    s2 = score_extraction("a b c d", truth)
    assert s2 == pytest.approx((0.5, 0.0, 0.5))
    # repeated shingles count with multiplicity: truth has "a b c d" once, prediction twice
    s3 = score_extraction("a b c d a b c d", "a b c d")
    # pred shingles: abcd x2, bcda, cdab, dabc; truth: abcd -> tp 1, fp 4, fn 0
    assert s3 == pytest.approx((0.2, 0.8, 0.0))
    m = metrics_from_scores([s1, s2])
    # precision = mean(1/2, 1), recall = mean(1/2, 1/2)
    assert m["precision"] == pytest.approx(0.75)
    assert m["recall"] == pytest.approx(0.5)
    assert m["f1"] == pytest.approx(2 * 0.75 * 0.5 / 1.25)


def test_empty_prediction_and_empty_texts():
    # empty prediction: fn only; it has no defined precision, so it is left out of the precision mean
    s_empty = score_extraction("", "some real article text here")
    assert s_empty == (0.0, 0.0, 1.0)
    assert score_extraction("", "") == (1.0, 0.0, 0.0)
    # punctuation only has no word tokens
    assert score_extraction("--- !!!", "") == (1.0, 0.0, 0.0)
    m = metrics_from_scores([s_empty, (1.0, 0.0, 0.0)])
    assert m["precision"] == pytest.approx(1.0)
    assert m["recall"] == pytest.approx(0.5)


def test_tokens_are_words_not_punctuation():
    assert score_extraction("Hello, world! How are you?", "Hello world How are you") == (1.0, 0.0, 0.0)


# --------------------------------------------------------------------------------------------------- extractor

BODY = [
    "City engineers confirmed on Monday that the old Riverside bridge will close for repairs in March, "
    "after an inspection found corrosion in three of the steel supports holding up the main span.",
    "The repairs are expected to take eleven weeks and will cost about 4.2 million dollars, according to a "
    "report presented to the transport committee by the head of the public works department.",
    "Buses that normally cross the river at Riverside will be diverted over the Mill Street crossing, which "
    "adds roughly ten minutes to the journey for passengers travelling towards the northern suburbs.",
    "Local shop owners said they were worried about losing customers during the closure, and asked the council "
    "to add signs that point drivers to the car parks that stay open on both banks of the river.",
]

PAGE = f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Riverside bridge to close for repairs | Valley Gazette</title>
  <meta property="og:title" content="Riverside bridge to close for repairs">
  <meta property="og:site_name" content="Valley Gazette">
  <meta property="article:published_time" content="2024-02-12T09:30:00Z">
  <script>window.dataLayer = [{{"page": "article", "trackingId": "UA-000000"}}]; function tracker() {{}}</script>
  <style>.nav {{ color: red }}</style>
</head>
<body>
  <nav class="nav"><ul>
    <li><a href="/">Home</a></li><li><a href="/news">News</a></li><li><a href="/sport">Sport</a></li>
    <li><a href="/weather">Weather forecast</a></li>
  </ul></nav>
  <main>
    <article>
      <h1>Riverside bridge to close for repairs</h1>
      <p class="byline">By Jane Doe, 12 February 2024</p>
      <p>{BODY[0]}</p>
      <p>{BODY[1]}</p>
      <div class="share"><p>Share this article</p>
        <a href="https://facebook.com/share">Facebook</a> <a href="https://twitter.com/share">Twitter</a></div>
      <p>{BODY[2]}</p>
      <p>Related: Council approves new cycle lanes on Mill Street</p>
      <p>{BODY[3]}</p>
      <script>tracker("article-end");</script>
    </article>
  </main>
  <footer><p>Copyright 2024 Valley Gazette. All rights reserved.</p>
    <a href="/privacy">Privacy policy</a> <a href="/contact">Contact us</a></footer>
</body>
</html>"""


def test_extract_article_keeps_body_and_drops_boilerplate():
    art = extract_article(PAGE, url="https://example.org/news/riverside-bridge")
    assert isinstance(art, ExtractedArticle)
    for para in BODY:
        assert para in art.text
    # paragraphs stay on their own lines, in order
    lines = art.text.split("\n")
    assert [lines.index(p) for p in BODY] == sorted(lines.index(p) for p in BODY)
    for junk in ("Home", "Weather forecast", "Share this", "Related:", "tracker", "dataLayer", "Copyright",
                 "Privacy policy", ".nav"):
        assert junk not in art.text, junk
    # the headline is metadata, not a body line
    assert not art.text.startswith("Riverside bridge to close for repairs")
    assert art.title == "Riverside bridge to close for repairs"
    assert art.published == "2024-02-12"
    assert art.source == "Valley Gazette"
    assert art.url == "https://example.org/news/riverside-bridge"


def test_tooltip_text_is_not_glued_into_sentences():
    page = PAGE.replace(
        f"<p>{BODY[0]}</p>",
        "<p>Mayor <span class='person'><a href='/p/ann'>Ann Lee</a><span class='person-tooltip'>"
        "Ann Lee latest: five stories about the mayor</span></span> welcomed the plan to fix the bridge quickly "
        "and said residents would get regular updates on the repair work through the spring.</p>"
        f"<p>{BODY[0]}</p>",
    )
    art = extract_article(page)
    assert "Mayor Ann Lee welcomed the plan" in art.text
    assert "five stories" not in art.text


def test_page_without_article_body_gives_empty_text():
    page = """<html><head><title>Valley Gazette</title></head><body>
      <nav><ul><li><a href="/">Home</a></li><li><a href="/news">News</a></li><li><a href="/sport">Sport</a></li></ul></nav>
      <footer><a href="/privacy">Privacy</a> <a href="/contact">Contact</a></footer>
    </body></html>"""
    art = extract_article(page)
    assert art.text == ""
    assert extract_article("").text == ""
    assert extract_article("   ").text == ""


# --------------------------------------------------------------------------------------------------- benchmark


def test_evaluate_extraction_rejects_incomplete_folder(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        evaluate_extraction(tmp_path / "nope")
    with pytest.raises(InputError, match="ground-truth.json"):
        evaluate_extraction(tmp_path)
    (tmp_path / "ground-truth.json").write_text("{}", encoding="utf-8")
    with pytest.raises(InputError, match="html"):
        evaluate_extraction(tmp_path)


def test_evaluate_extraction_on_a_tiny_folder(tmp_path):
    (tmp_path / "html").mkdir()
    with gzip.open(tmp_path / "html" / "k1.html.gz", "wt", encoding="utf-8") as f:
        f.write(PAGE)
    truth = {"k1": {"url": "https://example.org/x", "articleBody": "\n".join(BODY)}}
    (tmp_path / "ground-truth.json").write_text(json.dumps(truth), encoding="utf-8")
    res = evaluate_extraction(tmp_path)
    assert {"precision", "recall", "f1", "n", "extract_p50_ms"} <= set(res)
    assert res["n"] == 1
    assert res["f1"] == pytest.approx(1.0)
    assert res["extract_p50_ms"] > 0


@pytest.mark.slow  # 181 pages
@pytest.mark.skipif(
    not (BENCHMARK_DIR / "ground-truth.json").is_file(),
    reason=f"{SHARED_MISSING}: the article-extraction benchmark is not at {BENCHMARK_DIR}",
)
def test_benchmark_f1():
    # Speed is measured, not asserted: `qa-bot eval-extraction ../shared/html --json` reports extract_p50_ms.
    res = evaluate_extraction(BENCHMARK_DIR)
    print(f"extraction benchmark: F1 {res['f1']:.4f} over {res['n']} pages, p50 {res['extract_p50_ms']} ms per page")
    assert res["n"] == 181
    assert res["f1"] >= 0.965, {k: res[k] for k in ("precision", "recall", "f1", "n", "extract_p50_ms")}
