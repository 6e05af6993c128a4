"""Start the qa-bot chat: `python app.py [--host H] [--port P] [--auth user:pass]`.

On first run, with an empty index, it indexes the example article(s) in examples/ so there is something to ask."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

EXAMPLES = Path(__file__).resolve().parent / "examples"


def main(argv: list[str] | None = None) -> int:
    from qa_bot.errors import QABotError
    from qa_bot.settings import Settings

    settings = Settings()
    parser = argparse.ArgumentParser(description="Serve the qa-bot chat in the browser.")
    parser.add_argument("--host", default=settings.host, help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=settings.port)
    parser.add_argument("--auth", default=None, help="user:pass required to open the chat [QA_BOT_AUTH]")
    parser.add_argument("--index-dir", type=Path, default=None)
    parser.add_argument("--collection", default=None)
    parser.add_argument("--no-examples", action="store_true", help="do not index examples/ into an empty index")
    args = parser.parse_args(argv)

    auth = args.auth or (settings.auth.get_secret_value() if settings.auth else None)
    if args.host not in ("127.0.0.1", "localhost", "::1") and not auth:
        print(f"Refusing to listen on {args.host} without a password: anyone on the network could read your "
              "articles. Add --auth user:pass (or set QA_BOT_AUTH=user:pass).", file=sys.stderr)
        return 2
    if auth and ":" not in auth:
        print("--auth must be user:pass", file=sys.stderr)
        return 2
    updates = {k: v for k, v in {"index_dir": args.index_dir, "collection": args.collection}.items() if v is not None}
    settings = settings.model_copy(update=updates)

    from qa_bot.pipeline import Pipeline
    from qa_bot.ui import build_app

    pipeline = Pipeline(settings)
    try:
        store = pipeline.store(create=True)
        if store.count_documents() == 0 and not args.no_examples and EXAMPLES.is_dir():
            report = pipeline.ingest([EXAMPLES])
            print(f"Empty index: indexed the examples ({report.summary()}).", flush=True)
    except QABotError as err:
        print(f"Error: {err}", file=sys.stderr)
        return 1
    demo = build_app(pipeline)
    print(f"qa-bot chat on http://{'[' + args.host + ']' if ':' in args.host else args.host}:{args.port}", flush=True)
    demo.launch(server_name=args.host, server_port=args.port, auth=tuple(auth.split(":", 1)) if auth else None,
                show_error=False, css=_css(), inbrowser=False, quiet=True)
    return 0


def _css() -> str:
    from qa_bot.ui import CSS

    return CSS


if __name__ == "__main__":
    sys.exit(main())
