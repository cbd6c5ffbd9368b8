"""Synthetic but realistic MT data for benchmarks: a 20,000-word vocabulary drawn with Zipf
frequencies, sentence lengths log-normal around 22 words, capitalised first words, commas,
numbers and final punctuation; systems are the reference damaged at different rates by
substitutions, deletions, insertions and a local reordering, like outputs of different
quality. Deterministic for a seed. (The NTREX and WMT test sets are kept out of this project;
this generator stands in for them.)"""

from __future__ import annotations

import bisect
import math
import random
from pathlib import Path

SYLLABLES = "ka to ri an el mo su der ing en ost ver la pa ti nu ber ge sch ion ma ko lu ve".split()


def vocabulary(n: int = 20_000, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    words: set[str] = set()
    while len(words) < n:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.choice([1, 2, 2, 3, 3, 3, 4]))))
    out = sorted(words)
    rng.shuffle(out)  # frequency rank independent of spelling
    return out


class Zipf:
    def __init__(self, words: list[str], rng: random.Random) -> None:
        self.words, self.rng = words, rng
        self.cum: list[float] = []
        total = 0.0
        for rank in range(len(words)):
            total += 1.0 / (rank + 1) ** 1.05
            self.cum.append(total)
        self.total = total

    def __call__(self) -> str:
        return self.words[bisect.bisect(self.cum, self.rng.random() * self.total)]


def sentences(n: int, seed: int, mean_words: float = 22) -> list[str]:
    rng = random.Random(seed)
    draw = Zipf(vocabulary(seed=seed), rng)
    out = []
    for _ in range(n):
        length = max(3, int(rng.lognormvariate(math.log(mean_words), 0.5)))
        words = [draw() for _ in range(length)]
        words[0] = words[0].capitalize()
        for i in range(1, length):
            roll = rng.random()
            if roll < 0.05:
                words[i] += ","
            elif roll < 0.07:
                words[i] = str(rng.randint(1, 2025))
        out.append(" ".join(words) + rng.choice(".....?!"))
    return out


def system(refs: list[str], damage: float, seed: int) -> list[str]:
    """The references damaged at rate `damage`: half substitutions, then deletions, insertions."""
    rng = random.Random(seed)
    draw = Zipf(vocabulary(seed=0), rng)
    out = []
    for ref in refs:
        words: list[str] = []
        for w in ref.split():
            roll = rng.random()
            if roll < damage * 0.5:
                words.append(draw())
            elif roll < damage * 0.7:
                continue
            elif roll < damage * 0.8:
                words += [w, draw()]
            else:
                words.append(w)
        if len(words) > 3 and rng.random() < 0.3:
            i = rng.randrange(len(words) - 1)
            words[i], words[i + 1] = words[i + 1], words[i]
        out.append(" ".join(words))
    return out


def write_corpus(folder: Path, n: int, n_systems: int = 4) -> dict:
    """src, ref and `n_systems` hypothesis files of `n` lines; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    refs = sentences(n, seed=0)
    files = {"src": folder / "src.txt", "ref": folder / "ref.txt", "systems": []}
    files["src"].write_text("\n".join(sentences(n, seed=1)) + "\n", encoding="utf-8")
    files["ref"].write_text("\n".join(refs) + "\n", encoding="utf-8")
    for k in range(n_systems):
        path = folder / f"sys{k}.txt"
        path.write_text("\n".join(system(refs, 0.15 + 0.04 * k, seed=100 + k)) + "\n", encoding="utf-8")
        files["systems"].append(path)
    return files
