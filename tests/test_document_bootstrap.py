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
