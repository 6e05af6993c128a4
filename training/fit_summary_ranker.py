"""Fit the one-line summariser's sentence ranker and write it to qa_bot/summary_model.json (plus a report to
training/SUMMARY_RANKER.md).

Training data (never XSum records 0-99, the report set of `qa-bot eval-summaries --limit 100`, and never the corpus
reference sets in benchmarks/):
  ../shared/summaries/xsum.jsonl   records 100-250 (151 BBC articles, one-sentence references)
  ../shared/summaries/cnndm.jsonl  all 250 (CNN / Daily Mail articles, highlights as the reference)

Every sentence of an article's pool (the first summary_ranker.POOL source sentences, as at run time) is described by
qa_bot.summary_ranker.sentence_features and scored against the reference: the target is the mean of ROUGE-1 and
ROUGE-L F (stemmed) of the sentence trimmed to one line, as the summariser would show it.

Candidates, compared by 5-fold cross-validation grouped by article (no article scores itself), on the ROUGE of the
sentence each puts first:
  ridge    regression of the target minus its article's mean (only the order within an article matters), with
           XSum articles weighted 1 or 5 against CNN/DM's (the two styles pull apart: CNN/DM rewards the lead);
  logistic the article's best sentence (target within 90% of the article's best) against the rest;
  boosting gradient-boosted trees on the same centred target (for comparison only: qa-bot ships coefficients).
The shipped model is the linear candidate with the best mean of its cross-validated ROUGE-L ratios to lead-1 on XSum
and on CNN/DM (both styles of news matter: BBC-like and US wire-like), refitted on all training articles.
Confidence intervals: 95% bootstrap over articles (2,000 resamples) of the out-of-fold picks.

Usage: python training/fit_summary_ranker.py [--shared ../shared] [--refresh]
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa_bot.answering.model import LinearModel  # noqa: E402
from qa_bot.embedders import make_embedder  # noqa: E402
from qa_bot.settings import Settings  # noqa: E402
from qa_bot.summarize import central_sentences, lead_sentence, one_line, source_sentences  # noqa: E402
from qa_bot.summary_ranker import MODEL_FILE, POOL, SummaryRanker, sentence_features  # noqa: E402

CACHE = ROOT / "training" / ".cache" / "summary_features.jsonl.gz"
OUT = ROOT / "qa_bot" / MODEL_FILE
REPORT = ROOT / "training" / "SUMMARY_RANKER.md"
XSUM_REPORT_SET = 100  # XSum records 0-99 are the report set: never fitted on
FOLDS = 5
ALPHAS = (1.0, 100.0, 1000.0)
XSUM_WEIGHTS = (1.0, 5.0)  # XSum articles weigh this much against a CNN/DM article: the two styles pull apart
C_GRID = (0.01, 0.1, 1.0)
BOOTSTRAP = 2000


def jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def training_records(shared: Path) -> list[dict]:
    xsum = jsonl(shared / "summaries" / "xsum.jsonl")[XSUM_REPORT_SET:]
    cnndm = jsonl(shared / "summaries" / "cnndm.jsonl")
    return [{**r, "set": "xsum"} for r in xsum] + [{**r, "set": "cnndm"} for r in cnndm]


def describe(records: list[dict], refresh: bool) -> list[dict]:
    """Per article: its pool's features and each sentence's ROUGE, plus what lead-1, the current central-sentence
    pick and the oracle score (cached: embedding and parsing take a few minutes on two cores)."""
    if CACHE.exists() and not refresh:
        with gzip.open(CACHE, "rt", encoding="utf-8") as handle:
            cached = [json.loads(line) for line in handle]
        if [c["doc_id"] for c in cached] == [r["doc_id"] for r in records]:
            return cached
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1", "rougeL"], use_stemmer=True)
    embedder = make_embedder(Settings())
    seen: dict[str, np.ndarray] = {}

    def embed(texts):  # the features and the central-sentence baseline embed the same sentences: once is enough
        missing = [t for t in dict.fromkeys(texts) if t not in seen]
        if missing:
            seen.update(zip(missing, embedder.embed_documents(missing)))
        return np.stack([seen[t] for t in texts])

    def rouge(reference: str, text: str) -> dict[str, float]:
        return {k: v.fmeasure for k, v in scorer.score(reference, text).items()}

    out = []
    t0 = time.perf_counter()
    for n, record in enumerate(records):
        sentences = source_sentences(record["text"])[:POOL]
        if len(sentences) < 2:
            continue
        lines = [one_line(s) for s in sentences]
        central = sentences[central_sentences(sentences, "", embed, n=1)[0]]
        out.append({"doc_id": record["doc_id"], "set": record["set"],
                    "features": sentence_features(sentences, "", embed),
                    "rouge": [rouge(record["reference"], line) for line in lines],
                    "lead1": rouge(record["reference"], lead_sentence(record["text"])),
                    "central": rouge(record["reference"], one_line(central))})
        if n % 50 == 0:
            print(f"  described {n}/{len(records)} articles ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(CACHE, "wt", encoding="utf-8") as handle:
        handle.writelines(json.dumps(a) + "\n" for a in out)
    return out


def target(article: dict) -> np.ndarray:
    return np.array([(r["rouge1"] + r["rougeL"]) / 2 for r in article["rouge"]])


def design(articles: list[dict], names: list[str], xsum_weight: float = 1.0):
    """Feature matrix, centred target, best-sentence label, article index and weight of every sentence."""
    rows, centred, best, group, weight = [], [], [], [], []
    for g, article in enumerate(articles):
        y = target(article)
        rows += [[f[name] for name in names] for f in article["features"]]
        centred += (y - y.mean()).tolist()
        best += (y >= 0.9 * y.max()).astype(int).tolist() if y.max() > 0 else [0] * len(y)
        group += [g] * len(y)
        weight += [xsum_weight if article["set"] == "xsum" else 1.0] * len(y)
    return np.array(rows, float), np.array(centred), np.array(best), np.array(group), np.array(weight)


def fit(kind: str, strength: float, x: np.ndarray, centred: np.ndarray, best: np.ndarray, weight: np.ndarray):
    estimator = make_estimator(kind, strength)
    if kind == "boosting":
        return estimator.fit(x, centred, sample_weight=weight)
    step = estimator.steps[-1][0]
    return estimator.fit(x, best if kind == "logistic" else centred, **{f"{step}__sample_weight": weight})


def make_estimator(kind: str, strength: float):
    from sklearn.ensemble import GradientBoostingRegressor
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if kind == "ridge":
        return make_pipeline(StandardScaler(), Ridge(alpha=strength))
    if kind == "logistic":
        return make_pipeline(StandardScaler(), LogisticRegression(C=strength, max_iter=2000, class_weight="balanced"))
    return GradientBoostingRegressor(n_estimators=200, max_depth=3, learning_rate=0.05, subsample=0.8, random_state=0)


def scores_of(estimator, kind: str, x: np.ndarray) -> np.ndarray:
    return estimator.predict_proba(x)[:, 1] if kind == "logistic" else estimator.predict(x)


def out_of_fold_picks(articles: list[dict], names: list[str], kind: str, strength: float,
                      xsum_weight: float) -> list[int]:
    """For each article, the index of the sentence the candidate ranks first when fitted on the other folds."""
    from sklearn.model_selection import GroupKFold

    x, centred, best, group, weight = design(articles, names, xsum_weight)
    picks = [0] * len(articles)
    for train, test in GroupKFold(n_splits=FOLDS).split(x, centred, group):
        estimator = fit(kind, strength, x[train], centred[train], best[train], weight[train])
        scores = scores_of(estimator, kind, x[test])
        for g in np.unique(group[test]):
            mask = group[test] == g
            picks[g] = int(np.argmax(scores[mask]))  # first of equal scores: the earlier sentence
    return picks


def summarise(articles: list[dict], values: list[dict], rng: np.random.Generator) -> dict:
    """Mean ROUGE-1 / ROUGE-L of the picks beside lead-1's, with bootstrap 95% intervals of the means and ratios."""
    out: dict = {"n": len(articles)}
    for metric in ("rouge1", "rougeL"):
        picked = np.array([v[metric] for v in values])
        lead = np.array([a["lead1"][metric] for a in articles])
        samples = rng.integers(0, len(articles), size=(BOOTSTRAP, len(articles)))
        means = picked[samples].mean(axis=1)
        ratios = means / lead[samples].mean(axis=1)
        out[metric] = round(float(picked.mean()), 4)
        out[f"{metric}_ci"] = [round(float(q), 4) for q in np.percentile(means, [2.5, 97.5])]
        out[f"{metric}_vs_lead1"] = round(float(picked.mean() / lead.mean()), 3)
        out[f"{metric}_vs_lead1_ci"] = [round(float(q), 3) for q in np.percentile(ratios, [2.5, 97.5])]
    return out


