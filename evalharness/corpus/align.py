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

import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from evalharness.corpus.align_search import Path, band_tables, banded_path, coarse_windows, full_windows
from evalharness.corpus.embed import Encoder, unit_rows

SMALL_SIDE = 4  # sentences; see _chance
SAMPLE = 256  # sentences of the other side each run's mean cosine is taken against
RIVALS = 64  # sentences on each side of a bead that compete with it for its confidence


@dataclass(frozen=True)
class AlignSettings:
    """Every knob that changes an alignment; recorded in the test-set manifest."""

    max_overlap: int = 3  # beads up to 1-3 / 3-1
    skip_gain: float = 0.03  # gain of leaving one sentence unaligned (1-0 / 0-1)
    merge_penalty: float = 0.02  # per sentence beyond 1-1, against greedy merging
    length_weight: float = 0.05  # per unit of |log length ratio| away from the document's typical ratio
    number_weight: float = 0.05  # per unit of number agreement (-1 .. 1)
    part_weight: float = 0.4  # share of a merge's gain earned sentence by sentence (0: joint text only)
    margin_reference: float = 0.14  # typical 1-1 margin the skip and merge penalties are sized for (0: fixed)
    length_spread: float = 0.08  # typical spread of log length ratios the length penalty is sized for
    min_scale: float = 0.25  # the least share of their settings the three penalties keep
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


# ---------------------------------------------------------------- the dynamic program


def overlap_texts(sentences: Sequence[str], k: int) -> list[str]:
    """Entry i joins sentences i-k+1..i (the first k-1 entries are shorter and never used)."""
    return [" ".join(sentences[max(0, i - k + 1) : i + 1]) for i in range(len(sentences))]


class OverlapEmbeddings:
    """(max_overlap, n, dim) embeddings of every run of 1..k sentences ending at each index.

    Runs start as the normalised sum of their sentences' embeddings (no encoding), which is
    cheap but lets a 1-2 bead swallow a neighbour's sentence. `make_exact` replaces chosen
    runs by the embedding of their joined text, as Vecalign computes all of them; the aligner
    does that only where the path could merge, so the encoder sees each text about once.
    """

    def __init__(self, sentences: Sequence[str], encoder: Encoder, max_overlap: int) -> None:
        self.sentences, self.encoder = list(sentences), encoder
        singles = encoder.encode(self.sentences)
        n, dim = singles.shape
        csum = np.concatenate([np.zeros((1, dim), np.float32), np.cumsum(singles, axis=0)])
        self.vecs = np.stack(
            [
                unit_rows(csum[1:] - csum[np.maximum(0, np.arange(n) - k + 1)])
                for k in range(1, max_overlap + 1)
            ]
        )
        self.exact = {(1, i) for i in range(n)}

    def make_exact(self, runs: set[tuple[int, int]]) -> bool:
        """Encode the joined text of runs (k, end index); False when all were exact already."""
        todo = sorted(
            r
            for r in runs - self.exact
            if 1 <= r[0] <= len(self.vecs) and r[0] - 1 <= r[1] < len(self.sentences)
        )
        if not todo:
            return False
        texts = [" ".join(self.sentences[end - k + 1 : end + 1]) for k, end in todo]
        for (k, end), vec in zip(todo, self.encoder.encode(texts), strict=True):
            self.vecs[k - 1, end] = vec
        self.exact.update(todo)
        return True


def bead_types(max_overlap: int) -> list[tuple[int, int]]:
    return [(1, 1)] + [t for k in range(2, max_overlap + 1) for t in ((1, k), (k, 1))]


