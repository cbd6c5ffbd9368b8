"""Checks that make a broken or copying system stand out even when its BLEU looks fine."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from evalharness.corpus.language import detect_language

MIN_CHARS_FOR_LANGID = 20  # language id on shorter strings is a coin toss


@dataclass(frozen=True)
class Sanity:
    segments: int
    copy_rate: float  # hypothesis identical to the source
    wrong_language_rate: float  # of hypotheses long enough to identify
    wrong_language_checked: int
    length_ratio: float  # hypothesis characters / first reference characters
    empty_rate: float
    copied: list[int]  # segment indices, for drill-down
    wrong_language: list[int]
    empty: list[int]

    def as_dict(self) -> dict:
        return asdict(self)


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def sanity_checks(
    sources: Sequence[str], hypotheses: Sequence[str], references: Sequence[str], tgt_lang: str
) -> Sanity:
    n = len(hypotheses)
    copied = [
        i
        for i, (s, h) in enumerate(zip(sources, hypotheses, strict=True))
        if h.strip() and _norm(s) == _norm(h)
    ]
    empty = [i for i, h in enumerate(hypotheses) if not h.strip()]
    checkable = [i for i, h in enumerate(hypotheses) if len(h.strip()) >= MIN_CHARS_FOR_LANGID]
    wrong = [i for i in checkable if detect_language(hypotheses[i]).lang != tgt_lang]
    ref_chars = sum(len(r) for r in references)
    return Sanity(
        segments=n,
        copy_rate=len(copied) / n if n else 0.0,
        wrong_language_rate=len(wrong) / len(checkable) if checkable else 0.0,
        wrong_language_checked=len(checkable),
        length_ratio=sum(len(h) for h in hypotheses) / ref_chars if ref_chars else 0.0,
        empty_rate=len(empty) / n if n else 0.0,
        copied=copied,
        wrong_language=wrong,
        empty=empty,
    )
