"""Domain errors. The library raises these; the CLI and UI turn them into one-line messages that say how to fix it."""
from __future__ import annotations


class QABotError(Exception):
    """Base class: ``str(err)`` is a complete, user-facing sentence naming the fix."""


class SettingError(QABotError):
    """A setting (QA_BOT_* variable, .env entry or flag) has a value qa-bot does not know."""


class InputError(QABotError):
    """A file, record or question the user gave cannot be used as it is."""


class QuestionError(InputError):
    """Empty or otherwise unusable question."""


class GoldFormatError(InputError):
    """A gold/reference file has a bad line."""


class DocumentNotFoundError(QABotError):
    """No article with this id in the index."""

    def __init__(self, doc_id: str):
        super().__init__(f"no document {doc_id!r} in the index; see the ids with: qa-bot stats --docs")
        self.doc_id = doc_id


class ModelNotFoundError(QABotError):
    """The GGUF file or embedding model is missing or unreadable."""


class IndexNotFoundError(QABotError):
    """No index (or an empty one) where the settings point."""


class EmbedderMismatchError(QABotError):
    """The index was built by a different embedding model than the one configured."""


class IndexBusyError(QABotError):
    """Another process holds the ingest lock of this index."""


class ServerError(QABotError):
    """A remote Chroma or model server is unreachable, too slow or answered with an error."""
