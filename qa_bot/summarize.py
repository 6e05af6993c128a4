"""One-line (or paragraph) summaries: rank the article's sentences with the fitted ranker (summary_ranker.py), let
the model compress the best ones under a strict prompt, verify the result against the article, and fall back to the
best sentence trimmed to one line.

Every path is bounded: only the first ``pool`` sentences compete for a one-liner, each sentence shown to the model is
cut to ``MAX_SOURCE_WORDS`` words, and the prompt is checked against the model's context window, so a long (or
unpunctuated) article never overflows it. Text in other languages goes through the same steps; the checks are
script-agnostic (words, capitalised names, digits), so the worst case is the trimmed extractive sentence."""
from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .generate import Generator
from .prompts import Prompt, fit_prompt
from .relations import role_conflicts
from .summary_ranker import SummaryRanker, repeats_headline
from .text import (FIRST_PERSON_RE, QUOTED_RE, content_stems, fold, looks_like_injection, names, numbers,
                   split_sentences)

MAX_WORDS = 30  # a one-line summary: one sentence of at most this many words
MAX_CHARS = 240  # the same bound for scripts written without spaces
EXTRACTIVE_WORDS = MAX_WORDS  # a fallback cut short mid-phrase reads worse than a long one
MAX_SOURCE_WORDS = 60  # longest sentence handed to the model
ONE_LINE_SOURCES = 3
ONE_LINE_GROUNDING = 0.6  # share of a generated line's content words that must occur in the article
PARAGRAPH_SECTIONS = 6  # map step of the paragraph mode: one central sentence per section of the article
PARAGRAPH_TOKENS = 220

_PREAMBLE_RE = re.compile(
    r"^(summary|one-sentence summary|here is (a|the) (one-sentence )?summary|in summary|in short|this (article|text|story|piece|report)"
    r"|the (article|text))\b[^:]*?:?\s*",  # not "The report…" / "The story…": news sentences open that way
    re.IGNORECASE,
)
_LEADING_CONNECTIVE_RE = re.compile(r"^(however|but|and|so|meanwhile|also|yet|still|instead|now),?\s+", re.IGNORECASE)
# A short label before a colon ("The main news:", "Summary sentence:") that the model sometimes puts first.
_LABEL_RE = re.compile(r"^([^:\"“]{1,40}):\s+")
# Sentences glued by a missing space after the full stop ("...the UK.The line was closed"), common in scraped text.
_GLUED_RE = re.compile(r"(?:(?<=[A-Za-z]{2}[.!?])|(?<=[0-9)][.!?]))(?=[A-Z][a-z])")
# A model line that is not a statement of the news: someone speaking in the first person (outside a quotation), a
# question, a remark about the summary itself ("This is a great summary…"), or an opinion opening on "This is".
_META_RE = re.compile(r"\b(?:summary|summari[sz]e[ds]?|this (?:article|text|story))\b|^(?:this|it|that) is\b",
                      re.IGNORECASE)
# What is left of "The article is about…" / "The text reports that…" once the preamble is gone.
_REPORTING_VERB_RE = re.compile(r"^(?:is about|discusses|describes|reports|explains|highlights|covers|details|tells)"
                                r"(?: (?:that|how))?\s+")
# Page furniture at the start of a sentence: a dateline ("OROVILLE, Calif. – ", "WASHINGTON (AP) — ", "CNN —") or
# a round-up's place label ("Huntsville: "). It is not content, so neither the model nor the fallback gets it.
_DATELINE_RE = re.compile(
    r"^(?=[^—–-]*[A-Z]{3})[A-Z][A-Z.'’-]+(?:\s+[A-Z][A-Z.'’-]+)*(?:,\s+[A-Z][A-Za-z.]+(?:\s+[A-Z][A-Za-z.]+){0,2})?"
    r"(?:\s+\([A-Za-z ]+\))?\s*(?:—|–|--?)(?:\s+(?=[A-Z0-9\"“‘'])|$)")
