"""Experiment (not shipped): an answer-type model as a signal of the span and sentence models.

    python training/experiments/answer_type_signal.py                      # the shipped signals, as a baseline
    python training/experiments/answer_type_signal.py --x=cue --type       # with the answer-type signals

A multinomial logistic regression predicts the spaCy entity label of the answer ("none" for a phrase or clause) from a
vector of the question: the whole question (--x=q), its type cue (wh-word, the word after it, the focus noun, the main
verb: "how much spend"; --x=cue), or those plus the question kind. Gold labels: the best-matching span of each
answerable training question's gold sentences. Out of fold (the fit script's 5 folds), each span gets
``type_prob`` = P(its label | question) and each sentence ``type_best`` = the highest ``type_prob`` among its spans;
the span and sentence models are refitted and the thresholds chosen as in fit_answer_model.py. Training questions
only; figures in docs/eval/answering.md. Also prints refusal split into near-miss and other unanswerable questions.
"""
import json, math, sys
from pathlib import Path
HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[2])); sys.path.insert(0, str(HERE.parents[1]))
import numpy as np
import fit_answer_model as F
from qa_bot.answering.question import analyse_question
from qa_bot.nlp import parse_one
from qa_bot.answering.evidence import add_relative_signals, SENTENCE_SIGNALS
from qa_bot.answering.spans import span_signal_names, ENTITY_LABELS
ROOT = F.ROOT
corpus = {d["doc_id"]: d for d in F.jsonl(ROOT.parent / "shared" / "corpus" / "news.jsonl")}
questions = F.load_questions(ROOT.parent / "shared", corpus)
features = F.build_features(questions, ROOT.parent / "shared", ROOT / "index", False)
fold = F.folds_of([q["id"] for q in features])

vec_path = F.CACHE / "question_vectors.npy"
cue_path = F.CACHE / "cue_vectors.npy"
def cue(text):
    qa = analyse_question(text)
    doc = parse_one(text)
    wh_i = next((t.i for t in doc if t.tag_ in ("WP", "WDT", "WRB", "WP$")), None)
    nxt = doc[wh_i + 1].lower_ if wh_i is not None and wh_i + 1 < len(doc) else ""
    return " ".join(x for x in [qa.wh, nxt, qa.focus, *qa.verbs[:1]] if x)
if vec_path.exists() and cue_path.exists():
    V = np.load(vec_path); CV = np.load(cue_path)
else:
    from qa_bot.settings import Settings
    from qa_bot.embedders import make_embedder
    emb = make_embedder(Settings(_env_file=None))
    V = np.array([emb.embed_query(q["question"]) for q in features]); np.save(vec_path, V)
    CV = np.array([emb.embed_query(cue(q["question"])) for q in features]); np.save(cue_path, CV)
assert len(V) == len(CV) == len(features), 'stale vector cache: delete training/.cache/*_vectors.npy'
from qa_bot.answering.question import KINDS
K = np.array([[float(analyse_question(q["question"]).kind == k) for k in KINDS] for q in features])
MODE = next((a for a in sys.argv if a.startswith("--x=")), "--x=q")[4:]
V = {"q": V, "cue": CV, "both": np.hstack([V, CV]), "cuek": np.hstack([CV, K]), "all": np.hstack([V, CV, K])}[MODE]

def span_label(span):
    for k in span["signals"]:
        kind, _, lab = k.partition(":")
        if lab in ENTITY_LABELS:
            return lab
    return "none"

# gold type per answerable question
gold = {}
for q in features:
    if not q["answerable"]:
        continue
    best = None
    for s in q["sentences"]:
        if not s["label"]:
            continue
        for sp in s["spans"]:
            lab = span_label(sp)
            key = (sp["f1"] >= 0.5, lab != "none", sp["f1"])
            if best is None or key > best[0]:
                best = (key, lab)
    if best and best[0][0]:
        gold[q["id"]] = best[1]
from collections import Counter
print("gold types", len(gold), Counter(gold.values()).most_common())
classes = sorted(set(gold.values()))
ids = [q["id"] for q in features]
idx = {i: n for n, i in enumerate(ids)}
from sklearn.linear_model import LogisticRegression
def fit_types(train_ids, C):
    X = V[[idx[i] for i in train_ids]]; y = [gold[i] for i in train_ids]
    m = LogisticRegression(C=C, max_iter=5000); m.fit(X, y); return m
