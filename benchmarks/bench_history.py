"""`runs history` at scale: 50 systems x 100 runs (5,000 run reports), each with its stored
statistics, then the history built, rendered as HTML and loaded in headless Chromium.

    .venv/bin/python benchmarks/bench_history.py [--systems 50] [--runs 100] [--segments 20]
                                                  [--out DIR] [--keep]

Prints the time to generate the reports, to read them and compute the history (leaderboard
significance and the changes without a drift record), to build and render the HTML page, its
size, and Chromium's time from navigation to the `load` event with the whole page laid out
(measured in the page, real time). Target: the page renders in Chromium in under 3 s.

The reports are written directly (no translation, no scoring pass per run): a pool of
damaged hypotheses per segment is scored once, and each run picks one per segment, so its
statistics are those rows, stacked, and its scores come from them. Intervals come from 200
bootstrap resamples scored with numpy's arithmetic (the report says n_bootstrap 200). The
runs have no drift records: the worst case for the history, which then tests the last few
changes of each series itself (see `reports/history.py`)."""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evalharness.metrics.registry import get  # noqa: E402
from evalharness.metrics.scoring import interval_from, resample_counts, resample_indices  # noqa: E402
from evalharness.metrics.stats import MetricStats, extract, from_stored  # noqa: E402
from evalharness.reports.schema import (  # noqa: E402
    BackendRef,
    IntervalRecord,
    RunReport,
    ScoreRecord,
    SegmentRecord,
    TestSetRef,
)
from evalharness.reports.statistics import encode, sha256  # noqa: E402
from evalharness.reports.store import HTML_FILE, REPORT_FILE, make_run_id  # noqa: E402

METRICS = ("bleu", "chrf")
PAIRS = (("en", "de"), ("en", "fr"))
VARIANTS = 8  # damaged hypotheses per segment, from good to bad
RESAMPLES = 200
START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


def _words(n: int, rng: np.random.Generator) -> list[str]:
    syllables = "ka to ri an el mo su der ing en ost ver la pa ti nu ber ge sch ion".split()
    out: dict[str, None] = {}
    while len(out) < n:
        out["".join(rng.choice(syllables, size=rng.integers(1, 4)))] = None
    return list(out)


def _pool(
    segments: int, seed: int
) -> tuple[list[str], list[str], list[list[str]], dict[str, list[np.ndarray]]]:
    """Sources, references (Zipf-distributed words), VARIANTS hypotheses per segment (variant
    k: each word replaced with probability 6k%) and each variant's per-segment statistics."""
    rng = np.random.default_rng(seed)
    vocab = _words(2000, rng)
    weights = 1.0 / np.arange(1, len(vocab) + 1) ** 1.05
    weights /= weights.sum()

    def sentence() -> list[str]:
        return [vocab[i] for i in rng.choice(len(vocab), size=int(rng.integers(8, 30)), p=weights)]

    refs = [sentence() for _ in range(segments)]
    sources = [" ".join(sentence()) + "." for _ in range(segments)]
    variants = []
    for k in range(VARIANTS):
        out = []
        for ref in refs:
            words = [
                vocab[int(rng.choice(len(vocab), p=weights))] if rng.random() < 0.06 * k else w for w in ref
            ]
            out.append(" ".join(words) + ".")
        variants.append(out)
    references = [" ".join(r) + "." for r in refs]
    stats = {m: [extract(m, v, [references], "de").array for v in variants] for m in METRICS}
    return sources, references, variants, stats


def write_history(
    runs_root: Path, systems: int = 50, runs: int = 100, segments: int = 20, seed: int = 0
) -> int:
    """Write `systems` x `runs` run reports with stored statistics under `runs_root`; returns
    how many. Systems alternate between two pairs; each improves or worsens slowly over its
    runs, with noise, and the harness commit changes every few runs."""
    runs_root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    pools = {pair: _pool(segments, seed + 100 * n) for n, pair in enumerate(PAIRS)}
    templates = {m: from_stored(m, pools[PAIRS[0]][3][m][0], "de", {}, 1) for m in METRICS}
    signatures = {m: (t.signature, t.key) for m, t in templates.items()}
    counts = np.concatenate([resample_counts(i) for i in resample_indices(segments, RESAMPLES)])
    written = 0
    for s in range(systems):
        pair = PAIRS[s % len(PAIRS)]
        sources, refs, variants, pool = pools[pair]
        name = f"sys-{s:02d}-{['alpha', 'beta', 'gamma', 'delta', 'omega'][s % 5]}"
        quality = rng.uniform(1.0, 5.0)  # mean variant: lower is better
        trend = rng.uniform(-2.0, 2.0)  # over the whole series
        picks = []
        for r in range(runs):
            centre = np.clip(quality + trend * r / runs, 0, VARIANTS - 1)
            picks.append(np.clip(np.rint(rng.normal(centre, 1.5, segments)), 0, VARIANTS - 1).astype(int))
        rows = np.arange(segments)
        arrays = {
            m: np.stack([np.stack(pool[m])[p, rows] for p in picks]) for m in METRICS
        }  # (runs, seg, width)
        resampled = {}
        for m in METRICS:
            spec, metric = get(m), templates[m].metric
            sums = np.einsum("ks,rsw->rkw", counts, arrays[m].astype(np.float64)).astype(np.float32)
            flat = spec.scores(metric, sums.reshape(-1, sums.shape[-1]).astype(np.float64), exact=False)
            resampled[m] = flat.reshape(runs, RESAMPLES)
        for r in range(runs):
            created = START + dt.timedelta(hours=6 * r, minutes=s)  # every system, four times a day
            stats = [
                MetricStats(m, templates[m].metric, arrays[m][r], stored_key=signatures[m][1])
                for m in METRICS
            ]
            sentence = {
                m: get(m).scores(templates[m].metric, arrays[m][r].astype(np.float64)) for m in METRICS
            }
            hyps = [variants[k][i] for i, k in enumerate(picks[r])]
            report = _report(
                name, pair, created, r, refs, sources, hyps, stats, resampled, sentence, s, signatures
            )
            folder = runs_root / report.run_id
            folder.mkdir()
            data = encode(stats)
            report = report.model_copy(
                update={
                    "statistics": {
                        "file": "report.stats.npz",
                        "sha256": sha256(data),
                        "metrics": {st.metric_id: st.key for st in stats},
                    }
                }
            )
            (folder / REPORT_FILE).write_text(
                report.model_dump_json(), encoding="utf-8"
            )  # valid, not canonical
            (folder / "report.stats.npz").write_bytes(data)
            written += 1
    return written


