"""qa-bot against real servers started here on localhost: a Chroma server (`chroma run`) for the store and
llama-cpp-python's OpenAI-compatible server for generation. Only settings change (QA_BOT_CHROMA_URL, QA_BOT_LLM_URL);
answers, citations and summaries must be the ones the embedded store and the in-process model give."""
from __future__ import annotations

import collections
import http.server
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from qa_bot.errors import ModelNotFoundError, ServerError
from qa_bot.generate import LlamaCppGenerator, OpenAICompatibleGenerator, make_generator, resolve_model_path
from qa_bot.pipeline import Pipeline
from qa_bot.retrieve import ChromaFullTextIndex, LexicalIndex
from qa_bot.settings import AnswerSettings, Settings

from .conftest import REPO, SEED, FakeEmbedder, ScriptedGenerator, shared_path
from .servers import chroma_server, free_port, llama_server, url_of

pytestmark = pytest.mark.timeout(600)  # a guard against hangs: the whole file took 18 min at load average ~20 here

SEED_ID = "000_b060f3c20b339b0c"
# Articles the dev questions below are about, plus unrelated ones, so retrieval has something to get wrong.
GOLD_DOCS = ["seed-putin-nk", "voa-n141", "voa-n142", "voa-n143", "voa-n145", "voa-n149", "voa-n151", "voa-n153",
             "voa-n155"]
N_DISTRACTORS = 24
QUESTIONS = ["dev-01", "dev-06", "dev-15", "dev-21", "dev-41"]  # dev-41: the articles do not answer it


# --- helpers -------------------------------------------------------------------------------------------------------
def echo_first_evidence(messages) -> str:
    """A deterministic 'model': answers with evidence sentence [1], so the answer shows which evidence came first."""
    found = re.search(r"^\[1\] (.+)$", messages[-1]["content"], re.MULTILINE)
    return f"{found.group(1)} [1]" if found else "The articles do not say."


def comparable(answer) -> dict:
    data = answer.to_json()
    data.pop("timings")
    return data


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """A small corpus in a temporary folder (article texts stay out of the repository)."""
    records = [json.loads(line) for line in shared_path("corpus", "news-small.jsonl").open(encoding="utf-8")]
    by_id = {r["doc_id"]: r for r in records}
    chosen = [by_id[d] for d in GOLD_DOCS] + [r for r in records if r["doc_id"] not in GOLD_DOCS][:N_DISTRACTORS]
    path = tmp_path_factory.mktemp("corpus") / "articles.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in chosen) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def questions() -> list[str]:
    gold = {g["id"]: g for g in map(json.loads, shared_path("gold", "dev.jsonl").open(encoding="utf-8"))}
    return [gold[q]["question"] for q in QUESTIONS]


@pytest.fixture(scope="module")
def chroma(tmp_path_factory):
    server = chroma_server(tmp_path_factory.mktemp("chroma-server") / "data").start()
    yield server
    server.stop()


def settings_for(tmp: Path, **overrides) -> Settings:
    values = dict(index_dir=tmp / "index", collection="articles", _env_file=None)
    return Settings(**{**values, **overrides})


