"""Evaluation: metric functions on hand-made cases, gold-file validation, and end-to-end runs on fakes."""
import json

import pytest

from qa_bot.errors import GoldFormatError
from qa_bot.eval.corpus import eval_collection_name
from qa_bot.eval.metrics import aggregate_qa, answer_contains, normalize_answer, refusal_curve, score_answer, token_f1
from qa_bot.eval.qa import QA_KEYS, evaluate_qa
from qa_bot.eval.records import GoldItem, load_gold, load_summary_references
from qa_bot.eval.summaries import SUMMARY_KEYS, evaluate_summaries
from qa_bot.eval.tables import format_qa_table, format_summary_table
from qa_bot.records import Answer, Chunk, Citation, Hit

from .conftest import ScriptedGenerator


# --- normalisation and answer metrics ----------------------------------------------------------------------------
def test_normalize_answer_handles_quotes_articles_punctuation_and_nfkc():
    assert normalize_answer("the country’s food") == normalize_answer("The country's food") == "countrys food"
    assert normalize_answer("“Quoted”  answer!") == "quoted answer"
    assert normalize_answer("An apple, a pear and THE plum.") == "apple pear and plum"
    assert normalize_answer("ﬁnal ①") == "final 1"  # NFKC: ligature and circled digit
    assert normalize_answer("Ｆｕｌｌｗｉｄｔｈ") == "fullwidth"
    assert normalize_answer("1,200 residents") == "1200 residents"
    assert normalize_answer("Kim Jong‑un") == normalize_answer("Kim Jong-un") == "kim jongun"  # non-breaking hyphen
    assert normalize_answer("Naryshkin—the spy chief") == "naryshkin spy chief"  # a dash separates words
    assert normalize_answer("theatre then") == "theatre then"  # only whole-word articles go
    assert normalize_answer("") == ""


def test_answer_contains_matches_whole_words_after_normalisation():
    golds = ["aid to address the country’s food shortages"]
    assert answer_contains("Russia sent aid to address the country's food shortages [1].", golds)
    assert not answer_contains("Russia sent aid.", golds)
    assert answer_contains("It was Sergei Naryshkin [2].", ["Naryshkin", "Sergei Naryshkin"])
    assert not answer_contains("They met in Vietnamese waters.", ["Vietnam"])  # not a substring match
    assert answer_contains("The answer is 1,200.", ["1200"])
    assert not answer_contains("anything", [])
    assert not answer_contains("the", ["The"])  # a gold that normalises to nothing never matches


def test_token_f1_hand_computed():
    assert token_f1("Sergei Naryshkin", ["Naryshkin"]) == pytest.approx(2 / 3)  # p=1/2, r=1
    assert token_f1("the Sergei Naryshkin [1]", ["Sergei Naryshkin"]) == 1.0  # articles and markers ignored
    # pred: russia provided expertise (3); gold: expertise for its satellite program (5); common 1
    # p=1/3, r=1/5 -> f1 = 2*(1/15)/(8/15) = 0.25
    assert token_f1("Russia provided expertise.", ["expertise for its satellite program"]) == pytest.approx(0.25)
    assert token_f1("Vietnam", ["Laos", "Vietnam"]) == 1.0  # best over golds
    assert token_f1("Paris", ["Vietnam"]) == 0.0
    assert token_f1("anything", []) == 0.0
    assert token_f1("a the", ["the"]) == 1.0  # both empty after normalisation, as in SQuAD


# --- per-question scoring and aggregation on hand-made answers ---------------------------------------------------
def _chunk(doc_id: str, i: int = 0) -> Chunk:
    return Chunk(chunk_id=f"{doc_id}-{i}", doc_id=doc_id, text="text", start=0, end=4, index=i)


def _answer(direct, docs_cited=(), hits=(), declined=False, path=None, score=0.8, quote="q") -> Answer:
    citations = [Citation(n=i + 1, doc_id=d, title=d, url=None, chunk_id=f"{d}-0", quote=quote)
                 for i, d in enumerate(docs_cited)]
    return Answer(question="q", text=f"{direct}\n\nFrom X: “{quote}” [1]", declined=declined, direct=direct,
                  quote=quote, citations=citations, path=path or ("declined" if declined else "extracted"),
                  hits=[Hit(_chunk(d, i), 1.0 - i / 10) for i, d in enumerate(hits)], confidence=score)


