"""The `qa-bot` command: parse arguments, call the library, format the output. No logic of its own."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing downloads at run time unless a setting asks for it
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from .errors import DocumentNotFoundError, QABotError  # noqa: E402
from .settings import load_settings  # noqa: E402

if TYPE_CHECKING:
    from .load import LoadIssue

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Ask questions about news articles and summarise them, locally.")


def fail(message: str, code: int = 1) -> None:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code)


def echo_err(message: str) -> None:
    typer.echo(message, err=True)


def echo_issue(issue: LoadIssue) -> None:
    """A file that was read with a caveat is a warning; one that was not read is skipped."""
    echo_err(f"{'warning' if issue.level == 'warning' else 'skipped'}: {issue}")


@app.callback()
def main(
    ctx: typer.Context,
    index_dir: Annotated[Optional[Path], typer.Option(help="Folder of the Chroma index [QA_BOT_INDEX_DIR].")] = None,
    collection: Annotated[Optional[str], typer.Option(help="Collection name [QA_BOT_COLLECTION].")] = None,
    model: Annotated[Optional[str], typer.Option(help="GGUF path, bundled:smollm2 or hf:OWNER/REPO/FILE.gguf [QA_BOT_MODEL].")] = None,
    chroma_url: Annotated[Optional[str], typer.Option(help="Use a Chroma server [QA_BOT_CHROMA_URL].")] = None,
    llm_url: Annotated[Optional[str], typer.Option(help="Use an OpenAI-compatible model server [QA_BOT_LLM_URL].")] = None,
) -> None:
    overrides = {k: v for k, v in {"index_dir": index_dir, "collection": collection, "model": model,
                                     "chroma_url": chroma_url, "llm_url": llm_url}.items() if v is not None}
    try:
        ctx.obj = load_settings().model_copy(update=overrides)
    except QABotError as err:  # a bad QA_BOT_* value
        fail(f"bad setting: {err}")


def pipeline(ctx: typer.Context, **overrides):
    from .pipeline import Pipeline

    settings = ctx.obj.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    return Pipeline(settings)


def guarded(fn):
    """Turn library errors into one-line messages and a non-zero exit code."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except QABotError as err:
            fail(str(err))
        except KeyboardInterrupt:
            fail("interrupted", 130)

    return wrapper


@app.command()
@guarded
def ingest(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (.txt, .md, .html, .jsonl).")],
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Add articles to the index (unchanged ones are skipped, changed ones replaced)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    p = pipeline(ctx)
    with Progress(TextColumn("Indexing"), BarColumn(), MofNCompleteColumn(), TextColumn("documents"),
                  TimeElapsedColumn(), transient=True, disable=json_out or not sys.stderr.isatty()) as bar:
        task = bar.add_task("ingest", total=None)
        report = p.ingest(paths, progress=lambda n: bar.advance(task, n))
    for issue in report.issues:
        echo_issue(issue)
    stats = p.stats()
    if json_out:
        typer.echo(json.dumps({**report.to_json(), "index": stats}))
    else:
        typer.echo(f"{report.summary()}. Index: {stats['docs']} documents, {stats['chunks']} chunks in {stats['index_dir']}.")
    if report.documents == 0 and report.errors:
        raise typer.Exit(1)


@app.command()
@guarded
def ask(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="The question.")],
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    k: Annotated[Optional[int], typer.Option("-k", help="Passages to retrieve.")] = None,
    source: Annotated[Optional[list[str]], typer.Option(help="Only articles from this source (repeatable).")] = None,
    date_from: Annotated[Optional[str], typer.Option(help="Only articles published on/after YYYY-MM-DD.")] = None,
    date_to: Annotated[Optional[str], typer.Option(help="Only articles published on/before YYYY-MM-DD.")] = None,
) -> None:
    """Answer a question from the indexed articles, with sources."""
    from .retrieve import Filters

    p = pipeline(ctx)
    filters = Filters(tuple(source or ()), date_from, date_to)
    answer = None
    for event in p.ask_stream(question, filters=filters, k=k):
        if event.kind == "token" and not json_out:
            typer.echo(event.text, nl=False)
        elif event.kind == "answer":
            answer = event.answer
    if json_out:
        typer.echo(json.dumps(answer.to_json(), ensure_ascii=False))
        return
    typer.echo()
    shown = answer.related if answer.declined else answer.citations
    if shown:
        typer.echo("\nRelated (not sources):" if answer.declined else "\nSources:")
        for c in shown:
            meta = " — ".join(x for x in (c.source, c.published) if x)
            typer.echo(f"[{c.n}] {c.title}" + (f" — {meta}" if meta else "") + (f"  {c.url}" if c.url else ""))


