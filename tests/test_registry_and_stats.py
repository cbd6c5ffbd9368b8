"""The metric registry, stored statistics, parallel extraction, vectorised scoring and
approximate randomisation, the fast TER and the all-pairs view: each must give sacrebleu's
numbers exactly, and stored statistics must give what recomputation gives."""

from __future__ import annotations

import ast
import random
import shutil

import numpy as np
import pytest
from conftest import ROOT, run_cli
from sacrebleu.metrics import BLEU, CHRF, TER
from sacrebleu.significance import PairedTest
from test_metrics import corpus

from evalharness.corpus.store import load_testset
from evalharness.errors import UserError
from evalharness.evaluate import RunRequest, run_evaluation
from evalharness.metrics import significance
from evalharness.metrics.bleu import Fast13a, FastBLEU
from evalharness.metrics.chrf import FastCHRF
from evalharness.metrics.registry import METRICS, get, parse_options
from evalharness.metrics.significance import adjust, all_pairs, clusters, randomization_p
from evalharness.metrics.stats import Job, extract, extract_many
from evalharness.metrics.ter import FastTER
from evalharness.reports.compare import compare_runs
from evalharness.reports.statistics import LoadedRun
from evalharness.reports.store import load_run

SACREBLEU = {
    "bleu": lambda: BLEU(),
    "chrf": lambda: CHRF(),
    "chrf++": lambda: CHRF(word_order=2),
    "ter": lambda: TER(),
}


# ---------------------------------------------------------------- the registry


def test_only_the_registry_names_a_metrics_direction():
    """No module but the registry may decide that a metric is better when lower."""
    offenders = []
    for path in (ROOT / "evalharness").rglob("*.py"):
        if path.name == "registry.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value in ("ter", "TER", "bleu", "chrf", "chrf++"):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
            if isinstance(node, ast.Name | ast.Attribute):
                name = node.id if isinstance(node, ast.Name) else node.attr
                if "lower_is_better" in name:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {name}")
    assert offenders == []


STRING_METRICS = {m: spec for m, spec in METRICS.items() if spec.model is None}  # sacrebleu's


def test_registry_entries_are_complete():
    for metric_id, spec in METRICS.items():
        assert spec.id == metric_id and spec.display and spec.description
    for metric_id, spec in STRING_METRICS.items():
        metric = spec.build("sv")
        hyps, refs, _ = corpus(n=20)
        stats = extract(metric_id, hyps, [refs])
        assert stats.score == SACREBLEU[metric_id]().corpus_score(hyps, [refs]).score
        assert spec.class_name.endswith(f":{type(metric).__name__}")
        assert isinstance(metric, type(SACREBLEU[metric_id]()))  # a sacrebleu metric, or a subclass of one
    assert not get("ter").higher_is_better and get("ter").better(-1.0) and get("bleu").better(1.0)


@pytest.mark.parametrize(
    "pairs, needle",
    [
        (["tokenise=intl"], "unknown metric option 'tokenise'"),
        (["lowercase=maybe"], "lowercase='maybe': expected true or false"),
        (["char_order=-1"], "must not be negative"),
        (["char_order=x"], "expected a whole number"),
        (["noequals"], "is not KEY=VALUE"),
    ],
)
def test_metric_options_are_checked_against_real_parameters(pairs, needle):
    with pytest.raises(UserError, match=needle):
        parse_options(pairs)


def test_options_of_another_metric_are_refused_for_the_metrics_asked():
    assert parse_options(["char_order=4"], ["chrf"]) == {"char_order": 4}
    with pytest.raises(UserError, match="unknown metric option 'char_order' for bleu"):
        parse_options(["char_order=4"], ["bleu"])


# ---------------------------------------------------------------- vectorised scoring