def _gold(answerable=True, answers=("Vietnam",), doc_ids=("a",), type_="factual") -> GoldItem:
    return GoldItem(id="x", question="q", answerable=answerable, answers=tuple(answers) if answerable else (),
                    doc_ids=tuple(doc_ids) if answerable else (), type=type_)


def _row(gold: GoldItem, answer: Answer, latency=1.0) -> dict:
    return {"answerable": gold.answerable, "type": gold.type, **score_answer(gold, answer), "latency_s": latency}


def test_score_answer_retrieval_rank_by_distinct_docs():
    row = score_answer(_gold(doc_ids=("a",)), _answer("Vietnam [1].", ["a"], hits=["b", "b", "c", "a"]))
    assert row["retrieved_doc_ids"] == ["b", "c", "a"]
    assert row["retrieval_hit"] is True and row["reciprocal_rank"] == pytest.approx(1 / 3, abs=1e-4)
    assert row["correct"] is True and row["cites_gold"] is True and row["citations_gold"] == 1
    miss = score_answer(_gold(doc_ids=("z",)), _answer("Vietnam.", [], hits=["b", "c"]))
    assert miss["retrieval_hit"] is False and miss["reciprocal_rank"] == 0.0


def test_declined_answer_is_not_correct_even_if_it_mentions_the_answer():
    row = score_answer(_gold(answers=("say",)), _answer("The articles I have do not say.", declined=True))
    assert row["correct"] is False and row["token_f1"] == 0.0 and row["declined"] is True


def test_refusal_counting_and_citation_precision_recall():
    gold_a = _gold(doc_ids=("a",))
    rows = [
        _row(gold_a, _answer("Vietnam [1] [2].", ["a", "b"], hits=["a", "b"])),  # correct; 1 of 2 citations gold
        _row(gold_a, _answer("It was Vietnam [1].", ["b"], hits=["b", "a"])),  # correct; cites no gold doc
        _row(gold_a, _answer("Laos [1].", ["a"], hits=["a"])),  # wrong answer; 1 gold citation
        _row(gold_a, _answer("do not say", declined=True, hits=["c"], score=0.1)),  # false refusal
        _row(_gold(answerable=False, type_="unanswerable"), _answer("declined", declined=True, score=0.2)),
        _row(_gold(answerable=False, type_="unanswerable"), _answer("Paris [1].", ["c"], score=0.6)),
    ]
    m = aggregate_qa(rows)
    assert (m["n"], m["n_answerable"], m["n_unanswerable"]) == (6, 4, 2)
    assert m["answer_accuracy"] == 0.5
    assert m["citation_precision"] == 0.5  # 2 gold out of 4 citations on answerable questions (unanswerable ignored)
    assert m["citation_recall"] == 0.5  # of the 2 correct answers, 1 cites a gold doc
    assert m["refusal_rate"] == 0.5 and m["false_refusal_rate"] == 0.25
    assert m["retrieval_recall_at_k"] == 0.75 and m["mrr"] == pytest.approx((1 + 0.5 + 1 + 0) / 4)
    assert m["paths"] == {"generated": 0.0, "extracted": pytest.approx(4 / 6, abs=1e-4), "quoted": 0.0,
                          "declined": pytest.approx(2 / 6, abs=1e-4)}
    assert m["answer_accuracy_ci95"][0] < 0.5 < m["answer_accuracy_ci95"][1]
    assert m["latency_p50_s"] == 1.0


