"""Language codes and offline language identification (py3langid: numpy model, no pickle)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from evalharness.errors import UserError


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


@lru_cache(maxsize=1)
def known_languages() -> frozenset[str]:
    """The ISO 639 codes we accept: the languages the identifier knows."""
    return frozenset(_identifier().labels) - {"zxx"}


def check_language(code: str, where: object | None = None) -> str:
    code = code.strip().lower()
    if code not in known_languages():
        raise UserError(f"unknown language code {code!r} (use an ISO 639-1 code such as sv, hi, en)", where)
    return code


@dataclass(frozen=True)
class LanguageGuess:
    lang: str
    confidence: float


def detect_language(text: str) -> LanguageGuess:
    lang, conf = _identifier().classify(text)
    return LanguageGuess(lang=lang, confidence=round(float(conf), 4))
