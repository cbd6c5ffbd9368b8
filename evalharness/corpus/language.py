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


def parse_pair(pair: str, where: object | None = None) -> tuple[str, str]:
    """`SRC-TGT` -> (src, tgt), both known codes and different."""
    src, sep, tgt = pair.partition("-")
    if not sep or not src or not tgt or src == tgt:
        raise UserError(f"malformed language pair {pair!r}: expected SRC-TGT such as sv-hi", where)
    return check_language(src, where), check_language(tgt, where)


@dataclass(frozen=True)
class LanguageGuess:
    lang: str
    confidence: float


def detect_language(text: str) -> LanguageGuess:
    lang, conf = _identifier().classify(text)
    return LanguageGuess(lang=lang, confidence=round(float(conf), 4))
