"""One-line summaries of articles from our own corpus, scored against one-sentence references — the kind of data the
held-out summary set is (news from ../shared/corpus with references written for it), unlike XSum's BBC articles.

    python benchmarks/corpus_summaries.py --out docs/eval/summaries-corpus80 [--no-title] [--json]
    python benchmarks/corpus_summaries.py --refs benchmarks/corpus-summary-refs-2.jsonl --out docs/eval/summaries-corpus50-refs2

``corpus-summary-refs.jsonl`` (beside this file) holds only ``doc_id`` and ``reference``: 80 articles drawn at random
(seed 20261128) from ../shared/corpus/news.jsonl, each with a one-sentence reference (12-30 words) that an assistant
session wrote from the article text for this project (no human check). ``corpus-summary-refs-2.jsonl`` is a second
set of 50 in the same form, for articles that no summary, Q&A or training set uses (drawn at random, seed 20260219,
from the news.jsonl articles of 150-1,500 words outside every benchmarks/, training/ and gold set), its references
written from the articles before any system output on them was seen. The article text and title are read from the
corpus at run time, so no article text is kept in the repository. The records are then scored by the same code as
``qa-bot eval-summaries`` (ROUGE beside lead-1, faithfulness, one-line rate, latency). Of the report only
``metrics.json`` and the plots are committed (docs/eval/.gitignore): the per-article rows quote
corpus sentences, and the corpus may not be redistributed.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from qa_bot.eval.summaries import evaluate_summaries  # noqa: E402
from qa_bot.eval.tables import format_summary_table  # noqa: E402
from qa_bot.settings import Settings  # noqa: E402

REFS = Path(__file__).with_name("corpus-summary-refs.jsonl")


def joined_records(corpus: Path, with_title: bool, refs: Path = REFS) -> list[dict]:
    wanted = [json.loads(line) for line in refs.read_text(encoding="utf-8").splitlines() if line.strip()]
    articles = {}
    with corpus.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            articles[record["doc_id"]] = record
    missing = [r["doc_id"] for r in wanted if r["doc_id"] not in articles]
    if missing:
        raise SystemExit(f"{len(missing)} referenced articles are not in {corpus}: {missing[:5]}")
    return [{"doc_id": r["doc_id"], "text": articles[r["doc_id"]]["text"], "reference": r["reference"],
             **({"title": articles[r["doc_id"]]["title"]} if with_title else {})} for r in wanted]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus" / "news.jsonl")
    parser.add_argument("--refs", type=Path, default=REFS, help="The references (doc_id, reference) to score against.")
    parser.add_argument("--out", type=Path, help="Write the report (report.md, metrics.json, …) here.")
    parser.add_argument("--no-title", action="store_true", help="Summarise the text alone, without the headline.")
    parser.add_argument("--json", action="store_true", help="Print the metrics as one JSON object.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        refs = Path(tmp) / "corpus-summaries.jsonl"
        refs.write_text("".join(json.dumps(r) + "\n" for r in joined_records(args.corpus, not args.no_title, args.refs)),
                        encoding="utf-8")
        label = f"{args.refs.resolve().relative_to(REPO)} + {args.corpus.name} ({'text only' if args.no_title else 'title + text'})"
        metrics = evaluate_summaries(Settings(), refs, out=args.out, references_label=label)
    print(json.dumps(metrics) if args.json else format_summary_table(metrics))


if __name__ == "__main__":
    main()
