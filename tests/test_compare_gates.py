"""Paired significance identical to sacrebleu's; comparisons refuse what is not comparable;
gates pass an unchanged system, pass a tiny non-significant change with the explanation,
and fail a degraded one with a readable pytest message."""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT
from sacrebleu.metrics import BLEU, CHRF, TER
from sacrebleu.significance import PairedTest
from test_metrics import corpus

from evalharness.corpus.store import load_testset
from evalharness.errors import UserError
from evalharness.evaluate import RunRequest, run_evaluation
from evalharness.gates.config import load_gates
from evalharness.gates.runner import baseline_of, run_gate, update_baseline
from evalharness.metrics.significance import compare_stats
from evalharness.metrics.stats import extract
from evalharness.reports.compare import compare_runs
from evalharness.reports.comparison_page import comparison_page
from evalharness.reports.formats import render

CLASSES = {"bleu": BLEU, "chrf": CHRF, "ter": TER}


def _systems():
    hyps, refs, _ = corpus(n=120, seed=11)
    rng = random.Random(4)
    close = list(hyps)  # a small change: one word less in two segments
    for i in (5, 50):
        close[i] = " ".join(close[i].split()[1:])
    far = [" ".join(w for w in h.split() if rng.random() < 0.6) for h in hyps]
    return hyps, refs, close, far


@pytest.mark.parametrize("metric", ["bleu", "chrf", "ter"])
def test_paired_tests_match_sacrebleu_exactly(metric):
    hyps, refs, close, far = _systems()
    ours = compare_stats(
        extract(metric, hyps, [refs]), [extract(metric, close, [refs]), extract(metric, far, [refs])]
    )
    for test_type in ("bs", "ar"):
        pt = PairedTest(
            [("base", hyps), ("close", close), ("far", far)],
            {metric: CLASSES[metric]()},
            references=[refs],
            test_type=test_type,
        )
        _, scores = pt()
        theirs = list(scores.values())[1][1:]
        for mine, res in zip(ours, theirs, strict=True):
            assert mine.system == res.score
            if test_type == "bs":
                assert mine.p_bootstrap == res.p_value
                assert mine.mean == pytest.approx(float(res.mean), rel=1e-6)
                assert mine.half_width == pytest.approx(float(res.ci), rel=1e-5, abs=1e-6)
            else:
                assert mine.p_randomization == res.p_value
    assert 0.01 < ours[0].p_bootstrap or 0.01 < ours[0].p_randomization  # the small change is not clear-cut
    assert ours[1].p_bootstrap < 0.01  # the large one is


@pytest.fixture
def workspace(tmp_path):
    """A repo-like folder with the seed test set and file-backend systems of our making."""
    work = tmp_path / "w"
    shutil.copytree(ROOT / "references", work / "references")
    ts = load_testset(work / "references", "hoalu")
    refs = [s.text["hi"] for s in ts.pair("sv", "hi")]
    (work / "good.txt").write_text("\n".join(refs) + "\n", encoding="utf-8")
    tiny = list(refs)
    tiny[3] = tiny[3].replace("जागरूकता", "समझ", 1)
    (work / "tiny.txt").write_text("\n".join(tiny) + "\n", encoding="utf-8")
    (work / "bad.txt").write_text("\n".join("यह कुछ और है" for _ in refs) + "\n", encoding="utf-8")
    (work / "gates.toml").write_text(
        'references = "references"\nruns = "runs/gates"\n[[gate]]\nname = "sys"\nbackend = "file:current.txt"\n'
        'testset = "hoalu"\npair = "sv-hi"\nbaseline = "baselines/sys.json"\n'
        f'glossary = "{ROOT / "references" / "glossary" / "hoalu.yaml"}"\n'
        '[gate.rules]\nmax_drop = { bleu = 1.0, chrf = 1.0 }\nno_new_flags = ["deprecated", "untranslated"]\nmax_copy_rate = 0.0\n',
        encoding="utf-8",
    )
    old = os.getcwd()
    os.chdir(work)
    shutil.copy("good.txt", "current.txt")
    cfg = load_gates(work / "gates.toml")
    update_baseline(cfg, cfg.gates[0])
    yield work, cfg
    os.chdir(old)


def _judge(work, cfg, system):
    shutil.copy(work / f"{system}.txt", work / "current.txt")
    return run_gate(cfg, cfg.gates[0]).decisions


def test_unchanged_system_passes(workspace):
    decisions = _judge(*workspace, "good")
    assert all(d.passed for d in decisions), decisions
    assert "unchanged" in decisions[0].message


