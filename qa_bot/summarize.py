"""One-line (or paragraph) summaries: pick the article's central sentences, let the model compress them under a
strict prompt, verify the result against the article, and fall back to the best sentence trimmed to one line."""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .chunk import split_sentences
from .generate import Generator
from .prompts import Prompt
from .text import content_stems, fold, names, numbers, words

MAX_WORDS = 30
_PREAMBLE_RE = re.compile(
    r"^(summary|one-sentence summary|here is (a|the) (one-sentence )?summary|in summary|this (article|text|story|piece)"
    r"|the (article|text|story|piece))\b[^:]*?:?\s*",
    re.IGNORECASE,
)


@dataclass
class Summary:
    text: str
    path: str  # "generated" or "extractive"
    sentences: list[str]  # the article sentences given to the model


def article_sentences(text: str) -> list[str]:
    return [text[s.start : s.end].replace("\n", " ") for s in split_sentences(text)]


def central_sentences(sentences: Sequence[str], title: str, embed: Callable[[Sequence[str]], np.ndarray],
                      n: int = 3, pool: int = 25) -> list[int]:
    """Indices of the ``n`` sentences closest to the article's centre (and title), with a bonus for coming early."""
    candidates = [i for i, s in enumerate(sentences[:pool]) if 5 <= len(s.split()) <= 60]
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
    scores = scores - 0.02 * np.arange(len(candidates))  # news puts the point first
    best = sorted(np.argsort(-scores)[:n].tolist())
    return [candidates[i] for i in best]


def clean_line(text: str) -> str:
    text = text.strip().split("\n")[0]
    text = re.sub(r"[*_#`>]+", "", text)
    text = _PREAMBLE_RE.sub("", text).strip().strip('"“”').strip()
    first = re.split(r"(?<=[.!?])\s+(?=[A-Z])", text)[0] if text else ""
    return first.strip()


def one_line(sentence: str, max_words: int = MAX_WORDS) -> str:
    """A single sentence of at most ``max_words`` words, cut at a clause boundary where one is close."""
    tokens = sentence.split()
    if len(tokens) <= max_words:
        out = sentence.strip()
    else:
        cut = " ".join(tokens[:max_words])
        clause = max(cut.rfind(", "), cut.rfind("; "), cut.rfind(" — "))
        out = cut[:clause] if clause > len(cut) * 0.5 else cut
    out = out.rstrip(" ,;:—-")
    return out if out.endswith((".", "!", "?")) else out + "."


def is_faithful(summary: str, article: str) -> bool:
    """Every number and capitalised name of the summary occurs in the article."""
    folded = fold(article)
    if numbers(summary) - numbers(article):
        return False
    return all(n in folded for n in names(summary))


def is_one_line(summary: str) -> bool:
    return (
        "\n" not in summary.strip()
        and len(summary.split()) <= MAX_WORDS
        and len(re.findall(r"[.!?](?:\s|$)", summary.strip())) <= 1
        and not _PREAMBLE_RE.match(summary)
    )


class Summarizer:
    def __init__(self, generator_factory: Callable[[], Generator], embed: Callable[[Sequence[str]], np.ndarray],
                 prompt: Prompt, long_prompt: Prompt):
        self._generator_factory = generator_factory
        self.embed = embed
        self.prompt = prompt
        self.long_prompt = long_prompt

    def summarize(self, text: str, title: str = "", length: str = "short") -> Summary:
        sentences = article_sentences(text)
        if not sentences:
            return Summary("", "extractive", [])
        if length == "paragraph":
            return self._paragraph(sentences, title)
        picked = [sentences[i] for i in central_sentences(sentences, title, self.embed, n=3)]
        generator = self._generator_factory()
        listing = "\n".join(f"- {s}" for s in picked)
        draft = generator.generate(self.prompt.render(title=title or "(none)", sentences=listing), max_tokens=60,
                                   stop=["\n"])
        line = clean_line(draft)
        if line and len(line.split()) >= 6 and is_faithful(line, text) and _grounded(line, picked):
            return Summary(one_line(line), "generated", picked)
        return Summary(one_line(picked[0]), "extractive", picked)

    def _paragraph(self, sentences: list[str], title: str) -> Summary:
        picked = [sentences[i] for i in central_sentences(sentences, title, self.embed, n=6, pool=60)]
        listing = "\n".join(f"- {s}" for s in picked)
        draft = self._generator_factory().generate(
            self.long_prompt.render(title=title or "(none)", sentences=listing), max_tokens=200)
        kept = [s for s in re.split(r"(?<=[.!?])\s+", draft.strip()) if s and is_faithful(s, " ".join(sentences))
                and _grounded(s, picked)]
        if len(kept) >= 2:
            return Summary(" ".join(kept[:5]), "generated", picked)
        return Summary(" ".join(picked[:4]), "extractive", picked)


def _grounded(line: str, sources: Sequence[str], threshold: float = 0.7) -> bool:
    claim = content_stems(line)
    if not claim:
        return False
    return len(claim & content_stems(" ".join(sources))) / len(claim) >= threshold


def lead_sentence(text: str) -> str:
    sentences = article_sentences(text)
    return sentences[0] if sentences else ""


__all__ = ["Summarizer", "Summary", "is_faithful", "is_one_line", "lead_sentence", "words"]
