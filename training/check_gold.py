"""Check a question file or a conversation file written for qa-bot (drafts with evidence text, or committed files
whose evidence is kept as offsets: ``"evidence_at": [start, end]`` into the first doc's text).

Usage:
  python training/check_gold.py questions FILE --pool POOL.txt [--shared ../shared]
  python training/check_gold.py conversations FILE --pool POOL.txt [--shared ../shared]

Questions: ids unique; types known; every doc in the pool and used at most twice; answerable items: the evidence
occurs verbatim (case and spacing aside) in the first doc, every answer in the evidence; unanswerable items: no
answers/doc_ids/evidence, ``near_miss`` true or false, a near-miss names its story's articles in ``absent_near``
(doc ids), and no ``absent_answers`` string occurs in a corpus sentence together with one of the question's
capitalised key names outside those articles. Conversations: two turns, each with question, answers and evidence
found in the conversation's docs; the second turn says whether it is ``independent`` of the first.
Prints the counts and RESULT: PASS, or the problems and RESULT: FAIL (exit 1).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TYPES = {"who", "when", "number", "why", "factual", "where", "unanswerable"}
QUESTION_WORDS = {"Who", "What", "Which", "When", "Where", "Why", "How", "In", "On", "The", "A", "An", "And",
                  "Before", "After", "According", "At", "For", "Of", "Did", "Was", "Is", "Whom", "I", "By", "To"}


def load(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def norm(text: str) -> str:
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return re.sub(r"\s+", " ", text).strip().lower()


def sentences(text: str) -> list[str]:
    out = []
    for paragraph in text.split("\n"):
        out += [s for s in re.split(r'(?:(?<=[.!?])|(?<=[.!?][”"’)]))\s+(?=[A-Z“"])', paragraph.strip()) if s.strip()]
    return out


def key_names(question: str) -> list[str]:
    found = re.findall(r"[A-Z][\w’'.-]*(?:\s+(?:of|de|la)?\s*[A-Z][\w’'.-]*)*", question)
    keys = []
    for phrase in found:
        kept = [w for w in phrase.split() if w not in QUESTION_WORDS]
        if kept:
            keys.append(" ".join(kept).strip(".'’"))
    return [k for k in keys if len(k) > 2]


def word_in(needle: str, hay: str) -> bool:
    return re.search(r"(?<!\w)" + re.escape(norm(needle)) + r"(?!\w)", hay) is not None


def evidence_text(record: dict, docs: dict[str, dict]) -> str:
    if record.get("evidence_at"):
        start, end = record["evidence_at"]
        return docs[record["doc_ids"][0]]["text"][start:end]
    return record.get("evidence", "")


def check_questions(rows: list[dict], docs: dict, pool: set[str], problems: list[str]) -> None:
    ids = Counter(r.get("id") for r in rows)
    problems += [f"duplicate id {i}" for i, c in ids.items() if c > 1]
    use: Counter = Counter()
    sentence_index = None
    for r in rows:
        rid = r.get("id")
        for key in ("id", "question", "answerable", "answers", "doc_ids", "type"):
            if key not in r:
                problems.append(f"{rid}: missing {key}")
        if r.get("type") not in TYPES:
            problems.append(f"{rid}: unknown type {r.get('type')!r}")
        for doc_id in r.get("doc_ids", []):
            use[doc_id] += 1
            if doc_id not in docs:
                problems.append(f"{rid}: unknown doc {doc_id}")
            elif doc_id not in pool:
                problems.append(f"{rid}: doc {doc_id} is not in the pool")
        if r.get("answerable"):
            if r.get("type") == "unanswerable" or not r.get("answers") or not r.get("doc_ids"):
                problems.append(f"{rid}: answerable but no answers/doc_ids, or typed unanswerable")
                continue
            if r["doc_ids"][0] not in docs:
                continue
            evidence = evidence_text(r, docs)
            if not evidence or norm(evidence) not in norm(docs[r["doc_ids"][0]]["text"]):
                problems.append(f"{rid}: evidence not verbatim in {r['doc_ids'][0]}")
            for answer in r["answers"]:
                if norm(answer) not in norm(evidence):
                    problems.append(f"{rid}: answer {answer!r} not in the evidence")
        else:
            if r.get("type") != "unanswerable" or r.get("answers") or r.get("doc_ids") or r.get("evidence"):
                problems.append(f"{rid}: unanswerable item has answers/doc_ids/evidence or another type")
            if not isinstance(r.get("near_miss"), bool):
                problems.append(f"{rid}: unanswerable item needs near_miss true/false")
            near = set(r.get("absent_near", []))
            if r.get("near_miss") and not near:
                problems.append(f"{rid}: a near-miss question lists its story's articles in absent_near")
            for doc_id in near:
                if doc_id not in docs:
                    problems.append(f"{rid}: unknown absent_near doc {doc_id}")
            keys = key_names(r["question"])
            if not keys:
                problems.append(f"{rid}: no capitalised key name in the question")
            if sentence_index is None:
                sentence_index = [(d, norm(s)) for d, doc in docs.items() for s in sentences(doc["text"])]
            for absent in r.get("absent_answers", []):
                for doc_id, sentence in sentence_index:
                    if doc_id in near or not word_in(absent, sentence):
                        continue
                    hit = [k for k in keys if word_in(k, sentence)]
                    if hit:
                        problems.append(f"{rid}: absent answer {absent!r} occurs with {hit} in {doc_id}")
    problems += [f"doc {d} used {c} times (at most 2)" for d, c in use.items() if c > 2]
    print(f"{len(rows)} questions: " + ", ".join(f"{t} {n}" for t, n in sorted(Counter(r.get('type') for r in rows).items())))
    unanswerable = [r for r in rows if not r.get("answerable")]
    print(f"unanswerable {len(unanswerable)} ({sum(1 for r in unanswerable if r.get('near_miss'))} near-miss); "
          f"{len(use)} articles")


def check_conversations(rows: list[dict], docs: dict, pool: set[str], problems: list[str]) -> None:
    ids = Counter(r.get("id") for r in rows)
    problems += [f"duplicate id {i}" for i, c in ids.items() if c > 1]
    use: Counter = Counter()
    for c in rows:
        cid = c.get("id")
        turns = c.get("turns", [])
        if len(turns) != 2:
            problems.append(f"{cid}: needs exactly 2 turns")
            continue
        if not isinstance(turns[1].get("independent"), bool):
            problems.append(f"{cid}: the second turn needs independent true/false")
        for doc_id in c.get("doc_ids", []):
            use[doc_id] += 1
            if doc_id not in docs:
                problems.append(f"{cid}: unknown doc {doc_id}")
            elif doc_id not in pool:
                problems.append(f"{cid}: doc {doc_id} is not in the pool")
        texts = [norm(docs[d]["text"]) for d in c.get("doc_ids", []) if d in docs]
        for n, turn in enumerate(turns, start=1):
            if not turn.get("question") or not turn.get("answers"):
                problems.append(f"{cid}: turn {n} needs a question and answers")
                continue
            if turn.get("evidence_at"):
                doc_id, start, end = turn["evidence_at"]
                evidence = docs[doc_id]["text"][start:end] if doc_id in docs else ""
            else:
                evidence = turn.get("evidence", "")
            if not evidence or not any(norm(evidence) in t for t in texts):
                problems.append(f"{cid}: turn {n} evidence not verbatim in the conversation's docs")
            for answer in turn["answers"]:
                if norm(answer) not in norm(evidence):
                    problems.append(f"{cid}: turn {n} answer {answer!r} not in its evidence")
    problems += [f"doc {d} used {c} times (at most 2)" for d, c in use.items() if c > 2]
    independent = sum(1 for c in rows if len(c.get("turns", [])) == 2 and c["turns"][1].get("independent"))
    print(f"{len(rows)} conversations: {len(rows) - independent} follow-ups, {independent} independent second turns")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=["questions", "conversations"])
    parser.add_argument("file", type=Path)
    parser.add_argument("--pool", type=Path, required=True, help="one allowed doc_id per line")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = parser.parse_args()
    docs = {d["doc_id"]: d for d in load(args.shared / "corpus" / "news.jsonl")}
    pool = {line.strip() for line in args.pool.read_text(encoding="utf-8").splitlines() if line.strip()}
    rows = load(args.file)
    problems: list[str] = []
    (check_questions if args.kind == "questions" else check_conversations)(rows, docs, pool, problems)
    for problem in problems:
        print("FAIL", problem)
    print(f"RESULT: {'FAIL' if problems else 'PASS'}" + (f" ({len(problems)} problems)" if problems else ""))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
