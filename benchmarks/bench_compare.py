"""End-to-end command timings against sacrebleu's command line, on the same files, in one run.

    .venv/bin/python benchmarks/bench_compare.py [--sizes 2000 10000] [--score-segments 30000]
                                                 [--run-segments 2000] [--repeat 3]
                                                 [--only compare|score|run|ter]

Data: `benchmarks/synthetic_mt.py` (Zipfian 20k-word vocabulary, news-length sentences, four
systems damaged at 15-27%). Every number is the wall time of a whole command in a fresh
process, best of `--repeat`, as a user would see it.

1. compare, 4 systems, BLEU + chrF, paired bootstrap n=1000 and approximate randomisation
   n=10,000: `sacrebleu REF -i S0 S1 S2 S3 -m bleu chrf --paired-bs` plus the same with
   `--paired-ar`, against one `evalharness compare RUN0 RUN1 RUN2 RUN3 --metrics bleu,chrf`
   (both tests), (a) on runs whose statistics are not stored (written by an older
   evalharness: the first comparison tokenises everything) and (b) on runs that store them.
   Targets: (a) >= 10x, (b) >= 50x faster.
2. score, 30,000 segments, BLEU + chrF: `sacrebleu REF -i HYP -m bleu chrf -f text` against
   `evalharness score` (process pool on all cores). Target: <= 0.6x sacrebleu's time, with
   identical output lines.
3. run, file backend, 2,000 segments, BLEU + chrF + TER, against sacrebleu scoring the same
   file with the same metrics. Target: <= 1.5x sacrebleu's time (the run also translates
   through the cache, checks sanity, computes per-segment scores and 95% intervals, and
   writes the report).
4. TER against BLEU + chrF: statistics extraction for the same 2,000 segments in one
   process (no pool), ours and sacrebleu's. Target: TER no dearer than BLEU + chrF. Then
   document-level TER (what `document_scores` computes): the same segments joined 20 to a
   document (~270 words) with two pairs of sentences swapped, 10 documents, ours against
   sacrebleu's TER (timed once), statistics checked equal.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.synthetic_mt import write_corpus  # noqa: E402

BIN = Path(sys.executable).parent
PAIR = "en-de"
# As users run commands: Python may cache compiled bytecode (some sandboxes switch that off,
# which would add the compilation of every module to every command, ours and sacrebleu's).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(cmd: list, repeat: int, cwd: Path | None = None, warm: bool = True) -> tuple[float, str]:
    """Best wall time of `repeat` runs of a command, and its stdout. A first, untimed run
    writes our bytecode cache (sacrebleu's was written when pip installed it)."""
    if warm:
        subprocess.run([str(c) for c in cmd], capture_output=True, text=True, cwd=cwd, env=ENV)
    best, out = float("inf"), ""
    for _ in range(repeat):
        start = time.perf_counter()
        proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, cwd=cwd, env=ENV)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"failed: {' '.join(map(str, cmd))}\n{proc.stderr}")
        best, out = min(best, elapsed), proc.stdout
    return best, out


def evalharness(*args) -> list:
    return [BIN / "evalharness", *args]


def sacrebleu(*args) -> list:
    return [BIN / "sacrebleu", *args]


def import_testset(work: Path, files: dict) -> Path:
    """The synthetic source and reference as test set `syn` in `work/references`."""
    refs = work / "references"
    subprocess.run(
        evalharness(
            "testset",
            "import",
            "--lang",
            f"en={files['src']}",
            "--lang",
            f"de={files['ref']}",
            "--name",
            "syn",
            "--references",
            refs,
        ),
        check=True,
        capture_output=True,
    )
    return refs


def run_command(work: Path, hyp: Path, refs: Path, metrics: str, *extra) -> list:
    """`evalharness run` of a hypothesis file on test set `syn`, into `work/runs`."""
    return evalharness(
        "run",
        "--testset",
        "syn",
        "--backend",
        f"file:{hyp}",
        "--pair",
        PAIR,
        "--metrics",
        metrics,
        "--references",
        refs,
        "--runs",
        work / "runs",
        *extra,
    )


