"""`evalharness export mlflow` and eval.toml's `mlflow` table: each run becomes one MLflow run
whose parameters, metrics and artifacts are read back with MLflow's own client, exporting
again adds nothing, and what cannot be done is one line.

The tracking store is SQLite (MLflow 3 refuses file stores unless asked to; the `mlflow` extra
brings SQLAlchemy for this). Its tables take a few seconds to create, so one store serves the
module, each test in an experiment of its own."""

from __future__ import annotations

import csv
import io
import json
import shutil
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli

GLOSSARY = Path("references") / "glossary" / "hoalu.yaml"
# MLflow's SQL store uses a loader SQLAlchemy 2.1 deprecates: theirs to change, not ours.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:mlflow.*")


def _run_id(stdout: str) -> str:
    """The run id `evalharness run` prints on its summary line."""
    return stdout.split("runs/", 1)[1].split("/", 1)[0]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> dict:
    """A working folder with the hoalu test set and two runs: one with intervals, two metrics,
    a metric option and a glossary (under an awkward system name), one without intervals."""
    pytest.importorskip("mlflow", reason="MLflow is an optional extra: pip install 'evalharness[mlflow]'")
    pytest.importorskip("sqlalchemy", reason="a SQLite tracking store needs SQLAlchemy (the mlflow extra)")
    base = tmp_path_factory.mktemp("mlflow-export")
    shutil.copytree(ROOT / "references", base / "references")
    full = run_cli(
        "run", "--testset", "hoalu", "--pair", "sv-hi", "--backend", "passthrough",
        "--metrics", "chrf,bleu", "--opt", "tokenize=intl", "--glossary", GLOSSARY,
        "--name", "sys/one+two", cwd=base,
    )  # fmt: skip
    assert full.returncode == 0, full.stderr
    plain = run_cli(
        "run", "--testset", "hoalu", "--pair", "sv-hi", "--backend", "passthrough",
        "--metrics", "chrf", "--no-ci", cwd=base,
    )  # fmt: skip
    assert plain.returncode == 0, plain.stderr
    return {
        "base": base,
        "uri": f"sqlite:///{base / 'mlflow.db'}",
        "full": _run_id(full.stdout),
        "plain": _run_id(plain.stdout),
    }


