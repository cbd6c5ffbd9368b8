"""Scores must be sacrebleu's, number for number and signature for signature."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import numpy as np
import pytest
import sacrebleu
from conftest import run_cli
from sacrebleu.metrics import BLEU, CHRF, TER

from evalharness.errors import UserError
from evalharness.metrics import scoring
from evalharness.metrics.registry import build_metric, parse_metrics, parse_options
from evalharness.metrics.sanity import sanity_checks
from evalharness.metrics.scoring import resample_indices, score_all

SACREBLEU_CLASSES = {
    "bleu": (BLEU, {}),
    "chrf": (CHRF, {}),
    "chrf++": (CHRF, {"word_order": 2}),
    "ter": (TER, {}),
}


def corpus(n=150, seed=1, words=None):
    rng = random.Random(seed)
    words = words or "the a cat dog sat on mat big small red house car tree , . !".split()
    refs = [" ".join(rng.choice(words) for _ in range(rng.randint(3, 14))) for _ in range(n)]
    hyps = [" ".join(w if rng.random() < 0.7 else rng.choice(words) for w in r.split()) for r in refs]
    refs2 = [" ".join(reversed(r.split())) for r in refs]
    return hyps, refs, refs2


@pytest.mark.parametrize("metric", ["bleu", "chrf", "chrf++", "ter"])
@pytest.mark.parametrize("nrefs", [1, 2])
def test_corpus_scores_and_signatures_match_sacrebleu(metric, nrefs):
    hyps, refs, refs2 = corpus()
    streams = [refs, refs2][:nrefs]
    ours = score_all([metric], hyps, streams)[metric]
    cls, kw = SACREBLEU_CLASSES[metric]
    theirs = cls(**kw)
    expected = theirs.corpus_score(hyps, streams)
    assert ours.score == expected.score
    assert ours.signature.split("|", 1)[1] == str(theirs.get_signature())


@pytest.mark.parametrize(
    "options, lang, expected_tok",
    [
        ({}, None, "13a"),
        ({}, "zh", "zh"),
        ({"tokenize": "intl"}, None, "intl"),
        ({"tokenize": "char"}, "sv", "char"),
        ({"tokenize": "none"}, None, "none"),
        ({"lowercase": True}, "hi", "13a"),
    ],
)
def test_bleu_tokenizer_choice_follows_sacrebleu(options, lang, expected_tok):
    words = "我们 今天 去 学校 。 他 喜欢 猫 和 狗".split() if lang == "zh" else None
    hyps, refs, _ = corpus(words=words)
    ours = score_all(["bleu"], hyps, [refs], lang, options)["bleu"]
    theirs = BLEU(trg_lang=lang or "", **options)
    assert ours.score == theirs.corpus_score(hyps, [refs]).score
    assert f"tok:{expected_tok}" in ours.signature and ours.signature.endswith(
        str(theirs.get_signature()).split("|")[-1]
    )


@pytest.mark.parametrize("metric", ["bleu", "chrf", "chrf++", "ter"])
def test_bootstrap_interval_matches_sacrebleu(metric):
    hyps, refs, refs2 = corpus(n=120, seed=3)
    ours = score_all([metric], hyps, [refs, refs2], ci=True)[metric]
    cls, kw = SACREBLEU_CLASSES[metric]
    theirs = cls(**kw)
    expected = theirs.corpus_score(hyps, [refs, refs2], n_bootstrap=1000)
    assert ours.interval.mean == pytest.approx(float(expected._mean), rel=1e-6)
    assert ours.interval.half_width == pytest.approx(float(expected._ci), rel=1e-5, abs=1e-6)
    assert ours.signature.split("|", 1)[1] == str(theirs.get_signature())  # bs:1000|seed:12345 recorded
    assert ours.detectable_difference > 0


@pytest.mark.parametrize("chunk_bytes", [8 << 20, 8 * 77 * 3, 1])  # 256, 3 (odd draws per chunk), 1 resample
def test_chunked_resampling_draws_exactly_sacrebleus_indices(chunk_bytes, monkeypatch):
    monkeypatch.setattr(scoring, "_CHUNK_BYTES", chunk_bytes)
    whole = np.random.default_rng(12345).choice(77, size=(1000, 77), replace=True)
    chunks = list(resample_indices(77, 1000))
    assert len(chunks) == {8 << 20: 4, 8 * 77 * 3: 334, 1: 1000}[chunk_bytes]
    assert np.array_equal(np.concatenate(chunks), whole)


def test_segment_scores_match_sacrebleu_sentence_scores():
    hyps, refs, _ = corpus(n=30)
    ours = score_all(["bleu", "chrf", "ter"], hyps, [refs])
    for i in range(30):
        assert ours["bleu"].segment_scores[i] == pytest.approx(
            sacrebleu.sentence_bleu(hyps[i], [refs[i]]).score
        )
        assert ours["chrf"].segment_scores[i] == pytest.approx(
            sacrebleu.sentence_chrf(hyps[i], [refs[i]]).score
        )
        assert ours["ter"].segment_scores[i] == pytest.approx(
            sacrebleu.sentence_ter(hyps[i], [refs[i]]).score
        )


def test_score_cli_matches_sacrebleus_command_line(tmp_path):
    hyps, refs, refs2 = corpus(n=200, seed=7)
    for name, lines in (("hyp", hyps), ("ref", refs), ("ref2", refs2)):
        (tmp_path / f"{name}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    sacre = subprocess.run(
        [
            sys.executable,
            "-m",
            "sacrebleu",
            tmp_path / "ref.txt",
            tmp_path / "ref2.txt",
            "-i",
            tmp_path / "hyp.txt",
            "-m",
            "bleu",
            "chrf",
            "ter",
            "--confidence",
            "-f",
            "json",
            "-l",
            "en-sv",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert sacre.returncode == 0, sacre.stderr
    theirs = {d["name"]: d for d in json.loads(sacre.stdout)}
    proc = run_cli(
        "score",
        "--hyp",
        tmp_path / "hyp.txt",
        "--ref",
        tmp_path / "ref.txt",
        "--ref",
        tmp_path / "ref2.txt",
        "--metrics",
        "bleu,chrf,ter",
        "--ci",
        "--format",
        "json",
        "--lang-pair",
        "en-sv",
    )
    assert proc.returncode == 0, proc.stderr
    ours = json.loads(proc.stdout)  # chrF intervals included: must be valid JSON
    for metric, name in (("bleu", "BLEU"), ("chrf", "chrF2"), ("ter", "TER")):
        assert round(ours[metric]["score"], 1) == theirs[name]["score"]
        assert ours[metric]["signature"] == f"{name}|{theirs[name]['signature']}"
        assert round(ours[metric]["interval"]["mean"], 1) == theirs[name]["confidence_mean"]
        assert round(ours[metric]["interval"]["half_width"], 1) == theirs[name]["confidence_var"]
    text = run_cli("score", "--hyp", tmp_path / "hyp.txt", "--ref", tmp_path / "ref.txt", "--metrics", "bleu")
    plain = subprocess.run(
        [
            sys.executable,
            "-m",
            "sacrebleu",
            tmp_path / "ref.txt",
            "-i",
            tmp_path / "hyp.txt",
            "-m",
            "bleu",
            "-f",
            "text",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert text.stdout.strip() == plain.stdout.strip()


def test_options_and_metric_names():
    assert parse_metrics("BLEU, chrf++") == ["bleu", "chrf++"]
    with pytest.raises(UserError, match="unknown metric 'meteor'"):
        parse_metrics("bleu,meteor")
    assert parse_options(["tokenize=intl", "lowercase=true", "char-order=4"]) == {
        "tokenize": "intl",
        "lowercase": True,
        "char_order": 4,
    }
    with pytest.raises(UserError, match="cannot set up bleu"):
        build_metric("bleu", None, {"tokenize": "ja-mecab-nonexistent"})


def test_sanity_checks_catch_copies_empties_and_wrong_language():
    src = [
        "Den 8 september höll distriktet en konferens om rörelsen.",
        "Hej då, vi ses i morgon bitti.",
        "Tack.",
    ]
    refs = ["8 सितंबर को जिले ने आंदोलन पर एक सम्मेलन आयोजित किया।", "अलविदा, कल सुबह मिलते हैं।", "धन्यवाद।"]
    copy = sanity_checks(src, src, refs, "hi")
    assert copy.copy_rate == 1.0 and copy.wrong_language_rate == 1.0 and copy.copied == [0, 1, 2]
    good = sanity_checks(src, refs, refs, "hi")
    assert good.copy_rate == 0.0 and good.wrong_language_rate == 0.0 and good.length_ratio == 1.0
    broken = sanity_checks(src, ["", refs[1], ""], refs, "hi")
    assert broken.empty == [0, 2] and broken.empty_rate == pytest.approx(2 / 3)


@pytest.mark.parametrize("lang, tok", [("ja", "ja-mecab"), ("ko", "ko-mecab")])
def test_japanese_and_korean_targets_pick_mecab_or_say_what_is_missing(lang, tok):
    try:
        metric = build_metric("bleu", lang)
    except UserError as exc:  # the mecab tokenizers need extra packages (sacrebleu[ja] / [ko])
        message = str(exc)
        assert "\n" not in message and f"sacrebleu[{lang}]" in message
    else:
        assert f"tok:{tok}" in str(metric.get_signature())


@pytest.mark.parametrize("options", [{}, {"word_order": 2}, {"beta": 3}, {"char_order": 4}])
def test_vectorised_chrf_is_bit_identical_to_sacrebleu(options):
    from evalharness.metrics.scoring import scores_from_sums
    from evalharness.metrics.stats import extract

    hyps, refs, _ = corpus(n=200, seed=8)
    stats = extract("chrf", hyps, [refs], None, options)
    rows = np.concatenate(
        [stats.array, stats.array[:50].cumsum(axis=0)]
    )  # single segments (some empty orders) and sums
    expected = [stats.metric._compute_score_from_stats(r).score for r in rows]
    assert scores_from_sums(stats, rows).tolist() == [float(x) for x in expected]


def test_score_with_several_hypothesis_files_scores_each(tmp_path):
    """`score --hyp a --hyp b`: each file scored on its own (not the last one only), named."""
    import sacrebleu

    refs = ["the cat sat on the mat", "a dog barked loudly", "it rained all day"]
    a = ["the cat sat on a mat", "a dog barked", "it rained all day"]
    b = ["cat mat", "dog", "rain"]
    for name, lines in (("ref.txt", refs), ("a.txt", a), ("b.txt", b)):
        (tmp_path / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    args = ["--ref", tmp_path / "ref.txt", "--metrics", "bleu,chrf"]
    proc = run_cli(
        "score", "--hyp", tmp_path / "a.txt", "--hyp", tmp_path / "b.txt", *args, "--format", "json"
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    for name, hyps in (("a.txt", a), ("b.txt", b)):
        ours = data[str(tmp_path / name)]
        assert ours["bleu"]["score"] == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs]).score, abs=1e-9)
        assert ours["chrf"]["score"] == pytest.approx(sacrebleu.corpus_chrf(hyps, [refs]).score, abs=1e-9)
    text = run_cli("score", "--hyp", tmp_path / "a.txt", "--hyp", tmp_path / "b.txt", *args).stdout
    assert sum(line.startswith(str(tmp_path / "a.txt") + ": BLEU") for line in text.splitlines()) == 1
    assert sum(line.startswith(str(tmp_path / "b.txt") + ": chrF2") for line in text.splitlines()) == 1
    (tmp_path / "short.txt").write_text("x\n", encoding="utf-8")
    bad = run_cli("score", "--hyp", tmp_path / "a.txt", "--hyp", tmp_path / "short.txt", *args)
    assert bad.returncode == 2 and "short.txt: has 1 lines but" in bad.stderr