@pytest.mark.parametrize(
    "metric_id, options",
    [
        ("bleu", {}),
        ("bleu", {"smooth_method": "floor"}),
        ("bleu", {"smooth_method": "none"}),
        ("bleu", {"smooth_method": "add-k"}),
        ("bleu", {"max_ngram_order": 2}),
        ("chrf", {}),
        ("chrf++", {}),
        ("chrf", {"eps_smoothing": True}),
        ("ter", {}),
    ],
)
def test_vectorised_scores_are_sacrebleus_for_float32_and_count_sums(metric_id, options):
    hyps, refs, _ = corpus(n=200, seed=5)
    stats = extract(metric_id, hyps, [refs], None, options)
    rng = np.random.default_rng(1)
    counts = np.stack(
        [np.bincount(rng.integers(0, 200, rng.integers(1, 200)), minlength=200) for _ in range(150)]
    )
    rows = np.concatenate([stats.array.astype(np.float64), counts @ stats.array.astype(np.float64)])
    for dtype in (np.float32, np.float64):
        arr = rows.astype(dtype)
        expected = [float(stats.metric._compute_score_from_stats(r.copy()).score) for r in arr]
        exact = get(metric_id).scores(stats.metric, arr)
        assert exact.tolist() == expected
        fast = get(metric_id).scores(stats.metric, arr, exact=False)
        assert np.allclose(fast, expected, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- TER


def test_fast_ter_gives_sacrebleus_statistics():
    rng = random.Random(3)
    vocab = "a b c d e f".split()
    hyps, refs = [], []
    for n in range(300):  # short vocabularies make many equal-cost paths and shifts
        refs.append(" ".join(rng.choice(vocab) for _ in range(rng.randint(0, 25))))
        hyps.append(" ".join(rng.choice(vocab) for _ in range(rng.randint(0, 60 if n % 15 == 0 else 20))))
    for n in (1, 2):  # a reference over 50 times longer than the hypothesis widens the beam
        refs.append(" ".join(rng.choice(vocab) for _ in range(60 * n)))
        hyps.append(" ".join(rng.choice(vocab) for _ in range(n)))
    for _ in range(12):  # long segments: the beam binds on both sides, shifts span over 50 words
        long, short = rng.randint(55, 90), rng.randint(1, 30)
        ref_len, hyp_len = (long, short) if rng.random() < 0.5 else (short, long)
        refs.append(" ".join(rng.choice(vocab) for _ in range(ref_len)))
        hyps.append(" ".join(rng.choice(vocab) for _ in range(hyp_len)))
    hyps2, refs2, _ = corpus(n=300, seed=9)
    for h, r in ((hyps, refs), (hyps2, refs2)):
        for options in ({}, {"case_sensitive": True}, {"normalized": True, "no_punct": True}):
            ours = FastTER(**options)._extract_corpus_statistics(h, [r])
            assert ours == TER(**options)._extract_corpus_statistics(h, [r])


def test_fast_ter_gives_sacrebleus_statistics_on_documents():
    """Whole documents (about 110 words, sentences out of order): long hypotheses, many
    candidate shifts, each scored from the rows of the unshifted hypothesis."""
    hyps, refs, _ = corpus(n=24, seed=5)
    docs_h, docs_r = [], []
    for d in range(2):
        order = list(range(12 * d, 12 * d + 12))
        order[2], order[3], order[5], order[6] = order[3], order[2], order[6], order[5]
        docs_h.append(" ".join(hyps[i] for i in order))
        docs_r.append(" ".join(refs[12 * d : 12 * d + 12]))
    ours = FastTER()._extract_corpus_statistics(docs_h, [docs_r])
    assert ours == TER()._extract_corpus_statistics(docs_h, [docs_r])
    assert all(edits > 0 for edits, _ in ours)


def test_fast_chrf_gives_sacrebleus_statistics():
    rng = random.Random(1)
    alphabet = list("abcAB,.!() ") + ["é", "ß", "中", "\U0001f600", "\u00a0"]
    hyps, refs, refs2 = (
        ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 25))) for _ in range(300)]
        for _ in range(3)
    )
    text_h, text_r, text_r2 = corpus(n=300, seed=4)
    for h, streams in (
        (hyps, [refs]),
        (hyps, [refs, refs2]),
        (text_h, [text_r]),
        (text_h, [text_r, text_r2]),
    ):
        for options in ({}, {"word_order": 2}, {"lowercase": True, "whitespace": True}, {"char_order": 3}):
            ours = FastCHRF(**options)._extract_corpus_statistics(h, streams)
            assert ours == CHRF(**options)._extract_corpus_statistics(h, streams), options


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"lowercase": True},
        {"tokenize": "intl"},
        {"tokenize": "char"},
        {"tokenize": "none"},
        {"max_ngram_order": 2},
    ],
)
def test_fast_bleu_gives_sacrebleus_statistics(options):
    rng = random.Random(2)
    vocab = "a b c A . , - 1 2 ( ) é &amp; <skipped> 中".split()

    def lines():
        return [" ".join(rng.choice(vocab) for _ in range(rng.randint(0, 12))) for _ in range(200)]

    hyps, r1, r2, r3 = lines(), lines(), lines(), lines()
    text_h, text_r, text_r2 = corpus(n=200, seed=6)
    for h, streams in ((hyps, [r1]), (hyps, [r1, r2, r3]), (text_h, [text_r]), (text_h, [text_r, text_r2])):
        ours = FastBLEU(**options)._extract_corpus_statistics(h, streams)
        assert ours == BLEU(**options)._extract_corpus_statistics(h, streams)


