"""Requests and replies in OpenAI's shapes: the chat request read into a question and its history, and an
:class:`~qa_bot.records.Answer` written as a ``chat.completion`` or a stream of ``chat.completion.chunk`` events.

qa-bot's own part rides along at the top level of the reply (and of the last chunk of a stream): ``citations``, the
sources of the [n] markers in the text, and ``related``, the closest passages when it declined. Both are the
records of ``qa-bot ask --json`` (:meth:`Answer.to_json`)."""
from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..records import Answer
from .errors import APIError

MODEL_ID = "qa-bot"  # what clients name in "model": the whole pipeline answers, whichever language model it uses


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")  # name, tool_calls and the like: accepted, not used

    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        """The message's text: a string, or the text parts of a list of content parts."""
        if isinstance(self.content, list):
            return " ".join(str(part.get("text", "")) for part in self.content if part.get("type") == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    # Sampling options (temperature, max_tokens, n, tools …) are accepted and not used: the answer is the checked
    # words of an article, the same whatever the client would sample with.
    model_config = ConfigDict(extra="allow")

    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False


class SummaryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field would otherwise summarise nothing, silently

    doc_ids: list[str] = []
    texts: list[str] = []
    length: Literal["short", "paragraph"] = "short"


def conversation(messages: Sequence[ChatMessage]) -> tuple[str, list[tuple[str, str]]]:
    """(question, history): the last message is the user's question; each earlier user message and the assistant's
    reply after it is one exchange. System and developer messages are not used: qa-bot's own prompts decide how it
    answers, so a client's "You are a helpful assistant" changes nothing."""
    talk = [m for m in messages if m.role in ("user", "assistant")]
    if not talk or talk[-1].role != "user":
        raise APIError(400, "the last message must be the user's question (role \"user\")", param="messages")
    history: list[list[str]] = []
    for message in talk[:-1]:
        if message.role == "user":
            history.append([message.text(), ""])
        elif history:  # a reply with no question before it has nothing to follow up on
            history[-1][1] = message.text()
    return talk[-1].text(), [(question, reply) for question, reply in history]


def model_card(created: int, generator: str, embedder: str, wording: str, collection: str) -> dict:
    """The one entry of GET /v1/models; beside OpenAI's fields, what answers under this name."""
    return {"id": MODEL_ID, "object": "model", "created": created, "owned_by": "qa-bot", "generator": generator,
            "embedder": embedder, "wording": wording, "collection": collection}


def _sources(answer: Answer) -> dict:
    record = answer.to_json()
    return {"citations": record["citations"], "related": record["related"]}


def completion(answer: Answer) -> dict:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": MODEL_ID,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.text}, "finish_reason": "stop",
                     "logprobs": None}],
        **_sources(answer),
    }


def completion_chunks(answer: Answer, pieces: Sequence[str]) -> Iterator[str]:
    """Server-sent events as OpenAI streams them: the role, the text piece by piece, the finish (with the sources),
    then ``[DONE]``."""
    head = {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion.chunk", "created": int(time.time()),
            "model": MODEL_ID}

    def event(delta: dict, finish: str | None = None, **extra) -> str:
        chunk = {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}], **extra}
        return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"

    yield event({"role": "assistant", "content": ""})
    for piece in pieces:
        yield event({"content": piece})
    yield event({}, "stop", **_sources(answer))
    yield "data: [DONE]\n\n"
