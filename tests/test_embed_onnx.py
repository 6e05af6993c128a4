"""The ONNX embedder against the PyTorch one it replaces: same identity and tokens, vectors that agree, and an export
that concurrent processes can share."""
import json
import shutil
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

from qa_bot.chunk import chunk_document
from qa_bot.embedders import make_embedder
from qa_bot.embedders.onnx_backend import EmbedderExportError, OnnxEmbedder, SentenceTransformerConfig, ensure_exported
from qa_bot.errors import ModelNotFoundError
from qa_bot.load import load_paths

from .conftest import REPO, SEED

QUESTIONS = [
    "What did Russia reportedly give North Korea in exchange?",
    "Who is the president of France?",
    "How many residents were evacuated?",
]


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory):
    """A cache holding both exports, from one trace of MiniLM: the int8 export runs as qa-bot runs it, and the fp32
    model it quantises (the file an fp32 export writes, probe check aside) is kept as the fp32 export. Exporting
    each kind separately traced the model twice, the slowest step of this file."""
    import onnxruntime.quantization as quantization

    cache = tmp_path_factory.mktemp("onnx")
    fp32_target = OnnxEmbedder("all-MiniLM-L6-v2", quantized=False, cache_dir=cache).onnx_path
    quantize = quantization.quantize_dynamic

    def keep_fp32(model_input, model_output, **options):
        shutil.copyfile(model_input, fp32_target)
        return quantize(model_input, model_output, **options)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(quantization, "quantize_dynamic", keep_fp32)
        OnnxEmbedder("all-MiniLM-L6-v2", quantized=True, cache_dir=cache).embed_query("export both kinds")
    assert fp32_target.is_file()
    return cache


@pytest.fixture(scope="module")
def int8(onnx_cache):
    return OnnxEmbedder("all-MiniLM-L6-v2", quantized=True, cache_dir=onnx_cache)


@pytest.fixture(scope="module")
def fp32(onnx_cache):
    return OnnxEmbedder("all-MiniLM-L6-v2", quantized=False, cache_dir=onnx_cache)


@pytest.fixture(scope="module")
def seed_texts(real_embedder):
    """The seed article's chunks as ingest makes them, plus short questions and sentences."""
    (doc,) = list(load_paths([SEED]))
    chunks = chunk_document(doc, real_embedder.count_tokens, 200, 60)
    sentences = [s.strip() + "." for s in doc.text.split(".") if len(s.split()) > 4][:20]
    return [c.text for c in chunks] + sentences + QUESTIONS


@pytest.mark.real_models
@pytest.mark.slow
def test_same_identity_window_and_token_counts_as_the_torch_embedder(int8, real_embedder, seed_texts):
    assert int8.name == real_embedder.name == "all-MiniLM-L6-v2"
    assert int8.max_tokens == real_embedder.max_tokens == 254
    long_text = "word " * 700  # past the window: counting must not truncate
    assert int8.count_tokens(seed_texts + [long_text]) == real_embedder.count_tokens(seed_texts + [long_text])


@pytest.mark.real_models
@pytest.mark.slow
def test_int8_vectors_agree_with_torch(int8, real_embedder, seed_texts):
    ours = int8.embed_documents(seed_texts)
    reference = real_embedder.embed_documents(seed_texts)
    assert ours.shape == reference.shape and ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cosines = (ours * reference).sum(axis=1)
    assert cosines.min() >= 0.98, sorted(cosines)[:3]
    assert cosines.mean() >= 0.99
    # What retrieval needs: each question's nearest texts are the same.
    for question in QUESTIONS:
        assert np.argmax(ours @ int8.embed_query(question)) == np.argmax(reference @ real_embedder.embed_query(question))


@pytest.mark.real_models
@pytest.mark.slow
def test_fp32_vectors_match_torch_and_keep_input_order(fp32, real_embedder, seed_texts):
    mixed = [seed_texts[-1], seed_texts[0], "Hi.", seed_texts[5], "word " * 700]  # lengths out of order, one truncated
    batched = fp32.embed_documents(mixed)
    one_by_one = np.stack([fp32.embed_query(t) for t in mixed])
    np.testing.assert_allclose(batched, one_by_one, atol=1e-4)  # padding and length-sorting change nothing
    cosines = (batched * real_embedder.embed_documents(mixed)).sum(axis=1)
    assert cosines.min() >= 0.9999


@pytest.mark.real_models
@pytest.mark.slow
def test_no_texts_gives_an_empty_matrix(int8):
    assert int8.embed_documents([]).shape == (0, 384)
    assert int8.count_tokens([]) == []


def test_settings_select_the_backend_and_cache_next_to_the_index(settings):
    embedder = make_embedder(settings.model_copy(update={"embed_backend": "onnx-int8", "embed_batch_size": 16}))
    assert isinstance(embedder, OnnxEmbedder) and embedder.quantized and embedder.batch_size == 16
    assert embedder.cache_dir == settings.index_dir / ".onnx"
    assert not make_embedder(settings.model_copy(update={"embed_backend": "onnx"})).quantized


