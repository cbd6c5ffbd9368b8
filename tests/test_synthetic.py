from __future__ import annotations

import random

from evalharness.corpus.synthetic import damage, split_line


def test_damage_gold_is_consistent_with_the_damaged_text():
    src = [f"Source line {i}, with a comma in the middle of it." for i in range(8)]
    tgt = [f"Target line {i}, with a comma in the middle of it." for i in range(8)]
    case = damage(src, tgt, ["noise one.", "noise two."], random.Random(1))
    assert set(case.edits) == {"merge", "split", "delete", "insert"}
    assert sorted(i for a, _ in case.gold for i in a) == list(range(8))
    assert sorted(j for _, b in case.gold for j in b) == list(range(len(case.tgt)))
    for a, b in case.gold:
        if a and b:
            joined = " ".join(case.tgt[j] for j in b)
            assert all(f"line {i}" in joined or len(a) > 1 for i in a)
    kinds = sorted(f"{len(a)}-{len(b)}" for a, b in case.gold if (len(a), len(b)) != (1, 1))
    assert kinds == ["0-1", "1-0", "1-2", "2-1"]


def test_split_line_needs_a_punctuation_mark_near_the_middle():
    assert split_line("no punctuation here at all") is None
    assert split_line("left half of it, right half of it") == ("left half of it,", "right half of it")