_PLACE_LABEL_RE = re.compile(r"^[A-Z][a-z.'’]+(?:\s+[A-Z][a-z.'’]+){0,2}:\s+(?=[A-Z])")
# A leading adjunct set off by a comma ("One month after the report, …", "Looking out of the window on Wednesday, …"):
# when a sentence is too long for one line, this goes first, so the cut keeps the main clause rather than the lead-in.
_LEADING_ADJUNCT_RE = re.compile(
    r"^(?:(?:after|before|when|while|as|since|although|though|despite|following|amid|with|without|in|on|at|during|"
    r"under|for|from|by|once|if|because|ahead of|according to|one|two|three|four|five|six|seven|eight|nine|ten|"
    r"days|weeks|months|years|hours)\b|\w+ing\b)[^,;:\"“”]*,\s+", re.IGNORECASE)
_HANGING_END_RE = re.compile(
    r"(?:\s+(?:which|who|whom|whose|that|and|but|or|nor|the|a|an|of|to|in|on|for|with|as|at|by|from|while|where|"
    r"when|after|before|because|is|was|are|were|has|have|had))+$", re.IGNORECASE)
_CJK_SENTENCE_END_RE = re.compile(r"[。！？]")
_MARKDOWN_RE = re.compile(r"[*_`]+|^\s*(?:[#>•-]+\s*)+")


@dataclass
class Summary:
    text: str
    path: str  # "generated" (the model's line, verified), "extractive" (an article sentence, trimmed) or "cached"
    sentences: list[str]  # the article sentences given to the model
    # Why an extractive summary is not the model's: the model was not asked (its context is too small), or its
    # words failed a check (which one). None when the model's words are shown.
    fallback: str | None = None
    dropped: int = 0  # paragraph: the model's sentences left out because they failed a check


def article_sentences(text: str) -> list[str]:
    return [" ".join(text[s.start : s.end].split()) for s in split_sentences(text)]


def source_sentences(text: str) -> list[str]:
    """The sentences a summary may draw on: glued sentences split apart, datelines dropped, and without any sentence
    addressed to a language model ("Ignore previous instructions…"): article text is untrusted, so such a sentence is
    neither shown to the model nor used as the extractive fallback."""
    sentences = (_PLACE_LABEL_RE.sub("", _DATELINE_RE.sub("", s)) for s in article_sentences(_GLUED_RE.sub(" ", text)))
    return [s for s in sentences if s and not looks_like_injection(s)]


def central_sentences(sentences: Sequence[str], title: str, embed: Callable[[Sequence[str]], np.ndarray],
                      n: int = 3, pool: int = 25) -> list[int]:
    """Indices (in article order) of the ``n`` sentences of the first ``pool`` closest to the centre of those
    sentences (and to the title), with a small bonus for coming early: news puts its point first."""
    candidates = [i for i, s in enumerate(sentences[:pool]) if 5 <= len(s.split()) <= MAX_SOURCE_WORDS]
    if not candidates:
        candidates = list(range(min(len(sentences), pool)))
    if len(candidates) <= n:
        return candidates
    vectors = embed([sentences[i] for i in candidates])
    centroid = vectors.mean(axis=0)
    centroid /= np.linalg.norm(centroid) or 1.0
    scores = vectors @ centroid
    if title:
        scores = scores + 0.3 * (vectors @ embed([title])[0])
    scores = scores - 0.01 * np.arange(len(candidates))
    best = sorted(np.argsort(-scores)[:n].tolist())
    return [candidates[i] for i in best]


