"""Hybrid retrieval: dense top-k from the store plus BM25 (bm25s) over the same chunks, fused by reciprocal rank."""
from __future__ import annotations

import math
import shutil
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .embed import Embedder
from .records import Chunk, Hit
from .store import ChromaStore


@dataclass(frozen=True)
class Filters:
    sources: tuple[str, ...] = ()
    date_from: str | None = None  # YYYY-MM-DD, inclusive
    date_to: str | None = None

    def chroma_where(self) -> dict | None:
        clauses: list[dict] = []
        if self.sources:
            clauses.append({"source": {"$in": list(self.sources)}})
        if self.date_from:
            clauses.append({"published_day": {"$gte": int(self.date_from.replace("-", ""))}})
        if self.date_to:
            clauses.append({"published_day": {"$lte": int(self.date_to.replace("-", ""))}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def accepts(self, source: str, published: str | None) -> bool:
        if self.sources and source not in self.sources:
            return False
        if (self.date_from or self.date_to) and not published:
            return False
        if self.date_from and published < self.date_from:
            return False
        if self.date_to and published > self.date_to:
            return False
        return True

    def __bool__(self) -> bool:
        return bool(self.sources or self.date_from or self.date_to)


def _stemmer():
    try:
        import Stemmer

        return Stemmer.Stemmer("english")
    except ImportError:  # PyStemmer is a declared dependency; without it BM25 still works on surface forms
        return None


class LexicalIndex:
    """bm25s over every chunk of a collection, persisted next to an embedded index and rebuilt when the store's
    fingerprint changes. Holds only chunk ids, filter fields and the sparse score matrix in memory, not texts."""

    def __init__(self, store: ChromaStore, cache_dir: Path | None):
        import bm25s

        self._bm25s = bm25s
        self.store = store
        self.cache_dir = cache_dir
        self.stemmer = _stemmer()
        fingerprint = store.fingerprint()
        folder = cache_dir / f"{store.name}-{fingerprint}" if cache_dir else None
        if folder and (folder / "ids.txt").exists():
            self._load(folder)
        else:
            self._build()
            if folder:
                self._save(folder)

    def _tokenizer(self):
        return self._bm25s.tokenization.Tokenizer(stopwords="en", stemmer=self.stemmer, lower=True)

    def _build(self) -> None:
        ids, texts, sources, published = [], [], [], []
        for chunk in self.store.iter_chunks():
            ids.append(chunk.chunk_id)
            texts.append(f"{chunk.title}\n{chunk.text}")
            sources.append(chunk.source)
            published.append(chunk.published or "")
        self.ids, self.sources, self.published = ids, sources, published
        self.tokenizer = self._tokenizer()
        self.retriever = self._bm25s.BM25()
        if texts:
            tokens = self.tokenizer.tokenize(texts, show_progress=False, return_as="tuple")
            self.retriever.index(tokens, show_progress=False)
            df: Counter[int] = Counter()
            for row in tokens.ids:
                df.update(set(row))
            self.df = df
        else:
            self.df = Counter()

    def _save(self, folder: Path) -> None:
        for stale in folder.parent.glob(f"{self.store.name}-*"):
            shutil.rmtree(stale, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
        if self.ids:
            self.retriever.save(str(folder / "bm25"))
            self.tokenizer.save_vocab(str(folder / "bm25"))
        np.save(folder / "df.npy", np.array(sorted(self.df.items()), dtype=np.int64).reshape(-1, 2))
        (folder / "meta.tsv").write_text(
            "\n".join(f"{s}\t{p}" for s, p in zip(self.sources, self.published)), encoding="utf-8"
        )
        (folder / "ids.txt").write_text("\n".join(self.ids), encoding="utf-8")  # written last: marks it complete

    def _load(self, folder: Path) -> None:
        self.ids = [line for line in (folder / "ids.txt").read_text(encoding="utf-8").split("\n") if line]
        rows = (folder / "meta.tsv").read_text(encoding="utf-8").split("\n") if self.ids else []
        self.sources = [row.split("\t")[0] for row in rows]
        self.published = [row.split("\t")[1] if "\t" in row else "" for row in rows]
        self.tokenizer = self._tokenizer()
        self.retriever = self._bm25s.BM25()
        if self.ids:
            self.retriever = self._bm25s.BM25.load(str(folder / "bm25"))
            self.tokenizer.load_vocab(str(folder / "bm25"))
        self.df = Counter({int(k): int(v) for k, v in np.load(folder / "df.npy").reshape(-1, 2)})

    def idf(self, terms: list[str]) -> dict[str, float]:
        """Inverse document frequency (over chunks) of each surface term, stemmed as the index is."""
        n = max(len(self.ids), 1)
        vocab = self.tokenizer.get_vocab_dict() if self.ids else {}
        result = {}
        for term in terms:
            stem = self.stemmer.stemWord(term.lower()) if self.stemmer else term.lower()
            df = self.df.get(vocab.get(stem, -1), 0)
            result[term] = math.log(1 + (n - df + 0.5) / (df + 0.5))
        return result

    def search(self, query: str, n: int, filters: Filters | None = None) -> list[tuple[str, float]]:
        if not self.ids:
            return []
        tokens = self.tokenizer.tokenize([query], update_vocab=False, show_progress=False, return_as="string")
        if not tokens or not tokens[0]:
            return []
        # Ask for more when filtering afterwards, so a filter does not starve the lexical side.
        want = min(len(self.ids), n * 5 if filters else n)
        docs, scores = self.retriever.retrieve(tokens, k=want, show_progress=False, n_threads=1)
        results = []
        for index, score in zip(docs[0], scores[0]):
            if score <= 0:
                continue
            if filters and not filters.accepts(self.sources[index], self.published[index] or None):
                continue
            results.append((self.ids[index], float(score)))
            if len(results) == n:
                break
        return results


class Retriever:
    def __init__(self, store: ChromaStore, embedder: Embedder, *, candidates: int = 30, rrf_k: int = 60,
                 fusion: str = "rrf", lexical_cache: Path | None = None):
        self.store = store
        self.embedder = embedder
        self.candidates = candidates
        self.rrf_k = rrf_k
        self.fusion = fusion
        self.lexical_cache = lexical_cache
        self._lexical: LexicalIndex | None = None
        self._lexical_counts: tuple[int, int] | None = None
        self._lock = threading.Lock()

    @property
    def lexical(self) -> LexicalIndex:
        """The BM25 side, rebuilt (or reloaded from its cache) when the index changed since it was built.

        Per query only the two counts are compared (cheap, catches another process's ingest or delete); this
        process's own writes call :meth:`invalidate`."""
        with self._lock:
            counts = (self.store.count_documents(), self.store.count_chunks())
            if self._lexical is None or counts != self._lexical_counts:
                self._lexical = LexicalIndex(self.store, self.lexical_cache)
                self._lexical_counts = counts
            return self._lexical

    def invalidate(self) -> None:
        with self._lock:
            self._lexical = None

    def search(self, query: str, k: int = 5, filters: Filters | None = None,
               query_vector: np.ndarray | None = None) -> list[Hit]:
        filters = filters or Filters()
        vector = self.embedder.embed_query(query) if query_vector is None else query_vector
        dense = [] if self.fusion == "lexical" else self.store.query(vector, self.candidates, filters.chroma_where())
        lexical = [] if self.fusion == "dense" else self.lexical.search(query, self.candidates, filters)

        hits: dict[str, Hit] = {}
        for rank, (chunk, similarity) in enumerate(dense, start=1):
            hits[chunk.chunk_id] = Hit(chunk=chunk, score=1.0 / (self.rrf_k + rank), dense_rank=rank,
                                       dense_score=similarity)
        missing = [cid for cid, _ in lexical if cid not in hits]
        fetched = {c.chunk_id: c for c in self.store.get_chunks(missing)}
        for rank, (chunk_id, _score) in enumerate(lexical, start=1):
            hit = hits.get(chunk_id)
            if hit is None:
                chunk = fetched.get(chunk_id)
                if chunk is None:
                    continue
                hit = hits[chunk_id] = Hit(chunk=chunk, score=0.0)
            hit.lexical_rank = rank
            hit.score += 1.0 / (self.rrf_k + rank)
        ranked = sorted(hits.values(), key=lambda h: (-h.score, h.chunk.chunk_id))
        return ranked[:k]


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b))


__all__ = ["Filters", "Retriever", "LexicalIndex", "Chunk"]
