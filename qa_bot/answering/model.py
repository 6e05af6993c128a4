"""The fitted answering models, read from a small JSON file shipped in the package.

Three logistic regressions fitted by ``training/fit_answer_model.py`` on training questions written for it (never on
dev or the reporting sets): the span model (is this span the answer?), the sentence model (does this sentence
answer the question?) and the follow-up model (does this question depend on the conversation?), plus the decision thresholds chosen on the same training data. Plain coefficients in JSON, not
a pickle: readable, diffable, and independent of the scikit-learn version; qa-bot never fits at run time.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from ..errors import ModelNotFoundError

MODEL_FILE = "answer_model.json"


@dataclass(frozen=True)
class LinearModel:
    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    @classmethod
    def from_dict(cls, data: dict) -> "LinearModel":
        return cls(tuple(data["features"]), np.asarray(data["mean"], float), np.asarray(data["scale"], float),
                   np.asarray(data["coef"], float), float(data["intercept"]))

    def to_dict(self) -> dict:
        return {"features": list(self.features), "mean": [round(float(x), 6) for x in self.mean],
                "scale": [round(float(x), 6) for x in self.scale], "coef": [round(float(x), 6) for x in self.coef],
                "intercept": round(self.intercept, 6)}

    def matrix(self, rows: list[dict[str, float]]) -> np.ndarray:
        return np.array([[row.get(name, 0.0) for name in self.features] for row in rows], dtype=float).reshape(
            len(rows), len(self.features))

    def probabilities(self, rows: list[dict[str, float]]) -> np.ndarray:
        if not rows:
            return np.zeros(0)
        z = ((self.matrix(rows) - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))


@dataclass(frozen=True)
class Thresholds:
    """Where the decision cuts the probabilities (see :func:`qa_bot.answering.decision.decide`)."""

    answer: float  # the best sentence's probability needed to answer with a span of it
    span: float  # the best span's probability needed to state it as the direct answer
    quote: float  # the best sentence's probability needed to quote it whole when no span is clearly the answer
    followup: float  # the follow-up model's probability above which a question is rewritten from the conversation


@dataclass(frozen=True)
class AnswerModels:
    span: LinearModel
    sentence: LinearModel
    followup: LinearModel
    thresholds: Thresholds
    info: dict  # what it was fitted on, and its cross-validated figures
    label: str = MODEL_FILE  # the file and the start of its sha256, recorded in evaluation reports

    @classmethod
    def load(cls, path: Path | None = None) -> "AnswerModels":
        data, label = read_model_file("qa_bot.answering", MODEL_FILE, path, "python training/fit_answer_model.py")
        try:
            return cls(LinearModel.from_dict(data["span"]), LinearModel.from_dict(data["sentence"]),
                       LinearModel.from_dict(data["followup"]), Thresholds(**data["thresholds"]), data.get("info", {}),
                       label)
        except (KeyError, TypeError, ValueError) as err:
            where = path or f"qa_bot/answering/{MODEL_FILE}"
            raise _unreadable(where, err, "python training/fit_answer_model.py") from err

    def to_dict(self) -> dict:
        return {"span": self.span.to_dict(), "sentence": self.sentence.to_dict(), "followup": self.followup.to_dict(),
                "thresholds": {name: round(value, 4) for name, value in vars(self.thresholds).items()},
                "info": self.info}


def read_model_file(package: str, name: str, path: Path | None, refit: str) -> tuple[dict, str]:
    """A fitted model's JSON (the one shipped as ``package``/``name``, or ``path``) and its label: the file name and
    the start of its sha256, recorded in evaluation reports. ``refit`` is the command that rebuilds it."""
    try:
        if path is None:
            text = resources.files(package).joinpath(name).read_text(encoding="utf-8")
        else:
            text = Path(path).read_text(encoding="utf-8")
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as err:
        raise _unreadable(path or f"{package.replace('.', '/')}/{name}", err, refit) from err
    return data, f"{Path(path).name if path else name}@{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def _unreadable(where, err: Exception, refit: str) -> ModelNotFoundError:
    return ModelNotFoundError(f"the fitted model {where} is missing or unreadable ({err}); reinstall qa-bot, or refit "
                              f"it with: {refit}")


@lru_cache(maxsize=4)
def bundled_models(path: str | None = None) -> AnswerModels:
    return AnswerModels.load(Path(path) if path else None)