def make_runs(work: Path, files: dict, metrics: str) -> list[str]:
    refs = import_testset(work, files)
    ids = []
    for hyp in files["systems"]:
        proc = subprocess.run(
            run_command(work, hyp, refs, metrics, "--no-ci", "--cache", work / "cache.sqlite"),
            check=True,
            capture_output=True,
            text=True,
        )
        ids.append(proc.stdout.strip().splitlines()[-1].split("/")[-2].split()[0])
    return ids


def strip_statistics(runs: Path, ids: list[str], out: Path) -> None:
    """Copies of the runs as an older evalharness wrote them: no stored statistics."""
    for run_id in ids:
        shutil.copytree(runs / run_id, out / run_id)
        (out / run_id / "report.stats.npz").unlink()
        report = json.loads((out / run_id / "report.json").read_text(encoding="utf-8"))
        report["statistics"] = None
        (out / run_id / "report.json").write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")


def bench_compare(n: int, repeat: int, tmp: Path) -> None:
    work = tmp / f"compare{n}"
    files = write_corpus(work / "data", n)
    ids = make_runs(work, files, "bleu,chrf")
    strip_statistics(work / "runs", ids, work / "old-runs")
    systems = [str(p) for p in files["systems"]]
    common = ["-m", "bleu", "chrf", "-f", "text"]
    t_bs, _ = timed(sacrebleu(files["ref"], "-i", *systems, *common, "--paired-bs"), 1, warm=False)
    t_ar, _ = timed(sacrebleu(files["ref"], "-i", *systems, *common, "--paired-ar"), 1, warm=False)
    t_sacre = t_bs + t_ar
    ours = evalharness("compare", *ids, "--metrics", "bleu,chrf")
    t_first, out_first = timed([*ours, "--runs", work / "old-runs"], repeat)
    t_stored, out_stored = timed([*ours, "--runs", work / "runs"], repeat)
    assert "computed from the stored hypotheses" in out_first and "computed from" not in out_stored
    print(
        f"compare, 4 x {n:,} segments, BLEU+chrF, bs 1000 + ar 10000: sacrebleu {t_sacre:6.2f} s "
        f"(bs {t_bs:.2f} + ar {t_ar:.2f}) | evalharness first comparison {t_first:5.2f} s "
        f"-> x{t_sacre / t_first:.1f} (target >= 10) | statistics stored {t_stored:5.2f} s "
        f"-> x{t_sacre / t_stored:.1f} (target >= 50)"
    )
    # What any command must pay before comparing anything: a process that imports the
    # libraries compare needs, and one that also reads the four reports (validated records).
    reports = [str(work / "runs" / run_id / "report.json") for run_id in ids]
    t_libs, _ = timed([sys.executable, "-c", "import numpy, pydantic, typer, sacrebleu"], repeat)
    read = (
        "import sys; from pathlib import Path; from evalharness.reports.store import load_report_file as f; "
        "[f(Path(p)) for p in sys.argv[1:]]"
    )
    t_read, _ = timed([sys.executable, "-c", read, *reports], repeat)
    print(
        f"  floor: importing numpy, pydantic, typer and sacrebleu {t_libs:.2f} s; that plus reading the "
        f"four reports {t_read:.2f} s (x{t_sacre / t_read:.0f} of sacrebleu's time before any work)"
    )


def bench_score(n: int, repeat: int, tmp: Path) -> None:
    files = write_corpus(tmp / f"score{n}", n, n_systems=1)
    hyp, ref = files["systems"][0], files["ref"]
    t_sacre, theirs = timed(sacrebleu(ref, "-i", hyp, "-m", "bleu", "chrf", "-f", "text"), repeat, warm=False)
    t_ours, ours = timed(evalharness("score", "--hyp", hyp, "--ref", ref, "--metrics", "bleu,chrf"), repeat)
    identical = [line.strip() for line in theirs.splitlines()] == [line.strip() for line in ours.splitlines()]
    print(
        f"score, {n:,} segments, BLEU+chrF: sacrebleu {t_sacre:5.2f} s | evalharness {t_ours:5.2f} s "
        f"({os.cpu_count()} cores) -> x{t_ours / t_sacre:.2f} of sacrebleu's time (target <= 0.6); "
        f"output identical: {identical}"
    )
    if not identical:
        print("  sacrebleu:  ", theirs.strip().replace("\n", "\n              "))
        print("  evalharness:", ours.strip().replace("\n", "\n              "))


