"""Answering: retrieve → select evidence sentences → generate → verify → (extractive fallback | honest refusal).

Nothing the model writes reaches the user unchecked: every answer sentence must be supported by one evidence
sentence (its content words, names and numbers found there) and must add something the question did not already say.
Citations are assigned to the sentence that supports each answer sentence, never taken from the model's own [n]."""
from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from .embedders import Embedder
from .errors import QuestionError
from .evidence import (
    Evidence,
    EvidenceWeights,
    answer_type_match,
    asked_predicate,
    question_kind,
    select_evidence,
)
from .generate import Generator
from .prompts import Prompt
from .records import Answer, Citation
from .retrieve import Filters, Retriever
from .text import content_stems, fold, names, numbers, split_sentences, strip_citations, words

DECLINE_TEXT = "The articles I have do not say. Here are the closest passages I found."
_MODEL_DECLINE_RE = re.compile(r"(do(es)? not say|don'?t know|not (mentioned|stated|provided|specified|known|clear)|no information|cannot (answer|determine)|unknown|unclear)", re.IGNORECASE)


@dataclass
class AnswerConfig:
    top_k: int = 5
    evidence_sentences: int = 4
    refusal_threshold: float = 0.45
    extract_threshold: float = 0.61
    # At or above extract_threshold the best sentence is quoted without asking the model: a quote cannot misstate
    # the article and takes no generation time. False: the model's verified draft first, the quote as fallback.
    prefer_quotes: bool = True
    second_quote_margin: float = 0.08  # a second sentence of the same article this close to the best is quoted too
    # Only sentences scoring within this of the best one reach the model: a small model otherwise answers from a
    # weaker sentence about something else, and its answer still "verifies" against that sentence.
    evidence_margin: float = 0.10
    max_answer_tokens: int = 64
    max_question_chars: int = 1000
    support_threshold: float = 0.75  # share of an answer sentence's content words found in its evidence sentence
    weights: EvidenceWeights = field(default_factory=EvidenceWeights)


@dataclass
class AnswerEvent:
    """What :meth:`Answerer.stream` yields: status lines, pieces of verified answer text, then the final Answer."""

    kind: str  # "status" | "token" | "answer"
    text: str = ""
    answer: Answer | None = None


def validate_question(question: str, max_chars: int) -> str:
    question = re.sub(r"\s+", " ", question or "").strip()
    if not question:
        raise QuestionError("the question is empty; type a question about the indexed articles")
    if len(question) > max_chars:
        raise QuestionError(
            f"the question is {len(question):,} characters long; the limit is {max_chars:,} — ask it in fewer words"
        )
    return question


# "The evidence is a letter …", "The article says …": a small model describing its input instead of answering.
_META_RE = re.compile(r"\s*(?:the |this |that )?(?:evidence|articles?|passages?|text|sources?|quotes?|context)\b(?! of\b)", re.IGNORECASE)
_DRAFT_PREAMBLE_RE = re.compile(r"^\s*(the (short |final )?answer( to the question)? is\s*:?|answer\s*:)\s*", re.IGNORECASE)


def clean_draft(text: str) -> str:
    """The model's draft without its own [n] markers or an "The answer is:" lead-in."""
    text = strip_citations(text)
    text = _DRAFT_PREAMBLE_RE.sub("", text).strip()
    return text[:1].upper() + text[1:]


@dataclass
class Verdict:
    sentence: str
    evidence: list[Evidence]  # the sentence(s) that support it, cited in this order
    supported: bool
    reason: str = ""


def unsupported_facts(claim: str, source: str) -> list[str]:
    """Numbers and names in ``claim`` that do not occur in ``source``."""
    missing = sorted(numbers(claim) - numbers(source))
    source_words, folded = set(words(source)), fold(source)
    missing += sorted(n for n in names(claim) if n not in source_words and n not in folded)
    return missing


