"""Fakes of the heavy dependencies (embedder, LLM, Chroma) so most tests run in milliseconds, plus fixtures for the
few tests that use the real bundled models, and the checks that keep the test lanes honest (markers in pyproject).

Lanes: `pytest -m "not slow and not servers and not browser"` is the inner loop; plain `pytest` runs everything."""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from .fakes import FakeEmbedder, ScriptedGenerator

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

REPO = Path(__file__).resolve().parent.parent
# The evaluation data (corpus, gold questions, HTML benchmark): ../shared beside the repository, or QA_BOT_SHARED_DIR.
SHARED = Path(os.environ.get("QA_BOT_SHARED_DIR") or REPO.parent / "shared")
SHARED_MISSING = "no evaluation data"  # every skip for lack of it says this (.ci/run counts them)
SEED = REPO / "examples" / "000_b060f3c20b339b0c.txt"

__all__ = ["REPO", "SEED", "SHARED", "FakeEmbedder", "ScriptedGenerator", "shared_path"]


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def scripted() -> ScriptedGenerator:
    return ScriptedGenerator()


@pytest.fixture
def settings(tmp_path):
    from qa_bot.settings import Settings

    # The shipped answering policy (fitted models and thresholds); tests that need the model to word answers pass
    # answer=AnswerSettings(wording="model").
    return Settings(index_dir=tmp_path / "index", collection=f"t{uuid.uuid4().hex[:12]}", prompts_dir=None,
                    _env_file=None)


@pytest.fixture
def ephemeral_client():
    import chromadb

    return chromadb.EphemeralClient()


@pytest.fixture
def make_pipeline(settings, fake_embedder, ephemeral_client):
    """A Pipeline on fakes: EphemeralClient, hashed-word embedder, scripted LLM."""
    from qa_bot.pipeline import Pipeline

    def make(generator=None, wording: str | None = None, **overrides):
        s = settings.model_copy(update=overrides)
        if wording is not None:
            s = s.model_copy(update={"answer": s.answer.model_copy(update={"wording": wording})})
        return Pipeline(s, embedder=fake_embedder, generator=generator or ScriptedGenerator(), client=ephemeral_client)

    return make


@pytest.fixture(scope="session")
def real_embedder():
    from qa_bot.embedders.torch_backend import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder("all-MiniLM-L6-v2")


@pytest.fixture(scope="session")
def real_generator():
    from qa_bot.generate import LlamaCppGenerator, resolve_model_path

    return LlamaCppGenerator(resolve_model_path("bundled:smollm2"), n_ctx=2048)


def shared_path(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{SHARED_MISSING}: {path} is not here (the data sits in ../shared beside the repository, or "
                    "set QA_BOT_SHARED_DIR)")
    return path


# --- lanes ------------------------------------------------------------------------------------------------------------
# A test that uses one of these fixtures must carry the markers beside it, so that the inner loop
# (-m "not slow and not servers and not browser") never loads a model or starts a server by accident.
REQUIRED_MARKERS = {
    "real_embedder": {"real_models", "slow"},  # loading MiniLM (torch) takes seconds
    "real_generator": {"real_models", "slow"},  # loading the GGUF, and generating, take seconds
    "chroma": {"servers", "slow"},  # tests/test_servers.py: `chroma run`
    "model_server": {"servers", "real_models", "slow"},  # tests/test_servers.py: llama_cpp.server on the GGUF
    "open_page": {"browser", "real_models", "slow"},  # tests/test_ui_browser.py: Chromium against app.py
    "served_api": {"servers"},  # tests/test_server_api.py: the API on the fakes, served by uvicorn
    "real_api_server": {"servers", "real_models", "slow"},  # tests/test_server_api.py: `qa-bot serve`, real models
}


def pytest_collection_modifyitems(config, items):
    wrong = []
    for item in items:
        marks = {m.name for m in item.iter_markers()}
        for fixture in set(item.fixturenames) & set(REQUIRED_MARKERS):
            if missing := REQUIRED_MARKERS[fixture] - marks:
                wrong.append(f"{item.nodeid} uses {fixture} but is not marked {', '.join(sorted(missing))}")
    if wrong:
        raise pytest.UsageError("tests in the wrong lane:\n  " + "\n  ".join(wrong))


def pytest_terminal_summary(terminalreporter):
    """How many tests were skipped and why, in one line per reason (the data in ../shared counted as one)."""
    reasons: dict[str, int] = {}
    for report in terminalreporter.stats.get("skipped", []):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        if SHARED_MISSING in reason:
            reason = f"{SHARED_MISSING} at {SHARED} (put it in ../shared beside the repository or set QA_BOT_SHARED_DIR)"
        reasons[reason] = reasons.get(reason, 0) + 1
    if reasons:
        terminalreporter.section("skipped tests")
        for reason, count in sorted(reasons.items(), key=lambda item: -item[1]):
            terminalreporter.write_line(f"{count:4d} skipped: {reason}")
