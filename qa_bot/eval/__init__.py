"""Evaluation and benchmarks, one job per module (imports go down this list, never up):

- ``records.py``: the input files as typed records: gold Q&A items and reference summaries (pydantic), and the
  article-extraction benchmark's ground truth;
- ``metrics.py``: pure metric functions (answer containment, token F1, per-question scores and their aggregate, the
  refusal curve, extraction shingles, percentiles);
- ``corpus.py``: the corpus an evaluation runs against, indexed once into its own ``eval-<hash>`` collection;
- ``tables.py`` and ``plots.py``: metrics as text and Markdown tables, and as matplotlib figures;
- ``reports.py``: what an evaluation writes to ``--out`` (results.jsonl, metrics.json, report.md with its plots);
- the runners: ``qa.py`` (``qa-bot eval``), ``summaries.py`` (``qa-bot eval-summaries``), ``extraction.py``
  (``qa-bot eval-extraction``), and ``bench.py`` (``qa-bot bench``) with its measurements in ``measure.py``.

Nothing is imported here: ``qa_bot.eval.qa`` does not load matplotlib or the benchmark's helpers until asked."""
