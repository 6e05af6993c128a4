"""`python -m tests.fake_cli ARGS…`: the real `qa-bot` command line in a process of its own, with the hashed-word
FakeEmbedder in place of MiniLM.

For the tests whose point is what happens between processes (SIGKILL mid-ingest, the index lock, two ingests at
once; tests/test_reliability.py) or what a CLI process does with its environment (tests/test_servers.py): the CLI,
the ingest, the Chroma store and its locks are the real ones; only the embedding model is swapped. A process then starts in about a second instead of importing torch and loading
MiniLM, and the 246-article test corpus is not embedded for real five times over. QA_BOT_TEST_EMBED_DELAY_S makes each
embedding call take that long, as a real model's does, so that a kill lands mid-ingest and a second ingest meets a
first one still running. The real embedder's own CLI ingest is tested in test_real_models.py."""
from __future__ import annotations

import os
import time

from qa_bot import cli
from qa_bot.pipeline import Pipeline

from .fakes import FakeEmbedder

DELAY_S = float(os.environ.get("QA_BOT_TEST_EMBED_DELAY_S", "0"))


class SlowFakeEmbedder(FakeEmbedder):
    def embed_documents(self, texts):
        time.sleep(DELAY_S)
        return super().embed_documents(texts)


EMBEDDER = SlowFakeEmbedder()
# Every pipeline the CLI builds gets the fake, whatever the settings say. (Should Pipeline stop taking its embedder
# from this property, fail here rather than quietly load the real model.)
assert isinstance(vars(Pipeline).get("embedder"), property), "Pipeline.embedder is no longer a property"
Pipeline.embedder = property(lambda self: EMBEDDER)

if __name__ == "__main__":
    cli.app()