def _client(uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def _mlflow_runs(uri: str, experiment: str) -> list:
    client = _client(uri)
    found = client.get_experiment_by_name(experiment)
    return [] if found is None else client.search_runs([found.experiment_id])


def _export(ws: dict, experiment: str, *runs: str):
    return run_cli(
        "export", "mlflow", *runs, "--tracking-uri", ws["uri"], "--experiment", experiment, cwd=ws["base"]
    )


def _report(ws: dict, run_id: str) -> dict:
    return json.loads((ws["base"] / "runs" / run_id / "report.json").read_text(encoding="utf-8"))


def test_export_logs_parameters_metrics_and_artifacts(workspace, tmp_path):
    ws = workspace
    done = _export(ws, "full", ws["full"])
    assert done.returncode == 0, done.stderr
    assert f"{ws['full']}: exported to MLflow run" in done.stdout
    (run,) = _mlflow_runs(ws["uri"], "full")
    report = _report(ws, ws["full"])
    assert run.info.run_name == "sys/one+two sv-hi"
    assert run.info.status == "FINISHED"
    assert run.data.tags["evalharness.run_id"] == ws["full"]

    params = run.data.params
    assert params["backend.spec"] == "passthrough"
    assert params["backend.digest"] == report["backend"]["fingerprint"]["digest"]
    assert params["testset"] == f"hoalu@{report['testset']['version']}"
    assert params["pair"] == "sv-hi"
    assert params["metrics"] == "chrf,bleu"
    assert params["metric_options.tokenize"] == "intl"
    assert params["ci"] == "true"
    assert params["harness.version"] == report["harness"]["version"]
    if report["harness"]["git_commit"]:
        assert params["harness.git_commit"] == report["harness"]["git_commit"]

    metrics = run.data.metrics
    for name in ("chrf", "bleu"):
        score = report["scores"][name]
        assert metrics[name] == pytest.approx(score["score"])
        assert metrics[f"{name}.low"] == pytest.approx(score["interval"]["low"])
        assert metrics[f"{name}.high"] == pytest.approx(score["interval"]["high"])
        assert metrics[f"{name}.half_width"] == pytest.approx(score["interval"]["half_width"])
        if score["detectable_difference"] is not None:
            assert metrics[f"{name}.detectable_difference"] == pytest.approx(score["detectable_difference"])
    assert metrics["sanity.copy_rate"] == pytest.approx(report["sanity"]["copy_rate"]) == 1.0
    assert metrics["sanity.wrong_language_rate"] == pytest.approx(report["sanity"]["wrong_language_rate"])
    assert metrics["terminology.term_accuracy"] == pytest.approx(report["terminology"]["term_accuracy"])

    client = _client(ws["uri"])
    names = {f.path for f in client.list_artifacts(run.info.run_id)}
    assert names == {"report.json", "report.html", "report.md", "segments.csv"}
    got = Path(client.download_artifacts(run.info.run_id, "", str(tmp_path / "got")))
    stored = ws["base"] / "runs" / ws["full"]
    assert (got / "report.json").read_bytes() == (stored / "report.json").read_bytes()
    assert ws["full"] in (got / "report.html").read_text(encoding="utf-8")
    assert (got / "report.md").read_text(encoding="utf-8") == (stored / "report.md").read_text(
        encoding="utf-8"
    )
    rows = list(csv.DictReader(io.StringIO((got / "segments.csv").read_text(encoding="utf-8"))))
    assert list(rows[0]) == ["id", "doc", "source", "reference", "hypothesis", "bleu", "chrf", "flags"]
    assert len(rows) == len(report["segments"])
    for row, seg in zip(rows, report["segments"], strict=True):
        assert (row["id"], row["source"], row["hypothesis"]) == (seg["id"], seg["source"], seg["hypothesis"])
        assert row["reference"] == seg["references"][0]
        assert float(row["chrf"]) == seg["scores"]["chrf"]


def test_a_run_without_intervals_logs_no_interval_metrics(workspace):
    ws = workspace
    assert _export(ws, "plain", ws["plain"]).returncode == 0
    (run,) = _mlflow_runs(ws["uri"], "plain")
    report = _report(ws, ws["plain"])
    assert run.data.metrics["chrf"] == pytest.approx(report["scores"]["chrf"]["score"])
    assert not {"chrf.low", "chrf.high", "chrf.half_width", "chrf.detectable_difference"} & set(
        run.data.metrics
    )
    assert "terminology.term_accuracy" not in run.data.metrics
    assert run.data.params["ci"] == "false"
    assert run.info.run_name == "passthrough sv-hi"


def test_exporting_again_does_not_duplicate(workspace):
    ws = workspace
    first = _export(ws, "twice", ws["plain"])
    assert first.returncode == 0, first.stderr
    again = _export(ws, "twice", ws["plain"], ws["full"])
    assert again.returncode == 0, again.stderr
    assert f"{ws['plain']}: already in MLflow as run" in again.stdout
    assert f"{ws['full']}: exported to MLflow run" in again.stdout
    runs = _mlflow_runs(ws["uri"], "twice")
    assert sorted(r.data.tags["evalharness.run_id"] for r in runs) == sorted([ws["plain"], ws["full"]])


def test_an_interrupted_export_is_replaced(workspace):
    """An MLflow run left unfinished (the export stopped half-way) is not taken for a done one."""
    ws = workspace
    client = _client(ws["uri"])
    experiment = client.create_experiment("interrupted")
    stale = client.create_run(experiment, tags={"evalharness.run_id": ws["plain"]})  # RUNNING, no metrics
    done = _export(ws, "interrupted", ws["plain"])
    assert done.returncode == 0, done.stderr
    (run,) = _mlflow_runs(ws["uri"], "interrupted")
    assert run.info.run_id != stale.info.run_id and run.info.status == "FINISHED"
    assert "chrf" in run.data.metrics


def test_a_missing_run_is_one_error_line(workspace):
    ws = workspace
    done = _export(ws, "missing", ws["plain"], "20200101T000000Z-00000000")
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and done.stderr.startswith("error: ")
    assert "20200101T000000Z-00000000" in done.stderr
    assert _mlflow_runs(ws["uri"], "missing") == []  # nothing exported before the check


def test_mlflow_not_installed_says_how_to_install(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "references", tmp_path / "references")
    made = run_cli(
        "run", "--testset", "hoalu", "--pair", "sv-hi", "--backend", "passthrough",
        "--metrics", "chrf", "--no-ci", cwd=tmp_path,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    monkeypatch.setitem(sys.modules, "mlflow", None)  # `import mlflow` raises ImportError
    done = run_cli("export", "mlflow", _run_id(made.stdout), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: ")
    assert "pip install 'evalharness[mlflow]'" in done.stderr
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "mlruns").exists()


def _suite(tmp_path: Path, mlflow_table: str) -> Path:
    config = tmp_path / "eval.toml"
    config.write_text(
        'testset = "hoalu"\npairs = ["sv-hi", "hi-sv"]\nmetrics = ["chrf"]\nci = false\n'
        f"{mlflow_table}\n"
        '[[systems]]\nname = "copy"\nbackend = "passthrough"\n',
        encoding="utf-8",
    )
    return config


def test_eval_exports_each_finished_run(workspace, tmp_path):
    ws = workspace
    shutil.copytree(ROOT / "references", tmp_path / "references")
    table = f'mlflow = {{ tracking_uri = "{ws["uri"]}", experiment = "suite" }}'
    config = _suite(tmp_path, table)
    done = run_cli("eval", "--config", config, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    ours = sorted(p.name for p in (tmp_path / "runs").iterdir() if not p.name.startswith("."))
    assert len(ours) == 2
    runs = _mlflow_runs(ws["uri"], "suite")
    assert sorted(r.data.tags["evalharness.run_id"] for r in runs) == ours
    assert sorted(r.info.run_name for r in runs) == ["copy hi-sv", "copy sv-hi"]
    assert all(f"{run_id}: exported to MLflow run" in done.stdout for run_id in ours)


def test_eval_without_mlflow_installed_stops_before_any_work(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "references", tmp_path / "references")
    config = _suite(tmp_path, 'mlflow = { experiment = "suite" }')
    monkeypatch.setitem(sys.modules, "mlflow", None)
    done = run_cli("eval", "--config", config, cwd=tmp_path)
    assert done.returncode == 2
    assert "pip install 'evalharness[mlflow]'" in done.stderr
    assert not (tmp_path / "runs").exists()


def test_a_misspelt_mlflow_table_is_refused(tmp_path):
    config = _suite(tmp_path, 'mlflow = { tracking = "sqlite:///x.db" }')
    done = run_cli("eval", "--config", config, cwd=tmp_path)
    assert done.returncode == 2
    assert "mlflow.tracking" in done.stderr


def test_keys_and_values_within_mlflow_limits(workspace):
    from evalharness.reports.mlflow_export import MAX_PARAM_VALUE, mlflow_key, run_params
    from evalharness.reports.store import load_report

    assert mlflow_key("chrf++") == "chrfpp"
    assert mlflow_key("a:b/c\nd") == "a_b_c_d"
    assert mlflow_key("..") == "_.."
    assert len(mlflow_key("k" * 400)) == 250
    report = load_report(workspace["base"] / "runs", workspace["plain"])
    config = dict(report.config)
    config["backend_options"] = {"prompt": "x" * 10_000, "a+b": 1, "a_b": 2, "flag": True}
    params = run_params(report.model_copy(update={"config": config}))
    assert len(params["backend_options.prompt"]) == MAX_PARAM_VALUE
    assert params["backend_options.prompt"].endswith("[truncated]")
    assert params["backend_options.apb"] == "1" and params["backend_options.a_b"] == "2"
    assert params["backend_options.flag"] == "true"
    assert all(len(k) <= 250 and isinstance(v, str) for k, v in params.items())


def test_document_scores_become_metrics_and_a_table(workspace):
    from evalharness.reports.mlflow_export import documents_csv, run_metrics
    from evalharness.reports.schema import DocumentScoresRecord
    from evalharness.reports.store import load_report

    report = load_report(workspace["base"] / "runs", workspace["plain"])
    assert documents_csv(report) is None and not any(k.startswith("documents.") for k in run_metrics(report))
    docs = DocumentScoresRecord(
        documents=["a.txt", 'b,"c".txt'],
        segments=[4, 6],
        scores={"chrf": 40.5, "chrf++": 38.0},
        per_document={"chrf": [30.0, 50.0], "chrf++": [29.0, 47.0]},
    )
    with_docs = report.model_copy(update={"document_scores": docs})
    metrics = run_metrics(with_docs)
    assert metrics["documents.chrf"] == 40.5 and metrics["documents.chrfpp"] == 38.0
    rows = list(csv.reader(io.StringIO(documents_csv(with_docs))))
    assert rows == [
        ["doc", "segments", "chrf", "chrf++"],
        ["a.txt", "4", "30.0", "29.0"],
        ['b,"c".txt', "6", "50.0", "47.0"],
    ]


def test_a_deleted_experiment_is_one_error_line(workspace):
    ws = workspace
    client = _client(ws["uri"])
    client.delete_experiment(client.create_experiment("gone"))
    done = _export(ws, "gone", ws["plain"])
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1
    assert "deleted" in done.stderr and "--experiment" in done.stderr


def test_eval_says_when_the_export_failed_and_keeps_the_runs(workspace, tmp_path):
    ws = workspace
    client = _client(ws["uri"])
    client.delete_experiment(client.create_experiment("gone-eval"))
    shutil.copytree(ROOT / "references", tmp_path / "references")
    config = _suite(tmp_path, f'mlflow = {{ tracking_uri = "{ws["uri"]}", experiment = "gone-eval" }}')
    done = run_cli("eval", "--config", config, cwd=tmp_path)
    assert done.returncode == 1
    ours = sorted(p.name for p in (tmp_path / "runs").iterdir() if not p.name.startswith("."))
    assert len(ours) == 2  # translated, scored and saved before the export
    hint = next(line for line in done.stderr.splitlines() if "MLflow export failed" in line)
    assert "deleted" in hint
    assert sorted(hint.split("evalharness export mlflow ", 1)[1].split()) == ours
    assert done.stderr.rstrip().splitlines()[-1] == "error: the MLflow export failed"