def _report(
    name, pair, created, r, refs, sources, hyps, stats, resampled, sentence, s, signatures
) -> RunReport:
    src, tgt = pair
    compact = created.strftime("%Y%m%dT%H%M%SZ")
    scores = {}
    for st in stats:
        iv = interval_from(resampled[st.metric_id][r], 12345)
        scores[st.metric_id] = ScoreRecord(
            score=st.score,
            signature=signatures[st.metric_id][0],
            verbose=f"{get(st.metric_id).display} = {st.score:.2f}",
            interval=IntervalRecord(
                mean=iv.mean,
                half_width=iv.half_width,
                low=iv.low,
                high=iv.high,
                stdev=iv.stdev,
                n_bootstrap=RESAMPLES,
                seed=12345,
            ),
        )
    digest = hashlib.sha256(f"{name}:{r // 7}".encode()).hexdigest()[:16]  # a new model every 7 runs
    commit = hashlib.sha1(f"commit {r // 5 + s % 3}".encode()).hexdigest()  # noqa: S324 - a fake commit id
    return RunReport(
        run_id=make_run_id(compact, f"{name}/{r}"),
        created=created.isoformat(timespec="milliseconds"),
        testset=TestSetRef(
            name="scale", version="v1", src_lang=src, tgt_lang=tgt, ref_langs=[tgt], segments=len(refs)
        ),
        backend=BackendRef(
            spec=f"file:{name}.txt", name=name, fingerprint={"kind": "file", "digest": digest}
        ),
        command=["evalharness", "run", "--testset", "scale"],
        config={"metrics": list(METRICS), "metric_options": {}, "backend_options": {}, "ci": True},
        harness={"version": "0.1.0", "git_commit": commit},
        libraries={"sacrebleu": "2"},
        platform={"python": "3.11", "system": "Linux", "machine": "x86_64"},
        translation={"cache": "used", "from_cache": 0, "translated": len(hyps), "seconds": 0.1},
        scores=scores,
        sanity={
            "segments": len(hyps),
            "copy_rate": 0.0,
            "wrong_language_rate": 0.0,
            "wrong_language_checked": 0,
            "length_ratio": 1.0,
            "copied": [],
            "wrong_language": [],
            "empty": [],
            "empty_rate": 0.0,
        },
        segments=[
            SegmentRecord(
                id=f"s{i:04d}",
                source=sources[i],
                references=[refs[i]],
                hypothesis=hyps[i],
                scores={m: float(sentence[m][i]) for m in sentence},
            )
            for i in range(len(hyps))
        ],
    )


def build_page(runs_root: Path) -> tuple[str, dict]:
    """The history page as `runs history --format html` makes it, and how long each step took."""
    from evalharness.reports.formats import render
    from evalharness.reports.history import history_page, load_history

    times = {}
    start = time.perf_counter()
    history = load_history(runs_root)
    times["load_history_s"] = time.perf_counter() - start
    start = time.perf_counter()
    page = history_page(history, "runs")
    times["page_s"] = time.perf_counter() - start
    start = time.perf_counter()
    text = render(page, "html")
    times["render_s"] = time.perf_counter() - start
    return text, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--systems", type=int, default=50)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--segments", type=int, default=20)
    parser.add_argument("--out", type=Path, default=None, help="Keep the runs and the page here.")
    args = parser.parse_args()
    work = args.out or Path(tempfile.mkdtemp(prefix="bench-history-"))
    runs_root = work / "runs"
    if runs_root.exists():
        shutil.rmtree(runs_root)
    start = time.perf_counter()
    n = write_history(runs_root, args.systems, args.runs, args.segments)
    generated = time.perf_counter() - start
    page, times = build_page(runs_root)
    path = work / HTML_FILE.replace("report", "history")
    path.write_text(page, encoding="utf-8")
    print(
        f"{n:,} runs ({args.systems} systems x {args.runs}, {args.segments} segments): generated in {generated:.1f} s"
    )
    print(
        f"history: read and tested {times['load_history_s']:.2f} s, page built {times['page_s']:.2f} s, "
        f"HTML rendered {times['render_s']:.2f} s ({len(page.encode()) / 1e6:.1f} MB)"
    )
    sys.path.insert(0, str(ROOT / "tests"))
    from headless import CHROMIUM, LOAD_PROBE, probe

    if CHROMIUM is None:
        print("Chromium not found: page load not measured")
    else:
        found = probe(page, work, LOAD_PROBE)
        print(
            f"Chromium: loaded and laid out in {found['loadedMs'] / 1000:.2f} s (target < 3 s: "
            f"{'met' if found['loadedMs'] < 3000 else 'MISSED'}), "
            f"{len(found['sections'])} sections, errors {found['errors'] or 'none'}"
        )
    print(f"page: {path}")
    if args.out is None:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