def verify_sentence(sentence: str, question: str, evidence: Sequence[Evidence], threshold: float) -> Verdict:
    """Find the evidence that supports ``sentence``; say why none does.

    Supported means: most of its content words are in one evidence sentence (or the question); it adds at least one
    word from that evidence that the question did not contain (so it is an answer, not an echo); its numbers and
    names occur in that sentence, or in one more evidence sentence that is then cited too; and it holds the kind of
    thing asked for (a name for "who", a date for "when", a number for "how many")."""
    claim = content_stems(sentence)
    if not claim:
        return Verdict(sentence, [], False, "empty")
    if _META_RE.match(sentence):
        return Verdict(sentence, [], False, "talks about the evidence, not the news")
    asked = content_stems(question)
    stems_of = {id(ev): content_stems(ev.text) for ev in evidence}
    ranked = sorted(evidence, key=lambda ev: -len(claim & (stems_of[id(ev)] | asked)))
    if not ranked:
        return Verdict(sentence, [], False, "no evidence")
    best = ranked[0]
    cover = len(claim & (stems_of[id(best)] | asked)) / len(claim)
    if cover < threshold:
        return Verdict(sentence, [best], False, f"only {cover:.0%} of its words are in the evidence")
    if not claim & (stems_of[id(best)] - asked):
        return Verdict(sentence, [best], False, "adds nothing to the question")
    supports = [best]
    missing = unsupported_facts(sentence, f"{best.text} {question}")
    if missing:
        second = next((ev for ev in ranked[1:]
                       if not unsupported_facts(sentence, f"{best.text} {ev.text} {question}")), None)
        if second is None:
            return Verdict(sentence, supports, False, f"not in the evidence: {missing}")
        supports.append(second)
    if misses_the_question(question, claim.union(*(stems_of[id(ev)] for ev in supports))):
        return Verdict(sentence, supports, False, "does not answer what was asked")
    kind = question_kind(question)
    known = frozenset(n for ev in supports for n in names(ev.chunk.text))  # names anywhere in the passage
    if kind in _TYPED_KINDS and not answer_type_match(kind, sentence, question, known):
        return Verdict(sentence, supports, False, f"gives no {_TYPED_KINDS[kind]}")
    return Verdict(sentence, supports, True)


_TYPED_KINDS = {"who": "name", "entity": "name", "when": "date", "date": "date", "number": "number", "why": "reason"}


def misses_the_question(question: str, stems: set[str]) -> bool:
    """"What did X eat for breakfast?" answered by another true sentence about X: none of the words saying what
    was asked occurs. Only when there are two or more of them, so that one synonym ("give"/"provide") is not fatal."""
    predicate = asked_predicate(question)
    return len(predicate) >= 2 and not predicate & stems


def answers_by_itself(best: Evidence, question: str) -> bool:
    """Middling evidence may still be quoted when its best sentence holds the kind of thing asked (a name for "who",
    a date for "when", a cause for "why" …) and names what was asked about: a second signal besides the score, as a
    verified draft is."""
    if question_kind(question) not in _TYPED_KINDS:
        return False
    predicate = asked_predicate(question)
    if predicate and not predicate & content_stems(best.text):
        return False
    return verify_sentence(best.text, question, [best], 1.0).supported  # checks the kind of thing asked, too


def split_answer_sentences(text: str) -> list[str]:
    # The chunker's splitter: "Carpenter v. United States" and "Rep. Ed Royce" stay whole.
    return [text[span.start : span.end] for span in split_sentences(text)]


