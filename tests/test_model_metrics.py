"""Model metrics through the harness: runs with COMET scores and intervals, comparisons and
gates from stored statistics (no model loaded), the score cache (only changed segments are
scored again), offline behaviour (a missing checkpoint is one line with the fetch command),
significance on model scores, xCOMET's spans in reports and pages."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, run_cli

from evalharness.corpus.store import load_testset
from evalharness.errors import ModelUnavailable, UserError
from evalharness.evaluate import RunRequest, run_evaluation
from evalharness.gates.rules import metric_drop
from evalharness.metrics.neural.metric import ScoringContext, loaded_models, release_models
from evalharness.metrics.registry import get, parse_metric_list, parse_request
from evalharness.metrics.scoring import score_all
from evalharness.metrics.significance import BOOTSTRAP_SEED, compare_many, compare_stats
from evalharness.reports.compare import compare_runs
from evalharness.reports.comparison_page import comparison_page
from evalharness.reports.formats import render
from evalharness.reports.run_page import run_page
from evalharness.reports.statistics import LoadedRun
from evalharness.reports.store import load_run_file

DATA = ROOT / "tests" / "data" / "neural"
COMET = str(DATA / "comet-tiny")
XCOMET = str(DATA / "xcomet-tiny")


@pytest.fixture
def work(tmp_path):
    """The seed test set, and hypothesis files: the references ("good"), the references cut
    in half ("half"), and the good ones with one segment in ten changed ("tenth")."""
    shutil.copytree(ROOT / "references", tmp_path / "references")
    ts = load_testset(tmp_path / "references", "hoalu")
    refs = [s.text["hi"] for s in ts.pair("sv", "hi")]
    (tmp_path / "good.txt").write_text("\n".join(refs) + "\n", encoding="utf-8")
    (tmp_path / "half.txt").write_text("\n".join(r[: len(r) // 2] for r in refs) + "\n", encoding="utf-8")
    tenth = list(refs)
    tenth[3] = " ".join(tenth[3].split()[::-1])
    (tmp_path / "tenth.txt").write_text("\n".join(tenth) + "\n", encoding="utf-8")
    return tmp_path


def _run(work: Path, name: str, metrics=("bleu", "chrf", "comet"), options=None, **kw):
    request = RunRequest(
        testset=load_testset(work / "references", "hoalu"),
        backend_spec=f"file:{work / f'{name}.txt'}",
        src="sv",
        tgt="hi",
        metrics=tuple(metrics),
        metric_options={"comet_model": COMET, **(options or {})},
        name=name,
        **kw,
    )
    report, folder = run_evaluation(request, work / "runs", work / "runs" / ".cache" / "t.sqlite")
    return LoadedRun(report, folder / "report.json")


def test_run_scores_comet_with_an_interval_and_records_how(work):
    result = run_cli(
        "run", "--testset", "hoalu", "--backend", f"file:{work / 'good.txt'}", "--pair", "sv-hi",
        "--metrics", f"bleu,chrf,comet={COMET}", "--runs", work / "runs", "--references", work / "references",
        "--cache", work / "c.sqlite", cwd=work,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    [folder] = [p for p in (work / "runs").iterdir() if not p.name.startswith(".")]
    run = load_run_file(folder / "report.json")
    sc = run.report.scores["comet"]
    assert sc.interval is not None and sc.interval.low <= sc.score <= sc.interval.high
    assert sc.signature.startswith("COMET|model:comet-tiny|sha:") and "|mode:ref|" in sc.signature
    assert "scale:100" in sc.signature and "bs:1000" in sc.signature
    record = run.report.model_scoring["comet"]
    assert record.segments == 10 and record.scored == 10 and record.from_cache == 0
    assert record.digest.startswith(sc.signature.split("sha:")[1][:12])
    assert all(0 < s.scores["comet"] < 200 for s in run.report.segments)
    mean = np.mean([s.scores["comet"] for s in run.report.segments])
    assert sc.score == pytest.approx(mean, abs=1e-9)
    [stored] = [a for k, a in run.stored.items() if k.startswith("COMET|")]
    assert stored.shape == (10, 2) and np.all(stored[:, 1] == 1.0)  # [score, 1] per segment
    assert "COMET" in result.stdout  # the summary table has a COMET column
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert 'id="model-metrics"' in page and "comet-tiny" in page


def test_rescoring_runs_the_model_on_changed_segments_only(work):
    release_models()
    first = _run(work, "good")
    assert first.report.model_scoring["comet"].scored == 10
    release_models()
    again = _run(work, "good")  # same hypotheses: every score from the cache, no model loaded
    assert (
        again.report.model_scoring["comet"].from_cache == 10
        and again.report.model_scoring["comet"].scored == 0
    )
    assert loaded_models() == 0
    assert again.report.scores["comet"].score == first.report.scores["comet"].score
    tenth = _run(work, "tenth")  # one segment of ten changed
    assert (
        tenth.report.model_scoring["comet"].scored == 1
        and tenth.report.model_scoring["comet"].from_cache == 9
    )
    assert loaded_models() == 1
    bypass = _run(work, "good", use_cache=False)  # gates bypass every cache
    assert bypass.report.model_scoring["comet"].scored == 10
    assert bypass.report.scores["comet"].score == pytest.approx(first.report.scores["comet"].score, abs=1e-6)


def test_compare_and_gate_read_stored_statistics_without_a_model(work):
    good, half = _run(work, "good"), _run(work, "half")
    release_models()
    comp = compare_runs([good, half], n_ar=1000)
    assert loaded_models() == 0  # comparing stored runs loads no model
    row = next(m for m in comp.metrics if m.metric == "comet" and m.run_id == half.run_id)
    assert row.delta < -3 and row.p_bootstrap < 0.05 and row.p_randomization < 0.05
    assert row.verdict == "worse"
    assert "COMET" in render(comparison_page(comp), "text")
    fail = metric_drop(good, half, "comet", 0.5)
    assert not fail.passed and "significant drop" in fail.message
    assert metric_drop(good, half, "comet", 50.0).passed  # allowed
    same = metric_drop(good, _run(work, "good"), "comet", 0.0)
    assert same.passed and "identical" in same.message


def test_gate_rule_on_comet_fails_a_degraded_system(work, monkeypatch):
    """A gate on the fixture COMET: the baseline is the good system; the gate's system now
    outputs half of each sentence: comet drops significantly and the rule fails."""
    from evalharness.gates.config import load_gates
    from evalharness.gates.runner import run_gate, update_baseline

    (work / "gates.toml").write_text(
        f"""
