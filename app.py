"""Start the qa-bot chat in the browser: `python app.py [--host H] [--port P] [--auth user:pass] [--index-dir DIR]`.

It listens on 127.0.0.1 (this machine only) unless told otherwise, and any other address needs a password. With an
empty index it first indexes the example article(s) in examples/, so there is something to ask about."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# Local and private: no telemetry, no model downloads. Set before the libraries are imported.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

EXAMPLES = Path(__file__).resolve().parent / "examples"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def parse_auth(value: str | None) -> tuple[str, str] | None:
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise ValueError("the password must be given as user:pass (both parts non-empty)")
    return user, password


def main(argv: list[str] | None = None) -> int:
    from qa_bot.errors import QABotError
    from qa_bot.settings import load_settings

    try:
        settings = load_settings()
    except QABotError as err:
        print(f"Error: bad setting: {err}", file=sys.stderr)
        return 2
    parser = argparse.ArgumentParser(description="Serve the qa-bot chat in the browser.")
    parser.add_argument("--host", default=settings.host,
                        help="address to listen on (default %(default)s: this machine only); any other needs --auth")
    parser.add_argument("--port", type=int, default=settings.port, help="port (default %(default)s)")
    parser.add_argument("--auth", default=None, metavar="USER:PASS",
                        help="require this user and password to open the chat [env QA_BOT_AUTH]")
    parser.add_argument("--index-dir", type=Path, default=None, help=f"index folder (default {settings.index_dir})")
    parser.add_argument("--collection", default=None, help=f"collection name (default {settings.collection})")
    parser.add_argument("--no-examples", action="store_true", help="do not index examples/ into an empty index")
    args = parser.parse_args(argv)

    try:
        auth = parse_auth(args.auth or (settings.auth.get_secret_value() if settings.auth else None))
    except ValueError as err:
        print(f"Error: {err}, e.g. --auth alice:s3cret", file=sys.stderr)
        return 2
    if args.host not in LOCAL_HOSTS and not auth:
        print(f"Error: refusing to listen on {args.host} without a password: anyone who can reach this machine could "
              "read and change your articles. Add --auth user:pass (or set QA_BOT_AUTH=user:pass), or leave out "
              "--host to stay on 127.0.0.1.", file=sys.stderr)
        return 2
    updates = {k: v for k, v in {"index_dir": args.index_dir, "collection": args.collection}.items() if v is not None}
    settings = settings.model_copy(update=updates)

    from qa_bot.pipeline import Pipeline
    from qa_bot.ui import build_app, launch_app

    pipeline = Pipeline(settings)
    try:
        pipeline.check_model()
        store = pipeline.store(create=True)
        if store.count_documents() == 0 and not args.no_examples and EXAMPLES.is_dir():
            report = pipeline.ingest([EXAMPLES])
            print(f"Empty index: indexed the examples ({report.summary()}).", flush=True)
        # Load the models and the keyword index now, so the first question does not wait for them.
        pipeline.embedder.embed_query("warm up")
        _ = pipeline.retriever, pipeline.generator
    except QABotError as err:
        print(f"Error: {err}", file=sys.stderr)
        return 1

    host = f"[{args.host}]" if ":" in args.host else args.host
    where = f"qa-bot chat on http://{host}:{args.port}"
    note = f" (password required: user {auth[0]!r})" if auth else ""
    try:
        launch_app(build_app(pipeline), pipeline, host=args.host, port=args.port, auth=auth,
                   on_ready=lambda _url: print(where + note, flush=True))
    except OSError as err:  # the port is taken, or the address is not on this machine
        print(f"Error: cannot listen on {args.host}:{args.port}: {err}; choose another --port", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
