"""Gold alignments made by damaging a line-parallel text: merge two target lines, split one,
delete one, insert unrelated noise. Used by the tests and benchmarks/bench_align.py to
measure any aligner against known answers."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

Bead = tuple[tuple[int, ...], tuple[int, ...]]

_SPLIT_POINTS = re.compile(r"[,;:،](?=\s)")


@dataclass(frozen=True)
class GoldCase:
    src: list[str]
    tgt: list[str]
    gold: list[Bead]
    edits: dict[str, int]  # kind -> source line index it touched


def split_line(text: str) -> tuple[str, str] | None:
    """Split at the punctuation mark closest to the middle; None when there is none."""
    cuts = [m.end() for m in _SPLIT_POINTS.finditer(text)]
    cuts = [c for c in cuts if 0.2 * len(text) < c < 0.8 * len(text)]
    if not cuts:
        return None
    cut = min(cuts, key=lambda c: abs(c - len(text) / 2))
    return text[:cut].strip(), text[cut:].strip()


def damage(
    src: Sequence[str],
    tgt: Sequence[str],
    noise: Sequence[str],
    rng: random.Random,
    edits: Sequence[str] = ("merge", "split", "delete", "insert"),
) -> GoldCase:
    """Apply each edit once, at distinct places, to the target side of a line-parallel pair."""
    if len(src) != len(tgt):
        raise ValueError("damage() needs a line-parallel pair")
    n = len(src)
    plan: dict[int, str] = {}
    for kind in edits:
        if kind == "insert":
            continue
        free = [
            i
            for i in range(n - (kind == "merge"))
            if i not in plan
            and (kind != "merge" or i + 1 not in plan)
            and (i - 1 not in plan or plan[i - 1] != "merge")
            and (kind != "split" or split_line(tgt[i]) is not None)
        ]
        if not free:
            raise ValueError(f"no room for a {kind} in a text of {n} lines")
        i = rng.choice(free)
        plan[i] = kind
        if kind == "merge":
            plan[i + 1] = "merged"
    insert_at = rng.randrange(n + 1) if "insert" in edits else None
    out_tgt: list[str] = []
    gold: list[Bead] = []
    where: dict[str, int] = {}
    for i in range(n):
        if insert_at == i:
            gold.append(((), (len(out_tgt),)))
            out_tgt.append(rng.choice(list(noise)))
            where["insert"] = i
        kind = plan.get(i)
        if kind == "merged":
            continue
        j = len(out_tgt)
        if kind == "merge":
            out_tgt.append(f"{tgt[i]} {tgt[i + 1]}")
            gold.append(((i, i + 1), (j,)))
        elif kind == "split":
            out_tgt.extend(split_line(tgt[i]))
            gold.append(((i,), (j, j + 1)))
        elif kind == "delete":
            gold.append(((i,), ()))
        else:
            out_tgt.append(tgt[i])
            gold.append(((i,), (j,)))
        if kind:
            where[kind] = i
    if insert_at == n:
        gold.append(((), (len(out_tgt),)))
        out_tgt.append(rng.choice(list(noise)))
        where["insert"] = n
    return GoldCase(src=list(src), tgt=out_tgt, gold=gold, edits=where)
