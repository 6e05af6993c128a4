"""A digest of the indexed articles of a period: the articles grouped into topics, each topic with a one-line
headline and the one-line summaries of its articles, newest first.

Topics are clusters of document vectors: the mean of each article's stored chunk embeddings, so no text is embedded
again and no new model is needed. Clustering is average-linkage agglomerative by cosine similarity in numpy (two
topics merge while the mean similarity between their articles is at least ``Settings.digest_similarity``; the value
is chosen on data by ``benchmarks/digest_threshold.py``). Every article lands in exactly one topic; an article
like no other is a topic of its own. Summaries come from the pipeline's summary cache, so a second run only reads.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from .errors import InputError
from .store import DocumentRecord
from .text import is_calendar_date

@dataclass(frozen=True)
class DigestArticle:
    doc_id: str
    title: str
    source: str
    published: str | None
    summary: str  # the article's one-line summary (from the cache when it holds one)


@dataclass(frozen=True)
class Topic:
    headline: str  # the headline of the article closest to the topic's centre
    articles: list[DigestArticle]  # newest first; undated articles last


@dataclass(frozen=True)
class Digest:
    topics: list[Topic]  # largest first, then by newest article
    date_from: str | None
    date_to: str | None
    source: str | None

    @property
    def n_articles(self) -> int:
        return sum(len(t.articles) for t in self.topics)

    def to_json(self) -> dict:
        return {"date_from": self.date_from, "date_to": self.date_to, "source": self.source,
                "articles": self.n_articles, "topics": [asdict(t) for t in self.topics]}


def select_documents(records: Sequence[DocumentRecord], date_from: str | None = None, date_to: str | None = None,
                     source: str | None = None) -> list[DocumentRecord]:
    """The records published within [date_from, date_to] (inclusive, YYYY-MM-DD; an undated article is left out
    once a date bound is given) and, with ``source``, from that publisher (case-insensitive)."""
    for name, value in (("start", date_from), ("end", date_to)):
        if value is not None and not is_calendar_date(value):
            raise InputError(f"the {name} date must be a date like 2025-01-31 (YYYY-MM-DD), got {value!r}")
    if date_from and date_to and date_from > date_to:
        raise InputError(f"the start date {date_from} is after the end date {date_to}")
    wanted = source.casefold() if source else None
    return [r for r in records
            if (not (date_from or date_to) or r.published and (not date_from or r.published >= date_from)
                and (not date_to or r.published <= date_to))
            and (wanted is None or (r.source or "").casefold() == wanted)]


def cluster(vectors: np.ndarray, threshold: float) -> list[list[int]]:
    """Average-linkage agglomerative clustering by cosine similarity of unit ``vectors``: the two most similar
    clusters merge while the mean similarity between their members is at least ``threshold``. Returns the clusters
    as lists of row indices; every row is in exactly one. O(n²) memory, about n merges of O(n²) each: a few seconds
    for a corpus of 2,000 articles."""
    n = len(vectors)
    if n == 0:
        return []
    sim = np.asarray(vectors, dtype=np.float64) @ np.asarray(vectors, dtype=np.float64).T
    np.fill_diagonal(sim, -np.inf)
    sizes = np.ones(n)
    members: list[list[int]] = [[i] for i in range(n)]
    while n > 1:
        i, j = divmod(int(np.argmax(sim)), n)
        if sim[i, j] < threshold:
            break
        # Lance-Williams update for average linkage: the merged cluster's similarity to each other cluster is the
        # size-weighted mean of the two it came from.
        row = (sizes[i] * sim[i] + sizes[j] * sim[j]) / (sizes[i] + sizes[j])
        sim[i], sim[:, i] = row, row
        sim[j], sim[:, j] = -np.inf, -np.inf
        sim[i, i] = -np.inf
        sizes[i] += sizes[j]
        members[i] += members[j]
        members[j] = []
    return [sorted(m) for m in members if m]


def build_digest(pipeline, date_from: str | None = None, date_to: str | None = None, source: str | None = None,
                 progress: Callable[[int, int], None] | None = None) -> Digest:
    """Group the indexed articles of the period (and source) into topics and summarise each article in one line
    (cached summaries are read, missing ones made and stored). ``progress(done, total)`` is called per article."""
    records = select_documents(pipeline.documents(), date_from, date_to, source)
    vectors = pipeline.store().document_vectors([r.doc_id for r in records])
    records = [r for r in records if r.doc_id in vectors]  # a registered article without chunks has no text
    if not records:
        return Digest([], date_from, date_to, source)
    matrix = np.stack([vectors[r.doc_id] for r in records])
    summaries: dict[str, str] = {}
    for n, record in enumerate(records, 1):
        summaries[record.doc_id] = pipeline.summarize_document(record.doc_id).text
        if progress:
            progress(n, len(records))
    topics = []
    for group in cluster(matrix, pipeline.settings.digest_similarity):
        centre = matrix[group].mean(axis=0)
        central = records[group[int(np.argmax(matrix[group] @ centre))]]
        newest_first = sorted(group, key=lambda i: (records[i].published or "", records[i].doc_id), reverse=True)
        articles = [DigestArticle(records[i].doc_id, records[i].title, records[i].source, records[i].published,
                                  summaries[records[i].doc_id]) for i in newest_first]
        topics.append(Topic(central.title or summaries[central.doc_id], articles))
    # Largest first; among topics of one size, the one with the newest article first (two stable sorts).
    topics.sort(key=lambda t: t.articles[0].published or "", reverse=True)
    topics.sort(key=lambda t: len(t.articles), reverse=True)
    return Digest(topics, date_from, date_to, source)
