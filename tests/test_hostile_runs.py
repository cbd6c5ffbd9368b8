"""A hostile or damaged runs folder (issue 23): paths come from folder names we listed, never
from fields inside a file; FIFOs, devices and huge files are refused without blocking or
filling memory; nothing writes into a published run; a file we replace keeps its mode."""

from __future__ import annotations

import json
import os
import stat
import threading
import zipfile

import numpy as np
import pytest
from conftest import SEED_RUN
from conftest import cli_main as main

RUN = [*SEED_RUN, "--backend", "passthrough"]


def _runs(work) -> list[str]:
    return sorted(p.name for p in (work / "runs").iterdir() if not p.name.startswith("."))


def _two_runs(work, monkeypatch, capsys) -> tuple[str, str]:
    for name in ("a", "a"):
        assert main(monkeypatch, capsys, *RUN, "--name", name)[0] == 0
    first, second = _runs(work)
    return first, second


@pytest.fixture
def watchdog():
    """Fail instead of hanging: a test that blocks on a FIFO is stopped after 60 s."""
    timer = threading.Timer(60, lambda: os._exit(3))
    timer.start()
    yield
    timer.cancel()


def test_a_run_id_field_naming_a_path_is_never_followed(work, monkeypatch, capsys, watchdog):
    first, second = _two_runs(work, monkeypatch, capsys)
    outside = work / "outside" / "20260101T000000Z-00000000"
    outside.mkdir(parents=True)
    os.mkfifo(outside / "report.stats.npz")  # opening it for reading would block forever
    report = work / "runs" / second / "report.json"
    raw = json.loads(report.read_text(encoding="utf-8"))
    raw["run_id"] = "../outside/20260101T000000Z-00000000"
    report.write_text(json.dumps(raw), encoding="utf-8")
    rc, out, err = main(monkeypatch, capsys, *RUN, "--name", "a")  # drift against the previous run of "a"
    assert rc == 0, err
    assert f"{report.relative_to(work)}: malformed report" in err
    rc, out, err = main(monkeypatch, capsys, "runs", "list")
    assert rc == 0 and "../outside" not in out


def test_a_report_moved_to_another_folder_is_skipped_not_trusted(work, monkeypatch, capsys):
    first, second = _two_runs(work, monkeypatch, capsys)
    moved = work / "runs" / "20200101T000000Z-0000abcd"
    (work / "runs" / second).rename(moved)
    rc, out, err = main(monkeypatch, capsys, "runs", "list")
    assert rc == 0 and "its run id" in err and "is not its folder's name" in err
    assert second not in out and first in out
    rc, _, err = main(monkeypatch, capsys, "runs", "show", moved.name)
    assert rc == 2 and "moved or edited" in err


def test_a_fifo_or_huge_file_in_a_run_is_refused_without_blocking(work, monkeypatch, capsys, watchdog):
    first, second = _two_runs(work, monkeypatch, capsys)
    stats = work / "runs" / first / "report.stats.npz"
    stats.unlink()
    os.mkfifo(stats)
    rc, out, err = main(monkeypatch, capsys, "compare", first, second)
    assert rc == 0 and "not a regular file" in out + err, out  # computed from the hypotheses, with a note
    report = work / "runs" / second / "report.json"
    monkeypatch.setenv("EVALHARNESS_MAX_REPORT_BYTES", str(report.stat().st_size - 1))
    rc, out, err = main(monkeypatch, capsys, "runs", "show", second)
    assert rc == 2 and "is larger than the" in err and str(report.stat().st_size - 1) not in out
    monkeypatch.setenv("EVALHARNESS_MAX_REPORT_BYTES", "-5")
    rc, _, err = main(monkeypatch, capsys, "runs", "list")
    assert rc == 2 and "EVALHARNESS_MAX_REPORT_BYTES='-5'" in err


def test_a_statistics_file_that_unpacks_to_far_more_than_it_holds_is_refused(work, monkeypatch, capsys):
    first, _ = _two_runs(work, monkeypatch, capsys)
    folder = work / "runs" / first
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    stats = folder / report["statistics"]["file"]
    monkeypatch.setenv("EVALHARNESS_MAX_REPORT_BYTES", "1000000")  # statistics may unpack to 4 MB
    with zipfile.ZipFile(stats, "w", zipfile.ZIP_DEFLATED) as archive:  # 64 MB of zeros, 64 kB packed
        with archive.open("s0.npy", "w") as member:
            header = {"descr": "<f8", "fortran_order": False, "shape": (8 << 20,)}
            np.lib.format.write_array_header_1_0(member, header)
            member.write(bytes(64 << 20))
    from evalharness.reports.statistics import read_stored, sha256
    from evalharness.reports.store import load_report_file

    loaded = load_report_file(folder / "report.json")
    loaded.statistics["sha256"] = sha256(stats.read_bytes())  # the checksum matches: only the size is wrong
    stored, note = read_stored(loaded, folder / "report.json")
    assert stored == {} and "unpacks to" in note


