"""The OpenAI-compatible API (`qa-bot serve`, qa_bot/api), driven by clients no one here wrote.

- Inner loop (unmarked): the app on the fakes through FastAPI's TestClient — answers and their citations, follow-ups
  from the messages, errors in OpenAI's shape, the key, the size limit, CORS, documents and summaries.
- ``servers``: the app on the fakes served by uvicorn on a free port, driven by the ``openai`` package (plain and
  streamed completions, the model list, an error), and many clients at once queueing on one model.
- ``servers``, ``real_models``, ``slow``: `qa-bot serve` in its own process on the bundled models over the example
  article, asked the flagship question by the ``llm`` command-line tool and by ``openai``."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import openai
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from typer.testing import CliRunner

from qa_bot import cli
from qa_bot.api import MODEL_ID, create_app
from qa_bot.api.security import check_exposure, is_loopback
from qa_bot.errors import (
    DocumentNotFoundError,
    EmbedderMismatchError,
    IndexBusyError,
    IndexNotFoundError,
    InputError,
    ModelNotFoundError,
    QABotError,
    QuestionError,
    ServerError,
    SettingError,
)

from .conftest import REPO, SEED, ScriptedGenerator
from .servers import ServerProcess, free_port
from .test_pipeline import write_corpus

EVACUATED = "How many residents did officials evacuate from Lowdale?"
FOLLOW_UP = "Which volcano forced them out?"
FLAGSHIP = "What did Russia reportedly give North Korea in exchange?"
ERROR_KEYS = {"message", "type", "param", "code"}


def ask(question: str, *history: tuple[str, str], **fields) -> dict:
    messages = [{"role": "system", "content": "You are a helpful assistant."}]
    for asked, replied in history:
        messages += [{"role": "user", "content": asked}, {"role": "assistant", "content": replied}]
    return {"model": MODEL_ID, "messages": [*messages, {"role": "user", "content": question}], **fields}


def events(body: str) -> list[dict | str]:
    """The server-sent events of a streamed reply: each chunk as JSON, the last as the string "[DONE]"."""
    datas = [line.removeprefix("data: ") for line in body.split("\n\n") if line.startswith("data: ")]
    return [data if data == "[DONE]" else json.loads(data) for data in datas]


@pytest.fixture
def pipeline(make_pipeline, tmp_path):
    p = make_pipeline()
    p.ingest([write_corpus(tmp_path)])
    return p


def client_of(pipeline, **overrides) -> TestClient:
    return TestClient(create_app(pipeline, pipeline.settings.model_copy(update=overrides)))


# -- answers ---------------------------------------------------------------------------------------------------------
def test_a_completion_carries_the_answer_text_and_its_citations(pipeline):
    reply = client_of(pipeline).post("/v1/chat/completions", json=ask(EVACUATED))
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["object"] == "chat.completion" and body["model"] == MODEL_ID
    message = body["choices"][0]["message"]
    assert message["role"] == "assistant" and body["choices"][0]["finish_reason"] == "stop"
    assert message["content"] == pipeline.ask(EVACUATED).text  # the CLI's answer text, [n] markers and all
    assert "1,200" in message["content"] and "[1]" in message["content"]
    citation = body["citations"][0]
    assert citation["n"] == 1 and citation["doc_id"] == "volcano" and "1,200 residents" in citation["quote"]
    assert {"doc_id", "title", "url", "source", "published", "quote"} <= set(citation)
    assert body["related"] == []


def test_a_streamed_completion_is_openai_s_server_sent_events(pipeline):
    with client_of(pipeline).stream("POST", "/v1/chat/completions", json=ask(EVACUATED, stream=True)) as reply:
        assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/event-stream")
        chunks = events(reply.read().decode())
    assert chunks[-1] == "[DONE]"
    first, *middle, last = chunks[:-1]
    assert all(c["object"] == "chat.completion.chunk" and c["model"] == MODEL_ID for c in chunks[:-1])
    assert len({c["id"] for c in chunks[:-1]}) == 1
    assert first["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    text = "".join(c["choices"][0]["delta"]["content"] for c in middle)
    assert len(middle) > 1 and text == pipeline.ask(EVACUATED).text
    assert last["choices"][0]["finish_reason"] == "stop" and last["choices"][0]["delta"] == {}
    assert last["citations"][0]["doc_id"] == "volcano"


def test_a_follow_up_in_the_messages_is_rewritten_as_on_the_chat_page(pipeline):
    first = pipeline.ask(EVACUATED)
    on_the_page = pipeline.ask(FOLLOW_UP, history=[first.as_turn()])  # the Turn the chat page keeps
    assert on_the_page.standalone_question  # the follow-up was rewritten there
    # An OpenAI client sends back only the question and the text it was shown; the Turn made of them is the same.
    assert pipeline.answerer.turns([(EVACUATED, first.text)]) == [first.as_turn()]
    reply = client_of(pipeline).post("/v1/chat/completions", json=ask(FOLLOW_UP, (EVACUATED, first.text)))
    assert reply.status_code == 200, reply.text
    assert reply.json()["choices"][0]["message"]["content"] == on_the_page.text


def test_the_short_answer_and_quote_are_read_back_from_any_answer_text():
    from qa_bot.answering.compose import DECLINE_TEXT, read_answer_text

    quote = "Officials said: “we left” at 5 a.m. [sic]."
    assert read_answer_text(f"1,200 [1].\n\nFrom the article “Volcano: the day”, 2024-05-01: “{quote}” [1]") == \
        ("1,200", quote)
    assert read_answer_text(f"From Le Parisien, 2024-06-17: “{quote}” [1]") == (quote, quote)
    assert read_answer_text(DECLINE_TEXT) == ("", "")
    assert read_answer_text("  Something a client wrote itself.  ") == ("Something a client wrote itself.", "")


def test_the_model_list_names_what_answers(pipeline):
    models = client_of(pipeline).get("/v1/models").json()
    assert models["object"] == "list" and [m["id"] for m in models["data"]] == [MODEL_ID]
    card = models["data"][0]
    assert card["generator"] == "scripted-llm" and card["embedder"] == "fake-embedder" and card["wording"] == "extract"
    assert client_of(pipeline).get("/healthz").json() == {"status": "ok"}


# -- errors ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("question, status, says", [
    ("   ", 400, "The question is empty"),
    ("x" * 1001, 400, "the limit is 1,000"),
])
def test_an_unusable_question_is_a_400_in_openai_s_shape_with_the_cli_s_message(pipeline, question, status, says):
    reply = client_of(pipeline).post("/v1/chat/completions", json=ask(question))
    assert reply.status_code == status
    error = reply.json()["error"]
    assert set(error) == ERROR_KEYS and error["type"] == "invalid_request_error" and says in error["message"]


@pytest.mark.parametrize("body, status, says", [
    ({"model": "gpt-4o", "messages": [{"role": "user", "content": EVACUATED}]}, 404, "'gpt-4o' is not served here"),
    ({"model": MODEL_ID, "messages": []}, 400, "messages"),
    ({"model": MODEL_ID, "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]},
     400, "the last message must be the user's question"),
    ({"messages": [{"role": "user", "content": EVACUATED}]}, 400, "model"),
])
def test_a_malformed_chat_request_is_refused_in_openai_s_shape(pipeline, body, status, says):
    reply = client_of(pipeline).post("/v1/chat/completions", json=body)
    assert reply.status_code == status and says in reply.json()["error"]["message"]
    assert set(reply.json()["error"]) == ERROR_KEYS


def test_a_body_that_is_not_json_is_a_400(pipeline):
    reply = client_of(pipeline).post("/v1/chat/completions", content=b'{"model": "qa-bot", "messages": [',
                                     headers={"Content-Type": "application/json"})
    assert reply.status_code == 400 and reply.json()["error"]["message"].startswith("the request body is not valid JSON")


@pytest.mark.parametrize("error, status", [
    (QuestionError("q"), 400), (InputError("i"), 400), (QABotError("plain"), 400), (DocumentNotFoundError("d"), 404),
    (IndexNotFoundError("i"), 409), (IndexBusyError("b"), 409), (ServerError("s"), 502), (SettingError("s"), 500),
    (ModelNotFoundError("m"), 500), (EmbedderMismatchError("e"), 500),
])
def test_each_library_error_has_its_status(error, status):
    from qa_bot.api.errors import status_of

    assert status_of(error)[0] == status


def test_an_empty_index_and_an_unknown_route_say_so(make_pipeline):
    reply = client_of(make_pipeline()).post("/v1/chat/completions", json=ask(EVACUATED))
    assert reply.status_code == 409 and "qa-bot ingest" in reply.json()["error"]["message"]
    reply = client_of(make_pipeline()).get("/v1/nothing")
    assert reply.status_code == 404 and reply.json()["error"]["message"] == "no such endpoint: GET /v1/nothing"


def test_an_unexpected_failure_is_a_500_with_no_details(pipeline, monkeypatch):
    monkeypatch.setattr(pipeline, "ask_stream", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("/secret/path")))
    reply = TestClient(create_app(pipeline), raise_server_exceptions=False).post("/v1/chat/completions",
                                                                                  json=ask(EVACUATED))
    assert reply.status_code == 500 and "/secret/path" not in reply.text
    assert reply.json()["error"]["type"] == "server_error"


# -- security --------------------------------------------------------------------------------------------------------
def test_a_key_when_set_is_always_required(pipeline):
    client = client_of(pipeline, api_key=SecretStr("s3cret-key"))
    missing = client.post("/v1/chat/completions", json=ask(EVACUATED))
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "invalid_api_key"
    assert "Authorization: Bearer" in missing.json()["error"]["message"]
    assert missing.headers["www-authenticate"] == "Bearer"
    for header in ("Bearer s3cret-kez", "Bearer s3cret-key-and-more", "Basic s3cret-key", "s3cret-key"):
        wrong = client.get("/v1/models", headers={"Authorization": header})
        assert wrong.status_code == 401, header
    right = client.post("/v1/chat/completions", json=ask(EVACUATED), headers={"Authorization": "Bearer s3cret-key"})
    assert right.status_code == 200 and right.json()["citations"]
    assert client.get("/healthz").status_code == 200  # says only that the server is up


def test_listening_beyond_this_machine_needs_a_key(settings, monkeypatch):
    assert all(map(is_loopback, ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "192.168.1.4", "example.org"]))
    check_exposure(settings)  # the default: loopback, no key needed
    with pytest.raises(SettingError, match="refusing to listen on 0.0.0.0 without an API key"):
        check_exposure(settings.model_copy(update={"api_host": "0.0.0.0"}))
    check_exposure(settings.model_copy(update={"api_host": "0.0.0.0", "api_key": SecretStr("k")}))
    # The CLI refuses before it loads anything, with the same one line.
    monkeypatch.delenv("QA_BOT_API_KEY", raising=False)
    result = CliRunner().invoke(cli.app, ["--index-dir", str(settings.index_dir), "serve", "--host", "0.0.0.0"])
    assert result.exit_code == 1 and "refusing to listen on 0.0.0.0 without an API key" in result.output
    assert not settings.index_dir.exists()


def test_a_request_over_the_size_limit_is_a_413_and_changes_nothing(pipeline):
    client = client_of(pipeline, max_upload_mb=1)
    big = "word " * 300_000  # 1.5 MB
    reply = client.post("/v1/chat/completions", json=ask(big))
    assert reply.status_code == 413 and reply.json()["error"]["code"] == "request_too_large"
    reply = client.post("/v1/documents", files=[("files", ("big.txt", big.encode(), "text/plain"))])
    assert reply.status_code == 413 and "1 MB limit" in reply.json()["error"]["message"]
    body = json.dumps(ask(big)).encode()  # sent in pieces with no length said: counted as it arrives
    reply = client.post("/v1/chat/completions", content=(body[i:i + 65536] for i in range(0, len(body), 65536)),
                        headers={"Content-Type": "application/json"})
    assert reply.status_code == 413 and reply.json()["error"]["code"] == "request_too_large"
    assert [r["doc_id"] for r in client.get("/v1/documents").json()["data"]] == ["budget", "volcano"]


def test_cors_is_off_unless_origins_are_configured(pipeline):
    preflight = {"Origin": "https://notes.example", "Access-Control-Request-Method": "POST"}
    off = client_of(pipeline).options("/v1/chat/completions", headers=preflight)
    assert "access-control-allow-origin" not in off.headers
    on = client_of(pipeline, cors_origins=["https://notes.example"], api_key=SecretStr("k"))
    allowed = on.options("/v1/chat/completions", headers=preflight)
    assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == "https://notes.example"
    other = on.options("/v1/chat/completions", headers={**preflight, "Origin": "https://evil.example"})
    assert other.headers.get("access-control-allow-origin") != "https://evil.example"


def test_cors_origins_are_read_from_a_comma_separated_variable(monkeypatch):
    from qa_bot.settings import load_settings

    monkeypatch.setenv("QA_BOT_CORS_ORIGINS", "https://a.example, https://b.example/")
    monkeypatch.setenv("QA_BOT_API_KEY", "")
    settings = load_settings()
    assert settings.cors_origins == ["https://a.example", "https://b.example"] and settings.api_key is None


# -- documents and summaries -----------------------------------------------------------------------------------------
def test_documents_are_uploaded_listed_and_deleted(pipeline):
    client = client_of(pipeline)
    storm = b"Storm hits coast\n\nA storm hit the coast on Friday, the harbour master said."
    feed = b'{"doc_id": "feed-1", "title": "Bridge opens", "text": "The new bridge opened on Monday."}\n'
    reply = client.post("/v1/documents", files=[("files", ("../My Storm.txt", storm, "text/plain")),
                                                ("files", ("feed.jsonl", feed, "application/jsonl")),
                                                ("files", ("empty.txt", b"", "text/plain"))])
    assert reply.status_code == 200, reply.text
    report = reply.json()
    assert (report["added"], report["unchanged"], report["index"]["docs"]) == (2, 0, 4)
    assert report["errors"] == ["empty.txt: the file is empty (or only whitespace); nothing to index"]
    listed = {r["doc_id"]: r for r in client.get("/v1/documents").json()["data"]}
    assert set(listed) == {"budget", "volcano", "My_Storm", "feed-1"}
    assert listed["My_Storm"] == {"doc_id": "My_Storm", "title": "Storm hits coast", "source": "", "published": None,
                                  "url": None, "chunks": 1}
    again = client.post("/v1/documents", files=[("files", ("My Storm.txt", storm, "text/plain"))]).json()
    assert (again["added"], again["unchanged"]) == (0, 1)

    assert client.delete("/v1/documents/My_Storm").json() == {"id": "My_Storm", "object": "document", "deleted": True}
    gone = client.delete("/v1/documents/My_Storm")
    assert gone.status_code == 404 and gone.json()["error"]["message"] == \
        "no document 'My_Storm' in the index; see the ids with: qa-bot stats --docs"  # the CLI's words


@pytest.mark.parametrize("files, says", [
    ([("empty.txt", b"")], "empty.txt: the file is empty"),
    ([("photo.txt", b"\x89PNG\r\n\x1a\n" + bytes(64))], "photo.txt: this is a PNG image"),
    ([("report.pdf", b"%PDF-1.7 ...")], "report.pdf: "),
    ([("feed.jsonl", b"{not json\n")], "feed.jsonl:1: "),
])
def test_a_bad_file_is_a_400_naming_it_and_loses_nothing(pipeline, files, says):
    client = client_of(pipeline)
    before = client.get("/v1/documents").json()
    reply = client.post("/v1/documents", files=[("files", (name, data, "text/plain")) for name, data in files])
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert error["code"] == "no_documents" and says in error["message"] and "/tmp" not in error["message"]
    assert client.get("/v1/documents").json() == before
    assert client.post("/v1/documents").status_code == 400  # no files at all


def test_summaries_of_documents_and_of_texts(pipeline):
    client = client_of(pipeline)
    reply = client.post("/v1/summaries", json={"doc_ids": ["volcano"],
                                               "texts": ["The council met on Monday. It approved the budget."]})
    assert reply.status_code == 200, reply.text
    volcano, text = reply.json()["data"]
    assert volcano["doc_id"] == "volcano" and volcano["summary"].startswith("The Mount Ember volcano")
    assert text["doc_id"] is None and text["index"] == 0 and "council" in text["summary"]
    missing = client.post("/v1/summaries", json={"doc_ids": ["volcano", "nope"]})
    assert missing.status_code == 404 and "no document 'nope'" in missing.json()["error"]["message"]
    assert client.post("/v1/summaries", json={}).status_code == 400
    empty = client.post("/v1/summaries", json={"texts": ["  "]})
    assert empty.status_code == 400 and "no text to summarise" in empty.json()["error"]["message"]
    assert client.post("/v1/summaries", json={"doc_id": ["volcano"]}).status_code == 400  # misspelt field


# -- the openai package against a served app on the fakes --------------------------------------------------------------
class CountingGenerator(ScriptedGenerator):
    """A model that takes a little time and records how many calls ran at once."""

    def __init__(self):
        super().__init__(lambda messages: "1,200 residents")
        self.active = self.most = 0
        self.guard = threading.Lock()

    def generate(self, messages, max_tokens, stop=()):
        with self.guard:
            self.active += 1
            self.most = max(self.most, self.active)
        time.sleep(0.3)
        with self.guard:
            self.active -= 1
        return super().generate(messages, max_tokens, stop)


@pytest.fixture
def served_api(settings, fake_embedder, ephemeral_client, tmp_path, monkeypatch):
    """The app on the fakes, served by uvicorn on a free localhost port in this process; the model is made on first
    use by a counting factory, as the real one is loaded."""
    import uvicorn

    import qa_bot.pipeline

    made: list[CountingGenerator] = []

    def make_generator(settings):
        time.sleep(0.2)  # a model takes a while to load: two first requests would both load one
        made.append(CountingGenerator())
        return made[-1]

    monkeypatch.setattr(qa_bot.pipeline, "make_generator", make_generator)
    # wording="model": every answer calls the model, so the requests meet on it
    settings = settings.model_copy(update={"answer": settings.answer.model_copy(update={"wording": "model"})})
    pipeline = qa_bot.pipeline.Pipeline(settings, embedder=fake_embedder, client=ephemeral_client)
    pipeline.ingest([write_corpus(tmp_path)])
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(pipeline), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}", made
    server.should_exit = True
    thread.join(timeout=15)


@pytest.mark.servers
def test_the_openai_package_gets_answers_streams_models_and_errors(served_api):
    url, _ = served_api
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
    assert [m.id for m in client.models.list()] == [MODEL_ID]

    reply = client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": EVACUATED}])
    assert reply.model == MODEL_ID and "[1]" in reply.choices[0].message.content
    assert reply.model_extra["citations"][0]["doc_id"] == "volcano"  # the extra field, as the client keeps it

    stream = client.chat.completions.create(model=MODEL_ID, stream=True, stream_options={"include_usage": True},
                                            messages=[{"role": "user", "content": EVACUATED}])
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == reply.choices[0].message.content
    assert chunks[-1].choices[0].finish_reason == "stop" and chunks[-1].model_extra["citations"][0]["n"] == 1

    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": ""}])
    assert err.value.status_code == 400 and "The question is empty" in err.value.message
    with pytest.raises(openai.NotFoundError, match="not served here"):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": EVACUATED}])


@pytest.mark.servers
def test_clients_at_once_queue_on_one_model_and_the_server_stays_responsive(served_api):
    url, made = served_api
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=60)

    def one(_):
        return client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": EVACUATED}])

    with ThreadPoolExecutor(6) as pool:
        replies = pool.map(one, range(6))
        time.sleep(0.5)  # the model is busy now: the event loop still answers at once
        t0 = time.perf_counter()
        assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200
        health_s = time.perf_counter() - t0
        replies = list(replies)
    assert all("[1]" in r.choices[0].message.content for r in replies)
    assert len(made) == 1 and made[0].most == 1 and len(made[0].prompts) == 6  # one model, one call at a time
    assert health_s < 1.0  # while the six answers queue for 6 × 0.3 s of model time


# -- real clients on the real models -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real_api_server(tmp_path_factory):
    """`qa-bot serve` in its own process, on the bundled models, over an index of the example article."""
    folder = tmp_path_factory.mktemp("real-api")
    index = folder / "index"
    ingest = subprocess.run([sys.executable, "-m", "qa_bot.cli", "--index-dir", str(index), "ingest", str(SEED)],
                            cwd=REPO, capture_output=True, text=True, timeout=600)
    assert ingest.returncode == 0, ingest.stderr
    port = free_port()
    server = ServerProcess("qa-bot serve", [sys.executable, "-m", "qa_bot.cli", "--index-dir", str(index), "serve",
                                            "--port", str(port)],
                           f"http://127.0.0.1:{port}/healthz", folder / "serve.log", startup_s=300).start()
    yield f"http://127.0.0.1:{port}/v1"
    server.stop()


@pytest.mark.servers
@pytest.mark.real_models
@pytest.mark.slow
def test_the_llm_tool_asks_the_flagship_question(real_api_server, tmp_path):
    """`llm`, registered through its extra-openai-models.yaml as the README says, streams the answer."""
    user_dir = tmp_path / "llm"
    user_dir.mkdir()
    (user_dir / "extra-openai-models.yaml").write_text(
        f"- model_id: qa-bot\n  model_name: qa-bot\n  api_base: {real_api_server}\n")
    llm = Path(sys.executable).with_name("llm")
    env = {**os.environ, "LLM_USER_PATH": str(user_dir)}
    result = subprocess.run([str(llm), "-m", "qa-bot", FLAGSHIP], env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    answer = result.stdout
    assert "[1]" in answer and "satellite" in answer and "food" in answer

    # `llm -c` sends the conversation so far: the follow-up is rewritten from it ("he", "him"), and answered; asked
    # alone, the same words are declined.
    def llm_says(*args: str) -> str:
        said = subprocess.run([str(llm), *args], env=env, capture_output=True, text=True, timeout=300)
        assert said.returncode == 0, said.stderr
        return said.stdout

    assert "Kim Jong-un [1]" in llm_says("-m", "qa-bot", "Who greeted Vladimir Putin?")
    assert "June 18 and 19 [1]" in llm_says("-c", "When did he greet him?")
    assert "do not say" in llm_says("-m", "qa-bot", "When did he greet him?")


@pytest.mark.servers
@pytest.mark.real_models
@pytest.mark.slow
def test_the_openai_package_gets_the_flagship_answer_and_its_source(real_api_server):
    client = openai.OpenAI(base_url=real_api_server, api_key="unused", max_retries=0, timeout=300)
    reply = client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": FLAGSHIP}])
    assert "satellite program" in reply.choices[0].message.content
    citation = reply.model_extra["citations"][0]
    assert citation["doc_id"] == SEED.stem and "satellite program" in citation["quote"]
    assert citation["title"].startswith("North Korea: Vladimir Putin")