@dataclass
class RunFeatures:
    """Per run of 1..k sentences ending at each index: its length in characters and the
    numbers it holds (as a 64-bit mask of hashed numbers, for a vectorised overlap)."""

    lengths: np.ndarray  # (k, n) characters
    numbers: np.ndarray  # (k, n) uint64 masks

    @classmethod
    def of(cls, sentences: Sequence[str], max_overlap: int) -> RunFeatures:
        n = len(sentences)
        single_len = np.array([len(s) for s in sentences], dtype=np.float64)
        single_num = np.array([_number_mask(s) for s in sentences], dtype=np.uint64)
        lengths = np.zeros((max_overlap, n))
        numbers = np.zeros((max_overlap, n), dtype=np.uint64)
        for k in range(1, max_overlap + 1):
            for back in range(k):
                idx = np.maximum(np.arange(n) - back, 0)
                lengths[k - 1] += single_len[idx] * (np.arange(n) - back >= 0)
                numbers[k - 1] |= np.where(np.arange(n) - back >= 0, single_num[idx], 0).astype(np.uint64)
        return cls(lengths, numbers)


def _number_mask(text: str) -> int:
    mask = 0
    for number in numbers_in(text):
        mask |= 1 << (int.from_bytes(hashlib.blake2b(number.encode(), digest_size=2).digest(), "big") % 64)
    return mask


