"""Run reports: self-describing, immutable, versioned; `run`, `runs list` and `eval`."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import ROOT, cli_main, run_cli

from evalharness.corpus.store import load_testset
from evalharness.errors import UserError
from evalharness.evaluate import RunRequest, run_evaluation
from evalharness.reports.formats import md_escape, render
from evalharness.reports.run_page import run_page
from evalharness.reports.schema import REPORT_SCHEMA_VERSION
from evalharness.reports.store import list_runs, load_report, save_report

REFS = ROOT / "references"


@pytest.fixture(scope="module")
def passthrough_run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    ts = load_testset(REFS, "hoalu")
    req = RunRequest(testset=ts, backend_spec="passthrough", src="sv", tgt="hi", name="copy")
    report, folder = run_evaluation(req, runs, runs / ".cache.sqlite", argv=["test"])
    return report, folder, runs


def test_report_is_self_describing(passthrough_run):
    report, folder, _ = passthrough_run
    data = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert data["schema_version"] == REPORT_SCHEMA_VERSION
    assert data["testset"] == {
        "name": "hoalu",
        "version": load_testset(REFS, "hoalu").version,
        "src_lang": "sv",
        "tgt_lang": "hi",
        "ref_langs": ["hi"],
        "segments": 10,
    }
    assert (
        data["backend"]["fingerprint"]["kind"] == "passthrough" and data["backend"]["fingerprint"]["digest"]
    )
    assert {"sacrebleu", "numpy"} <= set(data["libraries"]) and data["harness"]["version"]
    assert data["platform"]["python"] and data["command"] == ["test"]
    assert set(data["scores"]) == {"bleu", "chrf", "chrf++", "ter"}
    assert data["scores"]["bleu"]["signature"].startswith("BLEU|nrefs:1|bs:1000|seed:12345")
    assert data["scores"]["chrf"]["interval"]["n_bootstrap"] == 1000
    assert data["scores"]["bleu"]["detectable_difference"] > 0
    assert data["sanity"]["copy_rate"] == 1.0 and data["sanity"]["wrong_language_rate"] == 1.0
    assert data["terminology"] is None  # the place the terminology stage will fill
    seg = data["segments"][0]
    assert seg["hypothesis"] == seg["source"] and set(seg["scores"]) == set(data["scores"])
    hyps = (folder / "hypotheses.txt").read_text(encoding="utf-8").splitlines()
    assert hyps == [s["hypothesis"] for s in data["segments"]]
    page = (folder / "report.md").read_text(encoding="utf-8")
    assert "| copied source | 100% |" in page and "BLEU\\|nrefs:1" in page
    assert (folder / "report.html").read_text(encoding="utf-8").startswith("<!doctype html>")


def test_reports_are_never_overwritten(passthrough_run):
    report, folder, runs = passthrough_run
    before = (folder / "report.json").read_bytes()
    with pytest.raises(UserError, match="never overwritten"):
        save_report(report, runs)
    assert (folder / "report.json").read_bytes() == before


def test_run_ids_are_sortable_and_distinct(passthrough_run):
    report, _, runs = passthrough_run
    ts = load_testset(REFS, "hoalu")
    again, _ = run_evaluation(
        RunRequest(testset=ts, backend_spec="passthrough", src="hi", tgt="sv"), runs, runs / ".cache.sqlite"
    )
    assert again.run_id != report.run_id and again.run_id[:16] >= report.run_id[:16]
    assert {r.run_id for r in list_runs(runs)} >= {report.run_id, again.run_id}


def test_schema_versions(passthrough_run, tmp_path):
    report, folder, _ = passthrough_run
    copy = tmp_path / report.run_id
    shutil.copytree(folder, copy)
    raw = json.loads((copy / "report.json").read_text(encoding="utf-8"))
    raw["schema_version"] = REPORT_SCHEMA_VERSION + 1
    (copy / "report.json").write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(UserError, match="newer than this evalharness reads"):
        load_report(tmp_path, report.run_id)
    v1 = {k: v for k, v in raw.items() if k not in ("determinism", "statistics", "drift")} | {
        "schema_version": 1
    }
    (copy / "report.json").write_text(json.dumps(v1), encoding="utf-8")
    migrated = load_report(tmp_path, report.run_id)  # schema 1 reports still load
    assert migrated.schema_version == REPORT_SCHEMA_VERSION and migrated.determinism is None
    assert migrated.statistics is None and migrated.drift is None
    raw["schema_version"] = 0
    (copy / "report.json").write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(UserError, match="too old to migrate"):
        load_report(tmp_path, report.run_id)
    assert load_report(folder.parent, report.run_id) == report


@pytest.mark.parametrize("bad", ["../etc", "20261123T120000Z-1a2b3c4d/../../x", "latest", ""])
def test_untrusted_run_ids_are_refused(tmp_path, bad):
    with pytest.raises(UserError, match="invalid run id"):
        load_report(tmp_path, bad)


def test_markdown_escapes_user_text(passthrough_run):
    report, _, _ = passthrough_run
    evil = report.model_copy(
        update={"backend": report.backend.model_copy(update={"name": "<script>alert(1)</script>|x"})}
    )
    page = render(run_page(evil), "md")
    assert "<script>" not in page and "&lt;script&gt;" in page and "\\|x" in page
    assert md_escape("a\nb | `c`") == "a b \\| \\`c\\`"
    assert md_escape("[x](javascript:alert(1))") == "\\[x\\](javascript:alert(1))"


def test_eval_runs_the_suite_and_lists_skipped_systems(tmp_path, encoder, monkeypatch, capsys):
    # In process (cli.main, as the script calls it): the session's encoder is loaded once.
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    shutil.copytree(ROOT / "seeds", work / "seeds")
    (work / "eval.toml").write_text(
        f'testset = "hoalu"\ndocuments = ["seeds/*.txt"]\npairs = ["sv-hi", "hi-sv"]\nmetrics = ["bleu", "chrf"]\nci = true\n'
        f'glossary = "{ROOT / "references" / "glossary" / "hoalu.yaml"}"\n'
        '[[systems]]\nname = "passthrough"\nbackend = "passthrough"\n'
        '[[systems]]\nname = "fixture"\nbackend = "tiny-marian"\npairs = ["sv-hi"]\noptions = { num_beams = 1, max_new_tokens = 8 }\n'
        '[[systems]]\nname = "opus"\nbackend = "marian:Helsinki-NLP/opus-mt-sv-hi"\npairs = ["sv-hi"]\n',
        encoding="utf-8",
    )
    rc, out, err = cli_main(monkeypatch, capsys, "eval")
    assert rc == 0, err
    assert out.startswith("test set hoalu@") and ": written" in out.splitlines()[0]
    assert out.count("passthrough") >= 2 and "fixture" in out
    rows = {
        line.split()[0] + " " + line.split()[1]: line
        for line in out.splitlines()
        if line.startswith(("passthrough", "fixture"))
    }
    assert "100%" in rows["passthrough sv-hi"] and "100%" in rows["passthrough hi-sv"]
    assert "skipped:" in out and "opus (sv-hi)" in out and "hf download Helsinki-NLP/opus-mt-sv-hi" in out
    reports = list_runs(work / "runs")
    assert len(reports) == 3
    fixture = next(r for r in reports if r.backend.name == "fixture")
    assert fixture.backend.fingerprint["untrained_fixture"] is True
    assert all("untrained-fixture" in s.flags for s in fixture.segments)
    rc, listing, _ = cli_main(monkeypatch, capsys, "runs", "list")
    assert rc == 0 and len(listing.splitlines()) == 3 and "hoalu@" in listing
    copy = next(r for r in reports if r.backend.name == "passthrough" and r.testset.tgt_lang == "hi")
    assert copy.terminology["counts"].get("untranslated", 0) > 0  # a copied source leaves Swedish terms in
    assert (
        all(f["kind"] != "drift" for f in copy.terminology["flags"])
        and copy.terminology["previous_run"] is None
    )
    latest = (work / "references" / "hoalu" / "LATEST").stat()
    rc, again, _ = cli_main(monkeypatch, capsys, "eval")
    assert rc == 0
    assert ": reused" in again.splitlines()[0]  # nothing embedded or aligned again
    assert (work / "references" / "hoalu" / "LATEST").stat().st_mtime_ns == latest.st_mtime_ns
    second = [
        r for r in list_runs(work / "runs") if r.backend.name == "passthrough" and r.testset.tgt_lang == "hi"
    ][-1]
    assert second.terminology["previous_run"] == copy.run_id and "drift" not in second.terminology["counts"]


@pytest.mark.parametrize(
    "args, needle",
    [
        (
            ["run", "--testset", "nope", "--backend", "passthrough", "--pair", "sv-hi"],
            "no test set named 'nope'",
        ),
        (
            ["run", "--testset", "hoalu", "--backend", "passthrough", "--pair", "sv-en"],
            "has no sv-en segments",
        ),
        (
            ["run", "--testset", "hoalu", "--backend", "passthrough", "--pair", "svhi"],
            "malformed language pair",
        ),
        (
            [
                "run",
                "--testset",
                "hoalu",
                "--backend",
                "passthrough",
                "--pair",
                "sv-hi",
                "--metrics",
                "bleu,nist",
            ],
            "unknown metric",
        ),
        (["runs", "show", "20990101T000000Z-00000000"], "no run"),
    ],
)
def test_run_bad_input(tmp_path, args, needle):
    extra = ["--references", REFS] if args[0] == "run" else []
    proc = run_cli(*args, *extra, "--runs", tmp_path / "runs")
    assert proc.returncode == 2, proc.stderr
    assert (
        proc.stderr.strip().startswith("error: ")
        and "\n" not in proc.stderr.strip()
        and needle in proc.stderr
    )
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_unwritable_runs_dir(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    proc = run_cli(
        "run",
        "--testset",
        "hoalu",
        "--backend",
        "passthrough",
        "--pair",
        "sv-hi",
        "--references",
        REFS,
        "--runs",
        blocker / "runs",
        "--cache",
        tmp_path / "c.sqlite",
    )
    assert proc.returncode == 2 and "cannot write here" in proc.stderr


@pytest.mark.parametrize(
    "hyp, ref, needle",
    [("a\nb\n", "a\n", "has 1 lines but"), ("", "a\n", "file is empty"), ("a\n", "\xff", "not valid UTF-8")],
)
def test_score_bad_input(tmp_path, hyp, ref, needle):
    (tmp_path / "h.txt").write_text(hyp, encoding="utf-8")
    (tmp_path / "r.txt").write_bytes(ref.encode("latin-1"))
    proc = run_cli("score", "--hyp", tmp_path / "h.txt", "--ref", tmp_path / "r.txt")
    assert proc.returncode == 2 and needle in proc.stderr and "\n" not in proc.stderr.strip()


def test_usage_errors_are_one_line_exit_2():
    proc = run_cli("run", "--no-such-option")
    assert (
        proc.returncode == 2 and proc.stderr.strip().startswith("error: ") and "\n" not in proc.stderr.strip()
    )