def test_accuracy_and_f1_score_the_direct_answer_not_the_quote():
    gold = _gold(answers=("Vietnam",))
    right = score_answer(gold, _answer("Vietnam", ["a"], quote="Putin then visits Vietnam, a Soviet-era partner."))
    assert right["correct"] and right["quote_correct"] and right["token_f1"] == 1.0
    # a wrong direct answer is wrong even when the quote under it holds the gold answer
    wrong = score_answer(gold, _answer("Laos", ["a"], quote="Putin then visits Vietnam, a Soviet-era partner."))
    assert not wrong["correct"] and wrong["quote_correct"] and wrong["token_f1"] == 0.0
    # only a quote (no span was clearly the answer): the quote is what answers, and is scored
    quoted = Answer(question="q", text="From X: “He visits Vietnam.” [1]", declined=False, quote="He visits Vietnam.",
                    path="quoted", confidence=0.7)
    row = score_answer(gold, quoted)
    assert row["correct"] and 0 < row["token_f1"] < 1


def test_rates_without_anything_to_count_are_none():
    m = aggregate_qa([_row(_gold(answerable=False, type_="unanswerable"), _answer("x", declined=True))])
    assert m["answer_accuracy"] is None and m["false_refusal_rate"] is None and m["citation_precision"] is None
    assert m["refusal_rate"] == 1.0


def test_refusal_curve_from_confidences():
    rows = [
        {"answerable": True, "confidence": 0.7, "correct": True},
        {"answerable": True, "confidence": 0.45, "correct": False},
        {"answerable": False, "confidence": 0.4, "correct": None},
        {"answerable": False, "confidence": None, "correct": None},
    ]
    curve = {p["threshold"]: p for p in refusal_curve(rows, thresholds=(0.0, 0.42, 0.5, 0.8), current=0.42)}
    assert (curve[0.0]["refusal_rate"], curve[0.0]["false_refusal_rate"]) == (0.5, 0.0)  # None score: always declined
    assert (curve[0.5]["refusal_rate"], curve[0.5]["false_refusal_rate"]) == (1.0, 0.5)
    assert (curve[0.8]["refusal_rate"], curve[0.8]["false_refusal_rate"]) == (1.0, 1.0)
    assert curve[0.0]["answer_accuracy"] is None  # below the current threshold correctness is unknown
    assert curve[0.42]["answer_accuracy"] == 0.5 and curve[0.8]["answer_accuracy"] == 0.0
    assert refusal_curve([{"answerable": True, "confidence": None, "correct": False}]) is None


# --- gold / reference files ----------------------------------------------------------------------------------------
GOOD = {"id": "q1", "question": "Which country?", "answerable": True, "answers": ["Vietnam"], "doc_ids": ["a"],
        "evidence": "They visit Vietnam.", "type": "factual", "source": "seed"}


def _write(path, lines):
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n",
                    encoding="utf-8")
    return path


@pytest.mark.parametrize("bad, message", [
    ({k: v for k, v in GOOD.items() if k != "answers"}, "missing field 'answers'"),
    ({**GOOD, "answerable": "yes"}, "'answerable' must be true or false"),
    ({**GOOD, "answers": "Vietnam"}, "'answers' must be a list of strings"),
    ({**GOOD, "answers": []}, "answerable but has no answers"),
    ({**GOOD, "doc_ids": []}, "has no doc_ids"),
    ({**GOOD, "answerable": False}, "unanswerable but lists answers"),
    ({**GOOD, "question": "  "}, "'question' is empty"),
    ({**GOOD, "id": "q0"}, "also on line 1"),
    ('{"id": "q2", "question": ', "not valid JSON"),
    ("[1, 2]", "expected a JSON object"),
])
def test_bad_gold_line_names_file_line_and_problem(tmp_path, bad, message):
    path = _write(tmp_path / "gold.jsonl", [{**GOOD, "id": "q0"}, "", bad])
    with pytest.raises(GoldFormatError) as err:
        load_gold(path)
    assert "gold.jsonl:3: " in str(err.value) and message in str(err.value)


def test_gold_loads_and_ignores_extra_fields(tmp_path):
    unanswerable = {"id": "q2", "question": "Who?", "answerable": False, "answers": [], "doc_ids": [],
                    "type": "unanswerable", "absent_answers": ["X"]}
    items = load_gold(_write(tmp_path / "gold.jsonl", [GOOD, unanswerable]))
    assert [i.id for i in items] == ["q1", "q2"] and items[1].evidence == "" and items[0].answers == ("Vietnam",)