@app.command()
@guarded
def summarize(
    ctx: typer.Context,
    targets: Annotated[Optional[list[str]], typer.Argument(help="Document ids in the index, or files to summarise.")] = None,
    all_docs: Annotated[bool, typer.Option("--all", help="Summarise every indexed article (cached).")] = False,
    length: Annotated[str, typer.Option(help="short (one line) or paragraph.")] = "short",
    json_out: Annotated[bool, typer.Option("--json", help="JSON lines.")] = False,
    collection: Annotated[Optional[str], typer.Option(help="Collection to read (default: the global --collection).")] = None,
) -> None:
    """One-line summaries of articles: `doc_id<TAB>summary` per line."""
    from .load import LoadIssue, load_paths

    if length not in ("short", "paragraph"):
        fail("--length must be short or paragraph")
    if not targets and not all_docs:
        fail("name document ids or files to summarise, or pass --all")
    p = pipeline(ctx, **({"collection": collection} if collection else {}))

    def emit(doc_id: str, text: str, path: str) -> None:
        if json_out:
            typer.echo(json.dumps({"doc_id": doc_id, "summary": text, "path": path}, ensure_ascii=False))
        else:
            typer.echo(f"{doc_id}\t{text}")

    failed = False
    if all_docs:
        from tqdm import tqdm

        for record in tqdm(p.documents(), desc="Summarising", unit="doc", disable=not sys.stderr.isatty()):
            summary = p.summarize_document(record.doc_id, length)
            emit(record.doc_id, summary.text, summary.path)
        return
    for target in targets or []:
        if Path(target).exists():
            for item in load_paths([target]):
                if isinstance(item, LoadIssue):
                    echo_issue(item)
                    failed = failed or item.level == "error"
                else:
                    summary = p.summarize_text(item.text, item.title, length)
                    emit(item.doc_id, summary.text, summary.path)
        else:
            try:
                summary = p.summarize_document(target, length)
            except QABotError as err:
                echo_err(f"Error: {err}")
                failed = True
                continue
            emit(target, summary.text, summary.path)
    if failed:
        raise typer.Exit(1)


