"""Tables of metrics: plain text for the terminal, Markdown for the reports."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def fmt(value: Any, pct: bool = False) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.1%}" if pct else f"{value:.3f}"
    return str(value)


RATE_COLUMNS = [  # (key, heading, percentage?)
    ("n", "n", False), ("answer_accuracy", "accuracy", True), ("token_f1", "F1", False),
    ("retrieval_recall_at_k", "recall@k", True), ("mrr", "MRR", False), ("citation_precision", "cit. prec.", True),
    ("citation_recall", "cit. recall", True), ("refusal_rate", "refusal", True),
    ("false_refusal_rate", "false refusal", True),
]


def text_table(headings: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headings)]
    line = lambda cells: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))  # noqa: E731
    return "\n".join([line(headings), "  ".join("-" * w for w in widths), *(line(r) for r in rows)])


def md_table(headings: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
    """A Markdown table; the first ``left`` columns (labels, text) align left, the rest (numbers) right."""
    esc = lambda s: str(s).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    sep = ["---" if i < left else "---:" for i in range(len(headings))]
    return "\n".join("| " + " | ".join(esc(c) for c in r) + " |" for r in [headings, sep, *rows])


def rate_rows(metrics: dict) -> list[list[str]]:
    rows = [["all", *(fmt(metrics.get(k), pct) for k, _, pct in RATE_COLUMNS)]]
    for name, group in (metrics.get("by_type") or {}).items():
        rows.append([name, *(fmt(group.get(k), pct) for k, _, pct in RATE_COLUMNS)])
    return rows


def format_qa_table(metrics: dict) -> str:
    """The metrics as a plain-text table for the terminal: overall and per question type, then paths and latency."""
    head = ["type", *(h for _, h, _ in RATE_COLUMNS)]
    paths = ", ".join(f"{p} {fmt(v, True)}" for p, v in (metrics.get("paths") or {}).items())
    lines = [
        f"Q&A evaluation: {metrics['n']} questions ({metrics['n_answerable']} answerable, "
        f"{metrics['n_unanswerable']} not), k={metrics['k']}",
        f"model {metrics['model']} · embedder {metrics['embedder']} · prompt {metrics['prompt']}",
        "",
        text_table(head, rate_rows(metrics)),
        "",
        f"answer paths: {paths}",
        f"latency per question: p50 {fmt(metrics['latency_p50_s'])} s, p95 {fmt(metrics['latency_p95_s'])} s",
    ]
    return "\n".join(lines)


ROUGE_ROWS = [("rouge1", "ROUGE-1"), ("rouge2", "ROUGE-2"), ("rougeL", "ROUGE-L")]


SUMMARY_COLUMNS = ["metric", "summariser", "lead-1", "oracle sentence"]


def summary_rows(metrics: dict) -> list[list[str]]:
    rows = [[label, fmt(metrics.get(key)), fmt(metrics.get(f"lead1_{key}")), fmt(metrics.get(f"oracle_{key}"))]
            for key, label in ROUGE_ROWS]
    rows.append(["mean words", fmt(metrics.get("mean_words")), fmt(metrics.get("lead1_mean_words")), "–"])
    rows.append(["one-line rate", fmt(metrics.get("one_line_rate"), True), "–", "–"])
    rows.append(["faithful rate", fmt(metrics.get("faithful_rate"), True), "–", "–"])
    return rows


def format_summary_table(metrics: dict) -> str:
    """The summary metrics beside the lead-1 baseline and the oracle sentence, as plain text."""
    paths = ", ".join(f"{p} {fmt(v, True)}" for p, v in (metrics.get("paths") or {}).items())
    return "\n".join([
        f"Summary evaluation: {metrics['n']} articles · model {metrics['model']} · prompt {metrics['prompt']}",
        "",
        text_table(SUMMARY_COLUMNS, summary_rows(metrics)),
        "",
        f"paths: {paths}",
        f"latency per summary: p50 {fmt(metrics['latency_p50_s'])} s, p95 {fmt(metrics.get('latency_p95_s'))} s",
    ])


def short(text: str, n: int = 140) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


# --- the benchmark -------------------------------------------------------------------------------------------------
def _cell(value: Any, unit: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        text = f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    else:
        text = str(value)
    return text + unit


def format_bench_table(r: dict) -> str:
    ing, base_ing = r["ingest"]["configured"], r["ingest"]["baseline"]
    ratios = r["ratios"]
    rows = [
        ("embedding throughput (chunks/s)", r["chunks_per_s"], r["baseline_chunks_per_s"], r["embed_speedup"]),
        ("recall@5 on dev", r["recall_at_5"], r["baseline_recall_at_5"], None),
        ("answer accuracy on dev", r["answer_accuracy"], r["baseline_answer_accuracy"], None),
        ("ingest end to end (s)", r["ingest_s"], r["baseline_ingest_s"], ratios["ingest_s"]),
        ("  load + clean (s)", ing["split_s"]["clean"], base_ing["split_s"]["clean"], None),
        ("  chunk (s)", ing["split_s"]["chunk"], base_ing["split_s"]["chunk"], None),
        ("  embed (s)", ing["split_s"]["embed"], base_ing["split_s"]["embed"], None),
        ("  store (s)", ing["split_s"]["store"], base_ing["split_s"]["store"], None),
        ("  startup, export, other (s)", ing["split_s"]["other"], base_ing["split_s"]["other"], None),
        ("ingest articles/s", r["ingest_articles_per_s"], base_ing["articles_per_s"], None),
        ("ingest chunks/s", r["ingest_chunks_per_s"], r["baseline_ingest_chunks_per_s"], None),
        ("ingest peak RSS (MB)", r["peak_rss_mb"], r["baseline_peak_rss_mb"], ratios["peak_rss"]),
        ("re-ingest, nothing changed (s)", r["unchanged_reingest_s"], None, None),
        ("retrieval p50 (ms)", r["retrieval_p50_ms"], r["baseline_retrieval_p50_ms"], ratios["retrieval_p50"]),
        ("retrieval p95 (ms)", r["retrieval_p95_ms"], r["baseline_retrieval_p95_ms"], None),
        ("time to first token p50 (s)", r["ttft_p50_s"], r["baseline_ttft_p50_s"], ratios["ttft_p50"]),
        ("answer p50 (s)", r["answer_p50_s"], r["baseline_answer_p50_s"], ratios["answer_p50"]),
        ("answer p95 (s)", r["answer_p95_s"], r["baseline_answer_p95_s"], None),
        ("summary (s/article)", r["summary_s_per_article"], r["baseline_summary_s_per_article"], ratios["summary_per_article"]),
        ("qa-bot ask to first output (s)", r["cold_start_s"], r["baseline_cold_start_s"], ratios["cold_start"]),
        ("python app.py to serving (s)", r["app_start_s"], r["baseline_app_start_s"], ratios["app_start"]),
    ]
    head = ("", f"configured ({r['backend']})", f"baseline ({r['baseline_backend']})", "ratio")
    table = [head] + [(name, _cell(a), _cell(b), _cell(c, "×")) for name, a, b, c in rows]
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    lines = ["  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row))
             for row in table]
    lines.insert(1, "-" * len(lines[0]))
    notes = [f"corpus {r['corpus']} ({ing['docs']} articles, {ing['chunks']} chunks); {r['cpu_threads']} CPU threads; "
             f"load average {r['load_avg_start'][0]} at start, {r['load_avg_end'][0]} at end; bench took {r['bench_s']} s",
             f"embedding: {r['embed']['n']} indexed chunks, rounds {r['embed']['rounds']}, cosine to the baseline "
             f"vectors min {r['embed']['cosine_min']} mean {r['embed']['cosine_mean']}"]
    if base_ing["reused"]:
        notes.append(f"baseline ingest figures are from the run that built its index ({base_ing['built_at']}, "
                     f"load {base_ing['load_avg_1m']}); pass --rebuild-baseline to time it again")
    if ing["reused"]:
        notes.append(f"configured ingest figures are from an earlier run ({ing['built_at']}); drop --reuse-index to time it")
    if ing.get("onnx_export_included"):
        notes.append("the configured ingest included the one-time ONNX export")
    return "\n".join(lines + [""] + notes)
