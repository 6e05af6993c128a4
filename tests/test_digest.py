"""`qa-bot digest` and qa_bot.digest on fakes: topics are a partition of the selected articles, the date and source
filters, the JSON output, and a second run that only reads the summary cache."""
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from qa_bot import cli
from qa_bot.digest import build_digest, cluster, select_documents
from qa_bot.errors import InputError
from qa_bot.pipeline import Pipeline

from .conftest import ScriptedGenerator

ARTICLES = [
    ("volcano-1", "Volcano erupts near Lowdale", "CNN", "2025-01-10",
     "The Mount Ember volcano erupted on Tuesday near the village of Lowdale, sending ash high over the valley. "
     "Officials evacuated the village of Lowdale as the volcano kept erupting."),
    ("volcano-2", "Lowdale evacuated as volcano erupts again", "USA Today", "2025-01-12",
     "The Mount Ember volcano erupted again near Lowdale on Thursday, and the village of Lowdale stayed evacuated. "
     "Ash from the volcano closed the valley road."),
    ("budget-1", "City council passes budget", "CNN", "2025-02-03",
     "The city council approved the budget on Monday after a long debate about schools and roads. "
     "The council budget funds new schools and road repairs in the city."),
    ("budget-2", "Council budget vote delayed", "USA Today", "2025-01-28",
     "The city council delayed its budget vote, and the debate over the city budget for schools and roads goes on. "
     "Council members said the budget would come back next week."),
    ("chess", "Teenager wins chess title", "VOA News", None,
     "A teenager from Oslo won the national chess championship with a queen sacrifice in the final game. "
     "The chess federation praised the young champion."),
]


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "news.jsonl"
    path.write_text("".join(json.dumps({"doc_id": d, "title": t, "source": s, "published": p, "text": x}) + "\n"
                            for d, t, s, p, x in ARTICLES), encoding="utf-8")
    return path


@pytest.fixture
def digest_pipeline(make_pipeline, corpus):
    p = make_pipeline(ScriptedGenerator(lambda m: ""), digest_similarity=0.6)
    p.ingest([corpus])
    return p


def doc_ids(digest) -> list[list[str]]:
    return [[a.doc_id for a in t.articles] for t in digest.topics]


def test_every_article_is_in_exactly_one_topic_and_topics_are_the_stories(digest_pipeline):
    digest = build_digest(digest_pipeline)
    flat = [d for topic in doc_ids(digest) for d in topic]
    assert sorted(flat) == sorted(a[0] for a in ARTICLES) and digest.n_articles == len(ARTICLES)
    # largest topics first; within a topic, newest first
    assert doc_ids(digest)[:2] == [["budget-1", "budget-2"], ["volcano-2", "volcano-1"]]
    assert doc_ids(digest)[2] == ["chess"]
    assert all(a.summary for t in digest.topics for a in t.articles)
    assert digest.topics[2].headline == "Teenager wins chess title"


def test_date_and_source_filters(digest_pipeline):
    january = build_digest(digest_pipeline, date_from="2025-01-01", date_to="2025-01-31")
    assert sorted(d for t in doc_ids(january) for d in t) == ["budget-2", "volcano-1", "volcano-2"]  # undated left out
    cnn = build_digest(digest_pipeline, source="cnn")
    assert sorted(d for t in doc_ids(cnn) for d in t) == ["budget-1", "volcano-1"]
    assert build_digest(digest_pipeline, date_from="2030-01-01").topics == []


@pytest.mark.parametrize("bounds", [{"date_from": "2025-1-5"}, {"date_to": "yesterday"},
                                    {"date_from": "2025-02-01", "date_to": "2025-01-01"},
                                    {"date_from": "2025-02-30"}, {"date_to": "20250131"}])
def test_bad_dates_are_input_errors(bounds):
    with pytest.raises(InputError):
        select_documents([], **bounds)


def test_second_run_reads_the_summary_cache(digest_pipeline, monkeypatch):
    first = build_digest(digest_pipeline)
    calls = []
    monkeypatch.setattr(Pipeline, "summarize_text", lambda self, *a, **k: calls.append(a))
    second = build_digest(digest_pipeline)
    assert calls == [] and second == first


def test_cluster_is_a_partition_at_every_threshold():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 16))
    vectors = np.concatenate([c + 0.05 * rng.normal(size=(4, 16)) for c in centres])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    for threshold in (-1.0, 0.5, 0.9, 1.01):
        groups = cluster(vectors, threshold)
        assert sorted(i for g in groups for i in g) == list(range(12))
    assert len(cluster(vectors, 1.01)) == 12 and len(cluster(vectors, -1.0)) == 1
    assert sorted(cluster(vectors, 0.9)) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
    assert cluster(np.zeros((0, 16)), 0.5) == []


def test_cli_digest_prints_topics_and_json(digest_pipeline, monkeypatch):
    monkeypatch.setattr(cli, "pipeline", lambda ctx, **overrides: digest_pipeline)
    runner = CliRunner()
    text = runner.invoke(cli.app, ["digest"])
    assert text.exit_code == 0, text.output
    assert text.output.startswith("5 articles in 3 topics") and "- 2025-02-03 budget-1: " in text.output
    data = json.loads(runner.invoke(cli.app, ["digest", "--json", "--source", "CNN"]).output)
    assert data["articles"] == 2 and data["source"] == "CNN"
    assert {"headline", "articles"} <= set(data["topics"][0])
    assert set(data["topics"][0]["articles"][0]) == {"doc_id", "title", "source", "published", "summary"}
    bad = runner.invoke(cli.app, ["digest", "--date-from", "soon"])
    assert bad.exit_code == 1 and "the start date must be a date" in bad.output
