"""The alignment search: a dynamic program over a band of cells, and the coarse-to-fine
band that keeps memory and time about linear in document length (Vecalign's recipe).

Coordinates: cell (r, c) means r source and c target sentences consumed. A path starts at
(0, 0), ends at (n, m), and moves by bead types (a, b) — a source and b target sentences —
or skips one sentence on either side. Row r may only use columns window[r] = [lo, hi);
both bounds never decrease from row to row. Band tables hold one row per r and W columns,
column k of row r being cell (r, lo_r + k). With full windows this is the dense program;
with a band around a path found on downsampled embeddings it costs O(n · width).

`coarse_windows` builds the band: average runs of two sentences into one vector until the
problem is small, align that densely with 1-1 beads and skips, then widen the path by a few
cells at each finer level and align again inside it."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

Path = list[tuple[tuple[int, ...], tuple[int, ...]]]
Windows = list[tuple[int, int]]
# block_gain(a, b, rows, cols) -> gains (len(rows), len(cols)) of beads made of source
# sentences r-a..r-1 and target sentences c-b..c-1 (rows >= a, cols >= b).
BlockGain = Callable[[int, int, np.ndarray, np.ndarray], np.ndarray]

NEG = -1e9
DENSE_CELLS = 250_000  # up to ~500 x 500 sentences the band is the whole table
COARSE_CELLS = 40_000  # the coarsest level is aligned densely
BAND = 8  # cells added on each side of the projected path, per level
BLOCK = 128  # rows whose gains are computed with one matrix product
COARSE_SKIP = 0.5  # value of a skip at the coarse levels, in standard deviations of chance cosine


def full_windows(n: int, m: int) -> Windows:
    return [(0, m + 1)] * (n + 1)


def band_tables(
    windows: Windows, beads: Sequence[tuple[int, int]], block_gain: BlockGain
) -> dict[tuple[int, int], np.ndarray]:
    """For each bead type, its gains on the band: (n + 1, W), NEG where no bead fits."""
    n = len(windows) - 1
    los = np.array([w[0] for w in windows])
    width = max(hi - lo for lo, hi in windows)
    out = {}
    for a, b in beads:
        table = np.full((n + 1, width), NEG)
        for start in range(a, n + 1, BLOCK):
            rows = np.arange(start, min(n + 1, start + BLOCK))
            c0 = max(b, int(los[rows].min()))
            c1 = max(hi for _, hi in windows[rows[0] : rows[-1] + 1])
            if c1 <= c0:
                continue
            cols = np.arange(c0, c1)
            block = block_gain(a, b, rows, cols)  # (rows, cols)
            for k, r in enumerate(rows):
                lo, hi = windows[r]
                lo = max(lo, b)
                if hi > lo:
                    table[r, lo - windows[r][0] : hi - windows[r][0]] = block[k, lo - c0 : hi - c0]
        out[a, b] = table
    return out


def banded_path(
    windows: Windows, n: int, m: int, tables: dict[tuple[int, int], np.ndarray], skip: float
) -> Path:
    """The best monotone path inside the windows: beads of the types in `tables`, or a skip
    (1-0 / 0-1) worth `skip`. Rows are processed one at a time, with slices of the band."""
    beads = list(tables)
    moves = [(1, 0), (0, 1), *beads]
    width = max(hi - lo for lo, hi in windows)
    los = [w[0] for w in windows]
    scores = np.full((n + 1, width), NEG)
    backs = np.zeros((n + 1, width), dtype=np.int8)
    for r in range(n + 1):
        lo, hi = windows[r]
        size = hi - lo
        best = np.full(width, NEG)
        arg = np.zeros(width, dtype=np.int8)
        if r == 0:
            best[0] = 0.0  # the start
        for t, (a, b) in enumerate(moves):
            if (a == 0 and b == 1) or a > r:
                continue  # 0-1 skips are chained below; beads that need more rows wait
            shift = lo - b - los[r - a]  # column k here is column k + shift of row r - a
            k0, k1 = max(0, -shift), min(size, width - shift)
            if k1 <= k0:
                continue
            cand = scores[r - a, k0 + shift : k1 + shift] + (skip if b == 0 else tables[a, b][r, k0:k1])
            better = cand > best[k0:k1]
            best[k0:k1][better] = cand[better]
            arg[k0:k1][better] = t
        best[size:] = NEG
        # 0-1 skips within the row: score[c] = max(best[c], score[c-1] + skip), as a prefix max
        steps = skip * np.arange(width)
        chained = np.maximum.accumulate(best - steps) + steps
        insert = chained > best + 1e-12
        scores[r] = np.where(insert, chained, best)
        backs[r] = np.where(insert, 1, arg)
        scores[r, size:] = NEG
    path: Path = []
    r, c = n, m
    while r or c:
        a, b = moves[backs[r, c - los[r]]]
        path.append((tuple(range(r - a, r)), tuple(range(c - b, c))))
        r, c = r - a, c - b
    return path[::-1]


# ---------------------------------------------------------------- coarse to fine


def downsample(vecs: np.ndarray) -> np.ndarray:
    """Average consecutive pairs of rows (an odd last row stays alone), renormalised."""
    n = len(vecs)
    pairs = vecs[: n - n % 2].reshape(n // 2, 2, -1).sum(axis=1)
    out = np.concatenate([pairs, vecs[n - n % 2 :]]) if n % 2 else pairs
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def project(path: Path, n: int, m: int, factor: int, width: int) -> Windows:
    """Windows at a finer level (`factor` times more rows and columns) around a coarse path,
    widened by `width` cells, with bounds that never decrease."""
    lo = [m + 1] * (n + 1)
    hi = [0] * (n + 1)
    r = c = 0
    points = [(0, 0)]
    for a, b in path:
        r, c = r + len(a), c + len(b)
        points.append((r, c))
    for (r0, c0), (r1, c1) in zip(points, points[1:], strict=False):
        fr0, fr1 = min(r0 * factor, n), min(r1 * factor, n)
        fc0, fc1 = min(c0 * factor, m), min(c1 * factor, m)
        for row in range(fr0, fr1 + 1):
            lo[row] = min(lo[row], fc0)
            hi[row] = max(hi[row], fc1 + 1)
    for row in range(1, n + 1):
        if hi[row] == 0:  # a row no coarse point covered: take its neighbour's
            lo[row], hi[row] = lo[row - 1], hi[row - 1]
    windows = [(max(0, lo[r] - width), min(m + 1, hi[r] + width)) for r in range(n + 1)]
    return _monotone(windows, m)


def _monotone(windows: Windows, m: int) -> Windows:
    los = [w[0] for w in windows]
    his = [w[1] for w in windows]
    for r in range(len(los) - 2, -1, -1):  # lo: suffix minimum
        los[r] = min(los[r], los[r + 1])
    for r in range(1, len(his)):  # hi: prefix maximum
        his[r] = max(his[r], his[r - 1])
    los[0], his[-1] = 0, m + 1
    return list(zip(los, his, strict=True))


def similarity_gain(src: np.ndarray, tgt: np.ndarray) -> BlockGain:
    """1-1 gains for the coarse levels, in standard deviations above chance: the cosine of
    mean-centred vectors, minus the mean and over the spread of cosines between random
    pairs. Averaged blocks all lean towards the document's mean direction; without centring
    every block looks like every other and the coarse path wanders off."""
    mean = np.concatenate([src, tgt]).mean(axis=0)
    s, t = src - mean, tgt - mean
    s /= np.maximum(np.linalg.norm(s, axis=1, keepdims=True), 1e-9)
    t /= np.maximum(np.linalg.norm(t, axis=1, keepdims=True), 1e-9)
    rng = np.random.default_rng(0)
    chance = (
        s[rng.choice(len(s), min(len(s), 256), replace=False)]
        @ t[rng.choice(len(t), min(len(t), 256), replace=False)].T
    )
    center, spread = float(chance.mean()), max(float(chance.std()), 1e-6)

    def gain(a: int, b: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return (s[rows - 1] @ t[cols - 1].T - center) / spread

    return gain


def coarse_windows(src: np.ndarray, tgt: np.ndarray, width: int = BAND) -> Windows:
    """A band of cells around the alignment of downsampled embeddings (full windows when the
    table is small enough to search whole)."""
    n, m = len(src), len(tgt)
    if n * m <= DENSE_CELLS:
        return full_windows(n, m)
    small_src, small_tgt = downsample(src), downsample(tgt)
    ns, ms = len(small_src), len(small_tgt)
    if ns * ms <= COARSE_CELLS:
        windows = full_windows(ns, ms)
    else:
        windows = coarse_windows(small_src, small_tgt, width)
    tables = band_tables(windows, [(1, 1)], similarity_gain(small_src, small_tgt))
    path = banded_path(windows, ns, ms, tables, COARSE_SKIP)
    return project(path, n, m, 2, width)
