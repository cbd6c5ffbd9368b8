"""The Ray executor on a local Ray (2 CPUs): the same reports as the in-process executor,
rows back in segment order whatever order the actors finish in, and a job that survives one
of its actors being killed mid-run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT, run_cli

from evalharness.suite import Suite, SystemEntry, run_suite

ray = pytest.importorskip("ray", reason="Ray not installed: pip install -e '.[ray]' (the dev install has it)")

from evalharness.backends.ray_runner import RaySettings, start  # noqa: E402


@pytest.fixture(scope="module")
def ray_work(tmp_path_factory):
    """A workspace with the seed test set and the test plug-in backends, and a local Ray
    started from it (its workers inherit the working directory and PYTHONPATH)."""
    work = tmp_path_factory.mktemp("ray")
    shutil.copytree(ROOT / "references", work / "references")
    shutil.copytree(ROOT / "seeds", work / "seeds")  # the fixture model's tokenizers are trained on them
    site = work / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         "--target", str(site), str(ROOT / "tests" / "data" / "plugin_pkg")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr
    old_cwd, old_path = os.getcwd(), os.environ.get("PYTHONPATH")
    os.chdir(work)
    os.environ["PYTHONPATH"] = os.pathsep.join([str(site), str(ROOT)] + ([old_path] if old_path else []))
    sys.path.insert(0, str(site))
    start(RaySettings(num_cpus=2))
    yield work
    ray.shutdown()
    sys.path.remove(str(site))
    os.chdir(old_cwd)
    if old_path is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = old_path


def _suite(*systems: SystemEntry, pairs=("sv-hi", "hi-sv")) -> Suite:
    return Suite(testset="hoalu", pairs=pairs, metrics=("bleu", "chrf"), ci=False, systems=systems)


def _by_job(result):
    return {(o.system, o.pair): o for o in result.outcomes}


def test_ray_reports_equal_in_process_reports(ray_work):
    suite = _suite(
        SystemEntry(name="copy", backend="passthrough"),
        SystemEntry(name="fixture", backend="tiny-marian", options={"num_beams": 1, "max_new_tokens": 16}),
    )
    refs = ray_work / "references"
    local = run_suite(suite, refs, ray_work / "runs-local", ray_work / "local.sqlite")
    on_ray = run_suite(
        suite, refs, ray_work / "runs-ray", ray_work / "ray.sqlite", executor="ray",
        ray_settings=RaySettings(actors=2, batch_size=3),
    )  # fmt: skip
    a, b = _by_job(local), _by_job(on_ray)
    assert set(a) == set(b) and len(a) == 4
    for key in a:
        ra, rb = a[key].report, b[key].report
        assert a[key].status == b[key].status == "ok", (a[key].reason, b[key].reason)
        assert [s.hypothesis for s in ra.segments] == [s.hypothesis for s in rb.segments], key
        assert [s.flags for s in ra.segments] == [s.flags for s in rb.segments]
        assert {m: s.score for m, s in ra.scores.items()} == {m: s.score for m, s in rb.scores.items()}
        assert [s.scores for s in ra.segments] == [s.scores for s in rb.segments]
        assert ra.backend.fingerprint["digest"] == rb.backend.fingerprint["digest"]
        assert rb.translation["translated"] == len({s.source for s in rb.segments if s.source.strip()})
    # run again: every segment now comes from the cache the driver wrote
    again = _by_job(run_suite(suite, refs, ray_work / "runs-ray", ray_work / "ray.sqlite", executor="ray"))
    assert all(o.report.translation["translated"] == 0 for o in again.values())


def test_rows_come_back_in_segment_order(ray_work):
    suite = _suite(SystemEntry(name="copy", backend="passthrough"), pairs=("sv-hi",))
    result = run_suite(
        suite, ray_work / "references", ray_work / "runs-order", ray_work / "order.sqlite", executor="ray",
        ray_settings=RaySettings(actors=2, batch_size=1),
    )  # fmt: skip
    report = result.outcomes[0].report
    assert [s.hypothesis for s in report.segments] == [s.source for s in report.segments]


def test_a_killed_actor_does_not_lose_segments(ray_work):
    marker = ray_work / "crashed.pid"
    suite = _suite(SystemEntry(name="crashy", backend=f"crashy:{marker}"), pairs=("sv-hi",))
    result = run_suite(
        suite, ray_work / "references", ray_work / "runs-crash", ray_work / "crash.sqlite", executor="ray",
        ray_settings=RaySettings(actors=2, batch_size=2),
    )  # fmt: skip
    outcome = result.outcomes[0]
    assert outcome.status == "ok", outcome.reason
    assert marker.is_file() and int(marker.read_text()) != os.getpid()  # an actor died, not us
    report = outcome.report
    assert [s.hypothesis for s in report.segments] == [s.source[::-1] for s in report.segments]
    assert report.translation["translated"] == len(report.segments)


def test_a_backend_error_on_ray_is_one_line(ray_work):
    suite = _suite(
        SystemEntry(name="missing", backend="file:nowhere.txt"),
        SystemEntry(name="copy", backend="passthrough"),
        pairs=("sv-hi",),
    )
    result = run_suite(
        suite, ray_work / "references", ray_work / "runs-err", ray_work / "err.sqlite", executor="ray"
    )
    by = _by_job(result)
    assert by[("missing", "sv-hi")].status == "failed"
    assert by[("missing", "sv-hi")].reason == "nowhere.txt: no such hypothesis file"
    assert by[("copy", "sv-hi")].status == "ok"


def test_unknown_executor_is_refused(tmp_path):
    proc = run_cli("eval", "--executor", "spark", cwd=tmp_path)
    assert proc.returncode == 2 and "unknown executor 'spark'" in proc.stderr


def test_cli_help_names_the_cluster_option():
    out = run_cli("eval", "--help").stdout
    assert "--executor" in out and "--address" in out and "--actors" in out


def test_model_metrics_score_on_ray_actors_as_in_process(ray_work):
    """COMET (the fixture checkpoint) scored by Ray actors: the same segment scores as in
    this process, the driver's score cache filled, a second run served from it."""
    comet = str(ROOT / "tests" / "data" / "neural" / "comet-tiny")
    suite = Suite(
        testset="hoalu",
        pairs=("sv-hi",),
        metrics=("chrf", f"comet={comet}"),
        ci=False,
        systems=(SystemEntry(name="copy", backend="passthrough"),),
    )
    refs = ray_work / "references"
    local_cache, ray_cache = (
        ray_work / "m-local" / "t.sqlite",
        ray_work / "m-ray" / "t.sqlite",
    )  # scores beside
    local = run_suite(suite, refs, ray_work / "runs-m-local", local_cache).outcomes[0].report
    on_ray = run_suite(
        suite, refs, ray_work / "runs-m-ray", ray_cache, executor="ray", ray_settings=RaySettings(actors=2, batch_size=3),
    ).outcomes[0].report  # fmt: skip
    ours = [s.scores["comet"] for s in local.segments]
    theirs = [s.scores["comet"] for s in on_ray.segments]
    assert (
        max(abs(a - b) for a, b in zip(ours, theirs, strict=True)) < 1e-4
    )  # x100 scale: 1e-6 of the model's
    assert on_ray.scores["comet"].signature == local.scores["comet"].signature
    assert on_ray.model_scoring["comet"].scored == 10 and on_ray.model_scoring["comet"].device == "remote"
    again = run_suite(suite, refs, ray_work / "runs-m-ray", ray_cache, executor="ray")
    assert again.outcomes[0].report.model_scoring["comet"].from_cache == 10


