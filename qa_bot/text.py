"""Small text helpers shared by chunking, evidence selection, verification, summaries and metrics: sentence
splitting, word and name extraction, stemming, calendar words, citation markers and the prompt-injection pattern.
Nothing here imports another qa_bot module, so every stage can use it without reaching sideways."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# English function words plus question words: they carry no evidence of support.
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below between both
    but by can could did do does doing down during each few for from further had has have having he her here hers
    herself him himself his how i if in into is it its itself just me more most my myself no nor not now of off on
    once only or other our ours ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were what when where which
    while who whom why will with would you your yours yourself yourselves also according said says say reportedly
    according one ones did does done many much whose""".split()
)
_WORD_RE = re.compile(r"[\w’'-]+", re.UNICODE)
# Someone speaking (first person) and quoted words: a sentence that is someone's words rather than what happened.
FIRST_PERSON_RE = re.compile(r"\b(?:I|I['’](?:m|ve|d|ll)|[Mm]e|[Mm]y|[Ww]e|[Ww]e['’](?:re|ve|d|ll)|[Oo]ur|us)\b")
QUOTED_RE = re.compile(r"\"[^\"]*\"|“[^”]*”")
_NUMBER_RE = re.compile(r"\d[\d,.]*")

# --- calendar words (the one list of them) ---------------------------------------------------------------------------
MONTH_NAMES = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
               "November", "December"]
WEEKDAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
# "jan" … "dec" plus "sept": how news text abbreviates months ("Jan. 15", "Sept. 3").
MONTH_ABBREVIATIONS = [m.lower()[:3] for m in MONTH_NAMES[:9]] + ["sept"] + [m.lower()[:3] for m in MONTH_NAMES[9:]]
_MONTHS = [m.lower() for m in MONTH_NAMES]
_WEEKDAYS = [d.lower() for d in WEEKDAY_NAMES]
# Words that name a time, not a person or thing: months (full and abbreviated) and weekdays.
CALENDAR_WORDS = frozenset(_MONTHS + MONTH_ABBREVIATIONS + _WEEKDAYS)
_DAY_WORDS_RE = re.compile(r"\b(" + "|".join(_WEEKDAYS) + r"|yesterday|today|last (week|year|month))\b")
_MONTH_ABBREVIATION = "(?:" + "|".join(MONTH_ABBREVIATIONS) + ")"
_CALENDAR_DATE_RE = re.compile(
    rf"\b{_MONTH_ABBREVIATION}[a-z]*\.?\s+\d{{1,2}}\b"
    rf"|\b\d{{1,2}}\s+{_MONTH_ABBREVIATION}[a-z]*\b"
    r"|\b\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}\b"
)


def fold(text: str) -> str:
    """NFKC, straight quotes, lower case: the form in which texts are compared."""
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return text.lower()


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    # Evidence scoring and the BM25 candidates re-read the same words per query; a news vocabulary fits this cache,
    # so each word is stemmed about once.
    english = stemmer()
    return english.stemWord(word) if english else word


@lru_cache(maxsize=1)
def stemmer():
    """PyStemmer's English (Snowball) stemmer, shared by evidence scoring and BM25; None without PyStemmer."""
    try:
        import Stemmer
    except ImportError:  # PyStemmer is declared; without it words are compared as they are
        return None
    return Stemmer.Stemmer("english")


def words(text: str) -> list[str]:
    return [w.strip("'-’") for w in _WORD_RE.findall(fold(text)) if w.strip("'-’")]


def content_stems(text: str) -> set[str]:
    """Stemmed content words: what two texts must share for one to support the other."""
    out = set()
    for w in words(text):
        if w.endswith("'s"):
            w = w[:-2]
        # "one-month" also matches "one month": keep the compound and its parts.
        for part in {w, *w.split("-")} if "-" in w else {w}:
            if part in STOPWORDS or len(part) < 2 and not part.isdigit():
                continue
            out.add(stem(part))
    return out


def numbers(text: str) -> set[str]:
    return {n.rstrip(".,").replace(",", "") for n in _NUMBER_RE.findall(text)}


_NAME_RE = re.compile(r"(?<![\w’'])[A-Z][\w’'-]*(?:\s+(?:[A-Z][\w’'-]*|of|de|la|van|von|bin|al))*")


def names(text: str) -> set[str]:
    """Capitalised words not at a sentence start — a cheap stand-in for named entities — folded and split."""
    found = set()
    for match in _NAME_RE.finditer(text):
        start = match.start()
        before = text[:start].rstrip()
        sentence_start = not before or before[-1] in ".!?:\"“\n"
        for token in match.group().split():
            if token[0].isupper() and not (sentence_start and token == match.group().split()[0]):
                t = fold(token).strip("'’-")
                if t.endswith("'s"):
                    t = t[:-2]
                if t and t not in STOPWORDS:
                    found.add(t)
    return found


def has_date(text: str) -> bool:
    low = fold(text)
    return bool(re.search(r"\b(1[89]\d\d|20\d\d)\b", low)) or any(m in low for m in _MONTHS) or bool(
        _DAY_WORDS_RE.search(low)
    )


def has_calendar_date(text: str) -> bool:
    """A day of a month ("March 3", "3 March", "2025-03-03"), not just a weekday or a year: what "what date" asks."""
    return bool(_CALENDAR_DATE_RE.search(fold(text)))


def is_calendar_date(value: str) -> bool:
    """YYYY-MM-DD and a real day (2025-02-30 is not): stored publication dates are compared as such strings."""
    try:
        return len(value) == 10 and dt.date.fromisoformat(value).isoformat() == value
    except ValueError:
        return False


def has_number(text: str) -> bool:
    return bool(_NUMBER_RE.search(text)) or bool(
        re.search(r"\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred|thousand|million|billion|dozen)\b", fold(text))
    )