def test_tiny_change_passes_and_says_why(workspace):
    decisions = _judge(*workspace, "tiny")
    bleu = next(d for d in decisions if d.rule == "max_drop[bleu]")
    assert (
        bleu.passed
        and "not significant" in bleu.message
        and "this test set can detect differences of about" in bleu.message
    )


def test_degraded_system_fails(workspace):
    decisions = _judge(*workspace, "bad")
    failed = {d.rule for d in decisions if not d.passed}
    assert {"max_drop[bleu]", "max_drop[chrf]"} <= failed
    bleu = next(d for d in decisions if d.rule == "max_drop[bleu]")
    assert "significant drop" in bleu.message and "p < 0.001" in bleu.message  # never "p = 0.001"


def test_baseline_update_keeps_the_old_id(workspace):
    work, cfg = workspace
    old = baseline_of(cfg, cfg.gates[0]).run_id
    update_baseline(cfg, cfg.gates[0])
    new = baseline_of(cfg, cfg.gates[0]).report
    assert new.replaces_baseline == old and new.run_id != old


def test_plugin_reports_a_failing_gate_as_a_sentence(workspace):
    work, _ = workspace
    shutil.copy(work / "bad.txt", work / "current.txt")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "gates.toml", "-q", "-p", "no:cacheprovider"],
        cwd=work,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 1, proc.stdout
    assert "gate sys failed: bleu: baseline 100.00, current" in proc.stdout
    assert "a significant drop of" in proc.stdout and "Traceback" not in proc.stdout
    assert "passed" in proc.stdout and "failed" in proc.stdout  # max_copy_rate and no_new_flags still pass
    # and what to do about it: the page of the new run, a ready compare command, the one update
    assert re.search(r"current run: runs/gates/\d{8}T\d{6}Z-[0-9a-f]{8}/report\.html", proc.stdout)
    command = re.search(
        r"see what changed: (evalharness compare baselines/sys\.json \S+ --format html --out \S+)",
        proc.stdout,
    )
    assert command and "evalharness gate --only sys --update-baseline" in proc.stdout
    args = command.group(1).split()[1:]
    shown = subprocess.run(
        [sys.executable, "-m", "evalharness", *args],
        cwd=work,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert shown.returncode == 0, shown.stderr
    page = (work / args[-1]).read_text(encoding="utf-8")
    assert "Scores against the baseline" in page and "worse" in page


def test_compare_refuses_what_is_not_comparable(workspace):
    work, cfg = workspace
    base = baseline_of(cfg, cfg.gates[0]).report
    other_version = base.model_copy(
        update={"testset": base.testset.model_copy(update={"version": "0123456789ab"})}
    )
    with pytest.raises(UserError, match="scores on different segments are not comparable"):
        compare_runs([base, other_version])
    other_pair = base.model_copy(update={"testset": base.testset.model_copy(update={"tgt_lang": "en"})})
    with pytest.raises(UserError, match="different language pairs"):
        compare_runs([base, other_pair])
    scores = dict(base.scores)
    scores["bleu"] = scores["bleu"].model_copy(
        update={"signature": scores["bleu"].signature.replace("tok:13a", "tok:intl")}
    )
    with pytest.raises(UserError, match="signatures differ"):
        compare_runs([base, base.model_copy(update={"scores": scores})])


def test_compare_many_runs_and_formats(workspace):
    work, _ = workspace
    ts = load_testset(work / "references", "hoalu")
    reports = []
    for name in ("good", "tiny", "bad"):
        req = RunRequest(
            testset=ts,
            backend_spec=f"file:{name}.txt",
            src="sv",
            tgt="hi",
            metrics=("bleu", "chrf"),
            name=f"<b>{name}</b>",
        )
        reports.append(run_evaluation(req, work / "runs", work / "c.sqlite")[0])
    comp = compare_runs(reports, n_ar=200)
    rows = {(m.metric, m.run_id): m for m in comp.metrics}
    assert rows[("bleu", reports[2].run_id)].delta < -50 and rows[("bleu", reports[2].run_id)].significant
    page = comparison_page(comp)
    text = render(page, "text")
    assert "worse" in text and "Segments that moved most" in text
    html = render(page, "html")
    assert "<b>bad</b>" not in html and "&lt;b&gt;bad&lt;/b&gt;" in html
    import json

    facts = {f["label"]: f["value"] for f in json.loads(render(page, "json"))["facts"]}
    assert reports[0].run_id in facts["baseline"]
