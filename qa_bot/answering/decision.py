"""The decision, as a pure function from the fitted models' probabilities to what the user is shown."""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .model import Thresholds


class Outcome(str, Enum):
    ANSWER = "answer"  # a short direct answer (a span of the best sentence), then that sentence quoted and cited
    QUOTE = "quote"  # the best sentence answers, but no span of it is clearly the answer: the quote alone
    DECLINE = "decline"  # no sentence is likely enough to answer: say so, show the closest passages as related


@dataclass(frozen=True)
class Signals:
    sentence: float  # probability that the best sentence answers the question
    span: float | None  # probability that its best span is the answer (None: no candidate span)


def decide(signals: Signals, thresholds: Thresholds) -> Outcome:
    """Answer with the span when the sentence and the span are both likely enough; quote the sentence whole when
    it is likely enough to answer by itself (a higher bar: there is no clear answer in it to check); else decline."""
    if signals.sentence >= thresholds.answer and signals.span is not None and signals.span >= thresholds.span:
        return Outcome.ANSWER
    if signals.sentence >= thresholds.quote:
        return Outcome.QUOTE
    return Outcome.DECLINE
