"""Opening Chroma: the embedded PersistentClient under ``index_dir``, or an HttpClient whose requests time out."""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import ServerError
from ..locks import exclusive_lock
from .retry import with_retries


def make_client(settings):
    """An embedded PersistentClient under ``index_dir``, or an HttpClient when ``chroma_url`` is set."""
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        return _http_client(settings, chroma_settings)
    with setup_lock(Path(settings.index_dir)):
        return chromadb.PersistentClient(path=str(settings.index_dir), settings=chroma_settings)


def setup_lock(folder: Path):
    """Serialise creating an embedded index and its collections across processes: two processes opening a new
    index at once otherwise both run Chroma's schema migrations ("table collections already exists"). Held for
    milliseconds, so waiting is right here."""
    return exclusive_lock(folder / ".setup.lock")


def _http_client(settings, chroma_settings):
    """A Chroma HttpClient whose requests time out.

    chromadb builds its httpx session with ``timeout=None`` and sends a first request while the client is being
    constructed (chroma-core/chroma#5805 and its follow-ups: no client-side timeout setting exists), so a server that
    accepts connections but never answers would hang qa-bot forever. The heartbeat below is checked first, with the
    configured timeout and retries, and the session's timeout is set afterwards."""
    from urllib.parse import urlparse

    import chromadb
    import httpx

    url = urlparse(settings.chroma_url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ServerError(f"QA_BOT_CHROMA_URL={settings.chroma_url!r} is not a URL like http://127.0.0.1:8000")
    port = url.port or (443 if url.scheme == "https" else 8000)
    base = f"{url.scheme}://{url.hostname}:{port}"
    headers = {}
    if settings.chroma_token:
        token = settings.chroma_token.get_secret_value()
        header = settings.chroma_token_header
        headers[header] = f"Bearer {token}" if header.lower() == "authorization" else token
    timeout = httpx.Timeout(settings.server_timeout_s, connect=min(settings.server_timeout_s, 10.0))
    server = f"the Chroma server at {settings.chroma_url}"

    def heartbeat() -> None:
        httpx.get(f"{base}/api/v2/heartbeat", headers=headers, timeout=timeout).raise_for_status()

    with_retries(heartbeat, settings.server_retries, server, remote=True)

    def connect():
        client = chromadb.HttpClient(host=url.hostname, port=port, ssl=url.scheme == "https", headers=headers,
                                     settings=chroma_settings)
        session = getattr(getattr(client, "_server", None), "_session", None)
        if isinstance(session, httpx.Client):
            session.timeout = timeout
        return client

    return with_retries(connect, settings.server_retries, server, remote=True)


def index_bytes(index_dir: Path) -> int:
    """Disk use of an embedded index (0 when it does not exist yet)."""
    if not index_dir.exists():
        return 0
    return sum(p.stat().st_size for p in index_dir.rglob("*") if p.is_file())
