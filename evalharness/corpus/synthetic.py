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


MERGES = {"merge": 2, "merge3": 3}  # target lines joined into one: 2-1 and 3-1 beads


def damage(
    src: Sequence[str],
    tgt: Sequence[str],
    noise: Sequence[str],
    rng: random.Random,
    edits: Sequence[str] = ("merge", "split", "delete", "insert"),
) -> GoldCase:
    """Apply each edit once, at distinct places, to the target side of a line-parallel pair:
    `merge` (2-1), `merge3` (3-1), `split` at a comma (1-2), `delete` (1-0) and `insert` a
    noise line (0-1; repeat it for more noise)."""
    if len(src) != len(tgt):
        raise ValueError("damage() needs a line-parallel pair")
    n = len(src)
    plan: dict[int, str] = {}
    for kind in edits:
        if kind == "insert":
            continue
        width = MERGES.get(kind, 1)
        free = [
            i
            for i in range(n - width + 1)
            if all(k not in plan for k in range(i, i + width))
            and (kind != "split" or split_line(tgt[i]) is not None)
        ]
        if not free:
            raise ValueError(f"no room for a {kind} in a text of {n} lines")
        i = rng.choice(free)
        plan[i] = kind
        for k in range(i + 1, i + width):
            plan[k] = "merged"
    inserts: dict[int, int] = {}
    for _ in range(sum(kind == "insert" for kind in edits)):
        at = rng.randrange(n + 1)
        inserts[at] = inserts.get(at, 0) + 1
    out_tgt: list[str] = []
    gold: list[Bead] = []
    where: dict[str, int] = {}
    for i in range(n + 1):
        for _ in range(inserts.get(i, 0)):
            gold.append(((), (len(out_tgt),)))
            out_tgt.append(rng.choice(list(noise)))
            where["insert"] = i
        if i == n:
            break
        kind = plan.get(i)
        if kind == "merged":
            continue
        j = len(out_tgt)
        if kind in MERGES:
            width = MERGES[kind]
            out_tgt.append(" ".join(tgt[i : i + width]))
            gold.append((tuple(range(i, i + width)), (j,)))
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
    return GoldCase(src=list(src), tgt=out_tgt, gold=gold, edits=where)


def mirror(case: GoldCase) -> GoldCase:
    """The same case with the sides swapped: 2-1 becomes 1-2, 3-1 becomes 1-3, a deleted line
    an inserted one."""
    return GoldCase(src=case.tgt, tgt=case.src, gold=[(b, a) for a, b in case.gold], edits=case.edits)
