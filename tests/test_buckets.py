"""The compare-mt-style buckets: which segments fall where, and the means over them."""

from __future__ import annotations

import unicodedata
from collections import Counter

import numpy as np
import pytest

from evalharness.reports import buckets
from evalharness.reports.schema import SegmentRecord


def _naive_words(text: str) -> list[str]:
    """The definition, written plainly: whitespace tokens, case-folded, without leading and
    trailing characters of Unicode categories P and S."""
    out = []
    for token in text.casefold().split():
        chars = list(token)
        while chars and unicodedata.category(chars[0])[0] in "PS":
            chars.pop(0)
        while chars and unicodedata.category(chars[-1])[0] in "PS":
            chars.pop()
        if chars:
            out.append("".join(chars))
    return out


def _segment(n: int, *references: str) -> SegmentRecord:
    return SegmentRecord(id=str(n), source="s", references=list(references), hypothesis="h")


SEGMENTS = [
    _segment(0, "The cat sat, on the mat.", "A cat sat"),
    _segment(1, "«Quoted» words — and “more” words!!", "words"),
    _segment(2, "हिन्दी में शब्द। शब्द", "शब्द"),
    _segment(3, "... --- !!!", "x"),  # no words at all
    _segment(4, "Straße STRASSE strasse €100 100€ $"),
    _segment(5),  # no reference
    _segment(6, "a.b.c e-mail (nested) [x] x"),
]


def test_rare_word_share_follows_its_definition():
    words = [[_naive_words(r) for r in s.references] for s in SEGMENTS]
    counts = Counter(w for refs in words for ref in refs for w in ref)
    expected = [
        sum(counts[w] == 1 for w in refs[0]) / len(refs[0]) if refs and refs[0] else None for refs in words
    ]
    assert buckets.rare_word_share(SEGMENTS) == pytest.approx(expected)
    assert expected[3] is None and expected[5] is None and expected[2] == 0.5  # 4 words, 2 seen once


def test_bucketize_means_skip_missing_scores_and_keep_unknown_last():
    values = [5.0, 15.0, None, 15.0, 50.0]
    scores = [np.array([10.0, 20.0, 30.0, np.nan, 40.0]), np.array([1.0, 2.0, 3.0, 4.0, 5.0])]
    rows = buckets.bucketize(buckets.LENGTH, values, scores)
    assert [(r.label, r.segments) for r in rows] == [
        ("1–10 words", 1),
        ("11–20", 2),
        ("41+", 1),
        ("unknown", 1),
    ]
    assert rows[1].means == [20.0, 3.0]  # the missing score is left out, not counted as 0
    assert rows[3].means == [30.0, 3.0]