def test_missing_or_empty_gold_file(tmp_path):
    with pytest.raises(GoldFormatError, match="does not exist"):
        load_gold(tmp_path / "nope.jsonl")
    with pytest.raises(GoldFormatError, match="holds no records"):
        load_gold(_write(tmp_path / "empty.jsonl", [""]))


def test_bad_summary_reference_line(tmp_path):
    path = _write(tmp_path / "refs.jsonl", [{"doc_id": "a", "text": "T.", "reference": "R."}, {"doc_id": "b", "text": "T."}])
    with pytest.raises(GoldFormatError, match=r"refs\.jsonl:2: missing field 'reference'"):
        load_summary_references(path)


def test_cli_reports_a_bad_gold_file_in_one_line(tmp_path):
    from typer.testing import CliRunner

    from qa_bot.cli import app

    path = _write(tmp_path / "gold.jsonl", [GOOD, {**GOOD, "id": "q2", "answerable": 1}])
    result = CliRunner().invoke(app, ["--index-dir", str(tmp_path / "idx"), "eval", str(path)])
    assert result.exit_code == 1
    assert "gold.jsonl:2: field 'answerable' must be true or false" in result.output
    assert "Traceback" not in result.output


# --- end to end on fakes -------------------------------------------------------------------------------------------
CORPUS = [
    {"doc_id": "volcano", "title": "Volcano erupts near village", "source": "Daily", "published": "2024-05-01",
     "text": "The Mount Ember volcano erupted on Tuesday, sending ash 5 kilometres high. Officials evacuated 1,200 "
             "residents from the village of Lowdale. Scientists said lava flows were slowing."},
    {"doc_id": "budget", "title": "City budget passes", "source": "Herald", "published": "2024-05-02",
     "text": "The city council approved a budget of 40 million dollars on Monday. The mayor said the money would "
             "fund new schools and repair roads."},
]
GOLD = [
    {"id": "t1", "question": "How many residents did officials evacuate from Lowdale?", "answerable": True,
     "answers": ["1,200 residents", "1,200"], "doc_ids": ["volcano"], "evidence": "Officials evacuated 1,200 residents",
     "type": "number", "source": "test"},
    {"id": "t2", "question": "What did the mayor say the city budget money would fund?", "answerable": True,
     "answers": ["new schools and repair roads", "new schools"], "doc_ids": ["budget"], "evidence": "", "type": "factual",
     "source": "test"},
    {"id": "t3", "question": "Who is the president of France?", "answerable": False, "answers": [], "doc_ids": [],
     "evidence": "", "type": "unanswerable", "source": "test"},
]


def _reply(messages):
    user = messages[-1]["content"].rsplit("Question:", 1)[-1]  # the question, not the evidence
    if "Lowdale" in user:
        return "Officials evacuated 1,200 residents from Lowdale [1]."
    if "mayor" in user:
        return "The mayor said the money would fund new schools and repair roads [1]."
    return "The articles do not say."


@pytest.fixture
def qa_files(tmp_path):
    return _write(tmp_path / "gold.jsonl", GOLD), _write(tmp_path / "corpus.jsonl", CORPUS)


def _without_timing(value):
    if isinstance(value, dict):
        return {k: _without_timing(v) for k, v in value.items()
                if not k.startswith("latency") and k not in ("warmup_s", "reused", "ingest")}
    if isinstance(value, list):
        return [_without_timing(v) for v in value]
    return value


