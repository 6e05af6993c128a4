"""The answering policy as shipped (the fitted models and their thresholds, answers in the article's words), through
the fake pipeline and the CLI, with no QA_BOT_ variable set. The tests assert behaviour only (answered with a
citation, or declined without sources), not which path or threshold got there, so that refitting the models does not
break them."""
from __future__ import annotations

import json
import os
import re

import pytest
from typer.testing import CliRunner

from qa_bot import cli

from .conftest import ScriptedGenerator
from .test_pipeline import write_corpus

SUPPORTED = "How many residents did officials evacuate from Lowdale?"
UNRELATED = "Who is the president of France?"
# On the articles' topic, but no article says it.
UNSAID = "What music did the Lowdale band play during the evacuation?"


def liar(messages: list[dict]) -> str:
    """A model that answers everything, inventing what it does not find."""
    question = messages[-1]["content"].rsplit("Question:", 1)[-1]
    if "residents" in question:
        return "Officials evacuated 1,200 residents from Lowdale [1]."
    if "president" in question:
        return "The president of France is Donald Trump [1]."
    return "The Lowdale band played jazz by Miles Davis during the evacuation [1]."


@pytest.fixture
def defaults(tmp_path, monkeypatch):
    """Settings as a user without any QA_BOT_ variable or .env file gets them; only where the index lives differs."""
    from qa_bot.settings import Settings

    for key in [k for k in os.environ if k.startswith("QA_BOT_")]:
        monkeypatch.delenv(key)
    settings = Settings(index_dir=tmp_path / "index", collection="defaults", _env_file=None)
    shipped = Settings(_env_file=None)
    assert settings.answer == shipped.answer and settings.answer.answer_model is None  # the shipped models
    return settings


@pytest.fixture
def pipeline(defaults, fake_embedder, ephemeral_client, tmp_path):
    from qa_bot.pipeline import Pipeline

    p = Pipeline(defaults, embedder=fake_embedder, generator=ScriptedGenerator(liar), client=ephemeral_client)
    p.ingest([write_corpus(tmp_path)])
    return p


def cited_numbers(text: str) -> set[int]:
    return {int(n) for n in re.findall(r"\[(\d+)\]", text)}


def test_a_clearly_supported_question_is_answered_with_a_citation(pipeline):
    answer = pipeline.ask(SUPPORTED)
    assert not answer.declined and answer.path != "declined"
    assert "1,200" in answer.text
    assert answer.citations and answer.citations[0].doc_id == "volcano"
    assert "1,200 residents" in answer.citations[0].quote
    assert cited_numbers(answer.text) and cited_numbers(answer.text) <= {c.n for c in answer.citations}


def test_an_unrelated_question_is_declined_without_sources(pipeline):
    answer = pipeline.ask(UNRELATED)
    assert answer.declined and answer.path == "declined" and not answer.citations
    assert "do not say" in answer.text and "Trump" not in answer.text
    assert not cited_numbers(answer.text)


def test_a_question_the_articles_do_not_answer_is_declined_even_when_the_model_invents_one(pipeline):
    answer = pipeline.ask(UNSAID)
    assert answer.declined and not answer.citations
    assert "jazz" not in answer.text and "Miles Davis" not in answer.text


def test_the_cli_with_default_settings_answers_and_declines(defaults, fake_embedder, ephemeral_client, tmp_path,
                                                            monkeypatch):
    from qa_bot.pipeline import Pipeline

    def factory(ctx, **overrides):  # the CLI's own settings (defaults plus its flags), on the fakes
        assert ctx.obj.answer == defaults.answer
        s = ctx.obj.model_copy(update={"index_dir": defaults.index_dir, "collection": defaults.collection,
                                       **overrides})
        return Pipeline(s, embedder=fake_embedder, generator=ScriptedGenerator(liar), client=ephemeral_client)

    monkeypatch.setattr(cli, "pipeline", factory)
    monkeypatch.chdir(tmp_path)  # no stray .env file
    runner = CliRunner()
    assert runner.invoke(cli.app, ["ingest", str(write_corpus(tmp_path))]).exit_code == 0

    answered = runner.invoke(cli.app, ["ask", SUPPORTED, "--json"])
    assert answered.exit_code == 0, answered.output
    data = json.loads(answered.output)
    assert not data["declined"] and data["citations"][0]["doc_id"] == "volcano" and "1,200" in data["answer"]

    declined = runner.invoke(cli.app, ["ask", UNRELATED])
    assert declined.exit_code == 0, declined.output
    assert "do not say" in declined.output and "Sources:" not in declined.output and "Trump" not in declined.output
