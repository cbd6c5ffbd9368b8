"""Terminology checking: accuracy on injected errors, and speed.

    .venv/bin/python benchmarks/bench_terms.py [--concepts 1000] [--segments 100000] [--langs sv hi pl]

1. Accuracy (benchmarks/injected_terms.py): for Swedish, Hindi and Polish, 180 segments per
   language: 120 with one injected error (30 of each kind: deprecated; misspelled in the
   first, middle or last letter; untranslated; missing) and 60 correct, with terms in real
   inflected forms. Precision and recall of the four flag kinds. Target: each >= 0.95.
2. Speed: a 1,000-concept glossary against 100,000 segments. Synthetic but realistic in
   shape: 1,000 concepts with terms of one to three words in three languages (preferred,
   admitted and deprecated), and segments of 12-30 words drawn from a 20,000-word
   vocabulary, a tenth of them carrying a term (some inflected, some misspelt). The
   baseline, measured in the same run, is the naive approach the index replaces: one
   compiled regular expression per term, run over every segment.
Target: at least 20,000 segments/s for the harness.
"""

from __future__ import annotations

import argparse
import random
import re
import string
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.injected_terms import KINDS, score  # noqa: E402
from benchmarks.injected_terms import build as build_injected  # noqa: E402
from evalharness.terminology.checks import check_segments  # noqa: E402
from evalharness.terminology.glossary import load_glossary  # noqa: E402


def accuracy(langs: list[str]) -> None:
    found_all: set = set()
    expected_all: set = set()
    for lang in langs:
        case = build_injected(lang)
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
        precision, recall = score(found, case.expected)
        per_kind = ", ".join(
            f"{k} {len({e for e in case.expected & found if e[2] == k})}/{len({e for e in case.expected if e[2] == k})}"
            for k in KINDS
        )
        print(
            f"{lang}: {len(case.expected)} injected errors in {len(case.hypotheses)} segments; "
            f"precision {precision:.3f}, recall {recall:.3f} (found per kind: {per_kind})"
        )
        found_all |= {(lang, *f) for f in found}
        expected_all |= {(lang, *e) for e in case.expected}
    precision, recall = score(found_all, expected_all)
    ok = precision >= 0.95 and recall >= 0.95
    print(
        f"all: {len(expected_all)} injected errors; precision {precision:.3f}, recall {recall:.3f}; "
        f"target >= 0.95 each: {'met' if ok else 'MISSED'}"
    )


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
    args = parser.parse_args()
    print("1) accuracy on injected errors")
    accuracy(args.langs)
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
