import json
import re

from qa_bot.load import LoadIssue, clean_page_text, load_paths
from qa_bot.records import Document

from .conftest import SEED


def docs_and_issues(paths):
    items = list(load_paths(paths))
    return [i for i in items if isinstance(i, Document)], [i for i in items if isinstance(i, LoadIssue)]


def test_seed_page_loses_its_boilerplate():
    (doc,), issues = docs_and_issues([SEED])
    assert not issues
    assert doc.title == "North Korea: Vladimir Putin was greeted by Kim Jong-un on June 18 and 19"
    for junk in ["Skip to content", "Share this article", "globalhappenings news.jpg", "most popular",
                 "videoThe mysterious armored train"]:
        assert junk not in doc.text
    assert doc.text.count("Vladimir Putin was greeted by Kim Jong-un on June 18 and 19") == 1
    assert "expertise for its satellite program" in doc.text
    assert "Seoul is on alert" in doc.text and doc.text.endswith("sanctions against Moscow.")
    assert doc.source == "Le Parisien" and "Source:" not in doc.text  # the page's own line says who published it
    assert doc.published is None and re.fullmatch(r"\d{4}-\d{2}-\d{2}", doc.file_date)  # a file date is no publication date


def test_doc_id_is_stable_and_derived_from_path(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a story.txt").write_text("A headline about something\n\nThe body says a thing happened.")
    first, _ = docs_and_issues([tmp_path])
    second, _ = docs_and_issues([tmp_path])
    assert first[0].doc_id == second[0].doc_id == "sub/a-story"
    assert first[0].content_hash == second[0].content_hash


def test_jsonl_records_and_bad_lines(tmp_path):
    path = tmp_path / "c.jsonl"
    good = {"doc_id": "d1", "title": "T", "url": "http://x", "source": "S", "published": "2025-01-02", "text": "Body one."}
    path.write_text("\n".join([json.dumps(good), "{broken", json.dumps({"doc_id": "d2"}),
                               json.dumps({**good, "text": "Body two."})]) + "\n")
    docs, issues = docs_and_issues([path])
    assert [d.text for d in docs] == ["Body two."]  # d1 repeats on line 4: only the later record is kept
    assert docs[0].published == "2025-01-02" and docs[0].source == "S" and docs[0].url == "http://x"
    messages = {(i.line, i.level): i.message for i in issues}
    assert "not valid JSON" in messages[(2, "error")]
    assert "missing required field text" in messages[(3, "error")]
    assert "later record wins" in messages[(4, "warning")]


def test_empty_binary_and_bad_encoding_files(tmp_path):
    (tmp_path / "empty.txt").write_text("   \n\n ")
    (tmp_path / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    (tmp_path / "doc.txt").write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj")
    (tmp_path / "latin.txt").write_bytes("Caf\xe9 owners in M\xfcnchen said prices rose.".encode("latin-1"))
    docs, issues = docs_and_issues([tmp_path])
    by_file = {i.path.rsplit("/", 1)[-1]: i for i in issues}
    assert "empty" in by_file["empty.txt"].message
    assert "PNG" in by_file["image.txt"].message
    assert "PDF" in by_file["doc.txt"].message
    assert by_file["latin.txt"].level == "warning" and "UTF-8" in by_file["latin.txt"].message
    assert [d.text for d in docs] == ["Café owners in München said prices rose."]


def test_missing_path_and_unsupported_type(tmp_path):
    (tmp_path / "x.pdf").write_bytes(b"%PDF")
    _, issues = docs_and_issues([tmp_path / "nope.txt", tmp_path / "x.pdf"])
    assert "no such file" in issues[0].message
    assert "unsupported file type .pdf" in issues[1].message


def test_clean_page_text_keeps_subheadings_and_drops_repeats():
    title, body = clean_page_text("Skip to content\nBig News Today Here\nBig News Today Here\n\nFirst para.\n\n"
                                  "A subheading\n\nSecond para.\nShare this article:\nphoto.png\nmost popular")
    assert title == "Big News Today Here"
    assert body == "Big News Today Here\n\nFirst para.\n\nA subheading\n\nSecond para."
