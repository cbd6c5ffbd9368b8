"""Terminology checking: accuracy on injected errors, speed, and the start of `terms check`.

    .venv/bin/python benchmarks/bench_terms.py [--concepts 1000] [--segments 100000] [--langs sv hi pl]
                                               [--seeds 1] [--parts accuracy variants speed cli]

1. Accuracy (benchmarks/injected_terms.py): for Swedish, Hindi and Polish, 180 segments per
   language: 120 with one injected error (30 of each kind: deprecated; misspelled in the
   first, middle or last letter; untranslated; missing) and 60 correct, with terms in real
   inflected forms. Precision and recall of the four flag kinds, per kind and overall.
   Target: each >= 0.95. `variants`: the same with terms written as running text also
   writes them (sentence start, capitals, hyphens, compounds; inflected English sources).
2. Speed: a 1,000-concept glossary against 100,000 segments. Synthetic but realistic in
   shape: 1,000 concepts with terms of one to three words in three languages (preferred,
   admitted and deprecated), and segments of 12-30 words drawn from a 20,000-word
   vocabulary, a tenth of them carrying a term (some inflected, some misspelt). The
   baseline, measured in the same run, is the naive approach the index replaces: one
   compiled regular expression per term, run over every segment.
Target: at least 20,000 segments/s for the harness.
3. Start (`cli`): `evalharness terms check` on three lines of Polish with a three-concept
   glossary, as a user runs it: cold (no lexicon index on disk: it is built and kept) and
   warm (the index read from disk). Target: warm under 1 s.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import string
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.injected_terms import KINDS  # noqa: E402
from benchmarks.injected_terms import build as build_injected  # noqa: E402
from evalharness.terminology.checks import check_segments  # noqa: E402
from evalharness.terminology.glossary import load_glossary  # noqa: E402


def accuracy(langs: list[str], seeds: int = 1, variants: bool = False) -> None:
    counts: Counter = Counter()  # (lang, kind, tp|fp|fn)
    for lang in langs:
        for seed in range(seeds):
            case = build_injected(lang, seed=seed, variants=variants)
            path = Path(tempfile.mkdtemp()) / "glossary.tsv"
            path.write_text(case.glossary_tsv, encoding="utf-8")
            report = check_segments(
                case.hypotheses,
                lang,
                load_glossary(path),
                sources=[[s] for s in case.sources],
                source_langs={"en"},
            )
            found = {(f.segment, f.concept, f.kind) for f in report.flags if f.kind in KINDS}
            for kind in KINDS:
                want = {e for e in case.expected if e[2] == kind}
                got = {f for f in found if f[2] == kind}
                counts[lang, kind, "tp"] += len(want & got)
                counts[lang, kind, "fp"] += len(got - want)
                counts[lang, kind, "fn"] += len(want - got)
        print(f"{lang}: {seeds * 120} injected errors in {seeds * 180} segments")
        for kind in KINDS:
            print(f"  {kind:<13} {_pr(counts, [lang], [kind])}")
        print(f"  {'all':<13} {_pr(counts, [lang], KINDS)}")
    for kind in KINDS:
        print(f"all {kind:<13} {_pr(counts, langs, [kind])}")
    tp, fp, fn = _sums(counts, langs, KINDS)
    precision, recall = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    ok = precision >= 0.95 and recall >= 0.95
    print(
        f"all: {tp + fn} injected errors; precision {precision:.3f}, recall {recall:.3f}; "
        f"target >= 0.95 each: {'met' if ok else 'MISSED'}"
    )


def _sums(counts: Counter, langs, kinds) -> tuple[int, int, int]:
    return tuple(sum(counts[lang, k, what] for lang in langs for k in kinds) for what in ("tp", "fp", "fn"))


def _pr(counts: Counter, langs, kinds) -> str:
    tp, fp, fn = _sums(counts, langs, kinds)
    return (
        f"precision {tp / max(tp + fp, 1):.3f} recall {tp / max(tp + fn, 1):.3f}  "
        f"(found {tp} of {tp + fn}, {fp} wrong)"
    )


GLOSSARY_PL = """concepts:
  - id: benign-neoplasm
    terms:
      en: [benign neoplasm]
      pl: [nowotwór łagodny, {term: guz niezłośliwy, status: deprecated}]
  - id: carcinogenesis
    terms:
      en: [carcinogenesis]
      pl: [karcynogeneza, {term: rakotwórczość, status: deprecated}]
  - id: cell
    terms:
      en: [cell]
      pl: [komórka]
