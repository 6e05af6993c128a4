"""How far a one-line summary can get by picking one article sentence, beside what qa-bot's summariser does.

    python benchmarks/summary_ceiling.py ../shared/summaries/xsum.jsonl --limit 100
    python benchmarks/summary_ceiling.py --corpus80        # the 80 corpus articles of corpus_summaries.py (title + text)

For each record, ROUGE (F, with stemming, as ``qa-bot eval-summaries``) of
- lead-1: the article's first sentence (the baseline the summary bar is set against);
- selection only: the sentence the summariser would fall back to without the model (the fitted ranker's pick);
- oracle: the one article sentence that scores best against the reference, trimmed to one line as the summariser
  trims. No selector can beat it without writing new words, so it is the ceiling of extractive one-liners.
No model is loaded: the summariser is given a generator that writes nothing, so every summary is its fallback.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from qa_bot.eval.records import load_summary_references  # noqa: E402
from qa_bot.pipeline import Pipeline  # noqa: E402
from qa_bot.settings import Settings  # noqa: E402
from qa_bot.summarize import lead_sentence, one_line, source_sentences  # noqa: E402


class SilentGenerator:
    """Writes nothing, so the summariser returns its extractive pick. Token counts are rough (only used to fit
    the prompt, which does not change the pick)."""

    name = "none"
    n_ctx = 8192

    def generate(self, messages, max_tokens, stop=()):
        return ""

    def stream(self, messages, max_tokens, stop=()):
        return iter(())

    def count_tokens(self, text: str) -> int:
        return len(text.split()) * 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("references", nargs="?", type=Path, help="A summaries .jsonl (doc_id, text, reference).")
    parser.add_argument("--corpus80", action="store_true", help="Use benchmarks/corpus-summary-refs.jsonl.")
    parser.add_argument("--limit", type=int)
    args = parser.parse_args()
    if args.corpus80:
        from corpus_summaries import joined_records

        records = joined_records(REPO.parent / "shared" / "corpus" / "news.jsonl", with_title=True)
    elif args.references:
        records = [{"text": r.text, "reference": r.reference, "title": r.title}
                   for r in load_summary_references(args.references)]
    else:
        parser.error("give a references file or --corpus80")
    records = records[: args.limit] if args.limit else records

    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1", "rougeL"], use_stemmer=True)
    summarizer = Pipeline(Settings(), generator=SilentGenerator()).summarizer
    scores: dict[str, dict[str, list[float]]] = {k: {"rouge1": [], "rougeL": []} for k in ("lead1", "selection", "oracle")}
    for record in records:
        candidates = {
            "lead1": lead_sentence(record["text"]),
            "selection": summarizer.summarize(record["text"], record.get("title", "")).text,
        }
        trimmed = [one_line(s) for s in source_sentences(record["text"])] or [""]
        candidates["oracle"] = max(trimmed, key=lambda s: scorer.score(record["reference"], s)["rougeL"].fmeasure)
        for kind, text in candidates.items():
            for metric, value in scorer.score(record["reference"], text).items():
                scores[kind][metric].append(value.fmeasure)
    result = {kind: {m: round(statistics.mean(v), 4) for m, v in by_metric.items()} for kind, by_metric in scores.items()}
    lead_l = result["lead1"]["rougeL"]
    print(json.dumps({"n": len(records), **result,
                      "selection_vs_lead1_rougeL": round(result["selection"]["rougeL"] / lead_l, 3),
                      "oracle_vs_lead1_rougeL": round(result["oracle"]["rougeL"] / lead_l, 3)}))


if __name__ == "__main__":
    main()
