"""Terminal hygiene (issue 23): escape sequences in a file name, in a hypothesis printed by
`translate`, or in JSON output never reach a terminal; data written to a pipe or a file is
kept whole."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys

from conftest import ROOT, run_cli

from evalharness.corpus.store import load_testset

ESC_NAME = "hyp\x1b]0;owned\x07\x1b[31m.txt"
HOSTILE = "red \x1b[31mtext\x1b[0m, 8-bit \x9b31m csi, \x9d0;title\x9c osc, \u202eevil"


def _hostile_hypotheses(work) -> tuple[str, int]:
    n = len(load_testset(work / "references", "hoalu").segments)
    lines = [f"{HOSTILE} {i}" for i in range(n)]
    (work / ESC_NAME).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return ESC_NAME, n


def _visible(text: str) -> bool:
    return not any(c in text for c in "\x1b\x9b\x9d\x9c\x07\u202e")


def test_a_file_name_with_escapes_never_reaches_stderr(work):
    name, n = _hostile_hypotheses(work)
    proc = run_cli(
        "translate", "--testset", "hoalu", "--pair", "sv-hi", "--backend", f"file:{name}", "--out", "o.txt"
    )
    assert proc.returncode == 0, proc.stderr
    assert "segments" in proc.stderr and _visible(proc.stderr), repr(proc.stderr)
    assert (work / "o.txt").read_text(encoding="utf-8").count("\x1b[31m") == n  # the data itself is kept


def test_hypotheses_with_escapes_are_stripped_on_a_terminal_and_kept_in_a_pipe(work):
    name, n = _hostile_hypotheses(work)
    args = [sys.executable, "-m", "evalharness", "translate", "--testset", "hoalu", "--pair", "sv-hi"]
    args += ["--backend", f"file:{name}", "--cache", str(work / "c.sqlite")]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    master, slave = pty.openpty()
    proc = subprocess.Popen(args, stdout=slave, stderr=subprocess.PIPE, cwd=work, env=env)
    os.close(slave)
    shown = b""
    while True:
        ready, _, _ = select.select([master], [], [], 120)
        if not ready:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    assert proc.wait(timeout=120) == 0, proc.stderr.read()
    os.close(master)
    text = shown.decode("utf-8")
    assert text.count("red [31mtext") == n and _visible(text), repr(text[:300])
    piped = subprocess.run(args, capture_output=True, text=True, cwd=work, env=env, timeout=300)
    assert piped.stdout.count(HOSTILE) == n  # a pipe gets the data whole, as --out does


def test_json_output_escapes_8_bit_controls(work):
    name, _ = _hostile_hypotheses(work)
    (work / "ref.txt").write_text(HOSTILE + "\n", encoding="utf-8")
    proc = run_cli("score", "--hyp", "ref.txt", "--ref", "ref.txt", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert _visible(proc.stdout)
    proc = run_cli(
        *"run --testset hoalu --pair sv-hi --metrics chrf --no-ci --name x".split(),
        "--backend",
        f"file:{name}",
    )
    assert proc.returncode == 0, proc.stderr
    run_id = next(p.name for p in (work / "runs").iterdir() if not p.name.startswith("."))
    shown = run_cli("runs", "show", run_id, "--format", "json")
    assert shown.returncode == 0, shown.stderr
    assert _visible(shown.stdout) and "\\u009b31m" in shown.stdout, shown.stdout[:500]
    page = json.dumps(json.loads(shown.stdout), ensure_ascii=False)
    assert "8-bit \x9b31m csi" in page  # the same data for a JSON reader


def test_a_system_name_with_markup_and_braces_in_the_progress_label():
    from evalharness.progress import progress_bar

    with progress_bar("sys {task} [red]x[/red] \x1b[31m") as bar:  # neither a format field nor markup
        bar.add_task("t", total=1, rate="0")