def clean_line(text: str) -> str:
    """The model's reply reduced to its first sentence, without markdown, quotes or a "This article…" preamble."""
    text = _MARKDOWN_RE.sub("", text.strip().split("\n")[0])
    without_preamble = _PREAMBLE_RE.sub("", text).strip()
    if without_preamble != text:
        without_preamble = _REPORTING_VERB_RE.sub("", without_preamble)
        if without_preamble[:1].islower():  # "The article is about a new telescope image…": no sentence is left
            return ""
    text = without_preamble
    label = _LABEL_RE.match(text)
    if label and len(label.group(1).split()) <= 5:
        text = text[label.end():]
    text = text.strip().strip('"“”').strip()
    if text[:1].islower():
        text = text[0].upper() + text[1:]
    return first_sentence(text)


def first_sentence(text: str) -> str:
    """The first sentence by the same abbreviation-aware splitter that cuts articles ("U.S. officials" is one)."""
    spans = split_sentences(text)
    if not spans:
        return ""
    first = text[spans[0].start : spans[0].end]
    cjk_end = _CJK_SENTENCE_END_RE.search(first)
    return first[: cjk_end.end()] if cjk_end and cjk_end.end() < len(first) else first


def one_line(sentence: str, max_words: int = MAX_WORDS) -> str:
    """A single sentence of at most ``max_words`` words (and ``MAX_CHARS`` characters), cut at a clause boundary
    where one is close, without a leading "However,"/"But" (or, when too long, a leading "After the vote, …")."""
    sentence = " ".join(_MARKDOWN_RE.sub("", sentence).split())
    stripped = _LEADING_CONNECTIVE_RE.sub("", sentence)
    if stripped != sentence and stripped:
        sentence = stripped[0].upper() + stripped[1:]
    tokens = sentence.split()
    if len(tokens) > max_words:
        adjunct = _LEADING_ADJUNCT_RE.match(sentence)
        rest = sentence[adjunct.end():] if adjunct else ""
        if adjunct and len(rest.split()) >= 8 and len(adjunct.group(0).split()) <= len(tokens) // 2:
            sentence = rest[0].upper() + rest[1:]
            tokens = sentence.split()
    cut = " ".join(tokens[:max_words])
    if len(cut) > MAX_CHARS:
        cut = cut[:MAX_CHARS]
        cut = cut[: cut.rfind(" ")] if " " in cut else cut
    if cut != sentence:
        clause = max(cut.rfind(", "), cut.rfind("; "), cut.rfind(" — "), cut.rfind(" - "))
        cut = cut[:clause] if clause > len(cut) * 0.5 else cut
    # An inner sentence end (a quote closing a sentence mid-line) would make two sentences of one line.
    cut = first_sentence(cut) or cut
    cut = cut.strip().rstrip(" ,;:—-–")
    if cut != sentence:  # a cut that ends on "…, which." or "… and." leaves the clause hanging: drop that word
        cut = _HANGING_END_RE.sub("", cut).rstrip(" ,;:—-–")
    # A sentence that ends inside a quotation ("…the "Gulf of America."") is already closed.
    return cut if cut.rstrip("\"'”’)").endswith((".", "!", "?", "。", "！", "？")) else cut + "."


def states_the_news(line: str) -> bool:
    """A model line that reads as a statement of what happened: not first-person talk outside a quotation, not a
    question, not a remark about the summary itself."""
    return not (line.rstrip().endswith("?") or FIRST_PERSON_RE.search(QUOTED_RE.sub("", line))
                or _META_RE.search(line))


def is_faithful(summary: str, article: str) -> bool:
    """Every number and every capitalised name (a stand-in for named entities) of the summary occurs in the
    article: a fluent line that invents a date, a score or a person fails."""
    if numbers(summary) - numbers(article):
        return False
    folded = fold(article)
    return all(name in folded for name in names(summary))


def is_one_line(summary: str) -> bool:
    """One line, one sentence, at most ``MAX_WORDS`` words, no "This article…" preamble, no markdown."""
    text = summary.strip()
    return (
        bool(text)
        and "\n" not in text
        and len(text.split()) <= MAX_WORDS
        and first_sentence(text) == text
        and not _PREAMBLE_RE.match(text)
        and not _MARKDOWN_RE.search(text)
    )