references = "references"
runs = "runs/gates"
[[gate]]
name = "comet-gate"
backend = "file:system.txt"
pair = "sv-hi"
baseline = "baseline.json"
metrics = ["chrf", "comet={COMET}"]
[gate.rules]
max_drop = {{ comet = 0.5 }}
""",
        encoding="utf-8",
    )
    monkeypatch.chdir(work)
    shutil.copy(work / "good.txt", work / "system.txt")
    config = load_gates(Path("gates.toml"))
    [gate] = config.gates
    assert gate.metrics == ("chrf", "comet") and gate.metric_options["comet_model"] == COMET
    update_baseline(config, gate)
    assert run_gate(config, gate).passed
    shutil.copy(work / "half.txt", work / "system.txt")
    result = run_gate(config, gate)
    [decision] = result.decisions
    assert not result.passed and decision.rule == "max_drop[comet]" and "significant drop" in decision.message
    assert result.current.model_scoring["comet"].from_cache == 0  # a gate scores afresh


def test_a_missing_checkpoint_is_one_line_with_the_fetch_command(work):
    hf = {"HF_HOME": str(work / "hf"), "HF_HUB_OFFLINE": "1"}
    result = run_cli(
        "run", "--testset", "hoalu", "--backend", f"file:{work / 'good.txt'}", "--pair", "sv-hi",
        "--metrics", "bleu,comet=Unbabel/not-downloaded", "--runs", work / "runs",
        "--references", work / "references", "--cache", work / "c.sqlite", cwd=work, env_extra=hf,
    )  # fmt: skip
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "`hf download Unbabel/not-downloaded`" in line and "Traceback" not in line
    assert not (work / "runs").exists() or not [
        p for p in (work / "runs").iterdir() if not p.name.startswith(".")
    ]


def test_the_default_checkpoints_say_what_to_fetch(tmp_path, monkeypatch):
    """With an empty Hugging Face cache: each published checkpoint's message names the
    commands for it and for the encoder or tokenizer it needs (and that it is gated)."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    wanted = {
        "comet": ["hf download Unbabel/wmt22-comet-da`", "hf download xlm-roberta-large --include"],
        "cometkiwi": ["hf download microsoft/infoxlm-large --include", "gated"],
        "xcomet": ["hf download Unbabel/XCOMET-XL`", "hf download facebook/xlm-roberta-xl --include"],
        "metricx": [
            "hf download google/metricx-24-hybrid-large-v2p6",
            "hf download google/mt5-large --include",
        ],
    }
    for metric_id, needles in wanted.items():
        with pytest.raises(ModelUnavailable) as info:
            get(metric_id).build(None, {}).check_available()
        assert all(n in str(info.value) for n in needles), str(info.value)


