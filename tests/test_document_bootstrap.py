"""Resampling by document (issue 24): segments of one document are not independent, so an
interval drawn over documents is wider where quality varies by document, and it equals the
direct computation (draw documents, concatenate their segments, score with sacrebleu)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import sacrebleu
from conftest import ROOT, run_cli
from test_wmt_xml import write_wmt

from evalharness.metrics.scoring import BOOTSTRAP_SEED, score_all

WORDS = "alfa bravo charlie delta echo foxtrot golf hotel india juliett kilo lima mike november".split()


def _correlated(n_docs: int = 16, per_doc: int = 8):
    """Half the documents translated well, half badly: quality is a property of the document."""
    rng = np.random.default_rng(7)
    refs, hyps, docs = [], [], []
    for d in range(n_docs):
        for _ in range(per_doc):
            ref = " ".join(rng.choice(WORDS, size=8))
            words = ref.split()
            hyp = " ".join(words if d % 2 == 0 else [w[::-1] for w in words[:4]] + words[4:6])
            refs.append(ref)
            hyps.append(hyp)
            docs.append(d)
    return hyps, refs, docs


def test_document_resampling_is_wider_where_documents_differ():
    hyps, refs, docs = _correlated()
    by_segment = score_all(["chrf", "bleu"], hyps, [refs], ci=True, n_bootstrap=300)
    by_document = score_all(["chrf", "bleu"], hyps, [refs], ci=True, n_bootstrap=300, documents=docs)
    for metric in ("chrf", "bleu"):
        assert by_document[metric].score == by_segment[metric].score  # the score itself is the same
        assert by_document[metric].interval.half_width > 1.5 * by_segment[metric].interval.half_width
        assert by_document[metric].signature.endswith("|unit:documents")


@pytest.mark.parametrize("metric", ["chrf", "bleu"])
def test_document_resampling_equals_the_direct_computation(metric):
    hyps, refs, docs = _correlated(10, 5)
    n_docs, b = 10, 120
    ours = score_all([metric], hyps, [refs], ci=True, n_bootstrap=b, documents=docs)[metric].interval
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    draws = rng.choice(n_docs, size=(b, n_docs), replace=True)
    corpus = getattr(sacrebleu, f"corpus_{metric}")
    direct = []
    for row in draws:
        chosen = [i for d in row for i in range(len(docs)) if docs[i] == d]
        direct.append(corpus([hyps[i] for i in chosen], [[refs[i] for i in chosen]]).score)
    ordered = np.sort(direct)
    assert ours.low == pytest.approx(ordered[b // 40], abs=1e-4)
    assert ours.high == pytest.approx(ordered[b - b // 40 - 1], abs=1e-4)
    assert ours.mean == pytest.approx(float(ordered.mean()), abs=1e-4)


def test_run_resamples_documents_of_an_imported_set_and_refuses_a_set_without(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_wmt(tmp_path / "t.xml")
    assert run_cli("testset", "import-wmt", "t.xml", "--name", "ours", "--no-systems").returncode == 0
    args = ["run", "--testset", "ours", "--pair", "sv-hi", "--backend", "passthrough", "--metrics", "chrf"]
    proc = run_cli(*args, "--resample", "documents")
    assert proc.returncode == 0, proc.stderr
    folder = next(p for p in (tmp_path / "runs").iterdir() if not p.name.startswith("."))
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert report["config"]["resample"] == "documents"
    assert report["scores"]["chrf"]["signature"].endswith("|unit:documents")
    proc = run_cli(*args, "--resample", "paragraphs")
    assert proc.returncode == 2 and "unknown resampling unit" in proc.stderr
    proc = run_cli(
        "run", "--testset", "hoalu", *args[3:], "--resample", "documents", "--references", ROOT / "references"
    )
    assert proc.returncode == 2 and "has one document" in proc.stderr, proc.stderr


def test_paired_tests_over_documents_equal_the_direct_computation():
    """compare's paired bootstrap and approximate randomisation with whole documents drawn
    and swapped: the same p-values as drawing documents, concatenating their segments and
    scoring both systems with sacrebleu (and swapping documents between the systems)."""
    from evalharness.metrics.significance import compare_many

    hyps_a, refs, docs = _correlated(10, 5)
    # better on two documents, worse on two others: swaps move the difference both ways
    hyps_b = [
        r if d in (1, 3) else " ".join(w[::-1] for w in h.split()) if d in (0, 2) else h
        for h, r, d in zip(hyps_a, refs, docs, strict=True)
    ]
    n_docs, b, trials = 10, 200, 300
    a = score_all(["chrf"], hyps_a, [refs])["chrf"].stats
    s = score_all(["chrf"], hyps_b, [refs])["chrf"].stats
    [res] = compare_many({"chrf": [a.by_documents(docs), s.by_documents(docs)]}, b, trials)[0]["chrf"]
    real = sacrebleu.corpus_chrf(hyps_b, [refs]).score - sacrebleu.corpus_chrf(hyps_a, [refs]).score
    assert res.delta == pytest.approx(real, abs=1e-9)

    def pick(rows):
        return [i for d in rows for i in range(len(docs)) if docs[i] == d]

    draws = np.random.default_rng(BOOTSTRAP_SEED).choice(n_docs, size=(b, n_docs), replace=True)
    diffs = []
    for row in draws:
        chosen = pick(row)
        ref = [[refs[i] for i in chosen]]
        diffs.append(
            sacrebleu.corpus_chrf([hyps_b[i] for i in chosen], ref).score
            - sacrebleu.corpus_chrf([hyps_a[i] for i in chosen], ref).score
        )
    sample = np.abs(diffs)
    p_boot = (np.sum(sample - sample.mean() > abs(real)) + 1) / (b + 1)
    assert res.p_bootstrap == pytest.approx(p_boot, abs=1.5 / (b + 1))
    swaps = np.random.default_rng(BOOTSTRAP_SEED).integers(2, size=(trials, n_docs), dtype=bool)
    above = 0
    for row in swaps:
        swapped = {d for d in range(n_docs) if row[d]}
        x = [hyps_b[i] if docs[i] in swapped else hyps_a[i] for i in range(len(docs))]
        y = [hyps_a[i] if docs[i] in swapped else hyps_b[i] for i in range(len(docs))]
        diff = abs(sacrebleu.corpus_chrf(y, [refs]).score - sacrebleu.corpus_chrf(x, [refs]).score)
        above += diff > abs(real) + 1e-9  # sacrebleu counts strictly greater differences
    assert res.p_randomization == pytest.approx((above + 1) / (trials + 1), abs=1.5 / (trials + 1))
    # drawing segments instead claims more certainty than the documents allow
    [by_segment] = compare_many({"chrf": [a, s]}, b, trials)[0]["chrf"]
    assert by_segment.p_bootstrap < res.p_bootstrap


def test_run_can_report_both_units(tmp_path, monkeypatch):
    """`--resample both`: the segment interval as usual, and the documents' beside it, equal
    to what `--resample documents` gives; the page shows both."""
    monkeypatch.chdir(tmp_path)
    write_wmt(tmp_path / "t.xml")
    assert run_cli("testset", "import-wmt", "t.xml", "--name", "ours", "--no-systems").returncode == 0
    args = ["run", "--testset", "ours", "--pair", "sv-hi", "--backend", "passthrough", "--metrics", "chrf"]
    reports = {}
    for unit in ("segments", "documents", "both"):
        proc = run_cli(*args, "--resample", unit, "--name", unit)
        assert proc.returncode == 0, proc.stderr
    for folder in (tmp_path / "runs").iterdir():
        if not folder.name.startswith("."):
            report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
            reports[report["backend"]["name"]] = (report, folder)
    both, folder = reports["both"]
    chrf = both["scores"]["chrf"]
    assert both["config"]["resample"] == "both"
    assert chrf["interval"] == reports["segments"][0]["scores"]["chrf"]["interval"]
    assert chrf["document_interval"] == reports["documents"][0]["scores"]["chrf"]["interval"]
    assert not chrf["signature"].endswith("|unit:documents")
    page = (folder / "report.md").read_text(encoding="utf-8")
    assert "95% interval over documents" in page and "over segments, and over documents" in page


def test_identical_systems_are_one_cluster_in_all_pairs():
    """Two systems with the same output are not tested (p = 1): they share a cluster, and a
    clearly different third one is apart."""
    from evalharness.metrics.significance import all_pairs

    hyps, refs, _ = _correlated(6, 5)
    other = [" ".join(reversed(h.split())) for h in hyps]
    stats = [score_all(["chrf"], h, [refs])["chrf"].stats for h in (hyps, list(hyps), other)]
    result = all_pairs(stats, n_bootstrap=200, n_ar=200)
    same = next(c for c in result.cells if (c.a, c.b) == (0, 1))
    assert same.p_bootstrap == 1.0 and same.p_randomization == 1.0 and not same.significant
    assert sorted(result.clusters[0]) == [0, 1] and result.clusters[1] == [2]
