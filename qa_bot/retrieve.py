"""Hybrid retrieval: dense top-k from the store plus BM25 over the same chunks, fused by reciprocal rank.

The BM25 side has two strategies: :class:`LexicalIndex` (bm25s over every chunk, in this process) and
:class:`ChromaFullTextIndex` (Chroma's own full-text index finds candidates; nothing per chunk held here), so the
lexical side scales with the store when the vectors live in a Chroma server."""
from __future__ import annotations

import math
import re
import shutil
import threading
from collections import Counter, OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

import numpy as np

from .embedders import Embedder
from .errors import InputError, SettingError
from .records import Chunk, Hit
from .settings import Fusion
from .store import ChromaStore
from .text import date_words, is_calendar_date, stemmer
from .text import stem as stem_word


@dataclass(frozen=True)
class Filters:
    sources: tuple[str, ...] = ()
    date_from: str | None = None  # YYYY-MM-DD, inclusive
    date_to: str | None = None

    def __post_init__(self) -> None:
        for label, value in (("from", self.date_from), ("to", self.date_to)):
            if value is not None and not is_calendar_date(value):
                raise InputError(f"the 'published {label}' date {value!r} is not a date; write it as YYYY-MM-DD, "
                                 f"e.g. 2025-01-31")
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise InputError(f"the 'published from' date {self.date_from} is after the 'published to' date "
                             f"{self.date_to}")

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


LEXICAL_FORMAT = 2  # bump when what is indexed changes, so stale caches are rebuilt


