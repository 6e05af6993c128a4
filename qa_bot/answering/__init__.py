"""Answering a question from the indexed articles: question analysis (question.py), candidate sentences and their
signals (evidence.py, spans.py), the fitted models (model.py), the decision (decision.py), the model's wording and
its checks (verify.py), follow-ups (followup.py) and how the answer reads (compose.py), wired in answerer.py."""
from .answerer import AnswerEvent, Answerer, validate_question
from .compose import DECLINE_TEXT
from .model import AnswerModels, bundled_models

__all__ = ["AnswerEvent", "Answerer", "AnswerModels", "DECLINE_TEXT", "bundled_models", "validate_question"]
