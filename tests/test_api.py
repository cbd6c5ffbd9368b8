"""The Python API (`evalharness.score`, `compare`, `load_run`, `run`): sacrebleu's numbers on
lists in memory, the command line's comparison numbers without runs, records that round-trip
from the command line's JSON, and the README's examples, run as written."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
import sys

import pytest
import sacrebleu
from conftest import ROOT, run_cli
from test_data_records import build_runs

import evalharness
from evalharness.errors import UserError

REFS = [
    "The police came at night.",
    "It rained all day in the city.",
    "We went home early.",
    "The committee met on Monday to review the plan.",
    "Prices rose sharply last year.",
    "She reads a book every week.",
]
REFS_2 = [
    "Police arrived at night.",
    "In the city it rained all day.",
    "We left for home early.",
    "On Monday the committee met to review the plan.",
    "Last year prices rose steeply.",
    "Every week she reads a book.",
]
HYPS = [
    "The police arrived at night.",
    "It rained in the city all day.",
    "We went home.",
    "The committee met Monday to look at the plan.",
    "Prices went up a lot last year.",
    "She reads one book each week.",
]


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    return build_runs(tmp_path_factory.mktemp("api"))


def test_score_is_sacrebleu(monkeypatch):
    result = evalharness.score(HYPS, REFS, metrics=("bleu", "chrf", "ter"))
    assert result["bleu"].score == sacrebleu.BLEU().corpus_score(HYPS, [REFS]).score
    assert result["chrf"].score == sacrebleu.CHRF().corpus_score(HYPS, [REFS]).score
    assert result["ter"].score == sacrebleu.TER().corpus_score(HYPS, [REFS]).score
    assert result["bleu"].signature.startswith("BLEU|nrefs:1|") and result["bleu"].interval is None
    sentence = sacrebleu.BLEU(effective_order=True)
    assert result["bleu"].segment_scores == pytest.approx(
        [sentence.sentence_score(h, [r]).score for h, r in zip(HYPS, REFS, strict=True)], abs=1e-9
    )
    assert list(result.to_pandas()["metric"]) == ["bleu", "chrf", "ter"]
    assert result.to_pandas(segments=True).shape == (len(HYPS), 3)
    assert json.loads(json.dumps(result.to_dict()))["metrics"]["chrf"]["score"] == result["chrf"].score
    monkeypatch.setitem(sys.modules, "pandas", None)  # as if pandas were not installed
    with pytest.raises(ImportError, match=r"to_pandas\(\) needs pandas.*pip install pandas"):
        result.to_pandas()


def test_score_with_intervals_and_several_references():
    result = evalharness.score(HYPS, [REFS, REFS_2], metrics="bleu,chrf", ci=True)
    assert result["bleu"].score == sacrebleu.BLEU().corpus_score(HYPS, [REFS, REFS_2]).score
    assert "nrefs:2" in result["bleu"].signature and "bs:1000" in result["bleu"].signature
    iv = result["chrf"].interval
    assert iv.low < iv.high and iv.half_width == pytest.approx((iv.high - iv.low) / 2)
    assert result["chrf"].detectable_difference > 0
    # one list of strings is one reference stream
    assert evalharness.score(HYPS, REFS).to_dict() == evalharness.score(HYPS, [REFS]).to_dict()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: evalharness.score(HYPS, REFS[:-1]), "reference stream 1 has 5 segments, the hypotheses 6"),
        (lambda: evalharness.score("one string", REFS), "hyps: give a list of strings"),
        (lambda: evalharness.score(HYPS, REFS, metrics=("bleu", "blue")), "unknown metric 'blue'"),
        (lambda: evalharness.score(HYPS, REFS, options={"tokenise": "intl"}), "unknown metric option"),
        (lambda: evalharness.score(HYPS), "bleu, chrf compare with references"),
        (lambda: evalharness.compare({"A": HYPS}, REFS), "two or more systems"),
        (lambda: evalharness.compare({"A": HYPS, "B": HYPS[:3]}, REFS), "different numbers of segments"),
        (lambda: evalharness.compare({"A": HYPS, "B": HYPS}, REFS, resample="documents"), "needs documents"),
    ],
)
def test_bad_input_is_one_clear_error(call, message):
    with pytest.raises(UserError, match=re.escape(message)):
        call()


def _cli_comparison(made, *more) -> evalharness.ComparisonRecord:
    r = made["reports"]
    proc = run_cli(
        "compare",
        r["base"].run_id,
        r["changed"].run_id,
        "--runs",
        made["runs"],
        "--format",
        "json",
        "--ar-trials",
        "300",
        *more,
    )
    assert proc.returncode == 0, proc.stderr
    record = evalharness.ComparisonRecord.model_validate_json(proc.stdout)
    assert record.to_dict() == json.loads(proc.stdout)  # the round trip loses nothing
    return record


@pytest.mark.parametrize("resample", ["segments", "documents"])
def test_compare_in_memory_gives_the_command_lines_numbers(made, resample):
    base, changed = made["reports"]["base"], made["reports"]["changed"]
    cli = _cli_comparison(made, "--resample", resample)
    api = evalharness.compare(
        {"base": [s.hypothesis for s in base.segments], "changed": [s.hypothesis for s in changed.segments]},
        [s.references[0] for s in base.segments],
        metrics=cli.metrics,
        tgt_lang="sv",
        n_ar=300,
        resample=resample,
        documents=[s.doc for s in base.segments],
    )
    assert api.metrics == cli.metrics == ["bleu", "chrf", "chrf++", "ter"]
    assert api.settings == cli.settings and api.key_metric == cli.key_metric
    for metric in cli.metrics:
        for ours, theirs in (
            (api.row("base", metric), cli.row(cli.baseline, metric)),
            (api.row("changed", metric), cli.row(cli.runs[1].system, metric)),
        ):
            assert ours.score == theirs.score and ours.delta == theirs.delta
            assert (ours.p_bootstrap, ours.p_randomization) == (theirs.p_bootstrap, theirs.p_randomization)
            assert ours.interval == theirs.interval and ours.half_width == theirs.half_width
            assert ours.verdict == theirs.verdict
            if resample == "segments":  # over documents, ours follows the document draws; a run's, its own
                assert ours.detectable_difference == pytest.approx(theirs.detectable_difference)
    assert api.row("changed", "ter").verdict == "worse"  # lower TER is better: the registry's direction
    assert [(m.id, m.delta) for m in api.moved][:1] and {m.system for m in api.moved} == {"changed"}
    assert [m.delta for m in api.moved] == pytest.approx([m.delta for m in cli.moved])


def test_compare_in_memory_all_pairs_and_pandas():
    other = [h.replace("The", "A") for h in HYPS]
    record = evalharness.compare(
        {"A": HYPS, "B": REFS_2, "C": other, "D": HYPS}, REFS, n_bootstrap=200, n_ar=200
    )
    assert record.settings.correction == "holm" and set(record.pairs) == {"bleu", "chrf"}
    assert len(record.pairs["chrf"].cells) == 6
    assert (
        record.row("D", "chrf").verdict == "identical output" and record.row("D", "chrf").p_bootstrap is None
    )
    assert all(row.cluster >= 1 for row in record.rows)
    frame = record.to_pandas()
    assert len(frame) == 8 and {"system", "metric", "score", "low", "high", "p_adjusted", "cluster"} <= set(
        frame
    )
    again = evalharness.ComparisonRecord.model_validate_json(json.dumps(record.to_dict()))
    assert again == record


def test_load_run_and_run(tmp_path):
    runs = tmp_path / "runs"
    record = evalharness.run(
        testset="hoalu",
        backend="passthrough",
        pair="sv-hi",
        metrics=("bleu", "chrf"),
        runs=runs,
        references=ROOT / "references",
    )
    assert (
        record.system == "passthrough"
        and record.testset.pair == "sv-hi"
        and list(record.scores) == ["bleu", "chrf"]
    )
    assert record.sanity.copy_rate == 1.0 and record.report.run_id == record.run_id
    assert (runs / record.run_id / "report.json").is_file()
    for ref in (record.run_id, runs / record.run_id, runs / record.run_id / "report.json"):
        again = evalharness.load_run(ref, runs=runs)
        assert again.to_dict() == record.to_dict() and again.report == record.report
    proc = run_cli("runs", "show", record.run_id, "--runs", runs, "--format", "json")
    assert json.loads(proc.stdout) == record.to_dict()
    with pytest.raises(UserError, match="no run"):
        evalharness.load_run("20990101T000000Z-00000000", runs=runs)


def _readme_python_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Python API\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_readme_python_api_examples_run(tmp_path, capsys):
    blocks = _readme_python_blocks()
    assert len(blocks) >= 2
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert text.index("## Quick start") < text.index("## Python API") < text.index("## What is written where")
    shutil.copytree(ROOT / "references" / "hoalu", tmp_path / "references" / "hoalu")  # what a checkout has
    with contextlib.chdir(tmp_path):
        for block in blocks:
            exec(compile(block, "README.md", "exec"), {"__name__": "__readme__"})
    out = capsys.readouterr().out
    assert "better" in out or "no measurable difference" in out
    assert list((tmp_path / "runs").glob("*/report.json"))


def test_import_stays_light():
    code = "import sys, evalharness; print(evalharness.__version__, 'evalharness.api' in sys.modules, 'numpy' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout
    assert out.split() == ["0.1.0", "False", "False"]
    assert evalharness.score.__module__ == "evalharness.api" and "run" in evalharness.__all__
    with pytest.raises(AttributeError):
        evalharness.no_such_thing  # noqa: B018
