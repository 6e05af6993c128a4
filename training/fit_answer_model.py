"""Fit qa-bot's answering models on training questions and conversations written for the purpose, and write them to
qa_bot/answering/answer_model.json (plus the labelled pairs to training/pairs.jsonl and a report to
training/REPORT.md).

Training data (never dev, qa-fresh, qa-untuned or the conversation test set; article pools: article_pools.py):
  ../shared/gold/train.jsonl      120 questions shipped with the data
  training/questions.jsonl        questions written for this (answerable, near-miss and off-corpus unanswerable)
  training/followups.jsonl        two-turn conversations (follow-ups and independent second turns)
  training/short_questions.txt    short standalone questions (negatives for the follow-up model)

For each question the real retriever searches the news.jsonl index (built by `qa-bot eval … --corpus
../shared/corpus/news.jsonl` or this script), and every candidate sentence of the retrieved passages — plus the
other sentences of the answer's own article — is described by the same signals qa-bot computes at run time. A
sentence is labelled 1 when it comes from a supporting article and holds a gold answer (or is the evidence); a span
is labelled 1 when its token F1 with a gold answer is at least 0.5.

  1. span model: logistic regression on the spans of positive sentences;
  2. sentence model: logistic regression on every candidate, its "span" signal being the span model's
     out-of-fold probability (5 folds grouped by question, so no question scores itself);
  3. thresholds: a grid over the out-of-fold probabilities, maximising the mean of answer accuracy (answerable
     questions) and refusal (unanswerable ones), the two rates the issue asks to hold together;
  4. follow-up model: logistic regression on the conversations' second turns (does it depend on the first?).

Usage: python training/fit_answer_model.py [--shared ../shared] [--index-dir index] [--refresh]
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import math
import os
import random
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa_bot.answering.evidence import (  # noqa: E402
    SENTENCE_SIGNALS,
    Candidate,
    WordVectors,
    add_relative_signals,
    candidate_sentences,
    describe_candidates,
)  # noqa: E402
from qa_bot.answering.decision import Outcome, Signals, decide  # noqa: E402
from qa_bot.answering.followup import dependence_signals  # noqa: E402
from qa_bot.answering.model import MODEL_FILE, AnswerModels, LinearModel, Thresholds  # noqa: E402
from qa_bot.answering.question import analyse_question  # noqa: E402
from qa_bot.answering.spans import span_signal_names  # noqa: E402
from qa_bot.eval.metrics import answer_contains, normalize_answer, token_f1  # noqa: E402
from qa_bot.records import Hit, Turn  # noqa: E402

CACHE = ROOT / "training" / ".cache"
FOLDS = 5
C_GRID = (0.03, 0.1, 0.3, 1.0, 3.0)
SAME_ARTICLE_NEGATIVES = 6  # sentences of the answer's own article that do not hold it, besides the retrieved ones


def jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load_questions(shared: Path, corpus: dict[str, dict]) -> list[dict]:
    rows = jsonl(shared / "gold" / "train.jsonl") + jsonl(ROOT / "training" / "questions.jsonl")
    for row in rows:
        if row.get("evidence_at"):
            start, end = row["evidence_at"]
            row["evidence"] = corpus[row["doc_ids"][0]]["text"][start:end]
    return rows


# -- features ---------------------------------------------------------------------------------------------------
def sentence_label(question: dict, candidate: Candidate) -> int:
    """1 for the evidence sentence (in any article: syndicated copies of a story repeat it word for word) and for a
    sentence of a supporting article that holds a gold answer."""
    if not question["answerable"]:
        return 0
    text = normalize_answer(candidate.text)
    evidence = normalize_answer(question.get("evidence", ""))
    if evidence and (evidence in text or (len(text) > 40 and text in evidence)):
        return 1
    return int(candidate.chunk.doc_id in question["doc_ids"] and answer_contains(candidate.text, question["answers"]))


def describe_question(pipeline, question: dict, top_k: int, word_vectors: WordVectors) -> dict:
    """Every retrieved candidate sentence with its signals and its spans', plus a few sentences of the answer's own
    article that do not hold the answer (hard negatives), described as if their chunk had been retrieved last."""
    qa = analyse_question(question["question"])
    vector = pipeline.embedder.embed_query(question["question"])
    hits = pipeline.retriever.search(question["question"], k=top_k, query_vector=vector)
    extra: list[Hit] = []
    if question["answerable"]:
        seen = {(h.chunk.doc_id, h.chunk.start + s.start) for h in hits for s in candidate_sentences([h])}
        pool = [c for c in candidate_sentences([Hit(chunk=ch, score=0.0) for ch in
                                                pipeline.store().document_chunks(question["doc_ids"][0])])
                if c.key not in seen and not sentence_label(question, c)]
        pool = list({c.key: c for c in pool}.values())
        random.Random(question["id"]).shuffle(pool)
        for c in pool[:SAME_ARTICLE_NEGATIVES]:  # each as a one-sentence chunk at its place in the article
            chunk = replace(c.chunk, chunk_id=f"{c.chunk.chunk_id}@{c.start}", text=c.text,
                            start=c.chunk.start + c.start, end=c.chunk.start + c.end)
            extra.append(Hit(chunk=chunk, score=0.0))
    candidates = describe_candidates(qa, hits + extra, pipeline.embedder.embed_documents, vector,
                                     lambda spans: None, word_vectors)
    sentences = []
    for c in candidates:
        retrieved = c.hit_rank < len(hits)
        spans = [{"text": s.text, "signals": s.signals,
                  "f1": max((token_f1(s.text, [g]) for g in question["answers"]), default=0.0)} for s in c.spans]
        sentences.append({"doc_id": c.chunk.doc_id, "start": c.chunk.start + c.start, "end": c.chunk.start + c.end,
                          "text": c.text, "retrieved": retrieved, "label": sentence_label(question, c),
                          "signals": {k: v for k, v in c.signals.items() if k != "span"}, "spans": spans})
    return {"id": question["id"], "question": question["question"], "answerable": question["answerable"],
            "answers": question["answers"], "kind": qa.kind, "sentences": sentences,
            "gold_retrieved": any(s["label"] and s["retrieved"] for s in sentences)}


def place_hard_negatives(question: dict) -> None:
    """Give the hard negatives (sentences of the answer's article that were not retrieved) the rank at which their
    article's best passage was retrieved, or a random rank when it was not: a fixed made-up rank would teach the
    sentence model that the rank itself marks them."""
    ranks = {}
    for s in question["sentences"]:
        if s["retrieved"]:
            ranks[s["doc_id"]] = min(ranks.get(s["doc_id"], 99.0), s["signals"]["hit_rank"])
    depth = int(max((s["signals"]["hit_rank"] for s in question["sentences"] if s["retrieved"]), default=0)) + 1
    rng = random.Random(question["id"])
    for s in question["sentences"]:
        if not s["retrieved"]:
            s["signals"]["hit_rank"] = ranks.get(s["doc_id"], float(rng.randrange(depth)))


def build_features(questions: list[dict], shared: Path, index_dir: Path, refresh: bool) -> list[dict]:
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / "features.jsonl.gz"
    if path.exists() and not refresh:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            cached = [json.loads(line) for line in handle]
        if [c["id"] for c in cached] == [q["id"] for q in questions]:
            return cached
    from qa_bot.eval.corpus import index_corpus, prepare_corpus
    from qa_bot.pipeline import Pipeline
    from qa_bot.settings import Settings

    corpus = shared / "corpus" / "news.jsonl"
    settings, info = prepare_corpus(Settings(index_dir=index_dir), corpus, None)
    pipeline = Pipeline(settings)
    index_corpus(pipeline, corpus, info, progress=True)
    top_k = settings.answer.top_k
    word_vectors = WordVectors(pipeline.embedder.embed_documents)
    out = []
    started = time.perf_counter()
    for n, question in enumerate(questions, start=1):
        out.append(describe_question(pipeline, question, top_k, word_vectors))
        if n % 25 == 0:
            print(f"  described {n}/{len(questions)} questions ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        for row in out:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return out


# -- fitting ----------------------------------------------------------------------------------------------------
def folds_of(ids: list[str]) -> dict[str, int]:
    """Question id → fold, by a stable hash (the same folds on every run)."""
    order = sorted(set(ids), key=lambda i: hashlib.sha1(i.encode()).hexdigest())
    return {qid: n % FOLDS for n, qid in enumerate(order)}


def fit_logistic(X: np.ndarray, y: np.ndarray, C: float) -> LinearModel:
    from sklearn.linear_model import LogisticRegression

    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=C, max_iter=5000)
    model.fit((X - mean) / scale, y)
    return LinearModel(tuple(), mean, scale, model.coef_[0], float(model.intercept_[0]))


def log_loss(y: np.ndarray, p: np.ndarray) -> float:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def cross_fit(names: list[str], rows: list[dict], y: np.ndarray, groups: list[str], fold: dict[str, int],
              predict_rows: list[dict] | None = None, predict_groups: list[str] | None = None):
    """Choose C by grouped cross-validated log loss, fit on everything, and return the model, the out-of-fold
    probabilities of ``predict_rows`` (default: the training rows) and the chosen C."""
    X = np.array([[r.get(n, 0.0) for n in names] for r in rows], dtype=float)
    g = np.array([fold[x] for x in groups])
    best = None
    for C in C_GRID:
        oof = np.zeros(len(y))
        for f in range(FOLDS):
            train = g != f
            if y[train].min() == y[train].max():
                continue
            model = fit_logistic(X[train], y[train], C)
            oof[~train] = (LinearModel(tuple(names), model.mean, model.scale, model.coef, model.intercept)
                           .probabilities([rows[i] for i in np.flatnonzero(~train)]))
        loss = log_loss(y, oof)
        if best is None or loss < best[0]:
            best = (loss, C, oof)
    loss, C, oof = best
    full = fit_logistic(X, y, C)
    model = LinearModel(tuple(names), full.mean, full.scale, full.coef, full.intercept)
    if predict_rows is not None:
        Xp_groups = np.array([fold[x] for x in predict_groups])
        oof_p = np.zeros(len(predict_rows))
        for f in range(FOLDS):
            train = g != f
            m = fit_logistic(X[train], y[train], C)
            fold_model = LinearModel(tuple(names), m.mean, m.scale, m.coef, m.intercept)
            idx = np.flatnonzero(Xp_groups == f)
            if len(idx):
                oof_p[idx] = fold_model.probabilities([predict_rows[i] for i in idx])
        oof = oof_p
    return model, oof, C, loss


def auc(y: np.ndarray, p: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else float("nan")


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return (float("nan"), float("nan"))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (round(centre - half, 3), round(centre + half, 3))


def question_outcomes(features: list[dict], answer_t: float, span_t: float, quote_t: float | None = None) -> list[dict]:
    """What the decision (qa_bot.answering.decision.decide) does with each question's out-of-fold probabilities."""
    thresholds = Thresholds(answer=answer_t, span=span_t, quote=answer_t if quote_t is None else quote_t, followup=0.5)
    out = []
    for q in features:
        retrieved = [s for s in q["sentences"] if s["retrieved"]]
        best = max(retrieved, key=lambda s: s["p"], default=None)
        span = max(best["spans"], key=lambda s: s["p"], default=None) if best else None
        outcome = decide(Signals(best["p"] if best else 0.0, span["p"] if span else None), thresholds)
        decision = outcome.value
        shown = "" if outcome is Outcome.DECLINE else span["text"] if outcome is Outcome.ANSWER else best["text"]
        correct = (decision != "decline" and answer_contains(shown, q["answers"])) if q["answerable"] else (
            decision == "decline")
        f1 = max((token_f1(shown, [g]) for g in q["answers"]), default=0.0) if q["answerable"] and shown else 0.0
        out.append({"id": q["id"], "answerable": q["answerable"], "decision": decision, "correct": correct, "f1": f1})
    return out


def rates(outcomes: list[dict]) -> dict:
    ans = [o for o in outcomes if o["answerable"]]
    un = [o for o in outcomes if not o["answerable"]]
    acc = sum(o["correct"] for o in ans)
    ref = sum(o["correct"] for o in un)
    false_ref = sum(o["decision"] == "decline" for o in ans)
    return {"n_answerable": len(ans), "n_unanswerable": len(un),
            "accuracy": round(acc / len(ans), 4) if ans else None, "accuracy_ci95": wilson(acc, len(ans)),
            "refusal": round(ref / len(un), 4) if un else None, "refusal_ci95": wilson(ref, len(un)),
            "false_refusal": round(false_ref / len(ans), 4) if ans else None,
            "token_f1": round(sum(o["f1"] for o in ans) / len(ans), 4) if ans else None,
            "quoted": round(sum(o["decision"] == "quote" for o in outcomes) / len(outcomes), 4)}


MAX_FALSE_REFUSAL = 0.10  # the most answerable questions the bot may decline (the bar)


def choose_thresholds(features: list[dict]) -> tuple[Thresholds, list[dict]]:
    """The thresholds with the best mean of answer accuracy, refusal and token F1 among those that decline at most
    MAX_FALSE_REFUSAL of the answerable questions. A span answers from the answer threshold up; a sentence with no
    clear span is quoted only from the (higher or equal) quote threshold up. Token F1 is in the objective because
    accuracy alone would favour quotes: a whole sentence contains the answer more often than any span of it does,
    but leaves the reader to find it."""
    grid = [round(x, 3) for x in np.arange(0.02, 0.80, 0.02)]
    span_grid = [round(x, 2) for x in np.arange(0.0, 0.96, 0.05)]
    curve, best = [], None
    for a in grid:
        for q in [x for x in grid if x >= a][::2] + [0.99]:
            for s_ in span_grid:
                r = rates(question_outcomes(features, a, s_, q))
                if q == a and s_ == 0.5:
                    curve.append({"answer_threshold": a, **{k: r[k] for k in ("accuracy", "refusal", "false_refusal")}})
                if (r["false_refusal"] or 0) > MAX_FALSE_REFUSAL:
                    continue
                key = (round(((r["accuracy"] or 0) + (r["refusal"] or 0) + (r["token_f1"] or 0)) / 3, 4), -a, -q)
                if best is None or key > best[0]:
                    best = (key, Thresholds(answer=a, span=s_, quote=q, followup=0.5))
    return best[1], curve[::2]


# -- follow-ups -------------------------------------------------------------------------------------------------
def followup_rows(conversations: list[dict], questions: list[dict]) -> tuple[list[dict], list[int], list[str]]:
    rows, labels, groups = [], [], []
    rng = random.Random(7)
    turns = [Turn(c["turns"][0]["question"], c["turns"][0]["answers"][0], tuple(c["doc_ids"])) for c in conversations]
    for c, first in zip(conversations, turns):
        second = c["turns"][1]
        rows.append(dependence_signals(second["question"], first))
        labels.append(0 if second["independent"] else 1)
        groups.append(c["id"])
        other = turns[rng.randrange(len(turns))]
        if other is not first:  # a first question asked after an unrelated exchange is independent too
            rows.append(dependence_signals(c["turns"][0]["question"], other))
            labels.append(0)
            groups.append(c["id"])
    for q in rng.sample(questions, min(150, len(questions))):
        rows.append(dependence_signals(q["question"], turns[rng.randrange(len(turns))]))
        labels.append(0)
        groups.append(q["id"])
    # the written rewrites are standalone even right after the turn they continue: sharing words is not depending
    for c, first in zip(conversations, turns):
        if not c["turns"][1]["independent"]:
            rows.append(dependence_signals(c["turns"][1]["standalone"], first))
            labels.append(0)
            groups.append(c["id"])
    # short standalone questions, so that being short is not taken for depending on the conversation
    for i, question in enumerate(short_questions()):
        rows.append(dependence_signals(question, turns[rng.randrange(len(turns))]))
        labels.append(0)
        groups.append(f"short-{i}")
    return rows, labels, groups


def short_questions() -> list[str]:
    lines = (ROOT / "training" / "short_questions.txt").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--index-dir", type=Path, default=ROOT / "index")
    parser.add_argument("--refresh", action="store_true", help="describe the questions again (after a signal change)")
    args = parser.parse_args()

    corpus = {d["doc_id"]: d for d in jsonl(args.shared / "corpus" / "news.jsonl")}
    questions = load_questions(args.shared, corpus)
    features = build_features(questions, args.shared, args.index_dir, args.refresh)

    # 1. span model, on the spans of positive sentences; out-of-fold probabilities for every span
    span_names = span_signal_names()
    fold = folds_of([q["id"] for q in features])
    train_rows, train_y, train_groups, all_rows, all_groups, all_refs = [], [], [], [], [], []
    for q in features:
        for s in q["sentences"]:
            for span in s["spans"]:
                all_rows.append(span["signals"])
                all_groups.append(q["id"])
                all_refs.append(span)
                if s["label"]:
                    train_rows.append(span["signals"])
                    train_y.append(int(span["f1"] >= 0.5))
                    train_groups.append(q["id"])
    span_model, span_oof, span_C, span_loss = cross_fit(span_names, train_rows, np.array(train_y), train_groups,
                                                        fold, all_rows, all_groups)
    for ref, p in zip(all_refs, span_oof):
        ref["p"] = float(p)

    # 2. sentence model, with the out-of-fold span probability as its "span" signal
    sentence_rows, sentence_y, sentence_groups, sentence_refs = [], [], [], []
    for q in features:
        place_hard_negatives(q)
        terms = len(analyse_question(q["question"]).terms)  # signals added after the features were cached
        for s in q["sentences"]:
            s["signals"].setdefault("question_words", math.log(1 + terms))
        for s in q["sentences"]:
            s["signals"]["span"] = max((span["p"] for span in s["spans"]), default=0.0)
        # rivals: the retrieved candidates only, as at run time (the hard negatives are not there then)
        add_relative_signals([s["signals"] for s in q["sentences"]],
                             [s["signals"] for s in q["sentences"] if s["retrieved"]])
        for s in q["sentences"]:
            sentence_rows.append(s["signals"])
            sentence_y.append(s["label"])
            sentence_groups.append(q["id"])
            sentence_refs.append(s)
    sentence_model, sentence_oof, sentence_C, sentence_loss = cross_fit(
        list(SENTENCE_SIGNALS), sentence_rows, np.array(sentence_y), sentence_groups, fold)
    for ref, p in zip(sentence_refs, sentence_oof):
        ref["p"] = float(p)

    # 3. thresholds on out-of-fold probabilities
    chosen, curve = choose_thresholds(features)
    outcome = rates(question_outcomes(features, chosen.answer, chosen.span, chosen.quote))

    # 4. follow-up model
    conversations = jsonl(ROOT / "training" / "followups.jsonl")
    f_rows, f_y, f_groups = followup_rows(conversations, questions)
    f_names = list(f_rows[0])
    f_fold = folds_of(f_groups)
    followup_model, f_oof, f_C, f_loss = cross_fit(f_names, f_rows, np.array(f_y), f_groups, f_fold)
    f_y = np.array(f_y)
    f_grid = [round(x, 2) for x in np.arange(0.1, 0.91, 0.05)]
    f_acc = {t: float(np.mean((f_oof >= t) == (f_y == 1))) for t in f_grid}
    followup_t = max(f_grid, key=lambda t: (f_acc[t], -abs(t - 0.5)))

    pairs = [{"question_id": q["id"], "doc_id": s["doc_id"], "start": s["start"], "end": s["end"],
              "label": s["label"], "retrieved": s["retrieved"]} for q in features for s in q["sentences"]]
    y = np.array(sentence_y)
    info = {
        "fitted": time.strftime("%Y-%m-%d"),
        "script": "training/fit_answer_model.py",
        "training": {"questions": len(features), "answerable": sum(q["answerable"] for q in features),
                     "unanswerable": sum(not q["answerable"] for q in features),
                     "pairs": len(pairs), "positive_pairs": int(y.sum()), "spans": len(train_rows),
                     "conversations": len(conversations), "followup_rows": len(f_rows)},
        "cross_validated": {
            "span": {"C": span_C, "log_loss": round(span_loss, 4),
                     "auc": round(auc(np.array(train_y), np.array([r["p"] for q in features for s in q["sentences"] if s["label"] for r in s["spans"]])), 4)},
            "sentence": {"C": sentence_C, "log_loss": round(sentence_loss, 4), "auc": round(auc(y, sentence_oof), 4)},
            "questions": outcome,
            "followup": {"C": f_C, "accuracy": round(f_acc[followup_t], 4),
                         "accuracy_ci95": wilson(round(f_acc[followup_t] * len(f_y)), len(f_y)), "n": len(f_y)},
        },
    }
    thresholds = Thresholds(answer=chosen.answer, span=chosen.span, quote=chosen.quote, followup=followup_t)
    models = AnswerModels(span_model, sentence_model, followup_model, thresholds, info)
    target = ROOT / "qa_bot" / "answering" / MODEL_FILE
    target.write_text(json.dumps(models.to_dict(), indent=1) + "\n", encoding="utf-8")
    with (ROOT / "training" / "pairs.jsonl").open("w", encoding="utf-8") as handle:
        for pair in pairs:
            handle.write(json.dumps(pair) + "\n")
    report = [
        "# Answering models: training report", "",
        f"Written by `training/fit_answer_model.py` on {info['fitted']}. Training data only (no dev or reporting set).",
        "", "```", json.dumps(info["training"], indent=1), json.dumps(info["cross_validated"], indent=1), "```", "",
        f"Thresholds: {thresholds}.", "",
        "## Sentence model coefficients (standardised signals)", "",
        "| signal | coefficient |", "|---|---|",
        *[f"| {n} | {c:+.3f} |" for n, c in sorted(zip(sentence_model.features, sentence_model.coef), key=lambda x: -abs(x[1]))],
        "", "## Span model coefficients", "", "| signal | coefficient |", "|---|---|",
        *[f"| {n} | {c:+.3f} |" for n, c in sorted(zip(span_model.features, span_model.coef), key=lambda x: -abs(x[1])) if abs(c) > 1e-6],
        "", "## Follow-up model coefficients", "", "| signal | coefficient |", "|---|---|",
        *[f"| {n} | {c:+.3f} |" for n, c in sorted(zip(followup_model.features, followup_model.coef), key=lambda x: -abs(x[1]))],
        "", "## Answer threshold curve (span threshold 0.5, out-of-fold)", "",
        "| answer threshold | accuracy | refusal | false refusal |", "|---|---|---|---|",
        *[f"| {c['answer_threshold']} | {c['accuracy']} | {c['refusal']} | {c['false_refusal']} |" for c in curve], "",
    ]
    (ROOT / "training" / "REPORT.md").write_text("\n".join(report), encoding="utf-8")
    print(json.dumps(info, indent=1))
    print(f"thresholds: {thresholds}; wrote {target}")


if __name__ == "__main__":
    main()
