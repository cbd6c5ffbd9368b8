"""Every command exits non-zero on its failure paths, with one `error:` line: a CI step that
calls the command line (not pytest) must see a failure as a failure. Run in process through
`cli.main`, the function the `evalharness` script calls."""

from __future__ import annotations

import pytest
from conftest import ROOT
from conftest import cli_main as main

REFS = ROOT / "references"


FAILURES = [
    (["align", "missing.txt", "missing.txt", "--src-lang", "sv", "--tgt-lang", "hi"], 2, "missing.txt"),
    (["testset", "build", "missing.txt", "other.txt"], 2, "missing.txt"),
    (["testset", "import", "--lang", "sv=missing.txt", "--lang", "hi=hyp.txt", "--name", "x"], 2, "missing"),
    (["testset", "show", "nope"], 2, "no test set named 'nope'"),
    (["testset", "export", "nope", "--out", "x"], 2, "no test set named 'nope'"),
    (["translate", "--testset", "hoalu", "--backend", "passthru", "--pair", "sv-hi"], 2, "unknown backend"),
    (["fixtures", "tiny-marian", "--out", "fx", "--src", "zz"], 2, "unknown language code 'zz'"),
    (["score", "--hyp", "missing.txt", "--ref", "hyp.txt"], 2, "no such file"),
    (["run", "--testset", "hoalu", "--backend", "passthrough", "--pair", "sv-xx"], 2, "unknown language"),
    (["runs", "show", "20990101T000000Z-00000000"], 2, "no run"),
    (["terms", "check", "hyp.txt", "--lang", "hi", "--glossary", "missing.yaml"], 2, "missing.yaml"),
    (["terms", "audit", "--testset", "nope", "--glossary", "missing.yaml"], 2, "missing.yaml"),
    (["terms", "suggest", "--testset", "nope"], 2, "no test set named 'nope'"),
    (["compare", "20990101T000000Z-00000000"], 2, "no run"),
    (["gate", "--config", "missing.toml"], 2, "no gates file"),
    (["eval", "--config", "missing.toml"], 2, "no evaluation config"),
    (["eval", "--config", "."], 2, "is a directory"),
    (["nonsense-command"], 2, "No such command"),
]


@pytest.mark.parametrize("args, code, needle", FAILURES, ids=[" ".join(a[:2]) for a, _, _ in FAILURES])
def test_failure_paths_exit_non_zero_with_one_line(work, monkeypatch, capsys, args, code, needle):
    rc, _, err = main(monkeypatch, capsys, *args)
    assert rc == code, err
    lines = err.strip().splitlines()
    assert lines and lines[-1].startswith("error: ") and needle in err and "Traceback" not in err


def _gate_file(work, backend: str) -> None:
    (work / "gates.toml").write_text(
        'references = "references"\nruns = "runs/gates"\n[[gate]]\nname = "sys"\n'
        f'backend = "{backend}"\ntestset = "hoalu"\npair = "sv-hi"\nbaseline = "baselines/sys.json"\n'
        "[gate.rules]\nmax_copy_rate = 0.0\n",
        encoding="utf-8",
    )


def test_gate_command_exits_1_when_a_gate_fails(work, monkeypatch, capsys):
    _gate_file(work, "passthrough")
    rc, out, _ = main(monkeypatch, capsys, "gate")
    assert rc == 1 and "FAIL sys: " in out and "--only sys --update-baseline" in out  # no baseline yet
    rc, out, err = main(monkeypatch, capsys, "gate", "--only", "sys", "--update-baseline")
    assert rc == 0, err
    rc, out, err = main(monkeypatch, capsys, "gate")
    assert rc == 1, out
    assert "FAIL sys max_copy_rate: copy rate 100% > allowed 0%" in out
    assert err.strip().splitlines()[-1] == "error: 1 gate check(s) failed"


def test_the_update_command_keeps_the_config_that_was_used(work, monkeypatch, capsys):
    _gate_file(work, "passthrough")
    (work / "gates.toml").rename(work / "ci gates.toml")
    rc, out, _ = main(monkeypatch, capsys, "gate", "--config", "ci gates.toml")
    assert rc == 1 and "evalharness gate --config 'ci gates.toml' --only sys --update-baseline" in out
    rc, _, err = main(
        monkeypatch, capsys, "gate", "--config", "ci gates.toml", "--only", "sys", "--update-baseline"
    )
    assert rc == 0, err
    rc, out, _ = main(monkeypatch, capsys, "gate", "--config", "ci gates.toml")
    assert (
        rc == 1
        and "accept it as the new baseline: evalharness gate --config 'ci gates.toml' --only sys" in out
    )


