"""Re-segmentation: a segment-level output joined per document and put back onto the
reference segments must score what the segment-level output scores.

    .venv/bin/python benchmarks/bench_resegment.py

Cases (none written by us as system output):
1. retranslation: benchmarks/data/retranslation (six New Testament chapters; references are
   the Open English Bible's verses, the "system" is the Berean Standard Bible, translated
   independently from the Greek, its verses joined per chapter). Its sentences run across
   verse boundaries, as a paragraph-level LLM's do.
2. news_dev: benchmarks/data/news_dev (en, sv, hi; nine reports cut into documents of 7-8
   units) with outputs made by damaging the references at 10, 30 and 50% of words
   (benchmarks/synthetic_mt.py: substitutions, deletions, insertions, local swaps), and the
   same at 30% with every third pair of sentences merged into one (a system that joins
   sentences: the n-1 case).
3. seeds: the seed article's Swedish and Hindi lines (one document), damaged at 30%.

For each: corpus BLEU and chrF of the segment-level output, and the change after joining
and re-segmenting with ours (`corpus.resegment.resegment`) and with the baseline
(`split_by_edit_distance`, mwerSegmenter's idea: one minimum-edit-distance alignment of the
tokens), measured in the same run; how many segments got exactly their own output back;
the mean absolute change of sentence chrF (what segment-level metrics and COMET see).
Target: |change| <= 0.3 BLEU and chrF for ours in every case.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import sacrebleu  # noqa: E402
from synthetic_mt import system  # noqa: E402

from evalharness.corpus.embed import default_encoder  # noqa: E402
from evalharness.corpus.ingest import read_document  # noqa: E402
from evalharness.corpus.resegment import resegment, split_by_edit_distance  # noqa: E402

DATA = ROOT / "benchmarks" / "data"
TARGET = 0.3


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def _merge_sentences(outputs: list[str], every: int = 3) -> list[str]:
    """Every `every`-th output's final full stop (or danda) becomes a comma and the next one's
    first letter lower case: the joined text has one sentence where the references have two."""
    out = list(outputs)
    for i in range(0, len(out) - 1, every):
        if re.search(r"[.।]$", out[i]) and out[i + 1]:
            out[i] = out[i][:-1] + ","
            out[i + 1] = out[i + 1][:1].lower() + out[i + 1][1:]
    return out


def cases() -> list[tuple[str, str, list[str], list[str], list[list[int]]]]:
    """(name, language, references, segment-level outputs, documents as index lists)."""
    out = []
    folder = DATA / "retranslation"
    refs, hyps, docs = (_lines(folder / f) for f in ("a.txt", "b.txt", "docs.txt"))
    groups: dict[str, list[int]] = {}
    for i, doc in enumerate(docs):
        groups.setdefault(doc, []).append(i)
    out.append(("retranslation OEB<-BSB", "en", refs, hyps, list(groups.values())))
    for lang in ("en", "sv", "hi"):
        refs = [ln for ln in _lines(DATA / "news_dev" / f"{lang}.txt") if ln.strip()]
        docs = [list(range(i, min(i + 8, len(refs)))) for i in range(0, len(refs), 8)]
        for damage in (0.1, 0.3, 0.5):
            out.append((f"news_dev {lang} {damage:.0%} damaged", lang, refs, system(refs, damage, 7), docs))
        merged = _merge_sentences(system(refs, 0.3, 7))
        out.append((f"news_dev {lang} 30% + merged", lang, refs, merged, docs))
    for lang, name in (("sv", "000_46ff231d867e4b0c.txt"), ("hi", "001_22db494995b66e38.txt")):
        refs = [ln.text for ln in read_document(ROOT / "seeds" / name).nonblank()][:10]
        out.append((f"seed article {lang} 30% damaged", lang, refs, system(refs, 0.3, 11), [list(range(10))]))
    return out


def scores(hyps: list[str], refs: list[str]) -> tuple[float, float]:
    return sacrebleu.corpus_bleu(hyps, [refs]).score, sacrebleu.corpus_chrf(hyps, [refs]).score


def mean_sentence_change(placed: list[str], hyps: list[str], refs: list[str]) -> float:
    diffs = [
        abs(sacrebleu.sentence_chrf(p, [r]).score - sacrebleu.sentence_chrf(h, [r]).score)
        for p, h, r in zip(placed, hyps, refs, strict=True)
    ]
    return sum(diffs) / len(diffs)


def main() -> int:
    encoder = default_encoder()
    header = (
        f"{'case':34} {'BLEU':>6} {'chrF':>6} | {'ours ΔBLEU':>10} {'ΔchrF':>6} {'exact':>7} "
        f"{'|Δseg|':>6} {'s':>5} | {'edit-dist ΔBLEU':>15} {'ΔchrF':>6} {'exact':>7} {'|Δseg|':>6}"
    )
    print(header)
    failures = []
    for name, lang, refs, hyps, docs in cases():
        ours, base = [""] * len(refs), [""] * len(refs)
        start = time.perf_counter()
        for group in docs:
            joined = " ".join(hyps[i] for i in group)
            for i, piece in zip(
                group, resegment([refs[i] for i in group], joined, lang, encoder), strict=True
            ):
                ours[i] = piece.text
        seconds = time.perf_counter() - start
        for group in docs:
            joined = " ".join(hyps[i] for i in group)
            for i, piece in zip(group, split_by_edit_distance([refs[i] for i in group], joined), strict=True):
                base[i] = piece
        seg, mine, theirs = scores(hyps, refs), scores(ours, refs), scores(base, refs)
        d_ours = (mine[0] - seg[0], mine[1] - seg[1])
        d_base = (theirs[0] - seg[0], theirs[1] - seg[1])
        exact_ours = sum(a == b for a, b in zip(ours, hyps, strict=True))
        exact_base = sum(a == b for a, b in zip(base, hyps, strict=True))
        print(
            f"{name:34} {seg[0]:6.2f} {seg[1]:6.2f} | {d_ours[0]:+10.2f} {d_ours[1]:+6.2f} "
            f"{exact_ours:3d}/{len(refs):<3d} {mean_sentence_change(ours, hyps, refs):6.2f} {seconds:5.1f} | "
            f"{d_base[0]:+15.2f} {d_base[1]:+6.2f} {exact_base:3d}/{len(refs):<3d} "
            f"{mean_sentence_change(base, hyps, refs):6.2f}"
        )
        if max(abs(d_ours[0]), abs(d_ours[1])) > TARGET:
            failures.append(name)
    print(
        f"\ntarget |Δ| <= {TARGET} BLEU and chrF for ours: "
        + ("met" if not failures else f"MISSED: {failures}")
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
