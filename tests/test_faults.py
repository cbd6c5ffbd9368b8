"""Faults and the exit-code contract (issue 23): a damaged cache is one line naming it; the
disk or the permissions refusing is exit 1 with the OS error and the path, and never advice
to delete data; a bad environment variable is blamed on the variable."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, SEED_RUN, run_cli
from conftest import cli_main as main

from evalharness.backends.base import Hypothesis
from evalharness.backends.cache import TranslationCache
from evalharness.errors import SystemFault
from evalharness.metrics.neural.base import SegmentScore
from evalharness.metrics.neural.cache import ScoreCache

RUN = [*SEED_RUN, "--backend", "passthrough"]


def _damage_pages(path: Path) -> None:
    """Garbage over every page after the first: the header still says SQLite, the b-trees do not."""
    size = path.stat().st_size
    assert size > 2 * 4096, "the cache is too small to damage its pages"
    with path.open("r+b") as fh:
        fh.seek(4096)
        fh.write(bytes((i * 37 + 11) % 256 for i in range(size - 4096)))


def test_a_cache_with_damaged_pages_is_one_line_naming_it(work, monkeypatch, capsys):
    assert main(monkeypatch, capsys, *RUN, "--name", "a")[0] == 0
    cache = work / "runs" / ".cache" / "translations.sqlite"
    assert cache.is_file()
    _damage_pages(cache)
    rc, out, err = main(monkeypatch, capsys, *RUN, "--name", "a")
    assert rc == 2, err
    assert err.count("\n") == 1 and "runs/.cache/translations.sqlite" in err and "is damaged" in err, err
    assert "internal error" not in err and "DatabaseError" not in err


def test_a_damaged_score_cache_is_one_line_too(tmp_path):
    path = tmp_path / "scores.sqlite"
    cache = ScoreCache(path)
    cache.put_many("fp", [(f"{i:064x}", SegmentScore(0.5)) for i in range(3000)])
    cache.close()
    _damage_pages(path)
    with pytest.raises(Exception) as caught:
        cache = ScoreCache(path)
        cache.get_many("fp", [f"{i:064x}" for i in range(3000)])
    assert (
        caught.value.exit_code == 2 and "is damaged" in str(caught.value) and str(path) in str(caught.value)
    )


def test_a_full_disk_under_the_cache_is_exit_1_and_never_advice_to_delete(tmp_path):
    """SQLite's page limit gives the very error a full disk gives (SQLITE_FULL)."""
    path = tmp_path / "translations.sqlite"
    cache = TranslationCache(path)
    pages = cache.db.db.execute("PRAGMA page_count").fetchone()[0]
    cache.db.db.execute(f"PRAGMA max_page_count={pages + 1}")
    items = [(f"{i:064x}", Hypothesis("x" * 2000)) for i in range(50)]
    with pytest.raises(SystemFault) as caught:
        cache.put_many("fp", "sv", "en", items)
    message = str(caught.value)
    assert caught.value.exit_code == 1
    assert str(path) in message and "database or disk is full" in message
    assert "delete" not in message and "aside" not in message
    cache.close()
    assert (
        TranslationCache(path).get_many("fp", "sv", "en", [k for k, _ in items]) == {}
    )  # nothing half-written


@pytest.fixture
def read_only_dir(tmp_path):
    """A folder nobody may write in. Root writes through any mode bits, so as root the folder
    is made immutable (chattr +i) instead, and the test is skipped where that is not allowed."""
    folder = tmp_path / "locked"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    if not shutil.which("chattr") or subprocess.run(["chattr", "+i", folder], capture_output=True).returncode:
        pytest.skip("running as root and chattr +i is not allowed here: no folder is read-only for root")
    try:
        yield folder
    finally:
        subprocess.run(["chattr", "-i", folder], capture_output=True)


def test_a_read_only_runs_folder_is_exit_1(work, read_only_dir):
    proc = run_cli(*RUN, "--name", "a", "--runs", read_only_dir, "--cache", work / "c.sqlite", fresh=True)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.count("\n") == 1 and str(read_only_dir) in proc.stderr, proc.stderr
    assert "Permission denied" in proc.stderr or "not permitted" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and not list(read_only_dir.iterdir())


def test_a_read_only_cache_folder_is_exit_1(work, read_only_dir):
    proc = run_cli(*RUN, "--name", "a", "--cache", read_only_dir / "t.sqlite")
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.count("\n") == 1 and "t.sqlite" in proc.stderr, proc.stderr
    assert "delete" not in proc.stderr


def test_a_full_disk_while_writing_a_run_is_exit_1(work):
    """A real full file system: a 64 KiB tmpfs mounted in a private mount namespace."""
    if (
        not shutil.which("unshare")
        or subprocess.run(["unshare", "-rm", "true"], capture_output=True).returncode
    ):
        pytest.skip("no private mount namespace here (unshare -rm): cannot make a small file system")
    small = work / "small"
    small.mkdir()
    script = (
        f"mount -t tmpfs -o size=64k tmpfs {small} && exec {sys.executable} -m evalharness "
        + " ".join(RUN)
        + f" --name a --runs {small}/runs --cache {work}/c.sqlite"
    )
    proc = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script],
        capture_output=True,
        text=True,
        cwd=work,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
    )
    if "mount:" in proc.stderr:
        pytest.skip(f"tmpfs cannot be mounted here: {proc.stderr.strip()}")
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.count("\n") == 1 and "No space left on device" in proc.stderr, proc.stderr
    assert "delete" not in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("value", ["-5", "0", "lots"])
def test_a_bad_line_limit_is_blamed_on_the_variable(work, monkeypatch, capsys, value):
    monkeypatch.setenv("EVALHARNESS_MAX_LINE_BYTES", value)
    rc, out, err = main(monkeypatch, capsys, "score", "--hyp", "hyp.txt", "--ref", "hyp.txt")
    assert rc == 2
    assert "EVALHARNESS_MAX_LINE_BYTES" in err and "environment variable" in err, err
    assert "hyp.txt" not in err and "longer than" not in err, err


def test_sqlite_error_names_map_to_exit_codes(tmp_path):
    from evalharness.sqlite_store import fault

    def error(name: str) -> sqlite3.Error:
        exc = sqlite3.OperationalError(name.lower())
        exc.sqlite_errorname = name
        return exc

    assert fault(error("SQLITE_FULL"), tmp_path, "cache").exit_code == 1
    assert fault(error("SQLITE_READONLY_DIRECTORY"), tmp_path, "cache").exit_code == 1
    assert fault(error("SQLITE_IOERR_WRITE"), tmp_path, "cache").exit_code == 1
    assert fault(sqlite3.DatabaseError("file is not a database"), tmp_path, "cache").exit_code == 2
