"""The translation cache shared by several processes at once (parallel evals, executor
threads, actors): every batch lands once and whole, even when a writer is killed mid-run."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time

from conftest import ROOT

WRITER = """
import sys
from pathlib import Path
from evalharness.backends.base import Hypothesis
from evalharness.backends.cache import TranslationCache

path, name, batches = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
cache = TranslationCache(path)
b = 0
while batches < 0 or b < batches:
    # shared keys (every writer writes them) and keys of this writer's batch alone
    items = [(f"shared-{(b * 7 + i) % 50}", Hypothesis(f"shared {i}")) for i in range(10)]
    items += [(f"{name}-{b}-{i}", Hypothesis(f"{name} batch {b}")) for i in range(25)]
    cache.put_many("fp", "sv", "hi", items)
    b += 1
    print(b, flush=True)
cache.close()
"""


def _writer(db, name: str, batches: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db), name, str(batches)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def test_concurrent_writers_and_a_killed_one(tmp_path):
    db = tmp_path / "cache.sqlite"
    writers = [_writer(db, f"w{n}", 40) for n in range(4)]
    victim = _writer(db, "victim", -1)  # writes until killed
    while not victim.stdout.readline().strip():  # it has committed at least one batch
        time.sleep(0.01)
    time.sleep(0.2)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    for w in writers:
        out, err = w.communicate(timeout=300)
        assert w.returncode == 0, err
        assert out.split()[-1] == "40"
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    keys = [k for (k,) in con.execute("SELECT source_sha256 FROM translations")]
    assert len(keys) == len(set(keys))  # nothing stored twice
    for n in range(4):
        for b in range(40):
            assert sum(k.startswith(f"w{n}-{b}-") for k in keys) == 25  # every batch, whole
    victim_batches: dict[str, int] = {}
    for k in keys:
        if k.startswith("victim-"):
            batch = k.rsplit("-", 1)[0]
            victim_batches[batch] = victim_batches.get(batch, 0) + 1
    # the killed writer's batches: whole or absent
    assert victim_batches and set(victim_batches.values()) == {25}
    assert len([k for k in keys if k.startswith("shared-")]) == 50