def test_eval_skips_a_missing_metric_and_runs_the_rest(work):
    (work / "eval.toml").write_text(
        f"""
testset = "hoalu"
pairs = ["sv-hi"]
metrics = ["bleu", "chrf", "comet={COMET}", "metricx=google/not-here-metricx-24-hybrid-large-v2p6"]
ci = false
[[systems]]
name = "good"
backend = "file:{work / "good.txt"}"
""",
        encoding="utf-8",
    )
    hf = {"HF_HOME": str(work / "hf"), "HF_HUB_OFFLINE": "1"}
    result = run_cli(
        "eval", "--config", work / "eval.toml", "--references", work / "references", "--runs", work / "runs",
        "--cache", work / "c.sqlite", cwd=work, env_extra=hf,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "metrics skipped (checkpoint not here):" in result.stdout
    assert "metricx: MetricX checkpoint 'google/not-here-metricx-24-hybrid-large-v2p6'" in result.stdout
    assert "hf download google/not-here-metricx-24-hybrid-large-v2p6" in result.stdout
    [folder] = [p for p in (work / "runs").iterdir() if not p.name.startswith(".")]
    report = load_run_file(folder / "report.json").report
    assert set(report.scores) == {"bleu", "chrf", "comet"} and "metricx" in report.skipped_metrics


def test_metric_lists_and_options_are_checked():
    assert parse_metric_list("bleu, comet=a/b ,chrf") == (["bleu", "comet", "chrf"], {"comet_model": "a/b"})
    ids, options = parse_request("comet,metricx", ["neural_device=cpu", "metricx_mode=qe"])
    assert ids == ["comet", "metricx"] and options == {"neural_device": "cpu", "metricx_mode": "qe"}
    for bad, needle in [
        ("bleu=x", "bleu takes no checkpoint"),
        ("comet=", "name a checkpoint"),
        ("comet=a,comet=b", "two checkpoints"),
        ("kometa", "unknown metric"),
    ]:
        with pytest.raises(UserError, match=needle):
            parse_metric_list(bad)
    with pytest.raises(UserError, match="cometkiwi_mode='ref': choose auto, qe"):
        get("cometkiwi").build(None, {"cometkiwi_mode": "ref"})
    with pytest.raises(UserError, match="neural_device must be one of"):
        get("comet").build(None, {"neural_device": "tpu"})


def test_significance_on_model_scores_is_the_paired_tests_on_segment_means():
    """Paired bootstrap and approximate randomisation on model scores: the same draws as for
    BLEU (sacrebleu's), the corpus score being the mean; checked against a direct loop."""
    rng = np.random.default_rng(3)
    n = 60
    src = [f"s{i}" for i in range(n)]
    a = score_all(["comet"], [f"a {i}" for i in range(n)], [[f"r{i}" for i in range(n)]], None,
                  {"comet_model": COMET}, sources=src)["comet"].stats  # fmt: skip
    b_hyps = [f"a {i}" if rng.random() < 0.5 else f"b {i} x" for i in range(n)]
    b = score_all(
        ["comet"], b_hyps, [[f"r{i}" for i in range(n)]], None, {"comet_model": COMET}, sources=src
    )["comet"].stats
    [res] = compare_stats(a, [b], n_bootstrap=1000, n_ar=2000)
    x, y = a.array[:, 0], b.array[:, 0]
    draws = np.random.default_rng(BOOTSTRAP_SEED).choice(n, size=(1000, n), replace=True)
    diffs = np.abs(y[draws].mean(axis=1) - x[draws].mean(axis=1))
    real = abs(y.mean() - x.mean())
    assert res.delta == pytest.approx(y.mean() - x.mean(), abs=1e-12)
    assert res.p_bootstrap == (np.sum(diffs - diffs.mean() > real) + 1) / 1001
    swaps = np.random.default_rng(BOOTSTRAP_SEED).integers(2, size=(2000, n), dtype=bool)
    a_side = np.where(swaps, y, x).mean(axis=1)
    b_side = np.where(swaps, x, y).mean(axis=1)
    above = np.sum(np.abs(a_side - b_side) > real - 1e-12 * max(1.0, real))
    assert res.p_randomization == pytest.approx((above + 1) / 2001, abs=1 / 2001)
    both, _ = compare_many({"comet": [a, b]}, n_bootstrap=1000, n_ar=0)
    assert both["comet"][0].p_bootstrap == res.p_bootstrap  # one table, the same draws


def test_xcomet_spans_reach_the_report_and_every_page_format(work):
    run = _run(work, "half", metrics=("chrf", "xcomet"), options={"xcomet_model": XCOMET})
    spans = [span for seg in run.report.segments for span in seg.error_spans.get("xcomet", [])]
    assert spans and {s.severity for s in spans} <= {"minor", "major", "critical"}
    for seg in run.report.segments:
        for s in seg.error_spans.get("xcomet", []):
            assert 0 <= s.start <= s.end <= len(seg.hypothesis)
    page = run_page(run.report)
    html, text, md = render(page, "html"), render(page, "text"), render(page, "md")
    severity = spans[0].severity
    assert f'<mark class="err {severity}" title="{severity} error">' in html
    assert f"⟧{severity}" in text and f"<sub>{severity}</sub>" in md
    assert "xCOMET errors" in json.dumps(page.model_dump())
    assert run.report.model_scoring["xcomet"].mode == "ref"


def test_a_run_without_references_scores_quality_estimation(work):
    """cometkiwi never reads the reference: changing the references does not change it, and
    its score cache is keyed by source and hypothesis only."""
    src = ["Hej där.", "En katt.", "Tre hus."]
    hyps = ["नमस्ते।", "एक बिल्ली।", "तीन घर।"]
    opts = {"cometkiwi_model": str(DATA / "cometkiwi-tiny")}
    context = ScoringContext(work / "s.sqlite")
    one = score_all(["cometkiwi"], hyps, [["a", "b", "c"]], None, opts, sources=src, context=context)[
        "cometkiwi"
    ]
    two = score_all(["cometkiwi"], hyps, [["x", "y", "z"]], None, opts, sources=src, context=context)[
        "cometkiwi"
    ]
    assert one.score == two.score and two.stats.counters.from_cache == 3
    assert "|mode:qe|" in one.signature
    with pytest.raises(UserError, match="reads the source segments"):
        score_all(["cometkiwi"], hyps, [["a", "b", "c"]], None, opts)


def test_a_second_system_encodes_only_its_hypotheses(work):
    """COMET embeds each text on its own: the sources and references embedded for the first
    system are remembered, so the second system's pass encodes only its hypotheses, and its
    scores equal a pass without the memo."""
    first = _run(work, "good")
    assert first.report.model_scoring["comet"].scored == 10
    src = [s.source for s in first.report.segments]
    refs = [[s.references[0] for s in first.report.segments]]
    hyps = [s.hypothesis for s in load_run_file(_run(work, "half").path).report.segments]
    context = ScoringContext(work / "runs" / ".cache" / "scores.sqlite")
    stats = score_all(["comet"], [h + " ." for h in hyps], refs, None, {"comet_model": COMET}, sources=src,
                      context=context)["comet"].stats  # fmt: skip
    assert stats.counters.scored == 10
    assert stats.counters.texts_recalled == len(set(src) | set(refs[0]))  # sources and references
    assert stats.counters.texts_encoded == len({h + " ." for h in hyps} - set(src) - set(refs[0]))
    fresh = score_all(["comet"], [h + " ." for h in hyps], refs, None, {"comet_model": COMET}, sources=src)
    assert np.abs(fresh["comet"].stats.array - stats.array).max() < 1e-4  # x100 scale


def test_int8_quantisation_is_asked_for_and_named():
    """Never the default; when asked for it runs on the CPU, is named in the signature (so
    its scores are not compared with float32 ones) and stays close to float32."""
    src, hyps, refs = ["Hej där.", "En katt sov."], ["नमस्ते।", "एक बिल्ली सोई।"], [["नमस्ते।", "बिल्ली सो गई।"]]
    plain = score_all(["comet"], hyps, refs, None, {"comet_model": COMET}, sources=src)["comet"]
    int8 = score_all(
        ["comet"], hyps, refs, None, {"comet_model": COMET, "neural_quantize": True}, sources=src
    )["comet"]
    assert "quant:int8" in int8.signature and "quant" not in plain.signature
    assert int8.stats.key != plain.stats.key
    assert max(abs(a - b) for a, b in zip(int8.segment_scores, plain.segment_scores, strict=True)) < 10
    with pytest.raises(UserError, match="runs on the CPU only"):
        get("comet").build(None, {"comet_model": COMET, "neural_quantize": True, "neural_device": "cuda"})


def test_a_damaged_cached_score_is_scored_again(work, capsys):
    import sqlite3

    context = ScoringContext(work / "s.sqlite")
    src, hyps, refs = ["Hej.", "Tack."], ["नमस्ते।", "धन्यवाद।"], [["नमस्ते।", "शुक्रिया।"]]
    first = score_all(["comet"], hyps, refs, None, {"comet_model": COMET}, sources=src, context=context)[
        "comet"
    ]
    with sqlite3.connect(work / "s.sqlite") as db:
        db.execute("UPDATE scores SET score = 'not a number' WHERE rowid = (SELECT MIN(rowid) FROM scores)")
        db.execute("UPDATE scores SET spans = '[{\"bad\": 1}]' WHERE rowid = (SELECT MAX(rowid) FROM scores)")
    again = score_all(["comet"], hyps, refs, None, {"comet_model": COMET}, sources=src, context=context)[
        "comet"
    ]
    assert again.stats.counters.scored == 2 and again.score == pytest.approx(first.score, abs=1e-4)
    assert "unreadable cached scores are ignored (scored again)" in capsys.readouterr().err
    third = score_all(["comet"], hyps, refs, None, {"comet_model": COMET}, sources=src, context=context)[
        "comet"
    ]
    assert third.stats.counters.from_cache == 2  # the damaged rows were overwritten


def test_history_and_compare_need_no_checkpoint_once_scored(work):
    """Stored runs are judged from their statistics: with the checkpoint gone, history still
    shows COMET's change (from the scores as they were stored) and compare still tests it."""
    folder = work / "my-comet"
    shutil.copytree(DATA / "comet-tiny", folder)
    good = _run(work, "good", options={"comet_model": str(folder)})
    half = _run(work, "half", options={"comet_model": str(folder)})
    shutil.rmtree(folder)
    release_models()
    result = run_cli("runs", "history", "--runs", work / "runs", "--format", "view-json", cwd=work)
    assert result.returncode == 0, result.stderr
    page = json.loads(result.stdout)
    [table] = [s for s in page["sections"] if s["kind"] == "table" and "half" in s["title"]]
    assert "COMET" in table["columns"]
    comp = compare_runs([good, half], n_ar=200)
    assert loaded_models() == 0 and any(m.metric == "comet" and m.p_bootstrap for m in comp.metrics)


def test_the_cache_key_does_not_depend_on_what_is_imported():
    """The score cache's key digests our inference code: the same in a process that has
    loaded a model and in one that has not (or cached scores would be missed, or kept
    after the code changed)."""
    import subprocess
    import sys

    code = (
        "from evalharness.metrics.registry import get\n"
        f"m = get('comet').build(None, {{'comet_model': {COMET!r}}})\n"
        "print(m.fingerprint('ref', 'cpu'))\n"
    )
    preload = "import evalharness.metrics.neural.comet\nimport evalharness.metrics.neural.tokenizer\n"
    runs = [
        subprocess.run(
            [sys.executable, "-c", pre + code], capture_output=True, text=True, check=True, cwd=ROOT
        )
        for pre in ("", preload)
    ]
    keys = {r.stdout.strip() for r in runs}
    assert len(keys) == 1 and len(next(iter(keys))) == 64


def test_several_references_are_scored_one_by_one_and_averaged():
    """A model metric with two references per segment: each segment's score is the mean of
    its scores against each reference alone, and the signature says so."""
    n = 12
    src = [f"källa {i}" for i in range(n)]
    hyps = [f"hyp {i} x" for i in range(n)]
    first, second = [f"ref {i}" for i in range(n)], [f"annan {i} y z" for i in range(n)]
    options = {"comet_model": COMET}
    alone = [
        score_all(["comet"], hyps, [refs], None, options, sources=src)["comet"] for refs in (first, second)
    ]
    both = score_all(["comet"], hyps, [first, second], None, options, sources=src)["comet"]
    expected = (np.asarray(alone[0].segment_scores) + np.asarray(alone[1].segment_scores)) / 2
    assert np.allclose(both.segment_scores, expected, atol=1e-9)
    assert not np.allclose(alone[0].segment_scores, alone[1].segment_scores)  # the second one counts
    assert both.score == pytest.approx(float(expected.mean()), abs=1e-4)  # segment scores are rounded
    assert "nrefs:2|refs:mean" in both.signature and "nrefs" not in alone[0].signature