"""
TEXT_PL = """Nowotwór łagodny rośnie powoli i nie daje przerzutów, a karcynogeneza jest procesem wieloetapowym.
Guz niezłośliwy bywa usuwany chirurgicznie; komórki nowotworu łagodnego przypominają zdrowe komórki.
Badania nad karcynogenezą pokazują, że rakotwórczość zależy od wielu czynników środowiskowych.
"""


def cli_start(warm_runs: int = 5) -> None:
    """Wall time of `evalharness terms check` in a fresh process: cold, then warm."""
    work = Path(tempfile.mkdtemp())
    (work / "g.yaml").write_text(GLOSSARY_PL, encoding="utf-8")
    (work / "text.pl").write_text(TEXT_PL, encoding="utf-8")
    env = {**os.environ, "EVALHARNESS_LEXICON_CACHE": str(work / "cache")}
    args = [
        sys.executable,
        "-m",
        "evalharness",
        "terms",
        "check",
        "text.pl",
        "--lang",
        "pl",
        "--glossary",
        "g.yaml",
    ]

    def once() -> float:
        start = time.perf_counter()
        proc = subprocess.run(args, cwd=work, env=env, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"terms check failed: {proc.stderr.strip()}")
        return seconds

    floor = min(_timed([sys.executable, "-m", "evalharness", "--version"], work, env) for _ in range(3))
    cold = once()
    size = sum(f.stat().st_size for f in (work / "cache").iterdir()) / 1e6
    warm = [once() for _ in range(warm_runs)]
    print(
        f"terms check, 3 lines of Polish: cold {cold:.2f} s (builds the lexicon index, {size:.0f} MB on disk); "
        f"warm median {statistics.median(warm):.2f} s, best {min(warm):.2f} s of {warm_runs}; "
        f"`evalharness --version` alone {floor:.2f} s; target warm < 1 s: "
        f"{'met' if statistics.median(warm) < 1 else 'MISSED'}"
    )


def _timed(args: list[str], cwd: Path, env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(args, cwd=cwd, env=env, capture_output=True, check=True)
    return time.perf_counter() - start


def word(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 11)))


def build(n_concepts: int, n_segments: int, seed: int = 0):
    rng = random.Random(seed)
    vocab = list({word(rng) for _ in range(20_000)})
    rows = ["concept\tlang\tstatus\tterm"]
    english_terms = []
    for c in range(n_concepts):
        for lang in ("en", "sv", "hi"):
            for status in ("preferred", "admitted", "deprecated")[: rng.randint(1, 3)]:
                term = " ".join(word(rng) for _ in range(rng.randint(1, 3)))
                rows.append(f"c{c}\t{lang}\t{status}\t{term}")
                if lang == "en":
                    english_terms.append(term)
    segments = []
    for _ in range(n_segments):
        words = [rng.choice(vocab) for _ in range(rng.randint(12, 30))]
        if rng.random() < 0.1:
            term = rng.choice(english_terms)
            if rng.random() < 0.3:
                term += "s"  # inflected
            elif rng.random() < 0.2:
                k = rng.randrange(len(term))
                term = term[:k] + "x" + term[k + 1 :]  # misspelt
            words.insert(rng.randrange(len(words)), term)
        segments.append(" ".join(words))
    return "\n".join(rows) + "\n", segments


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--concepts", type=int, default=1000)
    parser.add_argument("--segments", type=int, default=100_000)
    parser.add_argument(
        "--baseline-segments", type=int, default=5_000, help="the regex baseline is slow: time a sample"
    )
    parser.add_argument(
        "--langs", nargs="+", default=["sv", "hi", "pl"], help="languages of the accuracy part"
    )
    parser.add_argument("--seeds", type=int, default=1, help="injected sets per language (seeds 0..N-1)")
    parser.add_argument(
        "--parts",
        nargs="+",
        default=["accuracy", "variants", "speed", "cli"],
        choices=["accuracy", "variants", "speed", "cli"],
    )
    args = parser.parse_args()
    if "accuracy" in args.parts:
        print("1) accuracy on injected errors")
        accuracy(args.langs, args.seeds)
    if "variants" in args.parts:
        print("1b) accuracy on injected errors, terms written as running text writes them")
        accuracy(args.langs, args.seeds, variants=True)
    if "cli" in args.parts:
        print("3) start of `terms check`")
        cli_start()
    if "speed" not in args.parts:
        return
    print("2) speed")
    tsv, segments = build(args.concepts, args.segments)
    path = Path(tempfile.mkdtemp()) / "glossary.tsv"
    path.write_text(tsv, encoding="utf-8")
    glossary = load_glossary(path)
    print(f"{len(glossary.concepts)} concepts, {len(glossary.terms)} terms, {len(segments)} segments")

    start = time.perf_counter()
    report = check_segments(segments, "en", glossary)
    seconds = time.perf_counter() - start
    rate = len(segments) / seconds
    print(
        f"evalharness check_segments: {seconds:6.2f} s  {rate:9.0f} segments/s  ({len(report.flags)} flags, {report.occurrences} occurrences)"
    )

    patterns = [re.compile(r"\b" + re.escape(t.text) + r"\b", re.IGNORECASE) for t in glossary.terms]
    sample = segments[: args.baseline_segments]
    start = time.perf_counter()
    hits = sum(1 for s in sample for p in patterns if p.search(s))
    base_rate = len(sample) / (time.perf_counter() - start)
    print(
        f"baseline, one regex per term (exact matches only): {base_rate:9.0f} segments/s ({hits} hits in {len(sample)})"
    )
    print(
        f"ratio evalharness/baseline: x{rate / base_rate:.1f}; target >= 20,000 segments/s: {'met' if rate >= 20_000 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
