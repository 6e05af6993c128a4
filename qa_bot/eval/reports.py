"""What an evaluation writes to its output folder: ``results.jsonl`` (one row per item), ``metrics.json`` and a
``report.md`` with tables and plots."""
from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from .plots import plot_accuracy_by_type, plot_latency, plot_refusal_curve, plot_rouge
from .tables import RATE_COLUMNS, SUMMARY_COLUMNS, fmt, md_table, rate_rows, short, summary_rows


def write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def write_qa_report(out: Path, rows: list[dict], metrics: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    write_jsonl(out / "results.jsonl", rows)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    plots = {"accuracy_by_type.png": "Accuracy by question type", "latency.png": "Latency per question"}
    plot_accuracy_by_type(metrics, out / "accuracy_by_type.png")
    plot_latency([r["latency_s"] for r in rows], metrics, out / "latency.png", "Latency per question")
    if metrics.get("refusal_curve"):
        plot_refusal_curve(metrics["refusal_curve"], metrics["refusal_threshold"], out / "refusal_curve.png")
        plots["refusal_curve.png"] = "Refusal curve"

    corpus = metrics.get("corpus")
    md = [
        "# Q&A evaluation",
        "",
        f"- **gold**: `{metrics['gold']}` — {metrics['n']} questions ({metrics['n_answerable']} answerable, "
        f"{metrics['n_unanswerable']} unanswerable)",
        f"- **index**: collection `{metrics['collection']}`"
        + (f", corpus `{corpus['path']}` ({corpus.get('docs')} documents, sha256 {corpus['sha256'][:12]}…)" if corpus else ""),
        f"- **model**: `{metrics['model']}` · **embedder**: `{metrics['embedder']}` · **prompt**: `{metrics['prompt']}`"
        f" · **answer wording**: {metrics['settings'].get('wording')}",
        f"- **answering models**: `{metrics['answer_model']['file']}` (fitted {metrics['answer_model']['fitted']}); "
        f"thresholds " + ", ".join(f"{k} {v}" for k, v in metrics["answer_model"]["thresholds"].items()),
        f"- **retrieval**: k={metrics['k']}, fusion {metrics['settings']['fusion']}",
        f"- **latency per question**: p50 {fmt(metrics['latency_p50_s'])} s, p95 {fmt(metrics['latency_p95_s'])} s "
        f"(models loaded beforehand in {metrics['warmup_s']} s)",
    ]
    if metrics.get("gold_docs_missing"):
        md.append(f"- **warning**: {len(metrics['gold_docs_missing'])} gold documents are not in the index: "
                  + ", ".join(f"`{d}`" for d in metrics["gold_docs_missing"][:10]))
    md += ["", "## Metrics", "",
           "Overall and per question type. Accuracy, F1, recall@k, MRR and the citation metrics are over answerable "
           "questions; refusal is over unanswerable ones, false refusal over answerable ones.", "",
           md_table(["type", *(h for _, h, _ in RATE_COLUMNS)], rate_rows(metrics)), ""]
    if metrics.get("by_source"):
        md += ["By source:", "",
               md_table(["source", *(h for _, h, _ in RATE_COLUMNS)],
                         [[name, *(fmt(g.get(k), pct) for k, _, pct in RATE_COLUMNS)]
                          for name, g in metrics["by_source"].items()]), ""]
    md += ["![accuracy by question type](accuracy_by_type.png)", "", "## How questions were answered", "",
           md_table(["path", "share"], [[p, fmt(v, True)] for p, v in metrics["paths"].items()]), "",
           "*extracted*: the direct answer is a span of the cited sentence; *generated*: the model's wording of it, "
           "every name and number found in that sentence; *quoted*: the sentence answers but no span of it clearly "
           "does, so it is quoted whole; *declined*: no sentence was likely enough to answer.",
           ""]
    curve = metrics.get("refusal_curve")
    if curve:
        md += ["## Refusal threshold", "",
               "What refusal and false refusal would have been with another answer threshold on the sentence model's "
               f"probability (current: {metrics['refusal_threshold']}, fitted on training data). Accuracy is known only "
               "at or above the current threshold.",
               "",
               md_table(["threshold", "refusal (unanswerable)", "false refusal (answerable)", "accuracy"],
                         [[("**" + f"{p['threshold']:g}" + "**") if abs(p["threshold"] - metrics["refusal_threshold"]) < 1e-9
                           else f"{p['threshold']:g}", fmt(p["refusal_rate"], True),
                           fmt(p["false_refusal_rate"], True), fmt(p["answer_accuracy"], True)] for p in curve]),
               "", "![refusal curve](refusal_curve.png)", ""]
    md += ["## Latency", "", "![latency histogram](latency.png)", ""]
    misses = [r for r in rows if (r["answerable"] and not r["correct"]) or (not r["answerable"] and not r["declined"])]
    if misses:
        md += ["## Questions to look at", "",
               "Answerable questions answered wrongly or declined, and unanswerable questions that were answered.", "",
               md_table(["id", "type", "question", "gold", "answer", "gold doc retrieved"],
                         [[r["id"], r["type"], short(r["question"], 90), short(" / ".join(r["gold_answers"]) or "(none)", 50),
                           short(r["answer"], 140), fmt(r["retrieval_hit"])] for r in misses], left=5), ""]
    md += ["Per-question details: `results.jsonl`; all metrics: `metrics.json`.", ""]
    (out / "report.md").write_text("\n".join(md), encoding="utf-8")


def write_summary_report(out: Path, rows: list[dict], metrics: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    write_jsonl(out / "results.jsonl", rows)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    plot_rouge(metrics, out / "rouge.png")
    plot_latency([r["latency_s"] for r in rows], metrics, out / "latency.png", "Latency per summary")
    md = [
        "# Summary evaluation", "",
        f"- **references**: `{metrics['references']}` — {metrics['n']} articles",
        f"- **model**: `{metrics['model']}` · **embedder**: `{metrics['embedder']}` · **prompt**: `{metrics['prompt']}`"
        f" · **ranker**: `{metrics.get('ranker', '–')}`",
        f"- **latency per summary**: p50 {fmt(metrics['latency_p50_s'])} s, p95 {fmt(metrics['latency_p95_s'])} s",
        "", "## Metrics", "",
        "ROUGE F-measures (stemming on), averaged over articles; lead-1 is the article's first sentence; the oracle "
        "sentence is the one article sentence (trimmed to one line) that scores best against the reference, the "
        "ceiling of any sentence pick. "
        "One-line: a single sentence on one line of at most 30 words. Faithful: every name and number of the summary "
        "occurs in the article.", "",
        md_table(SUMMARY_COLUMNS, summary_rows(metrics)), "",
        "![ROUGE vs lead-1](rouge.png)", "", "## How summaries were made", "",
        md_table(["path", "share"], [[p, fmt(v, True)] for p, v in metrics["paths"].items()]), "",
        "*generated*: the model's line, checked against the article; *extractive*: the ranker's sentence, trimmed.",
        "", "## Latency", "", "![latency histogram](latency.png)", "",
        "## Examples", "",
        md_table(["doc_id", "summary", "reference", "ROUGE-L", "faithful"],
                  [[r["doc_id"], short(r["summary"], 160), short(r["reference"], 160), fmt(r["rougeL"]),
                    fmt(r["faithful"])] for r in rows[:15]], left=3), "",
        "Per-article details: `results.jsonl`; all metrics: `metrics.json`.", "",
    ]
    (out / "report.md").write_text("\n".join(md), encoding="utf-8")
