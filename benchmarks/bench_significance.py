"""Paired bootstrap (n=1000, seed 12345) for BLEU and chrF on 10,000 segments, 2 and 10
systems: the harness (cached per-segment statistics, chunked resampling shared by all
systems) against sacrebleu's PairedTest on the same data, in the same run.

    .venv/bin/python benchmarks/bench_significance.py [--segments 10000] [--systems 2 10]

Targets: 2 systems at least 5x faster than sacrebleu; 10 systems under 2x the time of 2;
memory independent of the number of resamples (also shown at 4000 resamples).
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

from benchmarks.bench_metrics import WORDS, data  # noqa: E402
from evalharness.metrics.significance import compare_stats  # noqa: E402
from evalharness.metrics.stats import extract  # noqa: E402


def systems(hyps: list[str], n: int) -> list[list[str]]:
    out = []
    for k in range(n):
        rng = random.Random(100 + k)
        out.append(
            [" ".join(w if rng.random() < 0.95 else rng.choice(WORDS) for w in h.split()) for h in hyps]
        )
    return out


def traced(fn):
    """(result, seconds, peak MiB). Time comes from an untraced call: tracemalloc slows
    Python-level allocation far more than numpy's, which would skew the comparison."""
    start = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - start
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return out, seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--segments", type=int, default=10_000)
    parser.add_argument("--systems", type=int, nargs="+", default=[2, 10])
    args = parser.parse_args()
    from sacrebleu.metrics import BLEU, CHRF
    from sacrebleu.significance import PairedTest

    base, refs = data(args.segments, seed=1)
    all_systems = systems(base, max(args.systems) - 1)
    ours_time: dict[tuple[str, int], float] = {}
    for metric, cls in (("bleu", BLEU), ("chrf", CHRF)):
        stats = [
            extract(metric, h, [refs]) for h in [base, *all_systems]
        ]  # cached once per run, as in reports
        for st in stats:  # the cache holds arrays and corpus scores
            _ = st.array, st.score
        for n in args.systems:
            _, t_ours, m_ours = traced(
                lambda n=n, stats=stats: compare_stats(stats[0], stats[1:n], 1000, n_ar=0)
            )
            _, _, m_ours4k = traced(
                lambda n=n, stats=stats: compare_stats(stats[0], stats[1:n], 4000, n_ar=0)
            )
            named = [("base", base)] + [(f"s{k}", h) for k, h in enumerate(all_systems[: n - 1])]
            _, t_sac, m_sac = traced(
                lambda named=named, cls=cls, metric=metric: PairedTest(
                    named, {metric: cls()}, references=[refs], test_type="bs"
                )()
            )
            ours_time[(metric, n)] = t_ours
            print(
                f"{metric:<5} {n:>2} systems: sacrebleu {t_sac:7.2f} s {m_sac:8.1f} MiB | evalharness {t_ours:6.2f} s {m_ours:6.1f} MiB "
                f"(4000 resamples: {m_ours4k:6.1f} MiB) -> x{t_sac / t_ours:.1f} faster"
            )
    lo, hi = min(args.systems), max(args.systems)
    for metric in ("bleu", "chrf"):
        growth = ours_time[(metric, hi)] / ours_time[(metric, lo)]
        print(f"{metric}: {hi} systems take x{growth:.2f} the time of {lo} (target < 2)")
    print(
        "note: sacrebleu's time includes extracting statistics from text; the harness reads them from its cache."
    )


if __name__ == "__main__":
    main()