def test_llm_and_seq2seq_backends_translate_on_ray_actors_as_in_process(ray_work, llm_models):
    """hf-causal (its prompt given the glossary's terms and the previous segment, so items
    travel to the actors) and hf-seq2seq (NLLB codes) give on Ray what they give here."""
    suite = Suite(
        testset="hoalu", pairs=("hi-sv",), metrics=("bleu",), ci=False,
        glossary=str(ray_work / "references" / "glossary" / "hoalu.yaml"),
        systems=(
            SystemEntry(name="chat", backend=f"hf-causal:{llm_models['causal']}",
                        options={"max_new_tokens": 6, "terms": True, "context": 1}),
            SystemEntry(name="nllb", backend=f"hf-seq2seq:{llm_models['nllb']}",
                        options={"max_new_tokens": 6, "num_beams": 2}),
        ),
    )  # fmt: skip
    refs = ray_work / "references"
    local = _by_job(run_suite(suite, refs, ray_work / "runs-llm-local", ray_work / "llm-local.sqlite"))
    on_ray = _by_job(
        run_suite(
            suite, refs, ray_work / "runs-llm-ray", ray_work / "llm-ray.sqlite", executor="ray",
            ray_settings=RaySettings(actors=2, batch_size=4),
        )
    )  # fmt: skip
    assert set(local) == set(on_ray) == {("chat", "hi-sv"), ("nllb", "hi-sv")}
    for key in local:
        a, b = local[key], on_ray[key]
        assert a.status == b.status == "ok", (a.reason, b.reason)
        assert [s.hypothesis for s in a.report.segments] == [s.hypothesis for s in b.report.segments], key
        assert [s.raw for s in a.report.segments] == [s.raw for s in b.report.segments], key
        assert a.report.backend.fingerprint["digest"] == b.report.backend.fingerprint["digest"]
        assert b.report.translation["translated"] > 0
    chat = on_ray[("chat", "hi-sv")].report
    assert chat.backend.fingerprint["options"]["terms"] is True  # the prompts carried the glossary's terms
