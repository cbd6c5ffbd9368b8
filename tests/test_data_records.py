"""Data records (`--format json`), their committed JSON Schemas, the page as `view-json`, and
the csv and latex tables of `runs show`, `runs history` and `compare`."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import pytest
from conftest import ROOT, run_cli

from evalharness.reports.compare import compare_runs
from evalharness.reports.formats import render
from evalharness.reports.records import ComparisonRecord, RunRecord, json_schemas, schema_text
from evalharness.reports.run_page import run_page
from evalharness.reports.store import load_run
from evalharness.reports.tables import latex_escape

SCHEMAS = ROOT / "schemas"
ODD_NAME = "other_&%$#{}~^\\ 50%"  # every LaTeX special character


def build_runs(work: Path) -> dict:
    """A hi -> sv test set of the seed article's ten segments in two documents (imported from
    TSV), and runs from hypothesis files: `base` and `changed` are one system ("sys"; changed
    drops words and writes the deprecated "Skickad massmobilisering"), `same` is base's output
    under ODD_NAME. Intervals over segments and documents (resample both); a glossary."""
    from evalharness.corpus.standard import import_tsv
    from evalharness.corpus.store import load_testset, save_testset
    from evalharness.evaluate import RunRequest, run_evaluation

    seed = load_testset(ROOT / "references", "hoalu").pair("hi", "sv")
    refs = [s.text["sv"].replace("Skilled Mass Mobilization", "Skicklig massmobilisering") for s in seed]
    rows = [
        f"{'d1' if k < 5 else 'd2'}\t{s.text['hi']}\t{r}\n"
        for k, (s, r) in enumerate(zip(seed, refs, strict=True))
    ]
    (work / "set.tsv").write_text("".join(rows), encoding="utf-8")
    save_testset(import_tsv(work / "set.tsv", "docs", "doc,hi,sv"), work / "references")
    ts = load_testset(work / "references", "docs")
    base = [" ".join(r.split()[: -1 - k % 3]) for k, r in enumerate(refs)]
    changed = [" ".join(r.split()[:-3]).replace("Skicklig", "Skickad") for r in refs]
    (work / "base.txt").write_text("\n".join(base) + "\n", encoding="utf-8")
    (work / "changed.txt").write_text("\n".join(changed) + "\n", encoding="utf-8")
    runs = work / "runs"
    out = {}
    for key, name, file in (
        ("base", "sys", "base.txt"),
        ("changed", "sys", "changed.txt"),
        ("same", ODD_NAME, "base.txt"),
    ):
        req = RunRequest(
            testset=ts,
            backend_spec=f"file:{work / file}",
            src="hi",
            tgt="sv",
            name=name,
            glossary=ROOT / "references" / "glossary" / "hoalu.yaml",
            resample="both",
        )
        out[key] = run_evaluation(req, runs, work / "cache.sqlite", argv=["evalharness", "run"])[0]
    return {"work": work, "runs": runs, "reports": out, "refs": refs, "changed": changed}


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    return build_runs(tmp_path_factory.mktemp("records"))


def _ok(*args) -> str:
    proc = run_cli(*args)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _validate(data: dict, schema_file: str) -> None:
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema validates the records (dev extra)")
    schema = json.loads((SCHEMAS / schema_file).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(data)


def _compare_args(made, fmt: str, *more) -> list:
    r = made["reports"]
    ids = [r[k].run_id for k in ("base", "changed", "same")]
    return ["compare", *ids, "--runs", made["runs"], "--format", fmt, "--ar-trials", "300", *more]


def test_committed_schemas_are_what_the_models_give():
    generated = json_schemas()
    assert sorted(p.name for p in SCHEMAS.glob("*.json")) == sorted(generated)
    for name, schema in generated.items():
        assert (SCHEMAS / name).read_text(encoding="utf-8") == schema_text(schema), (
            f"schemas/{name} is stale: run `python -m evalharness.reports.records schemas`"
        )


def test_runs_show_json_is_the_run_record(made):
    report = made["reports"]["changed"]
    data = json.loads(_ok("runs", "show", report.run_id, "--runs", made["runs"], "--format", "json"))
    _validate(data, "run.v1.json")
    assert (data["schema_version"], data["kind"], data["run_id"]) == (1, "run", report.run_id)
    assert data["testset"]["pair"] == "hi-sv" and data["system"] == "sys"
    for metric, sc in report.scores.items():
        got = data["scores"][metric]
        assert got["score"] == sc.score and got["signature"] == sc.signature
        assert got["interval"] == {
            "low": sc.interval.low,
            "high": sc.interval.high,
            "half_width": sc.interval.half_width,
        }
        assert got["document_interval"]["half_width"] == sc.document_interval.half_width
        assert got["document_score"] == report.document_scores.scores[metric]
        assert got["detectable_difference"] == sc.detectable_difference
    assert [d["id"] for d in data["documents"]] == ["d1", "d2"]
    assert [d["segments"] for d in data["documents"]] == [5, 5]
    assert data["documents"][1]["scores"]["bleu"] == report.document_scores.per_document["bleu"][1]
    assert data["sanity"]["copy_rate"] == report.sanity["copy_rate"] and data["sanity"]["segments"] == 10
    assert data["terminology"]["counts"]["deprecated"] >= 1
    assert len(data["segments"]) == 10 and data["segments"][7]["doc"] == "d2"
    assert data["segments"][0]["hypothesis"] == made["changed"][0]
    assert all(isinstance(v, float) for s in data["segments"] for v in s["scores"].values())
    again = RunRecord.model_validate(data)
    assert again.scores["chrf"].interval.low == report.scores["chrf"].interval.low


def test_view_json_is_the_page_as_before(made):
    report = made["reports"]["base"]
    path = made["runs"] / report.run_id / "report.json"
    out = _ok("runs", "show", report.run_id, "--runs", made["runs"], "--format", "view-json")
    assert out == render(run_page(report, str(path)), "json")
    page = json.loads(out)
    scores = next(s for s in page["sections"] if s["id"] == "scores")
    assert scores["rows"][0][2]["text"].startswith("[")  # display text ("[41.20, 58.73]"): the page


def test_compare_json_is_the_comparison_record(made):
    r = made["reports"]
    data = json.loads(_ok(*_compare_args(made, "json")))
    _validate(data, "comparison.v1.json")
    record = ComparisonRecord.model_validate(data)
    assert record.baseline == "sys [" + r["base"].run_id[-8:] + "]"  # two runs of one name: told apart
    assert [x.run_id for x in record.runs] == [r[k].run_id for k in ("base", "changed", "same")]
    assert record.settings.model_dump() == {
        "bootstrap": 1000,
        "ar_trials": 300,
        "correction": "holm",
        "resample": "segments",
    }
    assert record.metrics == list(r["base"].scores) == ["bleu", "chrf", "chrf++", "ter"]
    assert len(record.rows) == 3 * 4
    # the numbers are compare_runs' own
    comp = compare_runs(
        [load_run(made["runs"], r[k].run_id) for k in ("base", "changed", "same")], n_ar=300, pairs=True
    )
    changed, same = record.runs[1].system, record.runs[2].system
    for row in comp.metrics:
        got = record.row(record.runs[[x.run_id for x in record.runs].index(row.run_id)].system, row.metric)
        assert (got.score, got.half_width, got.delta) == (row.score, row.half_width, row.delta)
    bleu = record.row(changed, "bleu")
    assert bleu.delta < 0 and bleu.verdict in ("worse", "no measurable difference")
    assert bleu.p_bootstrap == comp.metrics[1].p_bootstrap and 0 < bleu.p_randomization <= 1
    cell = next(c for c in comp.all_pairs["bleu"].cells if (c.a, c.b) == (0, 1))
    assert bleu.p_adjusted == cell.p_adjusted
    # each run's stored interval was drawn as the comparison draws: it is the comparison's own
    assert bleu.interval.half_width == bleu.half_width and bleu.interval.low < bleu.score < bleu.interval.high
    identical = record.row(same, "chrf")
    assert (
        identical.verdict == "identical output"
        and identical.p_bootstrap is None
        and identical.p_adjusted is None
    )
    assert (
        record.row(record.baseline, "bleu").verdict == "baseline"
        and record.row(record.baseline, "bleu").delta is None
    )
    clusters = record.pairs["bleu"].clusters
    assert sorted(s for c in clusters for s in c) == sorted(x.system for x in record.runs)
    assert {record.row(s, "bleu").cluster for s in clusters[0]} == {1}
    assert record.moved and {m.system for m in record.moved} == {changed}
    assert all(isinstance(m.delta, float) and m.hypothesis in made["changed"] for m in record.moved)


def test_compare_over_documents_takes_the_document_intervals(made):
    r = made["reports"]
    data = json.loads(_ok(*_compare_args(made, "json", "--resample", "documents")))
    record = ComparisonRecord.model_validate(data)
    assert record.settings.resample == "documents"
    base = r["base"].scores["chrf"]
    row = record.row(record.baseline, "chrf")
    assert row.interval.half_width == base.document_interval.half_width == row.half_width
    assert row.interval.half_width != base.interval.half_width  # not the segment one
    runs = [load_run(made["runs"], r[k].run_id) for k in ("base", "changed", "same")]
    comp = compare_runs(runs, n_ar=300, pairs=True, resample="documents")
    for paired in comp.metrics[1:]:  # the others: the paired bootstrap's document draws
        if paired.delta is not None:
            got = next(x for x in record.rows if x.run_id == paired.run_id and x.metric == paired.metric)
            assert got.interval.half_width == got.half_width == paired.half_width
    other = json.loads(_ok(*_compare_args(made, "json", "--bootstrap", "500")))
    assert all(
        x["interval"] is None and x["half_width"] is not None for x in other["rows"]
    )  # drawn otherwise


def test_history_json_is_the_history_record(made):
    data = json.loads(_ok("runs", "history", "--runs", made["runs"], "--format", "json"))
    _validate(data, "history.v1.json")
    assert data["kind"] == "history" and len(data["series"]) == 2
    sys_series = next(s for s in data["series"] if s["system"] == "sys")
    first, second = sys_series["entries"]
    assert first["changes"] == {} and first["run_id"] == made["reports"]["base"].run_id
    change = second["changes"]["bleu"]
    assert math.isclose(change["delta"], change["current"] - change["previous"])
    assert 0 < change["p_bootstrap"] <= 1 and isinstance(change["significant"], bool)
    assert second["backend_changed"] is True  # another hypothesis file, another fingerprint
    assert second["scores"]["chrf"]["interval"]["half_width"] > 0
    only = json.loads(_ok("runs", "history", "--runs", made["runs"], "--system", "sys", "--format", "json"))
    assert only["system"] == "sys" and [s["system"] for s in only["series"]] == ["sys"]


def test_compare_csv_has_a_row_per_system_with_plain_numbers(made):
    data = json.loads(_ok(*_compare_args(made, "json")))
    rows = list(csv.DictReader(io.StringIO(_ok(*_compare_args(made, "csv")))))
    assert [r["run_id"] for r in rows] == [x["run_id"] for x in data["runs"]]
    assert rows[2]["system"] == ODD_NAME  # data whole
    for row in rows:
        for metric in ("bleu", "chrf"):
            want = next(x for x in data["rows"] if x["system"] == row["system"] and x["metric"] == metric)
            assert float(row[metric]) == want["score"]
            assert row[f"{metric}_verdict"] == want["verdict"]
            assert row[f"{metric}_delta"] == ("" if want["delta"] is None else repr(want["delta"]))
            assert int(row[f"{metric}_cluster"]) == want["cluster"]


def test_latex_tables_escape_every_special_character(made):
    out = _ok(*_compare_args(made, "latex"))
    assert out.startswith("\\begin{tabular}{ll") and out.rstrip().endswith("\\end{tabular}")
    assert latex_escape(ODD_NAME) in out and ODD_NAME not in out
    assert "bleu\\_p\\_bootstrap" in out
    header, *rows = [ln for ln in out.splitlines() if ln.endswith("\\\\")]
    assert len(rows) == 3 and all(ln.count(" & ") == header.count(" & ") for ln in rows)
    assert latex_escape("a&b%c$d#e_f{g}h~i^j\\k") == (
        r"a\&b\%c\$d\#e\_f\{g\}h\textasciitilde{}i\textasciicircum{}j\textbackslash{}k"
    )
    assert latex_escape("two\nlines") == "two lines"


def test_run_and_history_tables(made):
    report = made["reports"]["base"]
    [row] = list(
        csv.DictReader(
            io.StringIO(_ok("runs", "show", report.run_id, "--runs", made["runs"], "--format", "csv"))
        )
    )
    assert float(row["chrf"]) == report.scores["chrf"].score
    assert float(row["chrf_low"]) == report.scores["chrf"].interval.low and row["pair"] == "hi-sv"
    history = list(
        csv.DictReader(io.StringIO(_ok("runs", "history", "--runs", made["runs"], "--format", "csv")))
    )
    assert len(history) == 3 and {h["system"] for h in history} == {"sys", ODD_NAME}
    second = next(h for h in history if h["run_id"] == made["reports"]["changed"].run_id)
    assert float(second["bleu_delta"]) < 0 and second["backend_changed"] == "true"
    latex = _ok("runs", "history", "--runs", made["runs"], "--format", "latex")
    assert latex.count("\\\\\n") == 4  # the header and three runs


def test_format_is_a_checked_choice():
    for args in (["runs", "show", "x"], ["runs", "history"], ["compare", "a", "b"]):
        proc = run_cli(*args, "--format", "xml")
        assert proc.returncode == 2
        [line] = proc.stderr.strip().splitlines()
        assert (
            line.startswith("error: ")
            and "unknown format 'xml'" in line
            and "view-json, html, csv, latex" in line
        )
    help_text = run_cli("compare", "--help").stdout
    for fmt in ("view-json", "csv", "latex"):
        assert fmt in help_text


def test_csv_cells_a_spreadsheet_would_run_are_defused():
    """A system named like a formula, or a hypothesis starting with '=', reaches a CSV file
    as text: a spreadsheet opening it must not run it."""
    from evalharness.reports.tables import csv_text, to_csv

    assert csv_text('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert csv_text("+1+1") == "'+1+1" and csv_text("@SUM(A1)") == "'@SUM(A1)"
    assert csv_text("-5 degrees") == "-5 degrees" and csv_text("plain") == "plain"
    out = to_csv((["system", "bleu"], [["=cmd|' /C calc'!A0", 12.5]]))
    assert out.splitlines()[1] == "'=cmd|' /C calc'!A0,12.5"