class Summarizer:
    def __init__(self, generator_factory: Callable[[], Generator], embed: Callable[[Sequence[str]], np.ndarray],
                 prompt: Prompt, long_prompt: Prompt, ranker: SummaryRanker, wording: str):
        self._generator_factory = generator_factory
        self.embed = embed
        self.prompt = prompt
        self.long_prompt = long_prompt
        self.ranker = ranker
        self.wording = wording  # "extract": the ranker's sentence, trimmed; "model": the model may reword it

    def summarize(self, text: str, title: str = "", length: str = "short") -> Summary:
        sentences = source_sentences(text)
        if not sentences:
            return Summary("", "extractive", [])
        if length == "paragraph":
            return self._paragraph(sentences, title)
        # The ranker's best sentences, best first: the first is the extract and leads what the model is shown.
        picked = [_bounded(sentences[i]) for i in self.ranker.rank(sentences, title, self.embed)[:ONE_LINE_SOURCES]]
        extract = one_line(picked[0], EXTRACTIVE_WORDS)
        if self.wording == "extract":
            return Summary(extract, "extractive", picked, "the settings ask for the article's own words")
        generator = self._generator_factory()
        messages = fit_prompt(self.prompt, picked, generator=generator, reply_tokens=60,
                              render=lambda shown: {"title": f"{title}\n" if title else "",
                                                     "sentences": " ".join(shown)})
        if messages is None:
            return Summary(extract, "extractive", picked, "the model was not asked: the sentences do not fit its context")
        line = clean_line(generator.generate(messages, max_tokens=60, stop=["\n"]))
        # Most content words may come from anywhere in the article: a faithful line may well use words of sentences
        # it was not shown.
        if len(line.split()) < 6:
            failed = "the model's line was too short to be a summary"
        elif not states_the_news(line):
            failed = "the model's line did not state the news"
        elif not (is_faithful(line, " ".join([title, *picked])) and is_faithful(line, text)):
            failed = "the model's line had a name or number that the article does not have"
        elif role_conflicts(line, [title, *sentences]):
            failed = "the model's line had someone doing what the article says was done to them"
        elif not _grounded(line, sentences, ONE_LINE_GROUNDING):
            failed = "too many of the model's words are not in the article"
        elif repeats_headline(line, title):  # the model is shown the headline; saying it again is not the news
            failed = "the model's line only restated the headline"
        elif not is_one_line(line := one_line(line)):
            failed = "the model's line was not one sentence"
        else:
            return Summary(line, "generated", picked)
        return Summary(extract, "extractive", picked, failed)

    def _paragraph(self, sentences: list[str], title: str) -> Summary:
        """Map: the most central sentence of each of up to ``PARAGRAPH_SECTIONS`` stretches of the article (so a long
        article is covered end to end without reading it whole); reduce: the model fuses them into 3-5 sentences.
        A sentence of the model is kept only if it states the news, is grounded in the picked sentences, and one
        sentence of the article (or its title) holds all of its names and numbers: a sentence that joins facts from
        different places ("Putin … marking the first visit to Russia") is where a small model goes wrong, and it keeps
        the roles the article gives its participants (not "Putin greeted Kim" for "Putin was greeted by Kim"). A sentence
        that says again what a kept one said is left out."""
        picked = _distinct(_bounded(s) for s in self._section_picks(sentences, title))
        # Headings (lines without a full stop) would run into the next sentence of an extract.
        extract = " ".join(([s for s in picked if s.rstrip("\"”’)").endswith((".", "!", "?"))] or picked)[:5])
        generator = self._generator_factory()
        messages = fit_prompt(self.long_prompt, picked, generator=generator, reply_tokens=PARAGRAPH_TOKENS,
                              render=lambda shown: {"title": title or "(none)",
                                                     "sentences": "\n".join(f"- {s}" for s in shown)})
        if messages is None:
            return Summary(extract, "extractive", picked, "the model was not asked: the sentences do not fit its context")
        kept: list[str] = []
        dropped = 0
        draft = generator.generate(messages, max_tokens=PARAGRAPH_TOKENS)
        for part in re.split(r"(?<=[.!?])\s+", " ".join(draft.split())):
            part = _PREAMBLE_RE.sub("", re.sub(r"[*_#`>]+", "", part)).strip()
            if len(part.split()) < 5 or not part.endswith((".", "!", "?")) or _repeats(part, kept):
                continue  # a fragment or a repeat: nothing to check
            if (_states_only_what_was_shown(part, title, picked, " ".join(sentences)) and _grounded(part, picked)
                    and any(is_faithful(part, s) for s in [title, *sentences])
                    and not role_conflicts(part, [title, *sentences])):
                kept.append(part)
            else:
                dropped += 1
        if len(kept) >= 3:
            return Summary(" ".join(kept[:5]), "generated", picked, dropped=dropped)
        return Summary(extract, "extractive", picked,
                       f"only {len(kept)} of the model's sentences passed the checks, and a paragraph needs 3",
                       dropped)

    def _section_picks(self, sentences: list[str], title: str) -> list[str]:
        if len(sentences) <= PARAGRAPH_SECTIONS:
            return sentences
        bounds = np.linspace(0, len(sentences), PARAGRAPH_SECTIONS + 1).astype(int)
        picks = []
        for start, end in itertools.pairwise(bounds):
            section = sentences[start:end]
            picks.append(section[central_sentences(section, title, self.embed, n=1, pool=40)[0]])
        return picks


