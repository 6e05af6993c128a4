"""Prompt templates live in files (``prompts/*.txt``, shipped inside the wheel as ``qa_bot/prompt_files``).

A template is a system part and a user part separated by a line ``---``; placeholders are ``{name}``. Variables are
strict: a template must use exactly the variables its caller passes, checked when it is loaded, so a typo in a prompt
file fails loudly instead of silently sending ``{questoin}`` to the model."""
from __future__ import annotations

import hashlib
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TypeVar

from .errors import QABotError
from .generate import Generator, Message

T = TypeVar("T")
# Token counts are of the message texts alone; the chat template adds role markers and separators around each one.
MESSAGE_OVERHEAD_TOKENS = 8
REPLY_MARGIN_TOKENS = 16  # slack kept free between the prompt plus the reply and the end of the context window

PROMPT_VARIABLES = {
    "answer": {"sentence", "question"},
    "summarize": {"title", "sentences"},
    "summarize_long": {"title", "sentences"},
}


@dataclass(frozen=True)
class Prompt:
    name: str
    system: str
    user: str
    sha: str  # first 12 hex of the file's sha256, recorded in eval reports
    examples: tuple[tuple[str, str], ...] = ()  # literal (user, assistant) turns shown before the real request

    @property
    def label(self) -> str:
        return f"{self.name}.txt@{self.sha}"

    def render(self, **values: str) -> list[Message]:
        expected = PROMPT_VARIABLES[self.name]
        if set(values) != expected:
            raise QABotError(f"prompt {self.name!r} takes {sorted(expected)}, got {sorted(values)}")
        # format_map on a dict of exactly the expected keys: braces inside the values are not re-parsed.
        shots: list[Message] = []
        for asked, answered in self.examples:
            shots += [{"role": "user", "content": asked}, {"role": "assistant", "content": answered}]
        return [
            {"role": "system", "content": self.system.format_map(values)},
            *shots,
            {"role": "user", "content": self.user.format_map(values)},
        ]


def default_prompts_dir() -> Path:
    return Path(str(resources.files("qa_bot.prompt_files")))


def load_prompt(name: str, prompts_dir: Path | None = None) -> Prompt:
    folder = prompts_dir or default_prompts_dir()
    path = folder / f"{name}.txt"
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as err:
        raise QABotError(f"prompt file {path} is missing; reinstall qa-bot or fix QA_BOT_PROMPTS_DIR") from err
    if "\n---\n" not in raw:
        raise QABotError(f"prompt file {path} must have a system part, a line '---', then the user part")
    # system --- [example user --- example assistant ---]... user: small models copy a worked example best.
    parts = [part.strip() for part in raw.split("\n---\n")]
    if len(parts) % 2:
        raise QABotError(f"prompt file {path}: after the system part, examples come in pairs (user, then assistant) "
                         "before the final user part")
    system, user = parts[0], parts[-1]
    examples = tuple(zip(parts[1:-1:2], parts[2:-1:2]))
    used = {field for part in (system, user) for _, field, _, _ in string.Formatter().parse(part) if field}
    expected = PROMPT_VARIABLES.get(name)
    if expected is None or used != expected:
        raise QABotError(f"prompt file {path} uses variables {sorted(used)}; it must use exactly {sorted(expected or [])}")
    return Prompt(name=name, system=system, user=user, sha=hashlib.sha256(raw.encode()).hexdigest()[:12],
                  examples=examples)


def prompt_tokens(generator: Generator, messages: Sequence[Message]) -> int:
    """The prompt's size in the model's tokens, chat-template overhead included (an upper estimate)."""
    return sum(generator.count_tokens(m["content"]) + MESSAGE_OVERHEAD_TOKENS for m in messages)


def fits_context(generator: Generator, messages: Sequence[Message], reply_tokens: int) -> bool:
    """Whether the prompt leaves room for a reply of ``reply_tokens`` in the model's context window."""
    return prompt_tokens(generator, messages) + reply_tokens + REPLY_MARGIN_TOKENS <= generator.n_ctx


def fit_prompt(prompt: Prompt, items: Sequence[T], render: Callable[[list[T]], dict[str, str]],
               generator: Generator, reply_tokens: int) -> list[Message] | None:
    """``prompt`` rendered with the longest prefix of ``items`` (best first, at least one) that fits the context with
    room for the reply: the last items are dropped first. None when not even the first item fits."""
    shown = list(items)
    while shown:
        messages = prompt.render(**render(shown))
        if fits_context(generator, messages, reply_tokens):
            return messages
        shown.pop()
    return None
