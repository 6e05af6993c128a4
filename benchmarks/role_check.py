"""How often the bundled model's summary sentences swap who did what to whom (qa_bot.relations), on real output.

    python benchmarks/role_check.py ../shared/summaries/xsum.jsonl --start 100 --limit 30 --show

For each article: the model's one-liner and its paragraph (temperature 0, as the summariser asks for them), every
model sentence that is otherwise kept (states the news, its names and numbers in the article), and of those, how
many the role check rejects. ``--show`` prints the rejected sentences with the article sentences that hold the same
verb, to read whether each rejection is right.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from qa_bot.generate import make_generator  # noqa: E402
from qa_bot.pipeline import Pipeline  # noqa: E402
from qa_bot.relations import clauses, role_conflicts  # noqa: E402
from qa_bot.nlp import parse_one  # noqa: E402
from qa_bot.settings import Settings  # noqa: E402
from qa_bot.summarize import clean_line, is_faithful, source_sentences, states_the_news  # noqa: E402


class RecordingGenerator:
    """The real generator, with every reply kept."""

    def __init__(self, inner):
        self.inner, self.replies = inner, []
        self.name, self.n_ctx = inner.name, inner.n_ctx

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def generate(self, messages, max_tokens, stop=()):
        reply = self.inner.generate(messages, max_tokens=max_tokens, stop=stop)
        self.replies.append(reply)
        return reply


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("references", type=Path)
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--limit", type=int, default=30)
    parser.add_argument("--show", action="store_true")
    args = parser.parse_args()
    with args.references.open(encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle][args.start:args.start + args.limit]
    settings = Settings(_env_file=None)
    recorder = RecordingGenerator(make_generator(settings))
    pipeline = Pipeline(settings, generator=recorder)
    checked = rejected = 0
    seconds = []
    for record in records:
        text, title = record["text"], record.get("title", "")
        sentences = source_sentences(text)
        recorder.replies.clear()
        for length in ("short", "paragraph"):
            pipeline.summarize_text(text, title, length)
        for reply in recorder.replies:
            for part in re.split(r"(?<=[.!?])\s+", " ".join(reply.split())):
                part = clean_line(part)
                if len(part.split()) < 5 or not states_the_news(part) or not is_faithful(part, text):
                    continue
                checked += 1
                started = time.perf_counter()
                problems = role_conflicts(part, [title, *sentences])
                seconds.append(time.perf_counter() - started)
                if problems:
                    rejected += 1
                    if args.show:
                        verbs = {c.verb for c in clauses(parse_one(part))}
                        holding = [s for s in sentences if verbs & {c.verb for c in clauses(parse_one(s))}][:3]
                        print(f"\n[{record['doc_id']}] {part}\n  -> {problems[0]}")
                        for s in holding:
                            print(f"     article: {s}")
    seconds.sort()
    print(json.dumps({"articles": len(records), "model_sentences_checked": checked, "rejected_by_role_check": rejected,
                      "share": round(rejected / checked, 3) if checked else None,
                      "check_ms_p50": round(1000 * seconds[len(seconds) // 2], 1) if seconds else None}))


if __name__ == "__main__":
    main()
