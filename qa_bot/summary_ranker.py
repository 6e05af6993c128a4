"""Which sentence of an article best says what happened: a fitted ranker over per-sentence signals.

The one-line summary starts from one article sentence. Picking it is a ranking problem, so the weights are not set by
hand: ``training/fit_summary_ranker.py`` fits a linear model of the signals below on reference summaries (XSum records
100-250 and CNN/DM highlights; never XSum 0-99, the report set), its target being each sentence's ROUGE against the
reference, and ships it as plain coefficients in ``qa_bot/summary_model.json`` (the answering models' format,
:class:`~qa_bot.answering.model.LinearModel`). qa-bot never fits at run time.

Signals, per sentence of the first ``POOL`` (news puts its point early; a bound keeps a long article cheap): where it
is, how long, how central it is to the article (MiniLM vectors: to the centroid, to the title, to the first
sentence), how much of the title and of the article's recurring words it holds, its entities and numbers (spaCy), and
whether it reports an event or someone's words (quotes, a verb with a clausal complement, first person), opens on a
word that points back (a pronoun, a conjunction: read from the parse), or asks a question.
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .answering.model import LinearModel, read_model_file
from .nlp import parse
from .text import FIRST_PERSON_RE, QUOTED_RE, content_stems, numbers

MODEL_FILE = "summary_model.json"
POOL = 25  # sentences that compete: the first POOL of the article
TITLE_WORDS = 8  # recurring words that stand in for a missing headline
MIN_WORDS = 5  # a shorter "sentence" is a label, a caption or the headline repeated, not the news
_ENTITY_GROUPS = {"person": {"PERSON"}, "org": {"ORG", "NORP"}, "place": {"GPE", "LOC", "FAC"},
                  "time": {"DATE", "TIME"}, "amount": {"CARDINAL", "MONEY", "PERCENT", "QUANTITY"}}


def sentence_features(sentences: Sequence[str], title: str,
                      embed: Callable[[Sequence[str]], np.ndarray]) -> list[dict[str, float]]:
    """The ranker's signals for each of ``sentences`` (the pool, in article order)."""
    n = len(sentences)
    if n == 0:
        return []
    vectors = np.asarray(embed([*sentences, title] if title else list(sentences)), dtype=float)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True).clip(1e-9)
    sent_vecs = vectors[:n]
    centroid = sent_vecs.mean(axis=0)
    centroid /= np.linalg.norm(centroid) or 1.0
    centrality = sent_vecs @ centroid
    # Without a headline (XSum, CNN/DM and pasted text have none) the article's own centre and its most recurring
    # words stand in for it, so the title signals mean the same with and without one and are fitted on both.
    title_sim = sent_vecs @ vectors[n] if title else centrality
    lead_sim = sent_vecs @ sent_vecs[0]
    stems = [content_stems(s) for s in sentences]
    # How many other sentences repeat a word: the article's recurring words are its topic.
    spread = Counter(w for s in stems for w in s)
    title_stems = content_stems(title) if title else {w for w, c in spread.most_common(TITLE_WORDS) if c > 1}
    docs = parse(list(sentences))
    rows = []
    for i, (sentence, doc) in enumerate(zip(sentences, docs)):
        words = len(sentence.split())
        unquoted = QUOTED_RE.sub("", sentence)
        quoted_chars = len(sentence) - len(unquoted)
        ents = Counter(e.label_ for e in doc.ents)
        root = next((t for t in doc if t.dep_ == "ROOT"), None)
        row = {
            "position": float(i),
            "log_position": math.log1p(i),
            "first": float(i == 0),
            "second": float(i == 1),
            "relative_position": i / max(n - 1, 1),
            "log_words": math.log1p(words),
            "short": float(words < 10),
            "long": float(words > 40),
            "centrality": float(centrality[i]),
            "centrality_gap": float(centrality[i] - centrality.max()),
            "title_similarity": float(title_sim[i]),
            "title_similarity_gap": float(title_sim[i] - title_sim.max()),
            "lead_similarity": float(lead_sim[i]) if i else 0.0,
            "title_overlap": len(stems[i] & title_stems) / len(title_stems) if title_stems else 0.0,
            "recurring_words": (sum(spread[w] - 1 for w in stems[i]) / len(stems[i]) / max(n - 1, 1)
                                if stems[i] else 0.0),
            "content_share": len(stems[i]) / max(words, 1),
            "has_number": float(bool(numbers(sentence))),
            "quoted_share": quoted_chars / max(len(sentence), 1),
            "opens_quote": float(sentence.startswith(("\"", "“", "'", "‘"))),
            # someone's words: a verb with a clausal complement ("…, he said", "officials said that …")
            "reports_speech": float(any(t.pos_ in ("VERB", "AUX") and _takes_a_clause(t) for t in doc)),
            "first_person": float(bool(FIRST_PERSON_RE.search(unquoted))),
            "pronoun_start": float(_leans_on_before(doc)),
            "question": float(sentence.rstrip().endswith("?")),
            "root_past": float(root is not None and root.tag_ == "VBD"),
            "root_present_perfect": float(root is not None and root.tag_ == "VBN"
                                          and any(t.lemma_ == "have" for t in root.children)),
            "root_reports": float(root is not None and _takes_a_clause(root)),
            **{f"entities_{group}": float(sum(ents[label] for label in labels))
               for group, labels in _ENTITY_GROUPS.items()},
        }
        rows.append(row)
    return rows