# --- Chroma server: same answers as the embedded store ---------------------------------------------------------
@pytest.mark.servers
@pytest.mark.slow
@pytest.mark.parametrize("lexical", ["bm25s", "chroma-fts"])
def test_chroma_server_gives_the_embedded_store_answers(lexical, chroma, corpus, questions, tmp_path):
    """The hashed-word embedder keeps this fast; the store is what is compared, and both sides embed alike."""
    embedded_llm, server_llm = ScriptedGenerator(echo_first_evidence), ScriptedGenerator(echo_first_evidence)
    embedded = Pipeline(settings_for(tmp_path / "embedded", lexical=lexical), embedder=FakeEmbedder(),
                        generator=embedded_llm)
    server = Pipeline(settings_for(tmp_path / "server", lexical=lexical, chroma_url=url_of(chroma),
                                   collection=f"articles-{lexical}"),
                      embedder=FakeEmbedder(), generator=server_llm)
    assert server.store(create=True).remote and not embedded.store(create=True).remote

    reports = [p.ingest([corpus]) for p in (embedded, server)]
    assert reports[0].added == reports[1].added == len(GOLD_DOCS) + N_DISTRACTORS
    assert reports[0].chunks == reports[1].chunks
    assert embedded.stats()["chunks"] == server.stats()["chunks"] == reports[0].chunks
    expected_lexical = ChromaFullTextIndex if lexical == "chroma-fts" else LexicalIndex
    assert isinstance(server.retriever.lexical_index, expected_lexical)

    answers = []
    for question in questions:
        a, b = embedded.ask(question), server.ask(question)
        assert comparable(a) == comparable(b), question
        answers.append(a)
    assert embedded_llm.prompts == server_llm.prompts  # the model saw the same evidence in the same order
    assert sum(not a.declined for a in answers) >= 3
    cited = next(c.doc_id for a in answers if not a.declined for c in a.citations)

    # delete → the article is gone from both, and both still agree
    assert embedded.delete(cited) and server.delete(cited)
    assert embedded.stats()["docs"] == server.stats()["docs"] == len(GOLD_DOCS) + N_DISTRACTORS - 1
    assert server.store().document_chunks(cited) == []
    for question in questions:
        a, b = embedded.ask(question), server.ask(question)
        assert comparable(a) == comparable(b), question
        assert all(h.chunk.doc_id != cited for h in b.hits)

    # a second ingest of the same corpus changes nothing but the deleted article, which comes back
    again = server.ingest([corpus])
    assert (again.added, again.updated, again.unchanged) == (1, 0, len(GOLD_DOCS) + N_DISTRACTORS - 1)


@pytest.mark.servers
@pytest.mark.slow
def test_auto_uses_chroma_full_text_search_with_a_server(chroma, tmp_path):
    server = Pipeline(settings_for(tmp_path, chroma_url=url_of(chroma), collection="auto-check"),
                      embedder=FakeEmbedder(), generator=ScriptedGenerator())
    server.ingest([SEED])
    assert isinstance(server.retriever.lexical_index, ChromaFullTextIndex)
    hits = server.retriever.search("Putin Pyongyang satellite", k=3)
    assert hits and hits[0].lexical_rank is not None and hits[0].chunk.doc_id == SEED_ID
    embedded = Pipeline(settings_for(tmp_path / "e"), embedder=FakeEmbedder(), generator=ScriptedGenerator())
    embedded.ingest([SEED])
    assert isinstance(embedded.retriever.lexical_index, LexicalIndex)


@pytest.mark.servers
@pytest.mark.slow
def test_full_text_lexical_side_follows_filters_and_changes(chroma, tmp_path):
    """Filters go to the server with the full-text condition, and an ingest or delete is seen by the next query."""
    p = Pipeline(settings_for(tmp_path, chroma_url=url_of(chroma), collection="fts-filters"),
                 embedder=FakeEmbedder(), generator=ScriptedGenerator())
    from qa_bot.records import Document
    from qa_bot.retrieve import Filters

    docs = [Document(doc_id=f"d{i}", text=f"The zeppelin festival opened in town number {i}. " * 3,
                     title=f"Festival {i}", source="Herald" if i % 2 else "Courier", published=f"2024-0{i + 1}-01",
                     content_hash=f"h{i}") for i in range(4)]
    p.ingest_documents(docs)
    hits = p.retriever.lexical_index.search("zeppelin festival", 10, Filters(sources=("Herald",)))
    found = {c.doc_id for c in p.store().get_chunks([cid for cid, _ in hits])}
    assert found == {"d1", "d3"}
    p.delete("d1")
    found = {c.doc_id for c in p.store().get_chunks([cid for cid, _ in p.retriever.lexical_index.search("zeppelin", 10)])}
    assert found == {"d0", "d2", "d3"}


# --- Chroma server killed mid-ingest ---------------------------------------------------------------------------
def _crash_during_second_batch(store, crash) -> None:
    """Call ``crash`` right after the first chunk write that follows a registry write: the first batch of documents
    is complete, the second has chunks written but no registry records yet, the worst moment to die."""
    write_chunks, write_records = store._chunks.upsert, store._docs.upsert
    state = {"records_written": 0, "crashed": False}

    def upsert_chunks(**kwargs):
        result = write_chunks(**kwargs)
        if state["records_written"] and not state["crashed"]:
            state["crashed"] = True
            crash()
        return result

    def upsert_records(**kwargs):
        result = write_records(**kwargs)
        state["records_written"] += 1
        return result

    store._chunks.upsert, store._docs.upsert = upsert_chunks, upsert_records


