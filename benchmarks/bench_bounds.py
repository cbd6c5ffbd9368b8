"""Resource bounds under careless or hostile input (issue 23): time that grows linearly,
memory that stays bounded, or a refusal naming the limit.

    .venv/bin/python benchmarks/bench_bounds.py

1. A YAML glossary with one 30,000-key mapping against one of 10,000 keys (the duplicate-key
   check was quadratic: 7.6x). Target: ratio <= 3.6 (linear, 20% slack).
2. `terms check` of 200 lines against a 100,000-term glossary (50,000 concepts in two
   languages) against a 50,000-term one (it did not finish in a minute). Targets: ratio
   <= 2.4 and under 60 s.
3. `testset import` of 1,000,000 short lines per language (4 GB and 51 s before): refused
   with the limit, under 5 s and 500 MB; and the largest import allowed (100,000 lines) in
   under 1 GB.
Each command runs in a process of its own; memory is that process's peak resident set.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _cli(*args: object, cwd: Path) -> tuple[float, float, subprocess.CompletedProcess]:
    """(seconds, peak MB of that process alone, process) of `evalharness ARGS`."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-m", "evalharness", *map(str, args)], stdout=out, stderr=err, cwd=cwd
        )
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        proc = subprocess.CompletedProcess(args, child.returncode, out.read(), err.read())
    return seconds, usage.ru_maxrss / 1024, proc


def _words(rng: random.Random, n: int) -> str:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return " ".join("".join(rng.choice(letters) for _ in range(rng.randint(3, 9))) for _ in range(n))


def yaml_mapping(work: Path) -> bool:
    times = {}
    for keys in (10_000, 30_000):
        path = work / f"map{keys}.yaml"
        body = "".join(f"    k{k}: v\n" for k in range(keys))
        path.write_text("concepts:\n  - id: c\n    terms:\n      en: [x]\n" + body, encoding="utf-8")
        from evalharness.terminology.glossary import load_glossary

        start = time.perf_counter()
        load_glossary(path)
        times[keys] = time.perf_counter() - start
    ratio = times[30_000] / times[10_000]
    print(
        f"YAML mapping: 10,000 keys {times[10_000]:.2f} s, 30,000 keys {times[30_000]:.2f} s: ratio {ratio:.2f} (target <= 3.6)"
    )
    return ratio <= 3.6


def big_glossary(work: Path) -> bool:
    rng = random.Random(1)
    for name in ("text.sv", "text.en"):
        (work / name).write_text("".join(_words(rng, 20) + "\n" for _ in range(200)), encoding="utf-8")
    times = {}
    for concepts in (25_000, 50_000):
        path = work / f"g{concepts}.yaml"
        rows = (
            f'  - id: c{i}\n    terms:\n      en: ["{_words(rng, 2)} {i}"]\n      sv: ["{_words(rng, 2)} s{i}"]\n'
            for i in range(concepts)
        )
        path.write_text("concepts:\n" + "".join(rows), encoding="utf-8")
        seconds, peak, proc = _cli(
            "terms",
            "check",
            "text.sv",
            "--lang",
            "sv",
            "--glossary",
            path.name,
            "--src",
            "text.en",
            "--src-lang",
            "en",
            cwd=work,
        )
        assert proc.returncode == 0, proc.stderr
        times[concepts] = seconds
        print(f"terms check, 200 lines, {2 * concepts:,} terms: {seconds:.1f} s, {peak:.0f} MB peak")
    ratio = times[50_000] / times[25_000]
    print(
        f"  ratio 100,000 / 50,000 terms: {ratio:.2f} (target <= 2.4); 100,000 terms in {times[50_000]:.1f} s (target < 60)"
    )
    return ratio <= 2.4 and times[50_000] < 60


def big_import(work: Path) -> bool:
    ok = True
    for lines, refused in ((1_000_000, True), (100_000, False)):
        for lang, word in (("sv", "Hej värld nummer"), ("en", "Hello world number")):
            with (work / f"m.{lang}").open("w", encoding="utf-8") as fh:
                fh.writelines(f"{word} {i}.\n" for i in range(lines))
        seconds, peak, proc = _cli(
            "testset",
            "import",
            "--lang",
            "sv=m.sv",
            "--lang",
            "en=m.en",
            "--name",
            f"n{lines}",
            "--references",
            "refs",
            cwd=work,
        )
        if refused:
            good = (
                proc.returncode == 2
                and "EVALHARNESS_MAX_SEGMENTS" in proc.stderr
                and seconds < 5
                and peak < 500
            )
            print(
                f"import {lines:,} lines: exit {proc.returncode} in {seconds:.1f} s, {peak:.0f} MB peak: {proc.stderr.strip()}"
            )
        else:
            good = proc.returncode == 0 and peak < 1024
            print(
                f"import {lines:,} lines: exit {proc.returncode} in {seconds:.1f} s, {peak:.0f} MB peak (target < 1 GB)"
            )
        ok = ok and good
    return ok


def main() -> int:
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        results = [yaml_mapping(work), big_glossary(work), big_import(work)]
    print("all targets met" if all(results) else "a target was missed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
