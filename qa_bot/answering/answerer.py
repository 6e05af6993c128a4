"""Answering, start to end: follow-up → retrieve → candidate sentences and their signals → fitted probabilities →
decision → the direct answer (a span of the best sentence, or the model's checked wording of it) and the quote.

Nothing a language model writes reaches the user unchecked: the direct answer is either words of the cited sentence
or a model's phrasing whose every name and number is in that sentence (:mod:`qa_bot.answering.verify`)."""
from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from ..embedders import Embedder
from ..errors import InputError, QuestionError
from ..generate import Generator
from ..prompts import Prompt, fits_context, prompt_tokens
from ..records import Answer, Citation, Hit, Turn
from ..retrieve import Filters, Retriever
from ..settings import AnswerSettings
from .compose import DECLINE_TEXT, answer_text, citation, direct_answer_text, read_answer_text
from .decision import Outcome, Signals, decide
from .evidence import Candidate, WordVectors, describe_candidates
from .followup import FollowUp, resolve_followup
from .model import AnswerModels
from .question import QuestionAnalysis, analyse_question
from .verify import check_wording, clean_wording


@dataclass
class AnswerEvent:
    """What :meth:`Answerer.stream` yields: status lines, pieces of checked answer text, then the final Answer."""

    kind: str  # "status" | "token" | "answer"
    text: str = ""
    answer: Answer | None = None


def validate_question(question: str, max_chars: int) -> str:
    question = re.sub(r"\s+", " ", question or "").strip()
    if not question:
        raise QuestionError("The question is empty; type a question about the indexed articles.")
    if len(question) > max_chars:
        raise QuestionError(
            f"The question is {len(question):,} characters long; the limit is {max_chars:,}. Ask it in fewer words."
        )
    return question