def test_fast_13a_tokenizer_is_sacrebleus():
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

    rng = random.Random(0)
    pieces = (
        [chr(c) for c in range(32, 127)] + list("éß中\u00a0\n\t") + ["&quot;", "&amp;", "<skipped>", "-\n"]
    )
    ours, theirs = Fast13a(), Tokenizer13a()
    for _ in range(5000):
        line = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))
        assert ours(line) == theirs(line)


# ---------------------------------------------------------------- extraction


def test_systems_sharing_references_are_extracted_together_with_the_same_result():
    hyps, refs, refs2 = corpus(n=1600, seed=22)
    rng = random.Random(3)
    systems = [
        hyps,
        [" ".join(reversed(h.split())) for h in hyps],
        [h if rng.random() < 0.5 else "" for h in hyps],
    ]
    streams = [refs, refs2]
    for workers in (1, 2):
        together = extract_many(
            [Job(m, h, streams) for m in ("bleu", "chrf++") for h in systems], workers=workers
        )
        for k, stats in enumerate(together):
            alone = extract(stats.metric_id, systems[k % 3], [refs, refs2], workers=1)
            assert np.array_equal(stats.array, alone.array) and stats.signature == alone.signature


def test_parallel_extraction_equals_serial():
    hyps, refs, refs2 = corpus(n=1600, seed=21)
    jobs = [Job(m, hyps, [refs, refs2]) for m in STRING_METRICS]
    serial = extract_many(jobs, workers=1)
    parallel = extract_many(jobs, workers=2)
    for a, b in zip(serial, parallel, strict=True):
        assert a.array.dtype == b.array.dtype and np.array_equal(a.array, b.array)
        assert a.signature == b.signature and a.score == b.score


# ---------------------------------------------------------------- significance


def _systems(n=150, seed=11):
    hyps, refs, _ = corpus(n=n, seed=seed)
    rng = random.Random(4)
    words = sorted({w for r in refs for w in r.split()})
    similar = [" ".join(w if rng.random() < 0.7 else rng.choice(words) for w in r.split()) for r in refs]
    one_word = list(hyps)  # differs from the baseline in a single segment: many exact ties
    one_word[7] = " ".join(one_word[7].split()[1:])
    far = [" ".join(w for w in h.split() if rng.random() < 0.7) for h in hyps]
    return refs, [hyps, one_word, far, similar]


