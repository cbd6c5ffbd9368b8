"""The banded (coarse-to-fine) search finds what the dense search finds, on documents long
enough to use it, and its band holds the gold path; 1-3 merges are found."""

from __future__ import annotations

import random

import numpy as np
import pytest

from evalharness.corpus import align_search
from evalharness.corpus.align import align_sentences
from evalharness.corpus.embed import unit_rows
from evalharness.corpus.synthetic import damage


class VectorEncoder:
    """Sentences are names of vectors; a joined text is the sum of its sentences' vectors
    (a stand-in for a real encoder, so long documents align in milliseconds)."""

    name = "vectors"

    def __init__(self, table: dict[str, np.ndarray]) -> None:
        self.table = table

    def encode(self, texts):
        if not texts:
            return np.zeros((0, 64), np.float32)
        return unit_rows(np.array([sum(self.table[w] for w in t.split(" ")) for t in texts]))


def _document(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n, 64)).astype(np.float32)
    src, tgt = [f"s{i}" for i in range(n)], [f"t{i}" for i in range(n)]
    table = {s: base[i] for i, s in enumerate(src)}
    table |= {t: base[i] + rng.normal(scale=0.5, size=64).astype(np.float32) for i, t in enumerate(tgt)}
    noise = [f"x{k}" for k in range(20)]
    table |= {x: rng.normal(size=64).astype(np.float32) for x in noise}
    edits = ("merge", "merge3", "delete", "insert", "insert") * (n // 40)
    return damage(src, tgt, noise, random.Random(seed), edits), VectorEncoder(table)


def test_banded_search_equals_the_dense_one_and_holds_the_gold_path(monkeypatch):
    case, encoder = _document(900)
    windows = align_search.coarse_windows(encoder.encode(case.src), encoder.encode(case.tgt))
    assert max(hi - lo for lo, hi in windows) < 80  # a band, not the table
    r = c = 0
    for a, b in case.gold:
        r, c = r + len(a), c + len(b)
        assert windows[r][0] <= c < windows[r][1]
    banded = [(b.src, b.tgt) for b in align_sentences(case.src, case.tgt, encoder)]
    monkeypatch.setattr(align_search, "DENSE_CELLS", 10**9)
    dense = [(b.src, b.tgt) for b in align_sentences(case.src, case.tgt, encoder)]
    assert banded == dense
    assert len(set(banded) & set(case.gold)) / len(case.gold) >= 0.85  # noisy stand-in vectors
    assert any(len(a) == 3 and len(b) == 1 for a, b in set(banded) & set(case.gold))  # a 3-1 bead


@pytest.mark.parametrize("n", [50, 400])
def test_windows_are_monotone_and_reach_both_ends(n):
    case, encoder = _document(n, seed=3)
    windows = align_search.coarse_windows(encoder.encode(case.src), encoder.encode(case.tgt))
    assert len(windows) == len(case.src) + 1
    assert windows[0][0] == 0 and windows[-1][1] == len(case.tgt) + 1
    assert all(a[0] <= b[0] and a[1] <= b[1] for a, b in zip(windows, windows[1:], strict=False))