class Answerer:
    def __init__(self, retriever: Retriever, embedder: Embedder, generator_factory: Callable[[], Generator],
                 wording_prompt: Prompt, config: AnswerSettings, models: AnswerModels):
        self.retriever = retriever
        self.embedder = embedder
        self._generator_factory = generator_factory  # the model loads on first use, not at startup
        self.wording_prompt = wording_prompt
        self.config = config
        self.models = models
        self.word_vectors = WordVectors(embedder.embed_documents)

    @property
    def generator(self) -> Generator:
        return self._generator_factory()

    def answer(self, question: str, history: Sequence[Turn | Sequence[str]] = (), filters: Filters | None = None,
               k: int | None = None) -> Answer:
        final = None
        for event in self.stream(question, history, filters, k):
            if event.kind == "answer":
                final = event.answer
        assert final is not None
        return final

    def stream(self, question: str, history: Sequence[Turn | Sequence[str]] = (), filters: Filters | None = None,
               k: int | None = None) -> Iterator[AnswerEvent]:
        started = time.perf_counter()
        question = validate_question(question, self.config.max_question_chars)
        if k is not None and k < 1:  # a negative k would cut passages off the end of the ranking
            raise InputError(f"the number of passages to read must be at least 1 (got {k})")
        timings: dict[str, float] = {}
        followup = resolve_followup(question, self.turns(history), self.models.followup,
                                    self.models.thresholds.followup)

        yield AnswerEvent("status", "Searching the articles…")
        t0 = time.perf_counter()
        qa = analyse_question(followup.standalone)
        query_vector = self.embedder.embed_query(followup.standalone)
        hits = self._retrieve(followup, query_vector, filters, self.config.top_k if k is None else k)
        timings["retrieve_s"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        candidates = self.rank(qa, hits, query_vector)
        timings["evidence_s"] = time.perf_counter() - t0
        best = candidates[0] if candidates else None
        span = best.best_span if best is not None else None
        answer = Answer(question=question, text="", declined=True, hits=hits,
                        standalone_question=followup.standalone if followup.standalone != question else None,
                        confidence=round(best.probability, 4) if best else None)
        outcome = decide(Signals(best.probability if best else 0.0, span.probability if span else None),
                         self.models.thresholds) if best else Outcome.DECLINE

        if outcome is Outcome.DECLINE:
            self._decline(answer, candidates)
        else:
            cite = citation(1, best.chunk, best.text)
            answer.citations, answer.quote, answer.declined = [cite], best.text, False
            if outcome is Outcome.ANSWER:
                answer.direct, answer.path = direct_answer_text(span.text), "extracted"
                answer.span_confidence = round(span.probability, 4)
                if self.config.wording == "model":
                    yield AnswerEvent("status", "Wording the answer…")
                    t0 = time.perf_counter()
                    self._reword(answer, qa, best, span.text)
                    timings["generate_s"] = time.perf_counter() - t0
            else:
                answer.path = "quoted"
                answer.fallback = "no part of the best sentence is clearly the answer, so it is quoted whole"
            answer.text = answer_text(answer.direct, best.text, best.chunk, cite.n)
        timings["total_s"] = time.perf_counter() - started
        answer.timings = {key: round(value, 4) for key, value in timings.items()}
        for piece in re.findall(r"\S+\s*", answer.text):
            yield AnswerEvent("token", piece)
        yield AnswerEvent("answer", answer=answer)

    def turns(self, history: Sequence[Turn | Sequence[str]]) -> list[Turn]:
        """Earlier exchanges as the Turns follow-ups need. A Turn is taken as it is (the chat page keeps them). A
        (question, shown answer) pair — all an OpenAI-style client sends back — becomes the Turn the chat page would
        have kept: the question as it was answered (rewritten when it was itself a follow-up), the short answer read
        back from the shown text, and the articles that hold the quoted sentence."""
        turns: list[Turn] = []
        for item in history:
            if isinstance(item, Turn):
                turns.append(item)
                continue
            question, shown = " ".join(str(item[0]).split()), str(item[1]) if len(item) > 1 else ""
            standalone = resolve_followup(question, turns, self.models.followup,
                                          self.models.thresholds.followup).standalone
            short, quote = read_answer_text(shown)
            turns.append(Turn(standalone, short, self._articles_quoting(quote)))
        return turns

    def _articles_quoting(self, quote: str) -> tuple[str, ...]:
        if not quote:
            return ()
        store = self.retriever.store
        chunks = store.get_chunks(store.matching_ids({"$contains": quote}, limit=10))
        return tuple(dict.fromkeys(chunk.doc_id for chunk in chunks))

    # -- steps ---------------------------------------------------------------------------------------------------
    def _retrieve(self, followup: FollowUp, vector: np.ndarray, filters: Filters | None, k: int) -> list[Hit]:
        """A follow-up is looked up first in the articles the previous answer cited, then everywhere."""
        hits = self.retriever.search(followup.standalone, k=k, filters=filters, query_vector=vector)
        if not followup.prior_doc_ids:
            return hits
        where = {"doc_id": {"$in": list(followup.prior_doc_ids)}}
        own = [Hit(chunk=chunk, score=1.0, dense_score=similarity)
               for chunk, similarity in self.retriever.store.query(vector, k, where)]
        seen = {h.chunk.chunk_id for h in own}
        return own + [h for h in hits if h.chunk.chunk_id not in seen]

    def rank(self, qa: QuestionAnalysis, hits: Sequence[Hit], query_vector: np.ndarray) -> list[Candidate]:
        """Candidate sentences with the models' probabilities, best first."""
        def score_spans(spans) -> None:
            for span, p in zip(spans, self.models.span.probabilities([s.signals for s in spans])):
                span.probability = float(p)

        candidates = describe_candidates(qa, hits, self.embedder.embed_documents, query_vector, score_spans,
                                         self.word_vectors)
        for candidate, p in zip(candidates, self.models.sentence.probabilities([c.signals for c in candidates])):
            candidate.probability = float(p)
        return sorted(candidates, key=lambda c: (-c.probability, c.hit_rank, c.start))

    def _reword(self, answer: Answer, qa: QuestionAnalysis, best: Candidate, span_text: str) -> None:
        """Ask the model for the direct answer in its own words; keep them only if they pass the checks."""
        messages = self.wording_prompt.render(sentence=best.text, question=qa.text)
        generator = self.generator
        if not fits_context(generator, messages, self.config.max_answer_tokens):
            size = prompt_tokens(generator, messages)
            answer.fallback = (f"the question is too long for the model to word the answer ({size:,} tokens with the "
                               f"sentence, over its {generator.n_ctx:,}-token context); the words of the article are shown")
            return
        draft = clean_wording(generator.generate(messages, max_tokens=self.config.max_answer_tokens, stop=["\n"]))
        problem = check_wording(draft, qa, best.text, span_text)
        if problem is None:
            answer.direct, answer.path = direct_answer_text(draft), "generated"
        else:
            answer.fallback = f"the model's wording was not used ({problem}); the words of the article are shown"
            answer.notes.append(f"model wording {draft!r}: {problem}")

    def _decline(self, answer: Answer, candidates: Sequence[Candidate]) -> None:
        answer.text = DECLINE_TEXT
        answer.declined = True
        answer.path = "declined"
        related: list[Citation] = []
        docs: set[str] = set()
        for candidate in candidates:
            if candidate.chunk.doc_id in docs:
                continue
            docs.add(candidate.chunk.doc_id)
            related.append(citation(len(related) + 1, candidate.chunk, candidate.text))
            if len(related) == 3:
                break
        answer.related = related