class Gains:
    """The value of a bead: how much better its two sides match than each matches the other
    document on average (Vecalign's margin, against a sample of the other side), times its
    size; minus a penalty per extra sentence, a length penalty (|log length ratio| away
    from the document's typical ratio: swallowing a deleted neighbour makes a side too long)
    and a number term (numbers on one side only count against a bead).

    A merge's gain is partly earned sentence by sentence (`part_weight`): each sentence of
    the merged side scores its own margin against the other side. The joint text alone
    barely notices a swallowed boilerplate or deleted neighbour (the real sentence
    dominates the joint vector), so a merge with a stray line scored like a good one;
    counted per sentence, the stray line brings about nothing and leaving it unaligned wins.

    `scale` sizes the skip and merge penalties to the document: a document whose true pairs
    beat chance by less (old orthography, loose or literary translation, a weak language for
    the encoder) would otherwise lose its real 1-1 beads to skips. `length_scale` sizes the
    length penalty to the document's own spread of length ratios (Gale and Church's idea):
    Chinese against Russian verses vary in length far more than Swedish against English
    news, where a line twice as long as its partner is a real sign of a swallowed one."""

    def __init__(
        self,
        src_emb: np.ndarray,
        tgt_emb: np.ndarray,
        src_feat: RunFeatures,
        tgt_feat: RunFeatures,
        settings: AlignSettings,
        typical_ratio: float,
        scale: float = 1.0,
        length_scale: float = 1.0,
    ) -> None:
        self.src, self.tgt, self.sf, self.tf, self.settings = src_emb, tgt_emb, src_feat, tgt_feat, settings
        self.typical, self.scale, self.length_scale = typical_ratio, scale, length_scale
        rng = np.random.default_rng(0)
        sample_t = tgt_emb[0][rng.choice(tgt_emb.shape[1], min(tgt_emb.shape[1], SAMPLE), replace=False)]
        sample_s = src_emb[0][rng.choice(src_emb.shape[1], min(src_emb.shape[1], SAMPLE), replace=False)]
        one_sentence = min(src_emb.shape[1], tgt_emb.shape[1]) == 1  # only then is a fallback read
        fallback = _chance_between(src_emb[0], tgt_emb[0]) if one_sentence else 0.0
        self.base_src = _chance(src_emb @ sample_t.T, fallback)  # (k, n): mean cosine to the other side
        self.base_tgt = _chance(tgt_emb @ sample_s.T, fallback)  # (k, m)

    def __call__(self, a: int, b: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Gains (len(rows), len(cols)) of beads of source sentences r-a..r-1 and target
        sentences c-b..c-1, for r in rows and c in cols."""
        i, j = (rows - 1)[:, None], (cols - 1)[None, :]
        st = self.settings
        gain = self.margins(a, b, rows, cols) * (a + b)
        if st.part_weight and a + b > 2:
            parts = sum(self.margins(a, 1, rows, cols - p) for p in range(b)) + sum(
                self.margins(1, b, rows - p, cols) for p in range(a)
            )
            gain += st.part_weight * (parts - gain)
        gain -= self.scale * st.merge_penalty * (a + b - 2)
        if st.length_weight:
            ratio = np.log(
                np.maximum(self.tf.lengths[b - 1][j], 1.0) / np.maximum(self.sf.lengths[a - 1][i], 1.0)
            )
            gain -= self.length_scale * st.length_weight * np.abs(ratio - self.typical)
        if st.number_weight:
            s_mask, t_mask = self.sf.numbers[a - 1][i], self.tf.numbers[b - 1][j]
            union = np.bitwise_count(s_mask | t_mask)
            shared = np.bitwise_count(s_mask & t_mask)
            agreement = np.where(union > 0, 2.0 * shared / np.maximum(union, 1) - 1.0, 0.0)
            gain += st.number_weight * agreement
        return gain

    def margins(self, a: int, b: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Margin of the run of `a` source sentences ending before each row against the run of
        `b` target sentences ending before each col (rows, cols >= 1; a row or col below a
        run's length reads a shorter run and is never on a path)."""
        rows, cols = np.maximum(rows, 1), np.maximum(cols, 1)
        sim = self.src[a - 1][rows - 1] @ self.tgt[b - 1][cols - 1].T
        return sim - (self.base_src[a - 1][rows - 1][:, None] + self.base_tgt[b - 1][cols - 1][None, :]) / 2

    def document_scales(self, path: Path) -> tuple[float, float]:
        """(scale, length_scale) for this document from the 1-1 beads of a first path: their
        median margin over `margin_reference`, and `length_spread` over the robust spread
        (1.4826 x median absolute deviation) of their log length ratios. Each is at most 1
        (a document that matches better or varies less keeps the settings' penalties) and at
        least `min_scale` (a non-parallel pair still pays something for merging)."""
        ones = [(a[0], b[0]) for a, b in path if len(a) == 1 and len(b) == 1]
        if len(ones) < 3:
            return 1.0, 1.0
        st = self.settings
        i, j = (np.array(x) for x in zip(*ones, strict=True))
        sim = np.einsum("ij,ij->i", self.src[0][i], self.tgt[0][j])
        margin = float(np.median(sim - (self.base_src[0][i] + self.base_tgt[0][j]) / 2))
        ratios = np.log(np.maximum(self.tf.lengths[0][j], 1.0) / np.maximum(self.sf.lengths[0][i], 1.0))
        spread = 1.4826 * float(np.median(np.abs(ratios - np.median(ratios))))
        scale = margin / st.margin_reference if st.margin_reference else 1.0
        length_scale = st.length_spread / max(spread, 1e-6) if st.length_spread else 1.0
        low = st.min_scale
        return float(np.clip(scale, low, 1.0)), float(np.clip(length_scale, low, 1.0))


def _chance(cosines: np.ndarray, fallback: float) -> np.ndarray:
    """Each run's mean cosine to the other side's sample (last axis). Against a side of fewer
    than SMALL_SIDE sentences that mean is mostly the run's own partner, so the partner's
    margin came out near 0 and a one-sentence pair was left unaligned: there each run's best
    match is left out of the mean, and against a single sentence `fallback` stands in."""
    n = cosines.shape[-1]
    if n >= SMALL_SIDE:
        return cosines.mean(axis=-1)
    if n == 1:
        return np.full(cosines.shape[:-1], fallback, dtype=cosines.dtype)
    return (cosines.sum(axis=-1) - cosines.max(axis=-1)) / (n - 1)


def _chance_between(src: np.ndarray, tgt: np.ndarray) -> float:
    """A chance cosine for a one-sentence side: the mean cosine of the other side's sentences
    to it, its best match left out (0 for one sentence against one)."""
    cos = src @ tgt.T
    if cos.shape[1] < cos.shape[0]:
        cos = cos.T
    if cos.shape[1] < 2:
        return 0.0
    return float(((cos.sum(axis=1) - cos.max(axis=1)) / (cos.shape[1] - 1)).mean())


def best_path(gains: dict, n: int, m: int, skip: float) -> Path:
    """The dense program over hand-made tables gain[(a, b)][i, j] (bead ending at source i
    and target j)."""

    def block_gain(a: int, b: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return gains[a, b][(rows - 1)[:, None], (cols - 1)[None, :]]

    windows = full_windows(n, m)
    return banded_path(windows, n, m, band_tables(windows, list(gains), block_gain), skip)


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
        # Rivals: the other sentences near the bead (all of them in documents up to 2 x RIVALS
        # sentences; a window keeps long documents linear).
        t0, s0 = max(0, b[0] - RIVALS), max(0, a[0] - RIVALS)
        rival_tgt = tgt_vecs[t0 : b[-1] + RIVALS + 1] @ u
        rival_src = src_vecs[s0 : a[-1] + RIVALS + 1] @ v
        rival_tgt[[j - t0 for j in b]] = rival_src[[i - s0 for i in a]] = -np.inf  # outside the bead only
        rival = max(rival_tgt.max(initial=-np.inf), rival_src.max(initial=-np.inf))
        margin = cosine - float(rival) if np.isfinite(rival) else 0.02
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


def _runs_to_check(path: Path, max_overlap: int) -> tuple[set, set]:
    """Runs whose exact embedding could change the path: every multi-sentence bead chosen,
    and the merges an unaligned sentence could have joined instead."""
    src_runs: set[tuple[int, int]] = set()
    tgt_runs: set[tuple[int, int]] = set()
    for a, b in path:
        for runs, side in ((src_runs, a), (tgt_runs, b)):
            if len(side) > 1:
                runs.add((len(side), side[-1]))
            elif side and not (a and b):  # unaligned: it may belong in a neighbour's bead
                i = side[0]
                runs.update((k, end) for k in range(2, max_overlap + 1) for end in range(i, i + k))
    return src_runs, tgt_runs


def align_sentences(
    src: Sequence[str], tgt: Sequence[str], encoder: Encoder, settings: AlignSettings | None = None
) -> list[Bead]:
    """Align two sentence lists; beads cover every sentence exactly once, in order."""
    settings = settings or AlignSettings()
    if not src or not tgt:
        return [Bead((i,), (), 0.0) for i in range(len(src))] + [Bead((), (j,), 0.0) for j in range(len(tgt))]
    src_emb = OverlapEmbeddings(src, encoder, settings.max_overlap)
    tgt_emb = OverlapEmbeddings(tgt, encoder, settings.max_overlap)
    src_feat = RunFeatures.of(src, settings.max_overlap)
    tgt_feat = RunFeatures.of(tgt, settings.max_overlap)
    n, m, beads = len(src), len(tgt), bead_types(settings.max_overlap)
    windows = coarse_windows(src_emb.vecs[0], tgt_emb.vecs[0])
    # The document's typical length ratio: a few noise or deleted lines barely move it.
    typical = math.log(max(tgt_feat.lengths[0].sum(), 1.0) / max(src_feat.lengths[0].sum(), 1.0))

    def search(*scales: float) -> tuple[Path, Gains]:
        gains = Gains(src_emb.vecs, tgt_emb.vecs, src_feat, tgt_feat, settings, typical, *scales)
        return banded_path(
            windows, n, m, band_tables(windows, beads, gains), gains.scale * settings.skip_gain
        ), gains

    path, gains = search()  # a first path measures how well this document's pairs match
    scales = gains.document_scales(path)
    for round_ in range(MAX_ROUNDS):
        if round_ or scales != (1.0, 1.0):  # the first path stands when nothing was rescaled
            path, _ = search(*scales)
        src_runs, tgt_runs = _runs_to_check(path, settings.max_overlap)
        if not (src_emb.make_exact(src_runs) | tgt_emb.make_exact(tgt_runs)):
            break
    return bead_confidences(path, src, tgt, encoder)


MAX_ROUNDS = 3  # searches after the first: again after exact embeddings of runs near the path