def date_words(published: str | None) -> str:
    """"2025-01-15" → "January 15 2025": lets a question's "in January 2025" match the article's date."""
    if not published or len(published) < 7 or not published[:4].isdigit():
        return ""
    month = int(published[5:7]) if published[5:7].isdigit() else 0
    day = published[8:10].lstrip("0") if len(published) >= 10 else ""
    return f"{MONTH_NAMES[month - 1] if 1 <= month <= 12 else ''} {day} {published[:4]}".strip()


def term_weights(words_: list[str]) -> dict[str, float]:
    """How much each word says about a topic: rarer in general English, heavier (8 − Zipf frequency, clipped to
    1..6). General-English frequencies keep scores comparable between a one-article index and a large one, where
    frequencies counted in the index itself would swing with its size."""
    from wordfreq import zipf_frequency

    return {w: min(6.0, max(1.0, 8.0 - zipf_frequency(w, "en"))) for w in words_}


# --- sentences ---------------------------------------------------------------------------------------------------------
# Abbreviations after which a full stop does not end a sentence ("may" is a word, so not its month).
_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "gen", "col", "lt", "sgt", "capt", "gov", "sen", "rep",
    "rev", "hon", "pres", "vs", "etc", "inc", "corp", "ltd", "co", "no", *(m for m in MONTH_ABBREVIATIONS if m != "may"),
    "u.s", "u.k", "u.n", "e.g", "i.e", "a.m", "p.m", "approx", "dept", "est",
    "fig", "ft", "mass", "calif", "fla", "ind", "wash", "ariz", "conn", "penn", "tenn", "va",
}
# A candidate boundary: end punctuation (with closing quotes/brackets), whitespace, then something that can start one.
_BOUNDARY_RE = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9À-ÖØ-Þ])|\n+")


@dataclass(frozen=True)
class Span:
    start: int
    end: int


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentence spans of ``text[start:end]`` (offsets into ``text``), whitespace trimmed, none empty.

    Paragraph breaks always end a sentence; ``.``/``!``/``?`` do unless they close a known abbreviation or a single
    initial ("J. R. Smith"). The one splitter of the code base: chunks, evidence, answers and summaries all use it."""
    end = len(text) if end is None else end
    spans: list[Span] = []
    cursor = start
    for match in _BOUNDARY_RE.finditer(text, start, end):
        if match.group().startswith(".") and not match.group().startswith(".."):
            word = re.search(r"([\w.]+)$", text[cursor : match.start()])
            token = word.group(1).lower() if word else ""
            if token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha()):
                continue
        _append_span(text, cursor, match.end() if match.group()[0] != "\n" else match.start(), spans)
        cursor = match.end()
    _append_span(text, cursor, end, spans)
    return spans


def _append_span(text: str, start: int, end: int, spans: list[Span]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append(Span(start, end))


# --- citation markers --------------------------------------------------------------------------------------------------
_CITED_NUMBERS = r"\d+(?:\s*[,;-]\s*\d+)*"  # "1", "1, 2", "1-3"
# The markers qa-bot itself puts in answers: "[1]", "[1, 2]". Scoring removes only these, so an article's own
# "(2019)" in a quoted answer stays part of the answer.
_ANSWER_MARK_RE = re.compile(rf"\s*\[\s*{_CITED_NUMBERS}\s*\]")
# Any marker a model may write in a draft: "[1]", "(2)", "【3】", "[source 1]".
_MODEL_MARK_RE = re.compile(rf"\s*[\[(【]\s*(?:source\s*)?{_CITED_NUMBERS}\s*[\])】]", re.IGNORECASE)


def strip_citation_marks(text: str) -> str:
    """An answer without its ``[n]`` source markers (they are not part of the answer)."""
    return _ANSWER_MARK_RE.sub("", text or "").strip()


def strip_citations(text: str) -> str:
    """A model's draft without any citation marker it wrote (``[1]``, ``(2)``, ``【3】``, ``[source 1]``)."""
    return _MODEL_MARK_RE.sub("", text).strip()


# --- untrusted text ----------------------------------------------------------------------------------------------------
# Article text is untrusted: sentences addressed to a language model are never used as evidence or summary material.
_INJECTION_RE = re.compile(
    r"\b(ignore|disregard|forget|override)\s+(?:(?:all|any|of|the)\s+)*"
    r"(?:previous|prior|above|earlier|preceding|original|system|your|my|all|any)\s+"
    r"(?:instructions|prompts?|rules|directions|guidelines)\b"
    r"|\b(?:ignore|disregard|forget)\s+(?:all\s+(?:of\s+)?)?the\s+above\b"
    r"|\b(?:forget|ignore)\s+(?:everything|all)\s+(?:that\s+)?you(?:'ve| have| were| had)?\s+(?:been\s+)?(?:told|taught)"
    r"|\b(system|assistant)\s*:|reveal (your|the) (system )?prompt|you are (now )?(an? )?(ai|assistant|language model)"
    r"|\bnew instructions\b|\bjailbreak\b|\bdeveloper mode\b|\bas an ai (?:language )?model\b"
    r"|\byou must (?:now )?(?:answer|reply|respond|say|print|output)\b"
    # chat-template role tokens: llama.cpp would parse them as real turns if they reached the prompt
    r"|<\|[a-z_]{2,20}\|>|\[/?INST\]|<</?SYS>>|(?:^|\s)#{2,}\s*(?:instruction|system|response|assistant)\b",
    re.IGNORECASE,
)


def looks_like_injection(sentence: str) -> bool:
    """Whether a sentence addresses a language model ("Ignore previous instructions…", a chat-template token)."""
    return bool(_INJECTION_RE.search(sentence))
