"""The corpus an evaluation or benchmark runs against: identified by the hash of its bytes, indexed once into its
own collection (named after that hash, the embedder and the chunking), and reused by later runs."""
from __future__ import annotations

import hashlib
import sys
from collections.abc import Sequence
from pathlib import Path

from ..embedders import embedder_identity
from ..errors import IndexNotFoundError, InputError
from .records import GoldItem


def sha256_path(path: Path) -> str:
    """sha256 of a file's bytes; for a folder, of every file's relative name and bytes, in name order."""
    h = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        if file != path:
            h.update(str(file.relative_to(path)).encode() + b"\0")
        with file.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def eval_collection_name(corpus_sha256: str, embedder: str, embed_backend: str, chunk_tokens: int,
                         chunk_overlap_tokens: int) -> str:
    """``eval-<12 hex>``: one collection per corpus content and indexing setup, reused across runs."""
    key = f"{corpus_sha256}|{embedder}|{embed_backend}|{chunk_tokens}|{chunk_overlap_tokens}"
    return "eval-" + hashlib.sha256(key.encode()).hexdigest()[:12]


def count_jsonl_records(path: Path) -> int | None:
    """Non-blank lines of a .jsonl corpus (None for anything else: a folder's document count is not known ahead)."""
    if not path.is_file() or path.suffix.lower() != ".jsonl":
        return None
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.strip())


def prepare_corpus(settings, corpus: Path, embedder):
    """Settings pointing at the corpus's own eval collection, plus a description of the corpus (path, sha256,
    collection). ``embedder`` (when one is injected) names the embedder; else the settings do."""
    corpus = Path(corpus)
    if not corpus.exists():
        raise InputError(f"corpus {corpus} does not exist; pass a .jsonl corpus (or a folder of articles)")
    sha = sha256_path(corpus)
    embedder_name = embedder.name if embedder is not None else embedder_identity(settings.embedder)
    name = eval_collection_name(sha, embedder_name, settings.embed_backend, settings.chunk_tokens,
                                settings.chunk_overlap_tokens)
    return settings.model_copy(update={"collection": name}), {"path": str(corpus), "sha256": sha, "collection": name}


def index_corpus(pipeline, corpus: Path, info: dict, progress: bool) -> None:
    """Index ``corpus`` through the pipeline unless its collection already holds every record; ``info`` records
    the document count and whether the index was reused."""
    expected = count_jsonl_records(Path(corpus))
    store = pipeline.store(create=True)
    have = store.count_documents()
    if expected is not None and have == expected and store.count_chunks() > 0:
        info.update(docs=have, reused=True)
        return
    from tqdm import tqdm

    with tqdm(total=expected, desc="Indexing corpus", unit="doc", file=sys.stderr, disable=not progress) as bar:
        report = pipeline.ingest([corpus], progress=bar.update)
    for issue in report.issues:
        print(f"{'warning' if issue.level == 'warning' else 'skipped'}: {issue}", file=sys.stderr)
    info.update(docs=pipeline.store().count_documents(), reused=False, ingest=report.summary())


def open_pipeline(settings, corpus: Path | str | None, progress: bool, *, embedder=None, generator=None, client=None):
    """The pipeline an evaluation runs on: the configured index, or with ``corpus`` that corpus's own eval
    collection (indexed on first use). Returns (pipeline, the settings it runs with, the corpus's description or
    None). ``embedder``/``generator``/``client`` are handed to the Pipeline (tests pass fakes)."""
    from ..pipeline import Pipeline

    info = None
    if corpus is not None:
        settings, info = prepare_corpus(settings, Path(corpus), embedder)
    pipeline = Pipeline(settings, embedder=embedder, generator=generator, client=client)
    if corpus is not None:
        index_corpus(pipeline, Path(corpus), info, progress)
    if pipeline.store().count_chunks() == 0:
        raise IndexNotFoundError(f"the index {settings.collection!r} at {pipeline.location} is empty; add articles with "
                                 "qa-bot ingest PATH, or pass --corpus FILE")
    return pipeline, settings, info


def missing_gold_docs(pipeline, gold: Sequence[GoldItem]) -> list[str]:
    """Gold documents the index does not hold (retrieval recall cannot reach 1 then)."""
    wanted = sorted({d for item in gold for d in item.doc_ids})
    store = pipeline.store()
    return [d for d in wanted if store.document(d) is None]
