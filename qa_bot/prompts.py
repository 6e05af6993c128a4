"""Prompt templates live in files (``prompts/*.txt``, shipped inside the wheel as ``qa_bot/prompt_files``).

A template is a system part and a user part separated by a line ``---``; placeholders are ``{name}``. Variables are
strict: a template must use exactly the variables its caller passes, checked when it is loaded, so a typo in a prompt
file fails loudly instead of silently sending ``{questoin}`` to the model."""
from __future__ import annotations

import hashlib
import string
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .errors import QABotError
from .generate import Message

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
