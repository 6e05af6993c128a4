"""Fit qa-bot's answering models on training questions and conversations written for the purpose, and write them to
qa_bot/answering/answer_model.json (plus the labelled pairs to training/pairs.jsonl and a report to
training/REPORT.md).

Training data (never dev, qa-fresh, qa-untuned or the conversation test set; article pools: article_pools.py):
  ../shared/gold/train.jsonl      120 questions shipped with the data
  training/questions.jsonl        questions written for this (answerable, near-miss and off-corpus unanswerable)
  training/followups.jsonl        two-turn conversations (follow-ups and independent second turns)

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
from collections import defaultdict
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa_bot.answering.evidence import SENTENCE_SIGNALS, Candidate, WordVectors, describe_candidates  # noqa: E402
from qa_bot.answering.followup import dependence_signals  # noqa: E402
from qa_bot.answering.model import MODEL_FILE, AnswerModels, LinearModel, Thresholds  # noqa: E402
from qa_bot.answering.question import analyse_question  # noqa: E402
from qa_bot.answering.spans import span_signal_names  # noqa: E402
from qa_bot.evaluate import answer_contains, normalize_answer, token_f1  # noqa: E402
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
    if not question["answerable"] or candidate.chunk.doc_id not in question["doc_ids"]:
        return 0
    text = normalize_answer(candidate.text)
    evidence = normalize_answer(question.get("evidence", ""))
    if evidence and (evidence in text or (len(text) > 40 and text in evidence)):
        return 1
    return int(answer_contains(candidate.text, question["answers"]))


def describe_question(pipeline, question: dict, top_k: int, word_vectors: WordVectors) -> dict:
    """Every candidate sentence (retrieved, plus the answer article's own) with its signals and its spans'."""
    qa = analyse_question(question["question"])
    vector = pipeline.embedder.embed_query(question["question"])
    hits = pipeline.retriever.search(question["question"], k=top_k, query_vector=vector)
    own = []
    if question["answerable"]:
        have = {h.chunk.chunk_id for h in hits}
        own = [Hit(chunk=c, score=0.0) for c in pipeline.store().document_chunks(question["doc_ids"][0])
               if c.chunk_id not in have]
    candidates = describe_candidates(qa, hits + own, pipeline.embedder.embed_documents, vector, lambda spans: None,
                                     word_vectors)
    retrieved = [c for c in candidates if c.hit_rank < len(hits)]
    extra = [c for c in candidates if c.hit_rank >= len(hits)]
    labels = {id(c): sentence_label(question, c) for c in candidates}
    negatives = [c for c in extra if not labels[id(c)]]
    random.Random(question["id"]).shuffle(negatives)
    kept = retrieved + [c for c in extra if labels[id(c)]] + negatives[:SAME_ARTICLE_NEGATIVES]
    sentences = []
    for c in kept:
        spans = [{"text": s.text, "signals": s.signals,
                  "f1": max((token_f1(s.text, [g]) for g in question["answers"]), default=0.0)} for s in c.spans]
        sentences.append({"doc_id": c.chunk.doc_id, "start": c.chunk.start + c.start, "end": c.chunk.start + c.end,
                          "text": c.text, "retrieved": c.hit_rank < len(hits), "label": labels[id(c)],
                          "signals": {k: v for k, v in c.signals.items() if k != "span"}, "spans": spans})
    return {"id": question["id"], "question": question["question"], "answerable": question["answerable"],
            "answers": question["answers"], "kind": qa.kind, "sentences": sentences,
            "gold_retrieved": any(s["label"] and s["retrieved"] for s in sentences)}


def build_features(questions: list[dict], shared: Path, index_dir: Path, refresh: bool) -> list[dict]:
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / "features.jsonl.gz"
    if path.exists() and not refresh:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            cached = [json.loads(line) for line in handle]
        if [c["id"] for c in cached] == [q["id"] for q in questions]:
            return cached
    from qa_bot.evaluate import _index_corpus, _prepare_corpus
    from qa_bot.pipeline import Pipeline
    from qa_bot.settings import Settings

    corpus = shared / "corpus" / "news.jsonl"
    settings, info = _prepare_corpus(Settings(index_dir=index_dir), corpus, None)
    pipeline = Pipeline(settings)
    _index_corpus(pipeline, corpus, info, progress=True)
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


def question_outcomes(features: list[dict], answer_t: float, span_t: float) -> list[dict]:
    out = []
    for q in features:
        retrieved = [s for s in q["sentences"] if s["retrieved"]]
        best = max(retrieved, key=lambda s: s["p"], default=None)
        if best is None or best["p"] < answer_t:
            decision, shown = "decline", ""
        else:
            span = max(best["spans"], key=lambda s: s["p"], default=None)
            if span is not None and span["p"] >= span_t:
                decision, shown = "answer", span["text"]
            else:
                decision, shown = "quote", best["text"]
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


def choose_thresholds(features: list[dict]) -> tuple[float, float, list[dict]]:
    grid = [round(x, 2) for x in np.arange(0.05, 0.96, 0.025)]
    span_grid = [round(x, 2) for x in np.arange(0.0, 0.91, 0.05)]
    best, curve = None, []
    for a in grid:
        for s in span_grid:
            r = rates(question_outcomes(features, a, s))
            objective = 0.5 * (r["accuracy"] or 0) + 0.5 * (r["refusal"] or 0)
            # ties: prefer the higher token F1 (a direct answer over a quote), then the lower thresholds
            key = (round(objective, 4), r["token_f1"] or 0, -a, -s)
            if best is None or key > best[0]:
                best = (key, a, s)
            if s == 0.3:
                curve.append({"answer_threshold": a, **{k: r[k] for k in ("accuracy", "refusal", "false_refusal")}})
    return best[1], best[2], curve


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
    return rows, labels, groups


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
        for s in q["sentences"]:
            s["signals"]["span"] = max((span["p"] for span in s["spans"]), default=0.0)
            sentence_rows.append(s["signals"])
            sentence_y.append(s["label"])
            sentence_groups.append(q["id"])
            sentence_refs.append(s)
    sentence_model, sentence_oof, sentence_C, sentence_loss = cross_fit(
        list(SENTENCE_SIGNALS), sentence_rows, np.array(sentence_y), sentence_groups, fold)
    for ref, p in zip(sentence_refs, sentence_oof):
        ref["p"] = float(p)

    # 3. thresholds on out-of-fold probabilities
    answer_t, span_t, curve = choose_thresholds(features)
    outcome = rates(question_outcomes(features, answer_t, span_t))

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
    models = AnswerModels(span_model, sentence_model, followup_model, Thresholds(answer_t, span_t, followup_t), info)
    target = ROOT / "qa_bot" / "answering" / MODEL_FILE
    target.write_text(json.dumps(models.to_dict(), indent=1) + "\n", encoding="utf-8")
    with (ROOT / "training" / "pairs.jsonl").open("w", encoding="utf-8") as handle:
        for pair in pairs:
            handle.write(json.dumps(pair) + "\n")
    report = [
        "# Answering models: training report", "",
        f"Written by `training/fit_answer_model.py` on {info['fitted']}. Training data only (no dev or reporting set).",
        "", "```", json.dumps(info["training"], indent=1), json.dumps(info["cross_validated"], indent=1), "```", "",
        f"Thresholds: answer {answer_t}, span {span_t}, follow-up {followup_t}.", "",
        "## Sentence model coefficients (standardised signals)", "",
        "| signal | coefficient |", "|---|---|",
        *[f"| {n} | {c:+.3f} |" for n, c in sorted(zip(sentence_model.features, sentence_model.coef), key=lambda x: -abs(x[1]))],
        "", "## Span model coefficients", "", "| signal | coefficient |", "|---|---|",
        *[f"| {n} | {c:+.3f} |" for n, c in sorted(zip(span_model.features, span_model.coef), key=lambda x: -abs(x[1])) if abs(c) > 1e-6],
        "", "## Follow-up model coefficients", "", "| signal | coefficient |", "|---|---|",
        *[f"| {n} | {c:+.3f} |" for n, c in sorted(zip(followup_model.features, followup_model.coef), key=lambda x: -abs(x[1]))],
        "", "## Answer threshold curve (span threshold 0.3, out-of-fold)", "",
        "| answer threshold | accuracy | refusal | false refusal |", "|---|---|---|---|",
        *[f"| {c['answer_threshold']} | {c['accuracy']} | {c['refusal']} | {c['false_refusal']} |" for c in curve], "",
    ]
    (ROOT / "training" / "REPORT.md").write_text("\n".join(report), encoding="utf-8")
    print(json.dumps(info, indent=1))
    print(f"thresholds: answer {answer_t}, span {span_t}, follow-up {followup_t}; wrote {target}")


if __name__ == "__main__":
    main()
