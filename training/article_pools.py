"""Which corpus articles each question set may use, so that training, reporting and conversation sets never share one.

Articles of news.jsonl that news-small, dev, qa-fresh and the shared train.jsonl do not use are split into pools by
the SHA-1 of their doc_id (stable whatever the order of the file):

    untuned-test    questions of benchmarks/qa-untuned.jsonl (reporting only)
    followup-test   conversations of benchmarks/followups.jsonl (reporting only)
    train-extra     questions of training/questions.jsonl (fitting only)
    followup-train  conversations of training/followups.jsonl (fitting only)
    spare           kept back

Usage: python training/article_pools.py [--shared ../shared] [--write DIR]   (prints the pool sizes; --write puts
one doc_id per line in DIR/<pool>.txt)
"""
from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Share of the free articles per pool, in this order; the rest is spare.
POOLS = (("untuned-test", 0.25), ("followup-test", 0.10), ("train-extra", 0.40), ("followup-train", 0.12))


def _jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def used_doc_ids(shared: Path) -> set[str]:
    used = {d["doc_id"] for d in _jsonl(shared / "corpus" / "news-small.jsonl")}
    for path in (shared / "gold" / "dev.jsonl", shared / "gold" / "train.jsonl", ROOT / "benchmarks" / "qa-fresh.jsonl"):
        for record in _jsonl(path):
            used.update(record.get("doc_ids", []))
            if path.name == "train.jsonl":  # there absent_near lists the articles of a near-miss question's story
                used.update(record.get("absent_near", []))
    return used


def article_pools(shared: Path) -> dict[str, list[str]]:
    used = used_doc_ids(shared)
    free = sorted((d["doc_id"] for d in _jsonl(shared / "corpus" / "news.jsonl") if d["doc_id"] not in used),
                  key=lambda doc_id: hashlib.sha1(doc_id.encode()).hexdigest())
    pools: dict[str, list[str]] = {}
    start = 0
    for name, share in POOLS:
        size = round(share * len(free))
        pools[name] = sorted(free[start : start + size])
        start += size
    pools["spare"] = sorted(free[start:])
    return pools


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    pools = article_pools(args.shared)
    for name, ids in pools.items():
        print(f"{name}\t{len(ids)}")
        if args.write:
            args.write.mkdir(parents=True, exist_ok=True)
            (args.write / f"{name}.txt").write_text("\n".join(ids) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