@app.command()
@guarded
def digest(
    ctx: typer.Context,
    date_from: Annotated[Optional[str], typer.Option(help="First publication date, YYYY-MM-DD.")] = None,
    date_to: Annotated[Optional[str], typer.Option(help="Last publication date, YYYY-MM-DD.")] = None,
    source: Annotated[Optional[str], typer.Option(help="Only this publisher (e.g. \"CNN\").")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """The indexed articles of a period grouped into topics, with one-line summaries, newest first."""
    from tqdm import tqdm

    from .digest import build_digest

    with tqdm(desc="Summarising", unit="doc", disable=json_out or not sys.stderr.isatty()) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        result = build_digest(pipeline(ctx), date_from, date_to, source, progress)
    if json_out:
        typer.echo(json.dumps(result.to_json(), ensure_ascii=False))
        return
    if not result.topics:
        typer.echo("No indexed articles match.")
        return
    typer.echo(f"{result.n_articles} articles in {len(result.topics)} topics")
    for topic in result.topics:
        typer.echo(f"\n## {topic.headline} ({len(topic.articles)})")
        for a in topic.articles:
            typer.echo(f"- {a.published or 'undated'} {a.doc_id}: {a.summary}")


@app.command()
@guarded
def stats(
    ctx: typer.Context,
    json_out: Annotated[bool, typer.Option("--json")] = False,
    docs: Annotated[bool, typer.Option("--docs", help="Also list the documents.")] = False,
) -> None:
    """Documents, chunks, embedder and size of the index."""
    p = pipeline(ctx)
    s = p.stats()
    if json_out:
        if docs:
            s["documents"] = [r.to_json() for r in p.documents()]
        typer.echo(json.dumps(s))
        return
    typer.echo(format_stats(s))
    if docs:
        for r in p.documents():
            typer.echo(f"{r.doc_id}\t{r.published or ''}\t{r.source}\t{r.title}")


def format_stats(s: dict) -> str:
    line = f"{s['docs']} documents, {s['chunks']} chunks, embedder {s['embedder']}, "
    if s["bytes"] is None:
        return line + f"at {s['index_dir']} (collection {s['collection']}); size: n/a (Chroma server)"
    return line + f"{s['bytes'] / 2**20:.1f} MB at {s['index_dir']} (collection {s['collection']})"


@app.command()
@guarded
def delete(ctx: typer.Context, doc_id: Annotated[str, typer.Argument(help="Document id to remove.")]) -> None:
    """Remove one article (all its chunks) from the index."""
    if not pipeline(ctx).delete(doc_id):
        raise DocumentNotFoundError(doc_id)
    typer.echo(f"deleted {doc_id}")


@app.command()
@guarded
def serve(
    ctx: typer.Context,
    host: Annotated[Optional[str], typer.Option(help="Address to listen on [QA_BOT_API_HOST, default 127.0.0.1: this machine only]; any other needs QA_BOT_API_KEY.")] = None,
    port: Annotated[Optional[int], typer.Option(help="Port [QA_BOT_API_PORT, default 8000].")] = None,
) -> None:
    """Serve an OpenAI-compatible API: chat completions with sources, summaries, documents."""
    from .api import serve as serve_api

    serve_api(pipeline(ctx, api_host=host, api_port=port), on_ready=echo_err)


@app.command("eval")
@guarded
def eval_qa(
    ctx: typer.Context,
    gold: Annotated[Path, typer.Argument(help="Gold Q&A file (.jsonl).")],
    corpus: Annotated[Optional[Path], typer.Option(help="Index this corpus in its own collection first.")] = None,
    limit: Annotated[Optional[int], typer.Option(help="Only the first N questions.")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Write results.jsonl, metrics.json, report.md and plots here.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the metrics as one JSON object.")] = False,
) -> None:
    """Score answers against a gold set: accuracy, F1, retrieval, citations, refusals, latency."""
    from .eval.qa import evaluate_qa
    from .eval.tables import format_qa_table

    metrics = evaluate_qa(ctx.obj, gold, corpus=corpus, limit=limit, out=out, progress=not json_out)
    typer.echo(json.dumps(metrics, ensure_ascii=False) if json_out else format_qa_table(metrics))


@app.command("eval-followups")
@guarded
def eval_followups(
    ctx: typer.Context,
    conversations: Annotated[Path, typer.Argument(help="Two-turn conversations (.jsonl).")],
    corpus: Annotated[Optional[Path], typer.Option(help="Index this corpus in its own collection first.")] = None,
    limit: Annotated[Optional[int], typer.Option(help="Only the first N conversations.")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Write results.jsonl and metrics.json here.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the metrics as one JSON object.")] = False,
) -> None:
    """Score follow-up questions: the second turn answered with the first as history, and left alone when unrelated."""
    from .eval.followups import evaluate_followups, format_followup_table

    metrics = evaluate_followups(ctx.obj, conversations, corpus=corpus, limit=limit, out=out, progress=not json_out)
    typer.echo(json.dumps(metrics, ensure_ascii=False) if json_out else format_followup_table(metrics))


@app.command("eval-summaries")
@guarded
def eval_summaries(
    ctx: typer.Context,
    references: Annotated[Path, typer.Argument(help="Records {doc_id, text, reference} and an optional title (.jsonl).")],
    limit: Annotated[Optional[int], typer.Option(help="Only the first N records.")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Write results and report here.")] = None,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """ROUGE, faithfulness and one-line rate of the summaries, beside the lead-1 baseline."""
    from .eval.summaries import evaluate_summaries
    from .eval.tables import format_summary_table

    metrics = evaluate_summaries(ctx.obj, references, limit=limit, out=out, progress=not json_out)
    typer.echo(json.dumps(metrics, ensure_ascii=False) if json_out else format_summary_table(metrics))


@app.command("eval-extraction")
@guarded
def eval_extraction(
    html_dir: Annotated[Path, typer.Argument(help="Folder with ground-truth.json and html/*.html.gz.")],
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """How clean is the text extracted from web pages (shingle precision/recall/F1)."""
    from .eval.extraction import evaluate_extraction

    metrics = evaluate_extraction(html_dir, progress=not json_out)
    if json_out:
        typer.echo(json.dumps({k: v for k, v in metrics.items() if k != "per_page"}))
    else:
        typer.echo(f"precision {metrics['precision']:.3f}  recall {metrics['recall']:.3f}  F1 {metrics['f1']:.3f}  "
                   f"n {metrics['n']}  extract p50 {metrics['extract_p50_ms']:.1f} ms")


@app.command()
@guarded
def bench(
    ctx: typer.Context,
    corpus: Annotated[Path, typer.Option(help="Corpus (.jsonl) to ingest and query.")],
    gold: Annotated[Path, typer.Option(help="Gold Q&A file (.jsonl) whose questions are timed and scored.")],
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    work_dir: Annotated[Path, typer.Option(help="Where the benchmark's indexes live (reused across runs).")] = Path("/tmp/bench-idx"),
    sample_chunks: Annotated[int, typer.Option(help="Chunks embedded by both embedders for the throughput ratio.")] = 512,
    questions: Annotated[Optional[int], typer.Option(help="Only the first N gold questions.")] = None,
    summaries: Annotated[int, typer.Option(help="Articles summarised on each side.")] = 5,
    reuse_index: Annotated[bool, typer.Option(help="Reuse the configured index of an earlier run instead of timing a fresh ingest.")] = False,
    rebuild_baseline: Annotated[bool, typer.Option(help="Time the baseline ingest again instead of reusing its index.")] = False,
    startup: Annotated[bool, typer.Option(help="Also time `python app.py` and `qa-bot ask` start-up.")] = True,
) -> None:
    """Time ingest, retrieval, answers, summaries and start-up beside the straightforward baseline."""
    from .eval.bench import BenchOptions, run_bench
    from .eval.tables import format_bench_table

    options = BenchOptions(corpus=corpus, gold=gold, work_dir=work_dir, sample_chunks=sample_chunks, questions=questions,
                           summaries=summaries, reuse_index=reuse_index, rebuild_baseline=rebuild_baseline,
                           startup=startup)
    result = run_bench(ctx.obj, options, log=echo_err)
    typer.echo(json.dumps(result, ensure_ascii=False) if json_out else format_bench_table(result))


if __name__ == "__main__":
    app()
