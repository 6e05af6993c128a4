"""The spaCy pipeline: the pinned re-upload, checked by hash, and the parse cache."""
from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from qa_bot.errors import ModelNotFoundError
from qa_bot.nlp import PINNED_FILES, SPACY_PACKAGE, check_pinned_files, parse, parse_one


def installed_root() -> Path:
    spec = importlib.util.find_spec(SPACY_PACKAGE)
    return Path(next(iter(spec.submodule_search_locations)))


def test_the_installed_pipeline_is_the_pinned_release():
    check_pinned_files(installed_root())  # raises on any difference


def test_a_changed_weights_file_is_refused(tmp_path):
    root = installed_root()
    name = next(iter(PINNED_FILES))
    for other in PINNED_FILES:
        (tmp_path / other).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / other, tmp_path / other)
    with (tmp_path / name).open("r+b") as handle:
        handle.seek(100)
        handle.write(b"\x00\x01\x02")
    with pytest.raises(ModelNotFoundError, match="not the pinned release.*pip install --force-reinstall"):
        check_pinned_files(tmp_path)


def test_parses_are_cached_and_carry_entities_and_syntax():
    first = parse_one("Kim Jong Un greeted Vladimir Putin in Pyongyang.")
    assert parse(["Kim Jong Un greeted Vladimir Putin in Pyongyang."])[0] is first
    assert {(e.text, e.label_) for e in first.ents} >= {("Vladimir Putin", "PERSON"), ("Pyongyang", "GPE")}
    assert next(t for t in first if t.text == "greeted").dep_ == "ROOT"