def test_evaluate_qa_end_to_end_on_fakes(qa_files, settings, fake_embedder, ephemeral_client, tmp_path):
    gold, corpus = qa_files
    fakes = dict(embedder=fake_embedder, client=ephemeral_client)
    out = tmp_path / "report"
    first = evaluate_qa(settings, gold, corpus=corpus, out=out, progress=False,
                        generator=ScriptedGenerator(_reply), **fakes)
    assert set(QA_KEYS) <= set(first)
    assert first["corpus"]["reused"] is False
    assert (first["n"], first["n_answerable"], first["n_unanswerable"]) == (3, 2, 1)
    assert first["answer_accuracy"] == 1.0 and first["token_f1"] > 0.5
    assert first["retrieval_recall_at_k"] == 1.0 and first["mrr"] == 1.0
    assert first["citation_precision"] == 1.0 and first["citation_recall"] == 1.0
    assert first["refusal_rate"] == 1.0 and first["false_refusal_rate"] == 0.0
    assert first["k"] == settings.answer.top_k and first["model"] == "scripted-llm"
    assert first["embedder"] == "fake-embedder" and first["prompt"].startswith("answer.txt@")
    # the report says how answers were made: which fitted models and thresholds, which wording
    assert first["answer_model"]["file"].startswith("answer_model.json@") and first["settings"]["wording"] == "extract"
    assert set(first["answer_model"]["thresholds"]) == {"answer", "span", "quote", "followup"}
    assert first["paths"]["declined"] == pytest.approx(1 / 3, abs=1e-4)
    assert set(first["by_type"]) == {"number", "factual", "unanswerable"}
    assert set(QA_KEYS) - {"k", "model", "embedder", "prompt"} <= set(first["by_type"]["number"])
    assert first["refusal_curve"] and first["latency_p50_s"] is not None
    json.dumps(first)  # one JSON object

    # the eval collection is its own; the configured one was never created
    names = {c.name if hasattr(c, "name") else c for c in ephemeral_client.list_collections()}
    assert first["collection"].startswith("eval-") and first["collection"] in names
    assert settings.collection not in names

    for name in ("report.md", "metrics.json", "results.jsonl", "accuracy_by_type.png", "latency.png",
                 "refusal_curve.png"):
        assert (out / name).stat().st_size > 0, name
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["t1", "t2", "t3"]
    assert {"answer", "citations", "retrieved_doc_ids", "correct", "token_f1", "latency_s", "declined"} <= set(rows[0])
    assert json.loads((out / "metrics.json").read_text())["answer_accuracy"] == 1.0
    report = (out / "report.md").read_text()
    assert "](accuracy_by_type.png)" in report and "](latency.png)" in report and "| number |" in report
    assert "answer_model.json@" in report and "answer wording**: extract" in report

    second = evaluate_qa(settings, gold, corpus=corpus, progress=False, generator=ScriptedGenerator(_reply), **fakes)
    assert second["corpus"]["reused"] is True
    assert _without_timing(second) == _without_timing(first)
    assert "accuracy" in format_qa_table(first) and "unanswerable" in format_qa_table(first)


def test_evaluate_qa_limit_and_persistent_index(qa_files, settings, fake_embedder):
    gold, corpus = qa_files
    m = evaluate_qa(settings, gold, corpus=corpus, limit=1, progress=False, embedder=fake_embedder,
                    generator=ScriptedGenerator(_reply))
    assert m["n"] == 1 and m["n_unanswerable"] == 0 and m["refusal_rate"] is None
    assert (settings.index_dir / "chroma.sqlite3").exists()


def test_eval_collection_name_depends_on_corpus_and_indexing():
    base = eval_collection_name("ab" * 32, "all-MiniLM-L6-v2", "torch", 200, 60)
    assert base.startswith("eval-") and len(base) == 17
    assert base == eval_collection_name("ab" * 32, "all-MiniLM-L6-v2", "torch", 200, 60)
    assert base != eval_collection_name("cd" * 32, "all-MiniLM-L6-v2", "torch", 200, 60)
    assert base != eval_collection_name("ab" * 32, "all-MiniLM-L6-v2", "onnx", 200, 60)
    assert base != eval_collection_name("ab" * 32, "all-MiniLM-L6-v2", "torch", 120, 60)