@pytest.mark.parametrize("metric_id", ["bleu", "chrf", "ter"])
def test_randomisation_p_values_are_sacrebleus_in_chunks(metric_id, monkeypatch):
    refs, systems = _systems()
    monkeypatch.setattr(significance, "_AR_BLOCK_BYTES", 4 * len(refs) * 64)  # at most 64 trials per chunk
    assert significance._ar_chunk(len(refs), 3, 18) <= 64
    stats = [extract(metric_id, h, [refs]) for h in systems]
    ours = randomization_p(stats, [(0, 1), (0, 2), (1, 2)], 10_000)
    for (i, j), p in zip([(0, 1), (0, 2), (1, 2)], ours, strict=True):
        test = PairedTest(
            [("a", systems[i]), ("b", systems[j])], {metric_id: SACREBLEU[metric_id]()}, [refs], "ar"
        )
        _, scores = test()
        assert p == list(scores.values())[1][1].p_value, (i, j)


@pytest.mark.parametrize(
    ("n_trials", "n_segments", "chunk"), [(10_000, 150, 64), (1000, 2001, 96), (77, 33, 32), (5, 7, 32)]
)
def test_ar_draws_are_numpys_boolean_draws(n_trials, n_segments, chunk):
    """The unpacked raw stream equals sacrebleu's `rng.integers(2, size=..., dtype=bool)`,
    across chunks that leave half of a 64-bit output pending and a last partial chunk."""
    expected = np.random.default_rng(12345).integers(2, size=(n_trials, n_segments), dtype=bool)
    got = np.concatenate(list(significance.ar_draws(n_trials, n_segments, 12345, chunk)))
    assert got.dtype == np.uint8 and got.shape == expected.shape
    assert np.array_equal(got.astype(bool), expected)


@pytest.mark.parametrize("metric_id", ["bleu", "chrf", "ter"])
def test_all_pairs_bootstrap_p_values_are_sacrebleus(metric_id):
    refs, systems = _systems(n=120, seed=2)
    stats = [extract(metric_id, h, [refs]) for h in systems]
    matrix = all_pairs(stats, n_ar=0)
    for cell in matrix.cells:
        test = PairedTest(
            [("a", systems[cell.a]), ("b", systems[cell.b])],
            {metric_id: SACREBLEU[metric_id]()},
            [refs],
            "bs",
        )
        _, scores = test()
        assert cell.p_bootstrap == list(scores.values())[1][1].p_value


def test_holm_bonferroni_and_clusters():
    assert adjust([0.01, 0.04, 0.03, 0.5], "holm") == pytest.approx([0.04, 0.09, 0.09, 0.5])
    assert adjust([0.01, 0.04], "bonferroni") == [0.02, 0.08]
    assert adjust([0.2, 0.01], "none") == [0.2, 0.01]
    sig = {(0, 1): False, (0, 2): True, (1, 2): True, (0, 3): True, (1, 3): True, (2, 3): False}
    assert clusters([30.0, 29.5, 20.0, 19.0], sig, True) == [[0, 1], [2, 3]]
    assert clusters([30.0, 29.5, 20.0, 19.0], sig, False) == [[3, 2], [1, 0]]  # lower is better
    assert clusters([1.0, 2.0], {(0, 1): False}, True) == [[1, 0]]


def test_all_pairs_separates_a_bad_system():
    refs, (base, _, far, similar) = _systems()
    stats = [extract("chrf", h, [refs]) for h in (base, similar, far)]
    matrix = all_pairs(stats, n_ar=2000)
    assert matrix.test == "approximate randomisation" and matrix.correction == "holm"
    assert sorted(map(sorted, matrix.clusters)) == [[0, 1], [2]] and matrix.clusters[-1] == [2]
    far_cells = [c for c in matrix.cells if 2 in (c.a, c.b)]
    assert all(c.significant and c.p_adjusted >= c.p_randomization for c in far_cells)


