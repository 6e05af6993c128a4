"""Small text helpers shared by evidence selection, verification, summaries and metrics."""
from __future__ import annotations

import re
import unicodedata
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
_NUMBER_RE = re.compile(r"\d[\d,.]*")
_MONTHS = "january february march april may june july august september october november december".split()


def fold(text: str) -> str:
    """NFKC, straight quotes, lower case: the form in which texts are compared."""
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return text.lower()


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    stemmer = _stemmer()
    return stemmer.stemWord(word) if stemmer else word


@lru_cache(maxsize=1)
def _stemmer():
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
        re.search(r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|yesterday|today|last (week|year|month))\b", low)
    )


def has_number(text: str) -> bool:
    return bool(_NUMBER_RE.search(text)) or bool(
        re.search(r"\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred|thousand|million|billion|dozen)\b", fold(text))
    )


MONTH_NAMES = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
               "November", "December"]


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