def _states_only_what_was_shown(line: str, title: str, picked: Sequence[str], article: str) -> bool:
    """The checks that catch invented facts in a model line: it states the news, and every name and number in it is
    in what the model was shown (a name it brought itself comes from its own memory, even when the article happens
    to hold it elsewhere) and in the article."""
    return states_the_news(line) and is_faithful(line, " ".join([title, *picked])) and is_faithful(line, article)


def _repeats(sentence: str, kept: Sequence[str], overlap: float = 0.7) -> bool:
    """Whether ``sentence`` says what one of ``kept`` says: most of its content words, and all of its names and
    numbers, are that sentence's."""
    words, facts = content_stems(sentence), names(sentence) | numbers(sentence)
    for other in kept:
        other_words = content_stems(other)
        if (len(words & other_words) >= overlap * max(1, min(len(words), len(other_words)))
                and facts <= names(other) | numbers(other)):
            return True
    return False


def _distinct(sentences: Iterable[str]) -> list[str]:
    """The sentences without those that repeat an earlier one (a title shown again as the first line, a quote)."""
    kept: list[str] = []
    for sentence in sentences:
        if not _repeats(sentence, kept):
            kept.append(sentence)
    return kept


def _bounded(sentence: str) -> str:
    tokens = sentence.split()
    if len(tokens) <= MAX_SOURCE_WORDS and len(sentence) <= 6 * MAX_CHARS:
        return sentence
    return one_line(sentence, MAX_SOURCE_WORDS) if len(tokens) > 1 else sentence[: 6 * MAX_CHARS]


def _grounded(line: str, sources: Sequence[str], threshold: float = 0.7) -> bool:
    """Most content words of ``line`` come from the sentences the model was shown."""
    claim = content_stems(line)
    if not claim:
        return False
    return len(claim & content_stems(" ".join(sources))) / len(claim) >= threshold


def lead_sentence(text: str) -> str:
    """The lead-1 baseline: the article's first sentence."""
    sentences = article_sentences(text)
    return sentences[0] if sentences else ""


__all__ = ["Summarizer", "Summary", "article_sentences", "central_sentences", "clean_line", "first_sentence",
           "is_faithful",
           "is_one_line", "lead_sentence", "one_line"]
