"""Replace the evidence sentences of a question or conversation file by their offsets in the article, so the
repository keeps no article text: ``"evidence": "…"`` → ``"evidence_at": [start, end]`` (questions: in the first
doc; conversation turns: ``[doc_id, start, end]``). Readers put the text back from the corpus.

Usage: python training/strip_evidence.py questions|conversations IN.jsonl OUT.jsonl [--shared ../shared]
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_QUOTES = {"'": "['’‘]", "’": "['’‘]", "‘": "['’‘]", '"': '["“”]', "“": '["“”]', "”": '["“”]'}


def locate(evidence: str, text: str) -> tuple[int, int] | None:
    """Where ``evidence`` occurs in ``text``, ignoring case, runs of whitespace and the kind of quote marks."""
    at = text.find(evidence)
    if at >= 0:
        return at, at + len(evidence)
    pattern = "".join(r"\s+" if ch.isspace() else _QUOTES.get(ch, re.escape(ch)) for ch in evidence.strip())
    pattern = re.sub(r"(\\s\+)+", r"\\s+", pattern)
    match = re.search(pattern, text, re.IGNORECASE)
    return (match.start(), match.end()) if match else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=["questions", "conversations"])
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = parser.parse_args()
    docs = {}
    with (args.shared / "corpus" / "news.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            docs[record["doc_id"]] = record["text"]
    rows = [json.loads(line) for line in args.source.read_text(encoding="utf-8").splitlines() if line.strip()]
    out = []
    for row in rows:
        if args.kind == "questions":
            evidence = row.pop("evidence", "")
            if evidence:
                span = locate(evidence, docs[row["doc_ids"][0]])
                if span is None:
                    raise SystemExit(f"{row['id']}: evidence not found in {row['doc_ids'][0]}")
                row["evidence_at"] = list(span)
        else:
            for turn in row["turns"]:
                evidence = turn.pop("evidence")
                found = [(d, locate(evidence, docs[d])) for d in row["doc_ids"]]
                doc_id, span = next(((d, s) for d, s in found if s), (None, None))
                if span is None:
                    raise SystemExit(f"{row['id']}: evidence not found in its docs")
                turn["evidence_at"] = [doc_id, *span]
        out.append(row)
    args.target.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in out), encoding="utf-8")
    print(f"{len(out)} records → {args.target}")


if __name__ == "__main__":
    main()