best = None
for C in (0.3, 1, 3, 10, 30):
    P = np.zeros((len(features), len(classes)))
    for f in range(F.FOLDS):
        tr = [i for i in gold if fold[i] != f]
        m = fit_types(tr, C)
        te = [n for n, i in enumerate(ids) if fold[i] == f]
        pr = m.predict_proba(V[te])
        for c_i, c in enumerate(m.classes_):
            P[te, classes.index(c)] = pr[:, c_i]
    ys = [classes.index(gold[i]) for i in gold]
    rows = [idx[i] for i in gold]
    ll = -np.mean(np.log(np.clip(P[rows, ys], 1e-6, 1)))
    acc = np.mean(P[rows].argmax(1) == np.array(ys))
    print(f"type model C={C}: log loss {ll:.3f} accuracy {acc:.3f}")
    if best is None or ll < best[0]:
        best = (ll, C, P)
_, C_type, P = best
USE = "--type" in sys.argv
for q in features:
    p = P[idx[q["id"]]]
    for s in q["sentences"]:
        for sp in s["spans"]:
            lab = span_label(sp)
            if USE:
                sp["signals"]["type_prob"] = float(p[classes.index(lab)]) if lab in classes else 0.0
span_names = span_signal_names() + (["type_prob"] if USE else [])
train_rows, train_y, train_groups, all_rows, all_groups, all_refs = [], [], [], [], [], []
for q in features:
    for s in q["sentences"]:
        for span in s["spans"]:
            all_rows.append(span["signals"]); all_groups.append(q["id"]); all_refs.append(span)
            if s["label"]:
                train_rows.append(span["signals"]); train_y.append(int(span["f1"] >= 0.5)); train_groups.append(q["id"])
sm, span_oof, _, sl = F.cross_fit(span_names, train_rows, np.array(train_y), train_groups, fold, all_rows, all_groups)
for ref, p in zip(all_refs, span_oof): ref["p"] = float(p)
print("span AUC", round(F.auc(np.array(train_y), np.array([r["p"] for q in features for s in q["sentences"] if s["label"] for r in s["spans"]])), 4), "loss", round(sl, 4))
if USE: print("type_prob coef", dict(zip(sm.features, sm.coef)).get("type_prob"))
rows, ys, groups, refs = [], [], [], []
for q in features:
    F.place_hard_negatives(q)
    terms = len(analyse_question(q["question"]).terms)
    for s in q["sentences"]:
        s["signals"].setdefault("question_words", math.log(1 + terms))
        s["signals"]["span"] = max((sp["p"] for sp in s["spans"]), default=0.0)
        if USE:
            s["signals"]["type_best"] = max((sp["signals"].get("type_prob", 0.0) for sp in s["spans"]), default=0.0)
    add_relative_signals([s["signals"] for s in q["sentences"]], [s["signals"] for s in q["sentences"] if s["retrieved"]])
    for s in q["sentences"]:
        rows.append(s["signals"]); ys.append(s["label"]); groups.append(q["id"]); refs.append(s)
sentm, oof, _, sl2 = F.cross_fit(list(SENTENCE_SIGNALS) + (["type_best"] if USE else []), rows, np.array(ys), groups, fold)
for ref, p in zip(refs, oof): ref["p"] = float(p)
print("sentence AUC", round(F.auc(np.array(ys), oof), 4), dict(zip(sentm.features, sentm.coef)).get("type_best"))
chosen, curve = F.choose_thresholds(features)
r = F.rates(F.question_outcomes(features, chosen.answer, chosen.span, chosen.quote))
print("chosen", chosen); print(json.dumps(r))
qs = {q["id"]: q for q in questions}
out = F.question_outcomes(features, chosen.answer, chosen.span, chosen.quote)
for kind in ("near", "off"):
    sel = [o for o in out if not o["answerable"] and bool(qs[o["id"]].get("near_miss")) == (kind == "near")]
    print(kind, len(sel), round(sum(o["correct"] for o in sel) / len(sel), 3))