def by_set(articles: list[dict], values: list[dict], seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {name: summarise([a for a in articles if a["set"] == name],
                            [v for a, v in zip(articles, values) if a["set"] == name], rng)
            for name in ("xsum", "cnndm")}


def export(estimator, kind: str, names: list[str], info: dict) -> SummaryRanker:
    scaler, linear = estimator[0], estimator[-1]
    coef = linear.coef_[0] if kind == "logistic" else linear.coef_
    intercept = float(np.ravel(linear.intercept_)[0])
    return SummaryRanker(LinearModel(tuple(names), scaler.mean_, scaler.scale_, np.asarray(coef, float), intercept),
                         info)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--refresh", action="store_true", help="Recompute the cached features.")
    args = parser.parse_args()
    articles = describe(training_records(args.shared), args.refresh)
    names = sorted(articles[0]["features"][0])
    print(f"{len(articles)} articles, {sum(len(a['features']) for a in articles)} sentences, {len(names)} signals",
          file=sys.stderr)

    results: dict[str, dict] = {
        "lead-1": by_set(articles, [a["lead1"] for a in articles]),
        "central (before)": by_set(articles, [a["central"] for a in articles]),
        "oracle": by_set(articles, [max(a["rouge"], key=lambda r: r["rougeL"]) for a in articles]),
    }
    candidates = [("ridge", a, w) for w in XSUM_WEIGHTS for a in ALPHAS] + [
        ("logistic", c, w) for w in XSUM_WEIGHTS for c in C_GRID] + [("boosting", 0.0, w) for w in XSUM_WEIGHTS]

    def name(kind: str, strength: float, xsum_weight: float) -> str:
        return f"{kind}{f' {strength:g}' if kind != 'boosting' else ''}, XSum weight {xsum_weight:g}"

    for candidate in candidates:
        picks = out_of_fold_picks(articles, names, *candidate)
        results[name(*candidate)] = by_set(articles, [a["rouge"][p] for a, p in zip(articles, picks)])
        print(f"  {name(*candidate)}: {results[name(*candidate)]['xsum']}", file=sys.stderr)
    linear = [c for c in candidates if c[0] != "boosting"]
    kind, strength, xsum_weight = max(linear, key=lambda c: sum(results[name(*c)][s]["rougeL_vs_lead1"]
                                                                for s in ("xsum", "cnndm")))
    chosen = name(kind, strength, xsum_weight)

    x, centred, best, _, weight = design(articles, names, xsum_weight)
    estimator = fit(kind, strength, x, centred, best, weight)
    info = {"fitted_on": "xsum.jsonl records 100-250 + cnndm.jsonl (all 250); never xsum 0-99",
            "target": "mean of ROUGE-1 and ROUGE-L F of the one-line-trimmed sentence against the reference",
            "model": chosen, "cv": results[chosen], "articles": len(articles)}
    ranker = export(estimator, kind, names, info)
    OUT.write_text(json.dumps(ranker.to_dict(), indent=1) + "\n", encoding="utf-8")
    write_report(results, chosen, ranker, len(articles))
    print(f"wrote {OUT.relative_to(ROOT)} ({chosen}) and {REPORT.relative_to(ROOT)}", file=sys.stderr)


def write_report(results: dict, chosen: str, ranker: SummaryRanker, n: int) -> None:
    def cell(r: dict, metric: str) -> str:
        lo, hi = r[f"{metric}_vs_lead1_ci"]
        return f"{r[metric]:.4f} ({r[f'{metric}_vs_lead1']:.2f}× [{lo:.2f}, {hi:.2f}])"

    lines = [
        "# The summary sentence ranker: cross-validated figures",
        "",
        "Written by `python training/fit_summary_ranker.py`. "
        f"{n} training articles: XSum records 100-250 and the 250 CNN/DM records (never XSum 0-99, the report set).",
        "Each cell: mean ROUGE F of the sentence put first (trimmed to one line), then its ratio to lead-1 with a 95%",
        "bootstrap interval over articles. Candidates are out-of-fold (5 folds grouped by article); lead-1, the",
        "previous central-sentence pick and the oracle (best single sentence) need no fitting.",
        "",
        "| pick | XSum R-1 | XSum R-L | CNN/DM R-1 | CNN/DM R-L |",
        "|---|---|---|---|---|",
    ]
    for name, r in results.items():
        mark = " **(shipped)**" if name == chosen else ""
        lines.append(f"| {name}{mark} | {cell(r['xsum'], 'rouge1')} | {cell(r['xsum'], 'rougeL')} | "
                     f"{cell(r['cnndm'], 'rouge1')} | {cell(r['cnndm'], 'rougeL')} |")
    weights = sorted(zip(ranker.model.features, ranker.model.coef), key=lambda p: -abs(p[1]))
    lines += ["", f"Shipped: {chosen}, refitted on all {n} articles (`qa_bot/{MODEL_FILE}`). Largest standardised "
              "weights:", "", "| signal | weight |", "|---|---|"]
    lines += [f"| {name} | {w:+.3f} |" for name, w in weights[:12]]
    REPORT.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
