"""Sentence alignment: a Vecalign-style dynamic program over multilingual sentence
embeddings, and a per-bead confidence that also weighs number anchors and length.

The core works on plain lists and arrays, so it is testable without files or models:
  1. overlap embeddings: every run of 1..k consecutive sentences, joined and encoded;
  2. bead gains: cosine of the two sides minus each side's mean cosine to the other
     document (Vecalign's normalisation against hub sentences), scaled by size;
  3. a dynamic program picking the best monotone path of 1-1, 1-n, n-1, 1-0 and 0-1 beads;
  4. confidences for the chosen beads.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from evalharness.corpus.embed import Encoder

Path = list[tuple[tuple[int, ...], tuple[int, ...]]]


@dataclass(frozen=True)
class AlignSettings:
    """Every knob that changes an alignment; recorded in the test-set manifest."""

    max_overlap: int = 2  # beads up to 1-2 / 2-1 (3 adds 1-3 and 3-1)
    skip_gain: float = 0.02  # gain of leaving one sentence unaligned (1-0 / 0-1)
    merge_penalty: float = 0.03  # per sentence beyond 1-1, against greedy merging
    min_confidence: float = 0.5  # tau: a bead below this is not trusted as parallel
    min_parallel_share: float = 0.5  # share of trusted beads for a document pair to count as parallel

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Bead:
    src: tuple[int, ...]
    tgt: tuple[int, ...]
    confidence: float  # 0..1, how sure we are that these sentences translate each other
    features: dict[str, float] = field(default_factory=dict, compare=False)

    @property
    def kind(self) -> str:
        return f"{len(self.src)}-{len(self.tgt)}"


# ---------------------------------------------------------------- the dynamic program


def overlap_texts(sentences: Sequence[str], k: int) -> list[str]:
    """Entry i joins sentences i-k+1..i (the first k-1 entries are shorter and never used)."""
    return [" ".join(sentences[max(0, i - k + 1) : i + 1]) for i in range(len(sentences))]


def overlap_embeddings(sentences: Sequence[str], encoder: Encoder, max_overlap: int) -> np.ndarray:
    """(max_overlap, n, dim). Joined texts are encoded, as Vecalign does: a summed embedding
    is cheaper but lets a 1-2 bead swallow its neighbour's sentence."""
    return np.stack([encoder.encode(overlap_texts(sentences, k)) for k in range(1, max_overlap + 1)])


def bead_types(max_overlap: int) -> list[tuple[int, int]]:
    return [(1, 1)] + [t for k in range(2, max_overlap + 1) for t in ((1, k), (k, 1))]


def bead_gains(src_emb: np.ndarray, tgt_emb: np.ndarray, settings: AlignSettings) -> dict:
    """gain[(a, b)][i, j]: value of a bead whose a source sentences end at i and b target at j."""
    base_src = (src_emb @ tgt_emb[0].T).mean(axis=2)  # (k, n): mean cosine to the other side
    base_tgt = (tgt_emb @ src_emb[0].T).mean(axis=2)  # (k, m)
    gains = {}
    for a, b in bead_types(settings.max_overlap):
        sim = src_emb[a - 1] @ tgt_emb[b - 1].T
        margin = sim - (base_src[a - 1][:, None] + base_tgt[b - 1][None, :]) / 2
        gains[a, b] = margin * (a + b) - settings.merge_penalty * (a + b - 2)
    return gains


def best_path(gains: dict, n: int, m: int, skip: float) -> Path:
    """Maximise the summed gain over monotone paths; row by row, vectorised over columns."""
    moves = [(1, 0), (0, 1), *gains]
    neg = -1e9
    score = np.full((n + 1, m + 1), neg)
    back = np.zeros((n + 1, m + 1), dtype=np.int8)
    cols = np.arange(m + 1)
    score[0] = skip * cols
    back[0, 1:] = 1
    for i in range(1, n + 1):
        best = score[i - 1] + skip  # 1-0: source sentence i-1 unaligned
        arg = np.zeros(m + 1, dtype=np.int8)
        for t, (a, b) in enumerate(moves[2:], start=2):
            if a > i:
                continue
            cand = np.full(m + 1, neg)
            cand[b:] = score[i - a, : m + 1 - b] + gains[a, b][i - 1, b - 1 :]
            better = cand > best
            best[better], arg[better] = cand[better], t
        # 0-1 runs within the row: score[j] = max(best[j], score[j-1] + skip), as a prefix max
        chained = np.maximum.accumulate(best - skip * cols) + skip * cols
        insert = chained > best + 1e-12
        score[i] = np.where(insert, chained, best)
        back[i] = np.where(insert, 1, arg)
    path: Path = []
    i, j = n, m
    while i or j:
        a, b = moves[back[i, j]]
        path.append((tuple(range(i - a, i)), tuple(range(j - b, j))))
        i, j = i - a, j - b
    return path[::-1]


