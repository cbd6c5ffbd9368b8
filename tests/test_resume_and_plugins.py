"""Runs as a user has them: killed mid-way and resumed, third-party plug-ins, CLI errors."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from conftest import ROOT, content_lines

from evalharness.corpus.importer import import_parallel
from evalharness.corpus.store import save_testset

SV = ROOT / "seeds" / "000_46ff231d867e4b0c.txt"
HI = ROOT / "seeds" / "001_22db494995b66e38.txt"


def cli(*args, env_extra=None, **kw):
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env_extra or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "evalharness", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        **kw,
    )


@pytest.fixture
def big_testset(tmp_path):
    """BIG distinct sv-hi segments made from the seed sentences."""
    sv, hi = content_lines(SV), content_lines(HI)
    a, b = tmp_path / "big.sv", tmp_path / "big.hi"
    a.write_text("".join(f"{n}. {sv[n % 10][: 40 + n % 50]}\n" for n in range(BIG)), encoding="utf-8")
    b.write_text("".join(f"{n}. {hi[n % 10][: 40 + n % 50]}\n" for n in range(BIG)), encoding="utf-8")
    refs = tmp_path / "refs"
    save_testset(import_parallel([("sv", a), ("hi", b)], "big"), refs)
    return refs


BIG = 80  # segments: enough that a kill lands mid-run, few enough to translate twice quickly


def _rows(db):
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=1) as con:
            return con.execute("SELECT COUNT(*) FROM translations").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def test_killed_run_resumes_and_translates_every_segment_exactly_once(tmp_path, big_testset, fixture_models):
    db = tmp_path / "cache.sqlite"
    out = tmp_path / "hyps.txt"
    args = [
        "translate",
        "--testset",
        "big",
        "--references",
        big_testset,
        "--pair",
        "sv-hi",
        "--backend",
        f"marian:{fixture_models['sv-hi']}",
        "--beams",
        "1",
        "--max-new-tokens",
        "24",
        "--chunk-size",
        "2",
        "--cache",
        db,
        "--out",
        out,
    ]
    proc = cli(*args)
    deadline = time.time() + 120
    while _rows(db) < 6 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists()  # no half-written output
    done_before = _rows(db)
    assert 6 <= done_before < BIG

    resumed = cli(*args)
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert f"{done_before} from cache, {BIG - done_before} translated" in err
    assert len(out.read_text(encoding="utf-8").splitlines()) == BIG
    with sqlite3.connect(db) as con:
        counts = [n for (n,) in con.execute("SELECT times_translated FROM translations")]
    assert len(counts) == BIG and set(counts) == {1}


def _install_plugin(tmp_path) -> dict:
    """The test plug-in package installed into a folder of its own; the env that finds it."""
    pkg = tmp_path / "pkg"
    shutil.copytree(ROOT / "tests" / "data" / "plugin_pkg", pkg)
    site = tmp_path / "site"
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(site),
            str(pkg),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr
    return {"PYTHONPATH": f"{site}{os.pathsep}{ROOT}"}


def test_third_party_metric_installed_from_a_package(tmp_path):
    """A model metric from another package's entry point is listed, scored, given a
    signature and statistics like the built-ins."""
    env = _install_plugin(tmp_path)
    (tmp_path / "h.txt").write_text("abc\nabcdef\n", encoding="utf-8")
    (tmp_path / "r.txt").write_text("abcdef\nabc\n", encoding="utf-8")
    listed = cli("metrics", "list", env_extra=env)
    out, err = listed.communicate(timeout=120)
    assert listed.returncode == 0, err
    assert "lengthshare  higher is better  builtin  checkpoint here" in out
    scored = cli(
        "score", "--hyp", tmp_path / "h.txt", "--ref", tmp_path / "r.txt", "--src", tmp_path / "r.txt",
        "--metrics", "bleu,lengthshare", "--format", "json", "--score-cache", tmp_path / "s.sqlite", env_extra=env,
    )  # fmt: skip
    out, err = scored.communicate(timeout=120)
    assert scored.returncode == 0, err
    result = json.loads(out)
    assert result["lengthshare"]["score"] == 75.0  # (0.5 + 1.0) / 2, x100
    assert result["lengthshare"]["signature"].startswith(
        "LengthShare|model:builtin|sha:000000000000|mode:ref"
    )


def test_third_party_backend_installed_from_a_package(tmp_path, big_testset):
    env = _install_plugin(tmp_path)
    proc = cli(
        "translate",
        "--testset",
        "big",
        "--references",
        big_testset,
        "--pair",
        "sv-hi",
        "--backend",
        "reverse",
        "--cache",
        tmp_path / "c.sqlite",
        env_extra=env,
    )
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert out.splitlines()[0] == f"0. {content_lines(SV)[0][:40]}".strip()[::-1]


@pytest.mark.parametrize(
    "backend, needle",
    [
        ("nope", "unknown backend 'nope'"),
        ("marian:", "malformed backend spec"),
        ("marian:/nonexistent/model", "model directory does not exist"),
        ("file:/nonexistent/hyps.txt", "no such hypothesis file"),
    ],
)
def test_cli_backend_errors_are_one_line_exit_2(tmp_path, big_testset, backend, needle):
    proc = cli(
        "translate",
        "--testset",
        "big",
        "--references",
        big_testset,
        "--pair",
        "sv-hi",
        "--backend",
        backend,
        "--cache",
        tmp_path / "c.sqlite",
        "--out",
        tmp_path / "o.txt",
    )
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2
    assert err.strip().startswith("error: ") and "\n" not in err.strip() and needle in err
    assert not (tmp_path / "o.txt").exists()


def test_cli_wrong_length_hypothesis_file(tmp_path, big_testset):
    hyps = tmp_path / "h.txt"
    hyps.write_text("one\ntwo\n", encoding="utf-8")
    proc = cli(
        "translate",
        "--testset",
        "big",
        "--references",
        big_testset,
        "--pair",
        "sv-hi",
        "--backend",
        f"file:{hyps}",
        "--cache",
        tmp_path / "c.sqlite",
    )
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2 and f"has 2 lines but the test set has {BIG} segments" in err