def test_evaluate_summaries_on_fakes(settings, fake_embedder, tmp_path):
    article = ("The Mount Ember volcano erupted on Tuesday, sending ash 5 kilometres high. Officials evacuated 1,200 "
               "residents from the village of Lowdale. Scientists said lava flows were slowing. The road to the "
               "village was closed by the police. Schools in Lowdale will stay shut until Friday.")
    refs = _write(tmp_path / "refs.jsonl", [
        {"doc_id": "s1", "text": article, "reference": "A volcano erupted and 1,200 residents of Lowdale were evacuated."},
        {"doc_id": "s2", "text": CORPUS[1]["text"], "reference": "The city approved a 40 million dollar budget."},
    ])
    generator = ScriptedGenerator(lambda m: "The Mount Ember volcano erupted on Tuesday and officials evacuated "
                                            "1,200 residents from Lowdale." if "Ember" in m[-1]["content"] else "No.")
    out = tmp_path / "sums"
    m = evaluate_summaries(settings, refs, out=out, progress=False, embedder=fake_embedder, generator=generator)
    assert set(SUMMARY_KEYS) <= set(m) and {"n", "model", "prompt", "paths"} <= set(m)
    assert m["n"] == 2 and m["paths"] == {"extractive": 0.5, "generated": 0.5}
    assert m["prompt"].startswith("summarize.txt@") and m["model"] == "scripted-llm"
    assert 0 < m["rouge1"] <= 1 and 0 < m["lead1_rouge1"] <= 1 and m["one_line_rate"] == 1.0
    assert m["faithful_rate"] == 1.0 and m["mean_words"] > 5
    for name in ("report.md", "metrics.json", "results.jsonl", "rouge.png", "latency.png"):
        assert (out / name).stat().st_size > 0, name
    again = evaluate_summaries(settings, refs, progress=False, embedder=fake_embedder, generator=generator)
    assert _without_timing(again) == _without_timing(m)
    assert "lead-1" in format_summary_table(m)


def test_evaluate_summaries_shows_the_model_a_record_s_title(settings, fake_embedder, tmp_path):
    refs = _write(tmp_path / "refs.jsonl", [
        {"doc_id": "t1", "title": "Harbour of Port Vale reopens", "text": CORPUS[1]["text"], "reference": "x y z."},
        {"doc_id": "t2", "title": None, "text": CORPUS[1]["text"], "reference": "x y z."},
    ])
    generator = ScriptedGenerator(["No.", "No."])
    evaluate_summaries(settings, refs, progress=False, embedder=fake_embedder, generator=generator)
    assert "Harbour of Port Vale reopens" in generator.prompts[0][-1]["content"]
    assert "Port Vale" not in generator.prompts[1][-1]["content"]


CONVERSATIONS = [
    {"id": "c1", "doc_ids": ["volcano"], "turns": [
        {"question": "When did the Mount Ember volcano erupt?", "answers": ["Tuesday"]},
        {"question": "And how many residents were evacuated from its village?", "answers": ["1,200"], "independent": False,
         "dependency": "ellipsis", "standalone": "How many residents were evacuated after Mount Ember erupted?"}]},
    {"id": "c2", "doc_ids": ["budget", "volcano"], "turns": [
        {"question": "How much was the budget the city council approved?", "answers": ["40 million dollars"]},
        {"question": "How many residents did officials evacuate from Lowdale?", "answers": ["1,200"],
         "independent": True}]},
]


def test_evaluate_followups_on_fakes(qa_files, settings, fake_embedder, ephemeral_client, tmp_path):
    from qa_bot.eval.followups import evaluate_followups, format_followup_table

    _, corpus = qa_files
    conversations = _write(tmp_path / "conversations.jsonl", CONVERSATIONS)
    out = tmp_path / "followups"
    metrics = evaluate_followups(settings, conversations, corpus=corpus, out=out, progress=False,
                                 embedder=fake_embedder, client=ephemeral_client, generator=ScriptedGenerator(_reply))
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["c1", "c2"] and (metrics["n_followups"], metrics["n_independent"]) == (1, 1)
    follow, independent = rows
    # "And how many…" leans on the first turn: rewritten to one question (no glued-on first question), searched in
    # the article the first answer cited; the unrelated second question is asked as it was
    assert follow["rewritten"] and follow["standalone"].count("?") == 1 and "erupt" not in follow["standalone"]
    assert follow["cited_doc_ids"] == ["volcano"]
    assert not independent["rewritten"] and metrics["independent_untouched"] == 1.0
    assert metrics["followup_accuracy"] == float(follow["correct"])
    assert metrics["followup_accuracy_in_text"] == float(follow["text_correct"]) >= metrics["followup_accuracy"]
    assert "Follow-up evaluation: 2 conversations" in format_followup_table(metrics)
