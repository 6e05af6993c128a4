"""`qa-bot stats` says what it knows: the size of an embedded index on disk, and that a server's is not known here."""
import json

from qa_bot import cli

from .test_cli import run, use_fakes  # noqa: F401  (a fixture)
from .test_pipeline import write_corpus


def test_the_size_line_shows_megabytes_on_disk_and_n_a_for_a_server():
    base = {"docs": 3, "chunks": 7, "embedder": "e", "collection": "articles"}
    local = cli.format_stats({**base, "bytes": 3 * 2**20, "index_dir": "/data/index"})
    assert local == "3 documents, 7 chunks, embedder e, 3.0 MB at /data/index (collection articles)"
    remote = cli.format_stats({**base, "bytes": None, "index_dir": "http://127.0.0.1:8000"})
    assert remote.endswith("at http://127.0.0.1:8000 (collection articles); size: n/a (Chroma server)")
    assert "MB" not in remote


def test_stats_against_a_chroma_server_does_not_claim_zero_bytes(use_fakes, tmp_path, monkeypatch):  # noqa: F811
    assert run("ingest", write_corpus(tmp_path)).exit_code == 0
    monkeypatch.setenv("QA_BOT_CHROMA_URL", "http://127.0.0.1:8000")  # the fakes' client stands in for the server
    result = run("stats")
    assert result.exit_code == 0, result.output
    assert "size: n/a (Chroma server)" in result.output and "0.0 MB" not in result.output
    assert json.loads(run("stats", "--json").output)["bytes"] is None
    monkeypatch.delenv("QA_BOT_CHROMA_URL")
    assert " MB at " in run("stats").output