def _assert_complete(pipeline, expected_docs: int, reference_ids: set[str]) -> None:
    store = pipeline.store()
    chunks = list(store.iter_chunks())
    assert store.count_documents() == expected_docs
    assert {c.chunk_id for c in chunks} == reference_ids
    per_doc = collections.Counter((c.doc_id, c.index) for c in chunks)
    assert max(per_doc.values()) == 1  # no chunk twice
    assert sum(r.n_chunks for r in store.documents()) == len(chunks)
    # chunks are found again by their own vectors: the vector index survived the crash, not just the rows. Among
    # the top 3, not necessarily first: HNSW search is approximate, and overlapping neighbour chunks of one article
    # have nearly the same hashed bag-of-words vector (a neighbour came first in one full-suite run).
    embedder = FakeEmbedder()
    for chunk in chunks[::3]:
        assert chunk.chunk_id in {hit.chunk_id for hit, _ in store.query(embedder.embed_query(chunk.text), 3)}


@pytest.fixture
def kill_corpus(tmp_path) -> tuple[Path, set[str], int]:
    """40 articles, and the chunk ids an uninterrupted embedded ingest of them gives."""
    records = [json.loads(line) for line in shared_path("corpus", "news-small.jsonl").open(encoding="utf-8")][:40]
    path = tmp_path / "kill-corpus.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8")
    reference = Pipeline(settings_for(tmp_path / "reference"), embedder=FakeEmbedder(), generator=ScriptedGenerator())
    reference.ingest([path])
    return path, {c.chunk_id for c in reference.store().iter_chunks()}, len(records)


@pytest.mark.servers
@pytest.mark.slow
def test_killed_chroma_server_mid_ingest_then_rerun_completes_the_index(kill_corpus, tmp_path):
    path, reference_ids, n_docs = kill_corpus
    server = chroma_server(tmp_path / "chroma-data").start()
    try:
        settings = settings_for(tmp_path, chroma_url=url_of(server), server_retries=1)
        first = Pipeline(settings, embedder=FakeEmbedder(), generator=ScriptedGenerator())
        _crash_during_second_batch(first.store(create=True), server.kill)
        with pytest.raises(ServerError, match=r"cannot reach the Chroma server .*rerun the command") as failure:
            first.ingest([path])
        assert "\n" not in str(failure.value)

        server.start()  # same data folder, same port
        rerun = Pipeline(settings, embedder=FakeEmbedder(), generator=ScriptedGenerator()).ingest([path])
        assert rerun.unchanged == 32 and rerun.added == n_docs - 32  # ingest writes batches of 32 documents
        assert rerun.orphans_removed > 0  # the chunks written just before the kill, whose record was not
        _assert_complete(Pipeline(settings, embedder=FakeEmbedder(), generator=ScriptedGenerator()), n_docs,
                         reference_ids)
    finally:
        server.stop()


@pytest.mark.servers
@pytest.mark.slow
def test_chroma_server_back_within_the_backoff_lets_the_same_ingest_finish(kill_corpus, tmp_path):
    path, reference_ids, n_docs = kill_corpus
    server = chroma_server(tmp_path / "chroma-data").start()
    try:
        # 5 retries back off 0.5 + 1 + 2 + 4 + 8 s: room for a restart
        settings = settings_for(tmp_path, chroma_url=url_of(server), server_retries=5)
        p = Pipeline(settings, embedder=FakeEmbedder(), generator=ScriptedGenerator())

        def crash_and_restart() -> None:
            server.kill()
            threading.Thread(target=server.start, daemon=True).start()

        _crash_during_second_batch(p.store(create=True), crash_and_restart)
        report = p.ingest([path])
        assert report.added == n_docs and not report.errors
        _assert_complete(p, n_docs, reference_ids)
    finally:
        server.stop()