def test_nothing_writes_into_a_published_run(work, monkeypatch, capsys):
    first, _ = _two_runs(work, monkeypatch, capsys)
    target = work / "runs" / first / "report.json"
    before = target.read_bytes()
    for out in (target, work / "runs" / first / "new.html"):
        rc, _, err = main(monkeypatch, capsys, "runs", "show", first, "--format", "html", "--out", out)
        assert rc == 2 and "lies in a published run" in err
    assert target.read_bytes() == before and not (work / "runs" / first / "new.html").exists()


def test_a_replaced_output_file_keeps_its_mode(work, monkeypatch, capsys):
    out = work / "private.txt"
    out.write_text("old\n", encoding="utf-8")
    out.chmod(0o600)
    rc, _, err = main(
        monkeypatch, capsys, "translate", "--testset", "hoalu", "--backend", "passthrough", "--pair", "sv-hi",
        "--out", out,
    )  # fmt: skip
    assert rc == 0, err
    assert stat.S_IMODE(out.stat().st_mode) == 0o600 and out.read_text(encoding="utf-8") != "old\n"


def _edit(work, run_id: str, change) -> None:
    path = work / "runs" / run_id / "report.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    change(raw)
    path.write_text(json.dumps(raw), encoding="utf-8")  # json.dumps writes NaN and Infinity as such


@pytest.mark.parametrize("value", [float("inf"), float("nan"), "1e999"])
def test_a_score_edited_to_inf_or_nan_is_one_judgement_everywhere(work, monkeypatch, capsys, value):
    first, second = _two_runs(work, monkeypatch, capsys)

    def change(raw):
        raw["scores"]["chrf"]["score"] = value

    _edit(work, second, change)
    if value == "1e999":  # the literal a hand edit leaves (json.dumps would write Infinity)
        path = work / "runs" / second / "report.json"
        path.write_text(path.read_text(encoding="utf-8").replace('"1e999"', "1e999"), encoding="utf-8")
    rc, out, err = main(monkeypatch, capsys, "runs", "list")
    assert rc == 0 and second not in out and first in out
    assert "scores.chrf.score" in err and "finite" in err and "skipped" in err, err
    assert "inf" not in out.lower() and "nan" not in out.lower()
    rc, out, err = main(monkeypatch, capsys, "runs", "show", second)
    assert rc == 2 and "malformed report (scores.chrf.score" in err and "finite" in err, err


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("determinism", {"deterministic": "maybe"}, "determinism.deterministic"),
        ("sanity", {"copy_rate": "high"}, "sanity"),
        (
            "config",
            {"metrics": ["chrf"], "metric_options": {}, "backend_options": {}, "ci": False, "x": 1},
            "config.x",
        ),
        ("statistics", {"file": "../../outside.stats.npz"}, "statistics"),
        ("translation", {"cache": "sometimes"}, "translation"),
        ("harness", {"version": 3}, "harness"),
        ("platform", None, "platform"),
    ],
)
def test_a_hand_edited_open_section_is_caught_when_loaded(work, monkeypatch, capsys, field, value, named):
    first, second = _two_runs(work, monkeypatch, capsys)

    def change(raw):
        if isinstance(value, dict) and isinstance(raw.get(field), dict) and field != "config":
            raw[field] = {**raw[field], **value}
        else:
            raw[field] = value

    _edit(work, second, change)
    rc, out, err = main(monkeypatch, capsys, "runs", "show", second)
    assert rc == 2 and "malformed report (" + named in err, err
    assert "internal error" not in err
    rc, out, err = main(monkeypatch, capsys, "runs", "list")
    assert rc == 0 and second not in out and first in out


def test_a_fingerprint_without_its_digest_is_caught(work, monkeypatch, capsys):
    _, second = _two_runs(work, monkeypatch, capsys)
    _edit(work, second, lambda raw: raw["backend"]["fingerprint"].pop("digest"))
    rc, _, err = main(monkeypatch, capsys, "runs", "show", second)
    assert rc == 2 and "malformed report (backend.fingerprint.digest" in err, err