class Answerer:
    def __init__(self, retriever: Retriever, embedder: Embedder, generator_factory, answer_prompt: Prompt,
                 rewrite_prompt: Prompt, config: AnswerConfig):
        self.retriever = retriever
        self.embedder = embedder
        self._generator_factory = generator_factory  # the model loads on first use, not at startup
        self.answer_prompt = answer_prompt
        self.rewrite_prompt = rewrite_prompt
        self.config = config

    @property
    def generator(self) -> Generator:
        return self._generator_factory()

    # -- public API ----------------------------------------------------------------------------------------------
    def answer(self, question: str, history: Sequence[tuple[str, str]] = (), filters: Filters | None = None,
               k: int | None = None) -> Answer:
        final = None
        for event in self.stream(question, history, filters, k):
            if event.kind == "answer":
                final = event.answer
        assert final is not None
        return final

    def stream(self, question: str, history: Sequence[tuple[str, str]] = (), filters: Filters | None = None,
               k: int | None = None) -> Iterator[AnswerEvent]:
        started = time.perf_counter()
        question = validate_question(question, self.config.max_question_chars)
        timings: dict[str, float] = {}

        standalone, context_terms = self.standalone_question(question, history)
        yield AnswerEvent("status", "Searching the articles…")
        t0 = time.perf_counter()
        query_vector = self.embedder.embed_query(standalone)
        hits = self.retriever.search(standalone, k=k or self.config.top_k, filters=filters, query_vector=query_vector)
        timings["retrieve_s"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        ranked = select_evidence(standalone, hits, self.embedder.embed_documents, query_vector, self.config.weights,
                                 context_terms)
        timings["evidence_s"] = time.perf_counter() - t0
        answer = Answer(question=question, text="", declined=True, hits=hits,
                        standalone_question=standalone if standalone != question else None,
                        evidence_score=round(ranked[0].score, 4) if ranked else None)

        # Evidence strength decides: below refusal_threshold, decline; between it and extract_threshold, answer
        # only if the model's draft passes verification (or the best sentence answers by itself); above, quote the
        # evidence (first, with prefer_quotes; else when the draft does not verify).
        if not ranked or ranked[0].score < self.config.refusal_threshold:
            self._decline(answer, ranked)
        else:
            floor = ranked[0].score - self.config.evidence_margin
            evidence = [ev for ev in ranked[: self.config.evidence_sentences] if ev.score >= floor]
            strong = ranked[0].score >= self.config.extract_threshold
            quoted = strong and self.config.prefer_quotes and self._use_quote(answer, standalone, evidence)
            if not quoted:
                yield AnswerEvent("status", "Reading the best passages…")
                t0 = time.perf_counter()
                draft = self._generate(standalone, evidence)
                timings["generate_s"] = time.perf_counter() - t0
                # strong evidence was already tried as a quote when quotes come first
                may_quote = not self.config.prefer_quotes if strong else answers_by_itself(ranked[0], standalone)
                if not (self._use_draft(answer, standalone, draft, evidence)
                        or (may_quote and self._use_quote(answer, standalone, evidence))):
                    answer.notes.append("evidence too weak to quote and the draft did not verify")
                    self._decline(answer, ranked)
        timings["total_s"] = time.perf_counter() - started
        answer.timings = {k: round(v, 4) for k, v in timings.items()}
        for piece in re.findall(r"\S+\s*", answer.text):
            yield AnswerEvent("token", piece)
        yield AnswerEvent("answer", answer=answer)

    # -- steps ---------------------------------------------------------------------------------------------------
    def standalone_question(self, question: str, history: Sequence[tuple[str, str]]) -> tuple[str, str]:
        """A follow-up rewritten into a question that stands alone, plus earlier questions' words as context.

        The model's rewrite is kept only if it keeps every content word of the follow-up and adds only words from
        the conversation; otherwise the earlier question's words are appended to the query instead."""
        if not history:
            return question, ""
        previous = " ".join(q for q, _ in history[-2:])
        if not _needs_context(question):
            return question, ""
        allowed = content_stems(previous + " " + question + " " + " ".join(a for _, a in history[-1:]))
        try:
            convo = "\n".join(f"Q: {q}\nA: {strip_citations(a)[:300]}" for q, a in history[-2:])
            rewritten = self.generator.generate(self.rewrite_prompt.render(history=convo, question=question),
                                                max_tokens=48, stop=["\n"]).strip().strip('"')
        except Exception:  # a failed rewrite must not fail the question; the fallback below still works
            rewritten = ""
        if rewritten and content_stems(question) <= content_stems(rewritten) and content_stems(rewritten) <= allowed:
            return rewritten, ""
        return f"{question} {previous}", previous

    def _generate(self, question: str, evidence: Sequence[Evidence]) -> str:
        listing = "\n".join(f"[{i}] {ev.text}" for i, ev in enumerate(evidence, start=1))
        messages = self.answer_prompt.render(evidence=listing, question=question)
        budget = self.generator.n_ctx - self.config.max_answer_tokens - 16
        def size(msgs) -> int:
            return sum(self.generator.count_tokens(m["content"]) + 8 for m in msgs)

        while len(evidence) > 1 and size(messages) > budget:
            evidence = evidence[:-1]  # drop the lowest-ranked sentence first
            listing = "\n".join(f"[{i}] {ev.text}" for i, ev in enumerate(evidence, start=1))
            messages = self.answer_prompt.render(evidence=listing, question=question)
        if size(messages) > budget:
            raise QuestionError(
                f"the question is too long for the model ({self.generator.count_tokens(question):,} tokens with "
                f"its evidence, over the {self.generator.n_ctx:,}-token context); shorten it"
            )
        return self.generator.generate(messages, max_tokens=self.config.max_answer_tokens, stop=["\n\n", "Question:"])

    def _use_draft(self, answer: Answer, question: str, draft: str, evidence: Sequence[Evidence]) -> bool:
        """Fill ``answer`` from the sentences of the model's draft that verify; False when none does."""
        clean = clean_draft(draft)
        verdicts = []
        if clean and not _MODEL_DECLINE_RE.search(clean):
            verdicts = [verify_sentence(s, question, evidence, self.config.support_threshold)
                        for s in split_answer_sentences(clean)]
        answer.notes.extend(f"draft sentence removed: {v.reason}" for v in verdicts if not v.supported)
        kept = [v for v in verdicts if v.supported]
        if not kept:
            return False
        citations: dict[tuple[str, int], Citation] = {}
        parts = []
        for verdict in kept:
            numbers_cited = [self._cite(citations, ev).n for ev in verdict.evidence]
            parts.append(_cite_sentence(strip_citations(verdict.sentence), numbers_cited))
        self._fill(answer, " ".join(parts), "generated", citations)
        return True

    def _use_quote(self, answer: Answer, question: str, evidence: Sequence[Evidence]) -> bool:
        """Fill ``answer`` with the best evidence sentence, quoted and attributed; False when the best passages do
        not mention what was asked."""
        best = evidence[0]
        quotes = [best]
        # A second sentence of the same article when it is nearly as good: answers often span two sentences.
        runner_up = next((ev for ev in evidence[1:] if ev.chunk.doc_id == best.chunk.doc_id), None)
        if runner_up is not None and runner_up.score >= best.score - self.config.second_quote_margin:
            quotes.append(runner_up)
        if misses_the_question(question, set().union(*(content_stems(ev.text) for ev in quotes))):
            answer.notes.append("the best passages do not mention what was asked")
            return False
        citations: dict[tuple[str, int], Citation] = {}
        quoted = " ".join(f"“{ev.text}” [{self._cite(citations, ev).n}]" for ev in quotes)
        self._fill(answer, f"{_attribution(best)}: {quoted}", "extractive", citations)
        return True

    @staticmethod
    def _fill(answer: Answer, text: str, path: str, citations: dict[tuple[str, int], Citation]) -> None:
        answer.text = text
        answer.path = path
        answer.citations = list(citations.values())
        answer.declined = False

    def _cite(self, citations: dict, ev: Evidence) -> Citation:
        key = ev.key
        if key not in citations:
            citations[key] = _citation(len(citations) + 1, ev)
        return citations[key]

    def _decline(self, answer: Answer, ranked: Sequence[Evidence]) -> None:
        answer.text = DECLINE_TEXT
        answer.declined = True
        answer.path = "declined"
        related: list[Citation] = []
        docs: set[str] = set()
        for ev in ranked:
            if ev.chunk.doc_id in docs:
                continue
            docs.add(ev.chunk.doc_id)
            related.append(_citation(len(related) + 1, ev))
            if len(related) == 3:
                break
        answer.related = related


def _needs_context(question: str) -> bool:
    q = fold(question)
    return bool(re.match(r"(and|but|also|what about|how about|so|then)\b", q)) or bool(
        re.search(r"\b(he|she|it|they|them|him|her|his|its|their|this|that|these|those|there|the same)\b", q)
    ) or len(content_stems(question)) <= 2


def _cite_sentence(text: str, ns: Sequence[int]) -> str:
    """"Sentence [1][2]." — the markers go before the final full stop."""
    text = text.strip()
    end = text[-1] if text and text[-1] in ".!?" else "."
    return f"{text.rstrip('.!?').rstrip()} {''.join(f'[{n}]' for n in ns)}{end}"


def _attribution(ev: Evidence) -> str:
    who = ev.chunk.source or ev.chunk.title or ev.chunk.doc_id
    when = f" ({ev.chunk.published})" if ev.chunk.published else ""
    return f"According to {who}{when}"


def _citation(n: int, ev: Evidence) -> Citation:
    c = ev.chunk
    return Citation(n=n, doc_id=c.doc_id, title=c.title, url=c.url, chunk_id=c.chunk_id, quote=ev.text,
                    source=c.source, published=c.published, passage=c.text)