def bench_run(n: int, repeat: int, tmp: Path) -> None:
    work = tmp / f"run{n}"
    files = write_corpus(work / "data", n, n_systems=1)
    refs = import_testset(work, files)
    hyp = files["systems"][0]
    t_sacre, _ = timed(
        sacrebleu(files["ref"], "-i", hyp, "-m", "bleu", "chrf", "ter", "-f", "text"), repeat, warm=False
    )
    run = run_command(work, hyp, refs, "bleu,chrf,ter", "--no-cache")
    t_run, _ = timed(run, repeat)
    t_run_noci, _ = timed([*run, "--no-ci"], repeat)
    print(
        f"run, file backend, {n:,} segments, BLEU+chrF+TER: sacrebleu {t_sacre:5.2f} s | evalharness run "
        f"{t_run:5.2f} s with 95% intervals -> x{t_run / t_sacre:.2f} (target <= 1.5); "
        f"without intervals {t_run_noci:5.2f} s -> x{t_run_noci / t_sacre:.2f}"
    )


def bench_ter(n: int, tmp: Path) -> None:
    from sacrebleu.metrics import BLEU, CHRF, TER

    from evalharness.metrics.stats import extract

    files = write_corpus(tmp / f"ter{n}", n, n_systems=1)
    hyps = files["systems"][0].read_text(encoding="utf-8").splitlines()
    refs = files["ref"].read_text(encoding="utf-8").splitlines()

    def seconds(fn) -> float:
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - start)
        return best

    ours_ter = seconds(lambda: extract("ter", hyps, [refs], workers=1))
    ours_bc = seconds(lambda: [extract(m, hyps, [refs], workers=1) for m in ("bleu", "chrf")])
    sacre_ter = seconds(lambda: TER()._extract_corpus_statistics(hyps, [refs]))
    sacre_bc = seconds(lambda: [m()._extract_corpus_statistics(hyps, [refs]) for m in (BLEU, CHRF)])
    print(
        f"statistics, {n:,} segments, one process: TER {ours_ter:.2f} s vs BLEU+chrF {ours_bc:.2f} s "
        f"-> x{ours_ter / ours_bc:.2f} (target <= 1) | sacrebleu: TER {sacre_ter:.2f} s, BLEU+chrF "
        f"{sacre_bc:.2f} s (ours: TER x{sacre_ter / ours_ter:.1f}, BLEU+chrF x{sacre_bc / ours_bc:.1f} faster)"
    )
    docs_h, docs_r = [], []
    for start in range(0, min(n, 200), 20):  # 10 documents: sacrebleu takes seconds per document
        order = list(range(start, start + 20))
        order[3], order[4], order[11], order[12] = order[4], order[3], order[12], order[11]
        docs_h.append(" ".join(hyps[i] for i in order))
        docs_r.append(" ".join(refs[start : start + 20]))
    ours_doc = seconds(lambda: extract("ter", docs_h, [docs_r], workers=1))
    start = time.perf_counter()  # once: minutes in all
    theirs = TER()._extract_corpus_statistics(docs_h, [docs_r])
    sacre_doc = time.perf_counter() - start
    same = extract("ter", docs_h, [docs_r], workers=1).array.tolist() == theirs
    words = sum(len(d.split()) for d in docs_h) / len(docs_h)
    print(
        f"document TER, {len(docs_h)} documents of ~{words:.0f} words: ours {ours_doc:.2f} s, sacrebleu "
        f"{sacre_doc:.2f} s -> x{sacre_doc / ours_doc:.1f} faster; statistics {'identical' if same else 'DIFFER'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 10_000])
    parser.add_argument("--score-segments", type=int, default=30_000)
    parser.add_argument("--run-segments", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", choices=["compare", "score", "run", "ter"], help="one of the four timings")
    args = parser.parse_args()
    wanted = {args.only} if args.only else {"compare", "score", "run", "ter"}
    print(
        f"machine: {os.cpu_count()} cores; every time is a whole command in a fresh process, best of {args.repeat}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        if "compare" in wanted:
            for n in args.sizes:
                bench_compare(n, args.repeat, Path(tmp))
        if "score" in wanted:
            bench_score(args.score_segments, args.repeat, Path(tmp))
        if "run" in wanted:
            bench_run(args.run_segments, args.repeat, Path(tmp))
        if "ter" in wanted:
            bench_ter(args.run_segments, Path(tmp))


if __name__ == "__main__":
    main()