def test_gate_command_exits_0_when_gates_pass(work, monkeypatch, capsys):
    _gate_file(work, "passthrough")
    (work / "gates.toml").write_text(
        (work / "gates.toml").read_text(encoding="utf-8").replace("0.0", "1.0"), encoding="utf-8"
    )
    assert main(monkeypatch, capsys, "gate", "--update-baseline")[0] == 0
    rc, out, _ = main(monkeypatch, capsys, "gate")
    assert rc == 0 and "PASS sys max_copy_rate" in out


def _suite(work, systems: str) -> None:
    (work / "eval.toml").write_text(
        'testset = "hoalu"\npairs = ["sv-hi"]\nmetrics = ["chrf"]\nci = false\n' + systems, encoding="utf-8"
    )


def test_eval_refuses_an_unknown_backend_before_any_work(work, monkeypatch, capsys):
    _suite(
        work,
        '[[systems]]\nname = "copy"\nbackend = "passthrough"\n[[systems]]\nname = "typo"\nbackend = "passthru"\n',
    )
    rc, out, err = main(monkeypatch, capsys, "eval")
    assert rc == 2 and out == ""
    assert (
        err.strip()
        == (
            "error: eval.toml: systems.2 (typo): unknown backend 'passthru' "
            "(available: ct2, file, marian, passthrough, pivot, tiny-marian)"
        )
        or "systems.2 (typo): unknown backend 'passthru'" in err
    )
    assert not (work / "runs").exists() or not [
        p for p in (work / "runs").iterdir() if not p.name.startswith(".")
    ]


def test_eval_fails_when_a_system_fails(work, monkeypatch, capsys):
    _suite(
        work,
        '[[systems]]\nname = "copy"\nbackend = "passthrough"\n'
        '[[systems]]\nname = "lost"\nbackend = "file:no-such-hypotheses.txt"\n',
    )
    rc, out, err = main(monkeypatch, capsys, "eval")
    assert rc == 1
    assert "copy" in out and "failed: lost (sv-hi): no-such-hypotheses.txt: no such" in err
    assert err.strip().splitlines()[-1] == "error: 1 system(s) failed"


def test_eval_fails_when_no_system_ran(work, monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    _suite(work, '[[systems]]\nname = "opus"\nbackend = "marian:Helsinki-NLP/opus-mt-sv-hi"\n')
    rc, out, err = main(monkeypatch, capsys, "eval")
    assert rc == 1 and "skipped:" in out and "error: no system ran" in err


def test_eval_skips_unavailable_models_and_succeeds(work, monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    _suite(
        work,
        '[[systems]]\nname = "copy"\nbackend = "passthrough"\n'
        '[[systems]]\nname = "opus"\nbackend = "marian:Helsinki-NLP/opus-mt-sv-hi"\n',
    )
    rc, out, err = main(monkeypatch, capsys, "eval")
    assert rc == 0, err
    assert "opus (sv-hi)" in out and "hf download" in out
    assert out.startswith("test set hoalu@") and ": on disk" in out.splitlines()[0]


@pytest.mark.parametrize(
    "body, needle",
    [
        ('pairs = ["sv-hi"]\n[[systems]]\nname = "a"\nbackend = "passthrough"\n', "testset: Field required"),
        ('testset = "hoalu"\npairs = ["sv-hi"]\nsystems = []\n', "systems"),
        (
            'testset = "hoalu"\npairs = ["svhi"]\n[[systems]]\nname = "a"\nbackend = "passthrough"\n',
            "malformed",
        ),
        (
            'testset = "hoalu"\npairs = ["sv-hi"]\nmetrics = ["nist"]\n[[systems]]\nname = "a"\nbackend = "p"\n',
            "unknown metric",
        ),
        ('testset = "hoalu"\npairs = ["sv-hi"]\ntypo = 1\n[[systems]]\nname = "a"\nbackend = "p"\n', "typo"),
    ],
)
def test_eval_config_is_validated_before_any_work(work, monkeypatch, capsys, body, needle):
    (work / "eval.toml").write_text(body, encoding="utf-8")
    rc, _, err = main(monkeypatch, capsys, "eval")
    assert rc == 2 and err.startswith("error: eval.toml: ") and needle in err
    assert not (work / "runs").exists()