def _takes_a_clause(verb) -> bool:
    """The verb has a clausal complement: what someone said, thought or announced."""
    return any(c.dep_ in ("ccomp", "parataxis") for c in verb.children)


def _leans_on_before(doc) -> bool:
    """The sentence opens on a word that points back to an earlier one (a pronoun, a demonstrative standing alone,
    a conjunction, "there"): it does not stand alone as a summary."""
    first = next((t for t in doc if not t.is_punct and not t.is_space), None)
    if first is None:
        return False
    return (first.pos_ in ("PRON", "CCONJ") or first.dep_ in ("expl", "cc")
            or (first.pos_ == "DET" and first.dep_ != "det") or first.tag_ in ("WDT", "WP", "WP$"))


def repeats_headline(sentence: str, title: str) -> bool:
    """The sentence says nothing the headline does not (every content word of it is in the title)."""
    title_stems = content_stems(title)
    return bool(title_stems) and content_stems(sentence) <= title_stems


@dataclass(frozen=True)
class SummaryRanker:
    model: LinearModel
    info: dict  # what it was fitted on, and its cross-validated figures
    label: str = MODEL_FILE

    @classmethod
    def load(cls, path: Path | None = None) -> "SummaryRanker":
        data, label = read_model_file("qa_bot", MODEL_FILE, path, "python training/fit_summary_ranker.py")
        return cls(LinearModel.from_dict(data["ranker"]), data.get("info", {}), label)

    def to_dict(self) -> dict:
        return {"ranker": self.model.to_dict(), "info": self.info}

    def scores(self, rows: list[dict[str, float]]) -> np.ndarray:
        return self.model.probabilities(rows)

    def rank(self, sentences: Sequence[str], title: str, embed: Callable[[Sequence[str]], np.ndarray]) -> list[int]:
        """Indices of the first ``POOL`` sentences, best first; sentences that cannot be the summary (under
        ``MIN_WORDS`` words, or saying nothing the headline does not: the text often repeats its title as its first
        line) come after all others."""
        pool = list(sentences[:POOL])
        if len(pool) <= 1:
            return list(range(len(pool)))
        scores = self.scores(sentence_features(pool, title, embed))
        order = sorted(range(len(pool)), key=lambda i: (-scores[i], i))

        def can_be_the_summary(i: int) -> bool:
            return len(pool[i].split()) >= MIN_WORDS and not repeats_headline(pool[i], title)

        return sorted(order, key=lambda i: not can_be_the_summary(i))  # stable: the ranker's order within each


@lru_cache(maxsize=2)
def bundled_ranker(path: str | None = None) -> SummaryRanker:
    return SummaryRanker.load(Path(path) if path else None)
