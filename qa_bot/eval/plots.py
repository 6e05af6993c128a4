"""The evaluation reports' plots (matplotlib, Agg backend, reproducible files: no timestamps, a fixed hash salt)."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .tables import ROUGE_ROWS


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 110, "font.size": 10, "axes.spines.top": False,
                         "axes.spines.right": False, "svg.hashsalt": "qa-bot"})
    return plt


def plot_accuracy_by_type(metrics: dict, path: Path) -> None:
    plt = _plt()
    groups = [(name, g) for name, g in (metrics.get("by_type") or {}).items()]
    labels, values, notes = [], [], []
    for name, g in groups:
        if g["n_answerable"]:  # answer accuracy for answerable types, refusal rate for the unanswerable ones
            labels.append(f"{name}\n(n={g['n']})")
            values.append(g["answer_accuracy"] or 0.0)
            notes.append("accuracy")
        else:
            labels.append(f"{name}\n(n={g['n']})")
            values.append(g["refusal_rate"] or 0.0)
            notes.append("refusal")
    fig, ax = plt.subplots(figsize=(max(5.0, 1.1 * len(labels) + 2), 3.6))
    colors = ["#4C72B0" if n == "accuracy" else "#DD8452" for n in notes]
    bars = ax.bar(range(len(labels)), values, color=colors)
    for bar, value in zip(bars, values):
        ax.annotate(f"{value:.0%}", (bar.get_x() + bar.get_width() / 2, value), ha="center", va="bottom",
                    xytext=(0, 2), textcoords="offset points")
    if metrics.get("answer_accuracy") is not None:
        ax.axhline(metrics["answer_accuracy"], color="#4C72B0", linestyle="--", linewidth=1,
                   label=f"overall accuracy {metrics['answer_accuracy']:.0%}")
        ax.legend(loc="upper right", frameon=False)
    ax.set_xticks(range(len(labels)), labels)
    ax.set_ylim(0, 1.12)
    ax.set_ylabel("share of questions")
    ax.set_title("Answer accuracy by question type (orange: correctly declined)")
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def plot_latency(latencies: Sequence[float], metrics: dict, path: Path, title: str) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.4))
    ax.hist(latencies, bins=min(20, max(5, len(latencies) // 2)), color="#55A868", edgecolor="white")
    for key, style in (("latency_p50_s", "--"), ("latency_p95_s", ":")):
        if metrics.get(key) is not None:
            ax.axvline(metrics[key], color="black", linestyle=style, linewidth=1,
                       label=f"{key.split('_')[1]} {metrics[key]:.2f} s")
    ax.set_xlabel("seconds per item (end to end)")
    ax.set_ylabel("items")
    ax.set_title(title)
    ax.legend(frameon=False)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def plot_refusal_curve(curve: list[dict], current: float, path: Path) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    t = [p["threshold"] for p in curve]
    if curve[0]["refusal_rate"] is not None:
        ax.plot(t, [p["refusal_rate"] for p in curve], marker="o", markersize=3,
                label="refusal rate (unanswerable declined) ↑")
    if curve[0]["false_refusal_rate"] is not None:
        ax.plot(t, [p["false_refusal_rate"] for p in curve], marker="o", markersize=3,
                label="false refusal rate (answerable declined) ↓")
    acc = [(p["threshold"], p["answer_accuracy"]) for p in curve if p["answer_accuracy"] is not None]
    if acc:
        ax.plot(*zip(*acc), linestyle="--", color="grey", label="answer accuracy (known for t ≥ current)")
    ax.axvline(current, color="black", linewidth=1, linestyle=":", label=f"current threshold {current:g}")
    ax.set_xlabel("answer threshold on the sentence model's probability")
    ax.set_ylabel("rate")
    ax.set_ylim(-0.03, 1.03)
    ax.set_title("Refusals vs false refusals by threshold")
    ax.legend(frameon=False, fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def plot_rouge(metrics: dict, path: Path) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    x = range(len(ROUGE_ROWS))
    ours = [metrics[k] or 0.0 for k, _ in ROUGE_ROWS]
    lead = [metrics[f"lead1_{k}"] or 0.0 for k, _ in ROUGE_ROWS]
    oracle = [metrics.get(f"oracle_{k}") or 0.0 for k, _ in ROUGE_ROWS]
    bars = [(ours, "summariser", "#4C72B0"), (lead, "lead-1 baseline", "#BBBBBB"), (oracle, "oracle sentence", "#DD8452")]
    for n, (values, label, colour) in enumerate(bars):
        offsets = [i + (n - 1) * 0.27 for i in x]
        ax.bar(offsets, values, width=0.27, label=label, color=colour)
        for at, value in zip(offsets, values):
            ax.annotate(f"{value:.3f}", (at, value), ha="center", va="bottom", fontsize=7)
    ax.set_xticks(list(x), [label for _, label in ROUGE_ROWS])
    ax.set_ylabel("F-measure (mean)")
    ax.set_ylim(0, max([*ours, *lead, *oracle, 0.1]) * 1.25)
    ax.set_title("ROUGE of the summaries vs lead-1 and the oracle sentence")
    ax.legend(frameon=False)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