class LexicalIndex:
    """bm25s over every chunk of a collection, persisted next to an embedded index and rebuilt when the store's
    fingerprint changes. Holds only chunk ids, filter fields and the sparse score matrix in memory, not texts."""

    def __init__(self, store: ChromaStore, cache_dir: Path | None):
        import bm25s

        self._bm25s = bm25s
        self.store = store
        self.cache_dir = cache_dir
        self.stemmer = stemmer()
        fingerprint = store.fingerprint()
        folder = cache_dir / f"{store.name}-v{LEXICAL_FORMAT}-{fingerprint}" if cache_dir else None
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
            texts.append(_lexical_text(chunk))
            sources.append(chunk.source)
            published.append(chunk.published or "")
        self.ids, self.sources, self.published = ids, sources, published
        self.tokenizer = self._tokenizer()
        self.retriever = self._bm25s.BM25()
        if texts:
            tokens = self.tokenizer.tokenize(texts, show_progress=False, return_as="tuple")
            self.retriever.index(tokens, show_progress=False)

    def _save(self, folder: Path) -> None:
        for stale in folder.parent.glob(f"{self.store.name}-*"):
            shutil.rmtree(stale, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
        if self.ids:
            self.retriever.save(str(folder / "bm25"))
            self.tokenizer.save_vocab(str(folder / "bm25"))
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


class ChromaFullTextIndex:
    """BM25 without holding the collection: Chroma's full-text index (``$contains``; a trigram index in single-node
    Chroma) finds the chunks that hold the query's words and counts them, and the best candidates are scored by BM25
    here. Memory and work per query are bounded by ``df_cap`` and ``max_candidates``, not by the collection's size.

    Per query: one capped id request per query word (document frequencies, cached until the collection changes; a
    few run at once) and one fetch of at most ``max_candidates`` chunks. Where it differs from bm25s over everything
    (docs/scaling.md): a word is matched case-insensitively as a substring (the longest common prefix of the word and
    its stem), so its document frequency counts substring hits; a word in more than ``df_cap`` chunks is "common": it
    scores with the idf of ``df_cap`` but does not bring candidates; when every word is common, the candidates are
    chunks holding all of (up to) the three rarest ones; the average chunk length comes from a sample; headline and
    date words are scored, as bm25s indexes them, but only the chunk's text can bring it in as a candidate."""

    def __init__(self, store: ChromaStore, *, df_cap: int = 1000, max_candidates: int = 150,
                 k1: float = 1.5, b: float = 0.75, sample: int = 500):
        import bm25s.stopwords

        self.store = store
        self.df_cap = df_cap
        self.max_candidates = max_candidates
        self.k1, self.b = k1, b
        self.stopwords = frozenset(bm25s.stopwords.STOPWORDS_EN)
        self.n_chunks = store.count_chunks()
        sampled = store.sample_chunks(sample)
        lengths = [self._term_counts(_lexical_text(c), {})[0] for c in sampled]
        self.avgdl = max(sum(lengths) / len(lengths), 1.0) if lengths else 1.0
        self._postings: OrderedDict[str, list[str]] = OrderedDict()  # needle -> chunk ids (at most df_cap + 1)
        self._lock = threading.Lock()

    # -- terms ---------------------------------------------------------------------------------------------------
    def _stem(self, word: str) -> str:
        return stem_word(word)

    def _term_counts(self, text: str, stems: dict[str, str]) -> tuple[int, Counter[str]]:
        """The text's length in terms and how often each of ``stems`` occurs in it, with the terms bm25s indexes
        (2+ character words, lower case, English stopwords out, stemmed; each distinct word stemmed once)."""
        length, counts = 0, Counter()
        for word, n in Counter(_TOKEN_RE.findall(text.lower())).items():
            if word in self.stopwords:
                continue
            length += n
            stem = self._stem(word)
            if stem in stems:
                counts[stem] += n
        return length, counts

    def _needle(self, word: str) -> str:
        """What to look for in the text: the part of the word its stem keeps ("elections" -> "election")."""
        stem = self._stem(word)
        common = len(stem) if word.startswith(stem) else next(
            (i for i, (x, y) in enumerate(zip(word, stem)) if x != y), min(len(word), len(stem)))
        return word[:common] if common >= 3 else word

    @staticmethod
    def _contains(needle: str) -> dict:
        # $contains is case-sensitive; a case-insensitive $regex of a literal uses the same trigram index, and was
        # faster than an $or of three casings of $contains (docs/scaling.md).
        return {"$regex": "(?i)" + re.escape(needle)}

    def _query_terms(self, text: str) -> dict[str, str]:
        """stem -> needle for the query's words (needles shorter than 3 characters cannot use a trigram index)."""
        terms: dict[str, str] = {}
        for word in _TOKEN_RE.findall(text.lower()):
            if word in self.stopwords:
                continue
            needle = self._needle(word)
            if len(needle) >= 3:
                terms.setdefault(self._stem(word), needle)
        return terms

    def _ids(self, needle: str) -> list[str]:
        """Ids of the chunks whose text holds ``needle`` (at most df_cap + 1 of them: more means "common")."""
        with self._lock:
            if needle in self._postings:
                self._postings.move_to_end(needle)
                return self._postings[needle]
        ids = self.store.matching_ids(self._contains(needle), limit=self.df_cap + 1)
        with self._lock:
            self._postings[needle] = ids
            while len(self._postings) > 4096:
                self._postings.popitem(last=False)
        return ids

    def _idf(self, df: int) -> float:
        n = max(self.n_chunks, 1)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    # -- search --------------------------------------------------------------------------------------------------
    def search(self, query: str, n: int, filters: Filters | None = None) -> list[tuple[str, float]]:
        if self.n_chunks == 0:
            return []
        terms = self._query_terms(query)
        if not terms:
            return []
        with ThreadPoolExecutor(max_workers=4) as pool:  # the requests wait on the server, not on this process
            postings = dict(zip(terms, pool.map(self._ids, terms.values())))
        idf = {stem: self._idf(min(len(ids), self.df_cap)) for stem, ids in postings.items()}
        rare = sorted((s for s, ids in postings.items() if 0 < len(ids) <= self.df_cap), key=lambda s: len(postings[s]))
        where = filters.chroma_where() if filters else None
        if rare:
            # Rank every chunk that holds a rare word by the idf of the rare words it holds, keep the best.
            prescore: Counter[str] = Counter()
            for stem in rare:
                ids = postings[stem] if where is None else self.store.matching_ids(
                    self._contains(terms[stem]), where=where, limit=self.df_cap + 1)
                for chunk_id in ids:
                    prescore[chunk_id] += idf[stem]
            ranked = sorted(prescore.items(), key=lambda item: (-item[1], item[0]))  # ties by id: same on any store
            candidates = [cid for cid, _ in ranked[: self.max_candidates]]
        else:
            common = sorted((s for s, ids in postings.items() if ids), key=lambda s: len(postings[s]))[:3]
            candidates = []
            while common and not candidates:
                clauses = [self._contains(terms[s]) for s in common]
                condition = clauses[0] if len(clauses) == 1 else {"$and": clauses}
                candidates = self.store.matching_ids(condition, where=where, limit=self.max_candidates)
                common = common[:-1]
        scored = []
        for chunk in self.store.get_chunks(candidates):
            length, counts = self._term_counts(_lexical_text(chunk), terms)
            norm = self.k1 * (1 - self.b + self.b * length / self.avgdl)
            score = sum(idf[s] * tf / (tf + norm) for s, tf in counts.items())
            if score > 0:
                scored.append((chunk.chunk_id, score))
        scored.sort(key=lambda item: (-item[1], item[0]))
        return scored[:n]


_TOKEN_RE = re.compile(r"(?u)\b\w\w+\b")  # bm25s's default token pattern


def _lexical_text(chunk: Chunk) -> str:
    # Headline and date words are searchable too: questions often say "in January 2025".
    return f"{chunk.title}\n{date_words(chunk.published)}\n{chunk.text}"


class Retriever:
    """Dense and BM25 candidates fused by reciprocal rank (``fusion="rrf"``), or one side only (``"dense"``,
    ``"lexical"``). ``lexical_strategy`` names how the BM25 side is computed (``"bm25s"`` or ``"chroma-fts"``);
    :attr:`lexical_index` is that index itself."""

    def __init__(self, store: ChromaStore, embedder: Embedder, *, candidates: int = 30, rrf_k: int = 60,
                 fusion: Fusion = "rrf", lexical_cache: Path | None = None, lexical_strategy: str = "bm25s"):
        if fusion not in get_args(Fusion):
            raise SettingError(f"QA_BOT_FUSION={fusion!r} is not a fusion; use one of {', '.join(get_args(Fusion))}")
        if lexical_strategy not in ("bm25s", "chroma-fts"):
            raise SettingError(f"QA_BOT_LEXICAL={lexical_strategy!r} is not a BM25 strategy; use bm25s or chroma-fts")
        self.store = store
        self.lexical_strategy = lexical_strategy
        self.embedder = embedder
        self.candidates = candidates
        self.rrf_k = rrf_k
        self.fusion = fusion
        self.lexical_cache = lexical_cache
        self._lexical: LexicalIndex | ChromaFullTextIndex | None = None
        self._lexical_counts: tuple[int, int] | None = None
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qa-bot-bm25")

    @property
    def lexical_index(self) -> LexicalIndex | ChromaFullTextIndex:
        """The BM25 side, rebuilt (or reloaded from its cache) when the index changed since it was built.

        Per query only the two counts are compared (cheap, catches another process's ingest or delete); this
        process's own writes call :meth:`invalidate`."""
        with self._lock:
            counts = (self.store.count_documents(), self.store.count_chunks())
            if self._lexical is None or counts != self._lexical_counts:
                if self.lexical_strategy == "chroma-fts":
                    self._lexical = ChromaFullTextIndex(self.store)
                else:
                    self._lexical = LexicalIndex(self.store, self.lexical_cache)
                self._lexical_counts = counts
            return self._lexical

    def invalidate(self) -> None:
        with self._lock:
            self._lexical = None

    def search(self, query: str, k: int = 5, filters: Filters | None = None,
               query_vector: np.ndarray | None = None) -> list[Hit]:
        filters = filters or Filters()
        # The BM25 side (its staleness check and its search) runs in a worker thread while this one embeds the
        # query and asks the vector index: both wait mostly outside the GIL, so on 2 cores the two halves overlap.
        lexical_future = None if self.fusion == "dense" else self._pool.submit(
            lambda: self.lexical_index.search(query, self.candidates, filters))
        vector = self.embedder.embed_query(query) if query_vector is None else query_vector
        dense = [] if self.fusion == "lexical" else self.store.query(vector, self.candidates, filters.chroma_where())
        lexical = [] if lexical_future is None else lexical_future.result()

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


def lexical_strategy(settings) -> str:
    """The BM25 strategy the settings ask for; "auto" is bm25s for the embedded store, chroma-fts for a server."""
    if settings.lexical != "auto":
        return settings.lexical
    return "chroma-fts" if settings.chroma_url else "bm25s"


__all__ = ["Filters", "Retriever", "LexicalIndex", "ChromaFullTextIndex", "lexical_strategy", "Chunk"]
