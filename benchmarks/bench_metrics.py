"""Scoring cost against sacrebleu itself, measured in one run on the same data.

    .venv/bin/python benchmarks/bench_metrics.py [--segments 100000] [--bootstrap-segments 10000]

1. Corpus BLEU + chrF over N segments: the harness (`score_all`, which also keeps the
   per-segment statistics and per-segment scores a run report needs) against
   `sacrebleu.corpus_bleu` + `sacrebleu.corpus_chrf`. Target: ratio <= 1.10.
2. 95% bootstrap intervals (1000 resamples, seed 12345) for BLEU and chrF over M segments:
   the harness (resampling cached statistics in chunks) against sacrebleu's
   `corpus_score(n_bootstrap=1000)`. Time and peak traced memory; the harness is also run
   with 4000 resamples to show its memory does not grow with the number of resamples.
   Target: at least 5x faster.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sacrebleu  # noqa: E402

from evalharness.metrics.scoring import bootstrap, score_all  # noqa: E402
from evalharness.metrics.stats import extract  # noqa: E402

WORDS = (
    "the a of to and in district party committee mass mobilization model movement emulation skilled "
    "people province conference period result work level, 2021 2023 337 87."
).split()


def data(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    refs = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 30))) for _ in range(n)]
    hyps = [" ".join(w if rng.random() < 0.75 else rng.choice(WORDS) for w in r.split()) for r in refs]
    return hyps, refs


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def traced(fn):
    """(result, seconds, peak MiB): time from an untraced call (tracemalloc slows Python
    allocations far more than numpy's), memory from a second, traced one."""
    out, seconds = timed(fn)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, seconds, peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--segments", type=int, default=100_000)
    parser.add_argument("--bootstrap-segments", type=int, default=10_000)
    args = parser.parse_args()

    hyps, refs = data(args.segments)
    print(f"1) corpus BLEU + chrF, {len(hyps)} segments")
    theirs, t_sacre = timed(
        lambda: (sacrebleu.corpus_bleu(hyps, [refs]), sacrebleu.corpus_chrf(hyps, [refs]))
    )
    ours, t_ours = timed(lambda: score_all(["bleu", "chrf"], hyps, [refs]))
    assert ours["bleu"].score == theirs[0].score and ours["chrf"].score == theirs[1].score
    print(f"   sacrebleu corpus_bleu+corpus_chrf {t_sacre:7.2f} s")
    print(f"   evalharness score_all             {t_ours:7.2f} s  (incl. per-segment scores)")
    ratio = t_ours / t_sacre
    print(f"   ratio {ratio:.3f}  target <= 1.10: {'met' if ratio <= 1.10 else 'MISSED'}")

    hyps, refs = hyps[: args.bootstrap_segments], refs[: args.bootstrap_segments]
    print(f"2) bootstrap 95% intervals, 1000 resamples, {len(hyps)} segments")
    ratios = []
    for metric, cls in (("bleu", sacrebleu.metrics.BLEU), ("chrf", sacrebleu.metrics.CHRF)):
        from sacrebleu.significance import _bootstrap_resample

        stats = extract(metric, hyps, [refs])
        # Like for like: both resample the same precomputed per-segment statistics.
        _, t_sac, m_sac = traced(lambda stats=stats: _bootstrap_resample(stats.rows, stats.metric, 1000))
        ours_iv, t_ours, m_ours = traced(lambda stats=stats: bootstrap(stats, 1000))
        _, t4k, m4k = traced(lambda stats=stats: bootstrap(stats, 4000))
        # End to end, as a user calls it: statistics extraction included on both sides.
        sac, t_sac_e2e, _ = traced(lambda cls=cls: cls().corpus_score(hyps, [refs], n_bootstrap=1000))
        _, t_ours_e2e, _ = traced(lambda metric=metric: bootstrap(extract(metric, hyps, [refs]), 1000))
        assert abs(ours_iv.mean - float(sac._mean)) < 1e-4 and abs(ours_iv.half_width - float(sac._ci)) < 1e-3
        ratios.append(t_sac / t_ours)
        print(
            f"   {metric:<5} resampling: sacrebleu {t_sac:6.2f} s {m_sac:7.1f} MiB | evalharness {t_ours:5.2f} s {m_ours:6.1f} MiB"
            f" -> x{t_sac / t_ours:.1f} faster, x{m_sac / m_ours:.0f} less memory; 4000 resamples: {t4k:5.2f} s {m4k:6.1f} MiB"
        )
        print(
            f"         end to end (with statistics extraction): sacrebleu {t_sac_e2e:6.2f} s | evalharness {t_ours_e2e:6.2f} s"
            f" -> x{t_sac_e2e / t_ours_e2e:.1f}"
        )
    print(f"   target >= 5x faster resampling: {'met' if min(ratios) >= 5 else 'MISSED'}")


if __name__ == "__main__":
    main()