# ---------------------------------------------------------------- confidence

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_DEVANAGARI_DIGITS = str.maketrans("०१२३४५६७८९", "0123456789")


def numbers_in(text: str) -> set[str]:
    return set(_NUMBER.findall(text.translate(_DEVANAGARI_DIGITS)))


def number_agreement(src: str, tgt: str) -> float:
    """+1 when both sides carry the same numbers, -1 when none are shared, 0 without numbers."""
    a, b = numbers_in(src), numbers_in(tgt)
    if not a and not b:
        return 0.0
    return 2.0 * len(a & b) / len(a | b) - 1.0


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


# Hand-calibrated on the seeds (sv/hi and the test English version of the Hoa Lu article
# against the unrelated English article) and checked by benchmarks/bench_align.py.
_W_COSINE = 50.0  # per unit of cosine above the pivot
_COSINE_PIVOT = 0.86
_W_MARGIN = 50.0  # per unit that the bead beats its best competing sentence
_W_NUMBERS = 1.5
_W_LENGTH = 3.0  # per unit of |log length ratio| away from the document's typical ratio


def bead_confidences(path: Path, src: Sequence[str], tgt: Sequence[str], encoder: Encoder) -> list[Bead]:
    """Confidence that a bead's sentences translate each other: cosine of the joined texts, how
    far it beats the best competing sentence, number anchors, and length against the
    document's typical ratio. Unaligned sentences (1-0, 0-1) get 0."""
    src_vecs, tgt_vecs = encoder.encode(list(src)), encoder.encode(list(tgt))
    pairs = [(a, b) for a, b in path if a and b]
    ratios = [
        math.log(max(1, sum(len(tgt[j]) for j in b)) / max(1, sum(len(src[i]) for i in a))) for a, b in pairs
    ]
    typical_ratio = float(np.median(ratios)) if ratios else 0.0
    beads = []
    for a, b in path:
        if not a or not b:
            beads.append(Bead(a, b, 0.0))
            continue
        src_text, tgt_text = " ".join(src[i] for i in a), " ".join(tgt[j] for j in b)
        u, v = encoder.encode([src_text, tgt_text])
        cosine = float(u @ v)
        other_tgt = [j for j in range(len(tgt)) if j not in b]
        other_src = [i for i in range(len(src)) if i not in a]
        rivals = [float((tgt_vecs[other_tgt] @ u).max())] if other_tgt else []
        rivals += [float((src_vecs[other_src] @ v).max())] if other_src else []
        margin = cosine - max(rivals) if rivals else 0.02
        numbers = number_agreement(src_text, tgt_text)
        length = abs(math.log(max(1, len(tgt_text)) / max(1, len(src_text))) - typical_ratio)
        z = (
            _W_COSINE * (cosine - _COSINE_PIVOT)
            + _W_MARGIN * margin
            + _W_NUMBERS * numbers
            - _W_LENGTH * length
        )
        feats = {"cosine": cosine, "margin": margin, "numbers": numbers, "length": length}
        beads.append(Bead(a, b, round(_sigmoid(z), 3), {k: round(x, 4) for k, x in feats.items()}))
    return beads


def align_sentences(
    src: Sequence[str], tgt: Sequence[str], encoder: Encoder, settings: AlignSettings | None = None
) -> list[Bead]:
    """Align two sentence lists; beads cover every sentence exactly once, in order."""
    settings = settings or AlignSettings()
    if not src or not tgt:
        return [Bead((i,), (), 0.0) for i in range(len(src))] + [Bead((), (j,), 0.0) for j in range(len(tgt))]
    gains = bead_gains(
        overlap_embeddings(src, encoder, settings.max_overlap),
        overlap_embeddings(tgt, encoder, settings.max_overlap),
        settings,
    )
    path = best_path(gains, len(src), len(tgt), settings.skip_gain)
    return bead_confidences(path, src, tgt, encoder)