# --- unreachable, slow and failing servers --------------------------------------------------------------------
class _Handler(http.server.BaseHTTPRequestHandler):
    """Alive (the heartbeat answers) but every real request fails with HTTP 500, in Chroma's error format."""

    def _reply(self):
        alive = self.path.endswith("/heartbeat")
        body = json.dumps({"nanosecond heartbeat": 1} if alive else
                          {"error": "InternalError", "message": "disk on fire"}).encode()
        self.send_response(200 if alive else 500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _reply

    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture
def failing_server():
    """An HTTP server on localhost that answers every request but the heartbeat with HTTP 500."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def silent_server():
    """A TCP server on localhost that accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


def _store_settings(tmp_path, url, **overrides):
    return settings_for(tmp_path, chroma_url=url, server_retries=1, server_timeout_s=0.5, **overrides)


def test_unreachable_chroma_server_is_a_one_line_error(tmp_path):
    p = Pipeline(_store_settings(tmp_path, f"http://127.0.0.1:{free_port()}"), embedder=FakeEmbedder())
    with pytest.raises(ServerError, match=r"cannot reach the Chroma server at http://127\.0\.0\.1:\d+ \(ConnectError, "
                                          r"2 tries\); start it"):
        p.stats()


@pytest.mark.slow  # waits out two timeouts and a backoff
def test_silent_chroma_server_times_out_after_retries(silent_server, tmp_path):
    p = Pipeline(_store_settings(tmp_path, silent_server), embedder=FakeEmbedder())
    started = time.monotonic()
    with pytest.raises(ServerError, match=r"did not answer within the timeout, 2 tries; .*QA_BOT_SERVER_TIMEOUT_S"):
        p.stats()
    assert time.monotonic() - started < 10  # 2 tries x 0.5 s + 0.5 s backoff, not forever


def test_chroma_server_answering_errors_is_reported(failing_server, tmp_path):
    p = Pipeline(_store_settings(tmp_path, failing_server), embedder=FakeEmbedder())
    with pytest.raises(ServerError, match=r"answered with an error, 2 tries \(InternalError: disk on fire\)"):
        p.stats()


def test_bad_chroma_url_is_reported(tmp_path):
    with pytest.raises(ServerError, match=r"is not a URL like http://127\.0\.0\.1:8000"):
        Pipeline(_store_settings(tmp_path, "127.0.0.1:8000"), embedder=FakeEmbedder()).stats()


@pytest.mark.slow  # a fresh interpreter
def test_cli_reports_an_unreachable_chroma_server_in_one_line(tmp_path):
    env = {**os.environ, "QA_BOT_SERVER_RETRIES": "0", "HF_HUB_OFFLINE": "1"}
    result = subprocess.run([sys.executable, "-m", "qa_bot.cli", "--chroma-url", f"http://127.0.0.1:{free_port()}",
                             "stats"], env=env, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: cannot reach the Chroma server") and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.servers
@pytest.mark.slow
def test_cli_ingest_and_stats_through_qa_bot_chroma_url(chroma, tmp_path):
    """The real CLI in its own process, configured by the environment alone. It embeds with the fake
    (tests/fake_cli.py): what is tested is where the CLI writes and reads, not the vectors."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("QA_BOT_")},
           "QA_BOT_CHROMA_URL": url_of(chroma), "QA_BOT_COLLECTION": "cli-check", "HF_HUB_OFFLINE": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    cmd = [sys.executable, "-m", "tests.fake_cli"]
    ingest = subprocess.run(cmd + ["ingest", str(SEED), "--json"], env=env, capture_output=True, text=True,
                            cwd=tmp_path, timeout=240)
    assert ingest.returncode == 0, ingest.stderr
    report = json.loads(ingest.stdout)
    assert report["added"] == 1 and report["index"]["index_dir"] == url_of(chroma)
    import chromadb

    client = chromadb.HttpClient(host="127.0.0.1", port=int(url_of(chroma).rsplit(":", 1)[1]))
    assert client.get_collection("cli-check-docs").count() == 1
    assert client.get_collection("cli-check").count() == report["chunks_written"] > 0
    assert not (tmp_path / "index").exists()  # nothing embedded was created beside the server's index

    stats = subprocess.run(cmd + ["stats", "--json"], env=env, capture_output=True, text=True, cwd=tmp_path,
                           timeout=240)
    assert stats.returncode == 0, stats.stderr
    shown = json.loads(stats.stdout)
    assert (shown["docs"], shown["chunks"], shown["index_dir"]) == (1, report["chunks_written"], url_of(chroma))
    assert shown["bytes"] is None  # a server's size is not known here
    assert not (tmp_path / "index").exists()


# --- model server: same generations as the in-process model --------------------------------------------------
@pytest.fixture(scope="module")
def model_server(tmp_path_factory):
    server = llama_server(resolve_model_path("bundled:smollm2"), tmp_path_factory.mktemp("llama-server")).start()
    yield server
    server.stop()


def _server_generator(server, **overrides) -> OpenAICompatibleGenerator:
    # A long timeout: on a busy 2-core machine a 135M model can take a minute per answer; the test's own timeout
    # still bounds the wait.
    settings = Settings(llm_url=url_of(server), llm_model="smollm2", server_timeout_s=280, _env_file=None,
                        **overrides)
    generator = make_generator(settings)
    assert isinstance(generator, OpenAICompatibleGenerator)
    return generator


class Recorder:
    """Wraps a generator and keeps every raw generation, so drafts that verification rejects are compared too."""

    def __init__(self, inner):
        self.inner = inner
        self.name, self.n_ctx = inner.name, inner.n_ctx
        self.outputs: list[str] = []

    def count_tokens(self, text):
        return self.inner.count_tokens(text)

    def generate(self, messages, max_tokens, stop=()):
        return "".join(self.stream(messages, max_tokens, stop))

    def stream(self, messages, max_tokens, stop=()):
        pieces = []
        for piece in self.inner.stream(messages, max_tokens, stop):
            pieces.append(piece)
            yield piece
        self.outputs.append("".join(pieces))


@pytest.mark.servers
@pytest.mark.real_models
@pytest.mark.slow
def test_ask_and_summarize_through_qa_bot_llm_url_match_in_process(model_server, real_generator, real_embedder,
                                                                  tmp_path):
    """Same GGUF, same chat template (llama_cpp.server and the in-process Llama both apply the template stored in
    the GGUF), same sampling at temperature 0 (greedy after llama-cpp-python's default repeat penalty of 1.1, which
    both sides apply): the same tokens, so the same answer, citations and summary."""
    import chromadb

    client = chromadb.EphemeralClient()
    # the model words the answer, so its drafts are compared
    base = dict(index_dir=tmp_path / "index", collection="llm-check", answer=AnswerSettings(wording="model"),
                _env_file=None)
    local_llm, remote_llm = Recorder(real_generator), Recorder(_server_generator(model_server))
    local = Pipeline(Settings(**base), embedder=real_embedder, generator=local_llm, client=client)
    local.ingest([SEED])
    remote = Pipeline(Settings(**base), embedder=real_embedder, generator=remote_llm, client=client)

    question = "Who greeted Vladimir Putin?"
    expected = local.ask(question)
    events = list(remote.ask_stream(question))  # what the CLI and the UI use
    answer = events[-1].answer
    assert comparable(answer) == comparable(expected)
    assert "".join(e.text for e in events if e.kind == "token").strip() == answer.text

    summaries = [p.summarize_document(SEED_ID, use_cache=False) for p in (local, remote)]
    assert (summaries[0].text, summaries[0].path) == (summaries[1].text, summaries[1].path) and summaries[1].text
    assert len(remote_llm.outputs) == 2 and all(remote_llm.outputs)
    assert remote_llm.outputs == local_llm.outputs  # the raw drafts, before verification


@pytest.mark.servers
@pytest.mark.real_models
@pytest.mark.slow
def test_model_server_streams_piece_by_piece(model_server):
    remote = _server_generator(model_server)
    arrivals, pieces = [], []
    for piece in remote.stream([{"role": "user", "content": "Name the days of the week."}], max_tokens=24):
        arrivals.append(time.monotonic())
        pieces.append(piece)
    assert len(pieces) >= 8  # about one piece per token, not one block at the end
    assert arrivals[-1] > arrivals[0]


def test_settings_select_the_model_server():
    generator = make_generator(Settings(llm_url="http://127.0.0.1:9/", llm_model="qwen", _env_file=None))
    assert isinstance(generator, OpenAICompatibleGenerator)
    assert generator.base_url == "http://127.0.0.1:9/v1" and generator.model == "qwen"


class _CutStreamHandler(http.server.BaseHTTPRequestHandler):
    """Starts a streamed chat completion, then drops the connection mid-body, as a crashing server would."""

    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        event = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "m",
                 "choices": [{"index": 0, "delta": {"content": "Hello"}, "finish_reason": None}]}
        data = f"data: {json.dumps(event)}\n\n".encode()
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.write(b"400\r\npartial")  # a chunk announced as 1024 bytes, cut short
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)

    def log_message(self, *args):
        pass


def test_model_server_dropping_mid_answer_is_one_line():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CutStreamHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        remote = OpenAICompatibleGenerator(f"http://127.0.0.1:{server.server_address[1]}", "m", retries=0, timeout=5)
        pieces = []
        with pytest.raises(ServerError, match=r"dropped the connection mid-answer"):
            for piece in remote.stream([{"role": "user", "content": "hi"}], 8):
                pieces.append(piece)
        assert pieces == ["Hello"]
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.slow  # waits out timeouts and backoffs
def test_model_server_errors_are_one_line(failing_server, silent_server):
    messages = [{"role": "user", "content": "hi"}]
    dead = OpenAICompatibleGenerator(f"http://127.0.0.1:{free_port()}", "m", retries=1, timeout=2)
    with pytest.raises(ServerError, match=r"cannot reach the model server at .* \(2 tries\); start it"):
        dead.generate(messages, 8)
    slow = OpenAICompatibleGenerator(silent_server, "m", retries=1, timeout=0.5)
    with pytest.raises(ServerError, match=r"did not answer within 0.5 s \(2 tries\).*QA_BOT_SERVER_TIMEOUT_S"):
        slow.generate(messages, 8)
    failing = OpenAICompatibleGenerator(failing_server, "m", retries=1, timeout=2)
    with pytest.raises(ServerError, match=r"answered HTTP 500 \(2 tries\)"):
        failing.generate(messages, 8)


# --- hf: models ---------------------------------------------------------------------------------------------------
def test_hf_model_offline_and_not_cached_is_one_clear_line(monkeypatch, tmp_path):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    settings = Settings(model="hf:someone/Some-Model-GGUF/some-model-q4_k_m.gguf", _env_file=None)
    with pytest.raises(ModelNotFoundError, match=r"not in the Hugging Face cache and downloads are off") as err:
        make_generator(settings)
    assert "\n" not in str(err.value)
    with pytest.raises(ModelNotFoundError, match=r"expected hf:OWNER/REPO/FILE\.gguf"):
        make_generator(Settings(model="hf:someone/model.gguf", _env_file=None))


def test_hf_model_in_the_cache_loads_without_the_network(monkeypatch, tmp_path):
    """Once fetched, an hf: model is read from the Hugging Face cache, offline."""
    import huggingface_hub.constants

    snapshot = tmp_path / "hub" / "models--someone--Small-GGUF" / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    (snapshot / "small.gguf").symlink_to(resolve_model_path("bundled:smollm2"))
    (tmp_path / "hub" / "models--someone--Small-GGUF" / "refs").mkdir()
    (tmp_path / "hub" / "models--someone--Small-GGUF" / "refs" / "main").write_text("a" * 40)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    generator = make_generator(Settings(model="hf:someone/Small-GGUF/small.gguf", _env_file=None))
    assert isinstance(generator, LlamaCppGenerator) and generator.name == "someone/Small-GGUF/small.gguf"


def test_no_download_is_tried_unless_the_model_setting_says_hf(monkeypatch, tmp_path):
    import huggingface_hub

    def no_network(*args, **kwargs):
        raise AssertionError("the Hugging Face Hub was asked for a model that is not an hf: setting")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", no_network)
    with pytest.raises(ModelNotFoundError, match="model file not found"):
        make_generator(Settings(model=str(tmp_path / "missing.gguf"), _env_file=None))
    with pytest.raises(ModelNotFoundError, match="model file not found"):
        Pipeline(Settings(model=str(tmp_path / "missing.gguf"), _env_file=None)).check_model()