@pytest.mark.real_models
@pytest.mark.slow
def test_export_is_cached_and_reused(int8, onnx_cache):
    int8.embed_query("make sure the export exists")
    exported = sorted(p.name for p in onnx_cache.glob("*.onnx"))
    assert any(name.endswith("-int8.onnx") for name in exported)
    again = OnnxEmbedder("all-MiniLM-L6-v2", quantized=True, cache_dir=onnx_cache)
    t0 = time.perf_counter()
    again.embed_query("no second export")
    assert time.perf_counter() - t0 < 20  # an export takes far longer; loading the cached file does not
    assert sorted(p.name for p in onnx_cache.glob("*.onnx")) == exported
    assert not list(onnx_cache.glob(".export-*"))  # no temporary leftovers


CONCURRENT_EXPORT = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    import qa_bot.embedders.onnx_backend as eo

    log, target = Path(sys.argv[1]), Path(sys.argv[2])

    def slow_export(model_dir, work, target, quantized, config):
        with log.open("a") as f:
            f.write(f"export {os.getpid()}\\n")
        time.sleep(1.0)
        (work / "partial.onnx").write_bytes(b"model bytes")
        os.replace(work / "partial.onnx", target)

    eo.export_onnx = slow_export
    config = eo.SentenceTransformerConfig(eo.resolve_embedder_path("all-MiniLM-L6-v2"))
    path = eo.ensure_exported(config.path, target, True, config)
    print(path.read_bytes().decode())
""")


@pytest.mark.slow  # three fresh interpreters
def test_concurrent_processes_export_once_and_never_see_a_partial_file(tmp_path):
    log, target = tmp_path / "exports.log", tmp_path / "cache" / "model-int8.onnx"
    procs = [subprocess.Popen([sys.executable, "-c", CONCURRENT_EXPORT, str(log), str(target)], cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in outputs]
    assert [out.strip() for out, _ in outputs] == ["model bytes"] * 3
    assert len(log.read_text().splitlines()) == 1
    assert sorted(p.name for p in target.parent.iterdir()) == [".export.lock", "model-int8.onnx"]


def test_failed_export_leaves_nothing_behind(tmp_path, monkeypatch):
    import qa_bot.embedders.onnx_backend as eo

    def broken_export(model_dir, work, target, quantized, config):
        (work / "half.onnx").write_bytes(b"half")
        raise EmbedderExportError("export broke")

    monkeypatch.setattr(eo, "export_onnx", broken_export)
    embedder = OnnxEmbedder("all-MiniLM-L6-v2", cache_dir=tmp_path / "cache")
    with pytest.raises(EmbedderExportError, match="export broke"):
        embedder.embed_query("anything")
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [".export.lock"]


def test_stale_exports_are_removed_after_a_new_one(tmp_path, monkeypatch):
    import re

    import qa_bot.embedders.onnx_backend as eo

    monkeypatch.setattr(eo, "export_onnx", lambda m, work, target, q, c: target.write_bytes(b"new"))
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "all-MiniLM-L6-v2-0000000000000000-int8.onnx").write_bytes(b"old")
    (cache / "all-MiniLM-L6-v2-0000000000000000-fp32.onnx").write_bytes(b"other kind, kept")
    config = SentenceTransformerConfig(eo.resolve_embedder_path("all-MiniLM-L6-v2"))
    target = cache / f"all-MiniLM-L6-v2-{config.fingerprint()}-int8.onnx"
    ensure_exported(config.path, target, True, config,
                    stale=re.compile(r"all-MiniLM-L6-v2-[0-9a-f]{16}-int8\.onnx"))
    assert sorted(p.name for p in cache.glob("*.onnx")) == sorted(
        [target.name, "all-MiniLM-L6-v2-0000000000000000-fp32.onnx"])


def test_unwritable_cache_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    embedder = OnnxEmbedder("all-MiniLM-L6-v2", cache_dir=blocker / "onnx")
    with pytest.raises(EmbedderExportError, match="QA_BOT_EMBED_BACKEND=torch"):
        embedder.embed_query("anything")


def test_models_the_onnx_path_cannot_reproduce_are_refused(tmp_path):
    model = tmp_path / "cls-model"
    (model / "1_Pooling").mkdir(parents=True)
    (model / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]))
    (model / "1_Pooling" / "config.json").write_text(json.dumps(
        {"word_embedding_dimension": 384, "pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False}))
    (model / "tokenizer.json").write_text("{}")
    with pytest.raises(ModelNotFoundError, match="mean pooling.*QA_BOT_EMBED_BACKEND=torch"):
        OnnxEmbedder(str(model), cache_dir=tmp_path / "cache")


@pytest.mark.real_models
@pytest.mark.slow
def test_concurrent_threads_share_one_session(int8):
    results = []
    threads = [threading.Thread(target=lambda: results.append(int8.embed_query("same question"))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and all(np.allclose(r, results[0], atol=1e-6) for r in results)
