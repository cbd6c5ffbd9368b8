"""compare-mt-style bucketed analyses: mean sentence score of the segments grouped by source
length, by how rare their reference words are, and by the aligner's confidence. A corpus
score hides where a system fails; buckets show, for example, that it is long sentences or
badly aligned segments that pull it down.

Word frequencies are counted over the test set's own references (compare-mt's fallback when
no training corpus is given): a word seen once there is rare."""

from __future__ import annotations

import string
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np

from evalharness.reports.schema import SegmentRecord


@dataclass(frozen=True)
class Bucketing:
    id: str
    title: str
    edges: tuple[float, ...]  # bucket k holds edges[k-1] <= value < edges[k]
    labels: tuple[str, ...]  # one more than edges
    note: str


LENGTH = Bucketing(
    "by-length",
    "Sentence score by source length",
    (11, 21, 31, 41),
    ("1–10 words", "11–20", "21–30", "31–40", "41+"),
    "Source length in words (whitespace-separated tokens).",
)
RARITY = Bucketing(
    "by-frequency",
    "Sentence score by reference word frequency",
    (0.1, 0.25, 0.5),
    ("< 10% rare words", "10–25%", "25–50%", "≥ 50%"),
    "Share of a segment's reference words that occur only once in all the test set's references "
    "(frequencies counted on the references themselves, as compare-mt does without a training corpus).",
)
CONFIDENCE = Bucketing(
    "by-confidence",
    "Sentence score by alignment confidence",
    (0.5, 0.7, 0.9),
    ("< 0.5", "0.5–0.7", "0.7–0.9", "≥ 0.9"),
    "The aligner's confidence that source and reference are translations of each other; "
    "low-confidence segments may be misaligned, and score low whatever the system does.",
)


def _is_punct(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "PS"


# Punctuation common at word edges, stripped in C by str.strip; whatever is left at an edge
# that is not a letter or digit goes through the Unicode categories.
_EDGE_PUNCT = string.punctuation + "“”‘’«»„–—…¿¡·।॥"


def _strip_edges(token: str) -> str:
    start, end = 0, len(token)
    while start < end and not token[start].isalnum() and _is_punct(token[start]):
        start += 1
    while end > start and not token[end - 1].isalnum() and _is_punct(token[end - 1]):
        end -= 1
    return token[start:end]


def _word(token: str) -> str:
    """A case-folded whitespace token without surrounding punctuation (Unicode categories P
    and S); a regex `\\w+` would split Devanagari words at their vowel signs."""
    word = token.strip(_EDGE_PUNCT)
    if word and not (word[0].isalnum() and word[-1].isalnum()):
        word = _strip_edges(word)
    return word


def source_length(segments: Sequence[SegmentRecord]) -> list[float | None]:
    return [float(len(s.source.split())) for s in segments]


def rare_word_share(segments: Sequence[SegmentRecord]) -> list[float | None]:
    """Share of the first reference's words seen once in all references. Each text is split
    once and each distinct token cleaned once; the per-token work is counting, in C."""
    tokens = [[ref.casefold().split() for ref in s.references] for s in segments]
    token_counts = Counter(chain.from_iterable(chain.from_iterable(tokens)))
    word_of = {t: _word(t) for t in token_counts}
    word_counts: Counter[str] = Counter()
    for t, n in token_counts.items():
        word_counts[word_of[t]] += n
    rare = {t for t, w in word_of.items() if w and word_counts[w] == 1}
    empty = {t for t, w in word_of.items() if not w}
    out: list[float | None] = []
    for refs in tokens:
        first = refs[0] if refs else []
        n_words = len(first) - sum(map(empty.__contains__, first))
        out.append(sum(map(rare.__contains__, first)) / n_words if n_words else None)
    return out


def confidence(segments: Sequence[SegmentRecord]) -> list[float | None]:
    return [s.confidence for s in segments]


ANALYSES: tuple[tuple[Bucketing, Callable[[Sequence[SegmentRecord]], list[float | None]]], ...] = (
    (LENGTH, source_length),
    (RARITY, rare_word_share),
    (CONFIDENCE, confidence),
)


@dataclass(frozen=True)
class BucketRow:
    label: str
    segments: int
    means: list[float | None]  # one per (run, metric) column


def bucketize(b: Bucketing, values: Sequence[float | None], scores: Sequence[np.ndarray]) -> list[BucketRow]:
    """Rows of non-empty buckets (plus 'unknown' for segments without a value); each row has
    the mean sentence score of every column of `scores` (one per run and metric, NaN where a
    segment has no score) over that bucket's segments."""
    known = np.array([v is not None for v in values], dtype=bool)
    numbers = np.array([v if v is not None else 0.0 for v in values], dtype=np.float64)
    # bucket k holds edges[k-1] <= value < edges[k]; -1: no value
    index = np.where(known, np.searchsorted(b.edges, numbers, side="right"), -1)
    rows = []
    for k in sorted(set(index.tolist()), key=lambda k: (k < 0, k)):
        members = index == k
        means: list[float | None] = []
        for column in scores:
            picked = column[members]
            picked = picked[~np.isnan(picked)]
            means.append(float(picked.mean()) if len(picked) else None)
        rows.append(BucketRow("unknown" if k < 0 else b.labels[k], int(members.sum()), means))
    return rows