# ---------------------------------------------------------------- stored statistics


@pytest.fixture(scope="module")
def three_runs(tmp_path_factory):
    work = tmp_path_factory.mktemp("stored")
    ts = load_testset(ROOT / "references", "hoalu")
    refs = [s.text["hi"] for s in ts.pair("sv", "hi")]
    rng = random.Random(5)
    reports = []
    for n in range(3):
        hyps = [" ".join(w for w in r.split() if rng.random() < 0.9 - 0.2 * n) for r in refs]
        (work / f"h{n}.txt").write_text("\n".join(hyps) + "\n", encoding="utf-8")
        req = RunRequest(
            ts, f"file:{work / f'h{n}.txt'}", "sv", "hi", metrics=("bleu", "chrf", "ter"), name=f"s{n}"
        )
        reports.append(run_evaluation(req, work / "runs", work / "c.sqlite")[0])
    return work / "runs", [r.run_id for r in reports]


def test_runs_store_their_statistics(three_runs):
    runs, ids = three_runs
    run = load_run(runs, ids[0])
    assert run.note is None and set(run.report.statistics["metrics"]) == {"bleu", "chrf", "ter"}
    assert (runs / ids[0] / "report.stats.npz").is_file()
    assert len(run.stored) == 3 and all(len(a) == 10 for a in run.stored.values())


def test_stored_statistics_give_what_recomputation_gives(three_runs, monkeypatch):
    runs, ids = three_runs
    stored = [load_run(runs, i) for i in ids]
    fresh = [LoadedRun(r.report, r.path, stored={}) for r in stored]  # as if nothing were stored
    a = compare_runs(stored, n_ar=500, pairs=True)
    b = compare_runs(fresh, n_ar=500, pairs=True)
    assert a.metrics == b.metrics and a.all_pairs == b.all_pairs
    assert not a.notes and any("computed from the stored hypotheses" in n for n in b.notes)

    from evalharness.metrics import stats as stats_module

    def no_tokenising(*args, **kwargs):
        raise AssertionError("stored statistics were not used")

    monkeypatch.setattr(stats_module, "extract_many", no_tokenising)
    monkeypatch.setattr("evalharness.reports.statistics.extract_many", no_tokenising)
    compare_runs([load_run(runs, i) for i in ids], n_ar=100)  # reads, never tokenises


def test_tampered_statistics_are_recomputed_and_said(three_runs, tmp_path):
    runs, ids = three_runs
    copy = tmp_path / ids[1]
    shutil.copytree(runs / ids[1], copy)
    (copy / "report.stats.npz").write_bytes(b"not an npz")
    run = load_run(tmp_path, ids[1])
    assert run.stored == {} and "do not match the report's checksum" in run.note
    comp = compare_runs([load_run(runs, ids[0]), run], n_ar=100)
    assert any("checksum" in n for n in comp.notes)


def test_compare_a_metric_the_runs_were_not_scored_with(three_runs):
    runs, ids = three_runs
    proc = run_cli("compare", ids[0], ids[1], "--metrics", "chrf++", "--ar-trials", "200", "--runs", runs)
    assert proc.returncode == 0, proc.stderr
    assert "chrf++: computed from the stored hypotheses and references" in proc.stdout
    bad = run_cli("compare", ids[0], ids[1], "--metrics", "nist", "--runs", runs)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "unknown metric 'nist'" in bad.stderr


def test_compare_all_pairs_prints_the_matrix_and_clusters(three_runs):
    runs, ids = three_runs
    proc = run_cli("compare", *ids, "--all-pairs", "--metrics", "chrf", "--ar-trials", "500", "--runs", runs)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "all pairs, chrf: row minus column, approximate randomisation p-value with Holm-Bonferroni" in out
    assert "Clusters, best first" in out and "{A" in out
