"""Careless configuration (issue 23): an ordinary slip in eval.toml, gates.toml or a command
line is one line before any work, never a number that is silently wrong."""

from __future__ import annotations

import pytest
from conftest import cli_main as main

SUITE = 'testset = "hoalu"\npairs = ["sv-hi"]\nmetrics = ["chrf"]\nci = false\n'
COPY = '[[systems]]\nname = "copy"\nbackend = "passthrough"\n'


def _one_error_line(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if not ln.startswith("warning:")]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (SUITE + COPY + COPY, "two systems are named 'copy'"),
        (SUITE.replace('["sv-hi"]', '["sv-hi", "sv-hi"]') + COPY, "pairs: 'sv-hi' is listed twice"),
        (SUITE + COPY + 'pairs = ["sv-hi", "sv-hi"]\n', "systems.1 (copy): pairs: 'sv-hi' is listed twice"),
        (SUITE + '[[systems]]\nname = "m"\nbackend = "tiny-marian"\noptions = { num_beam = 1 }\n',
         "systems.1 (m): backend tiny-marian has no option 'num_beam'"),
        (SUITE + '[[systems]]\nname = "m"\nbackend = "tiny-marian"\noptions = { max_new_tokens = "big" }\n',
         "backend tiny-marian option max_new_tokens='big': expected a whole number"),
        (SUITE + '[[systems]]\nname = "p"\nbackend = "passthrough"\noptions = { num_beams = 2 }\n',
         "backend passthrough has no option 'num_beams'"),
        (SUITE + '[[systems]]\nname = "p"\nbackend = "pivot:passthrough+tiny-marian"\noptions = { num_beam = 2 }\n',
         "backend pivot has no option 'num_beam'"),
        (SUITE + COPY + '[[systems]]\nname = "d"\nbackend = "passthrough"\nunit = "sentence"\n',
         "systems.2 (d): unit: Input should be 'segment', 'paragraph' or 'document'"),
        (SUITE + '[[systems]]\nname = "d"\nbackend = "passthrough"\nunit = "sentence"\n',
         "systems.1 (d): unit: Input should be 'segment', 'paragraph' or 'document'"),
    ],
)  # fmt: skip
def test_a_careless_suite_is_one_line_before_any_work(work, monkeypatch, capsys, body, needle):
    (work / "eval.toml").write_text(body, encoding="utf-8")
    rc, _, err = main(monkeypatch, capsys, "eval")
    assert rc == 2 and needle in _one_error_line(err)
    assert not (work / "runs").exists()  # nothing ran


def test_a_pivot_passes_each_stage_the_options_it_takes(work, monkeypatch, capsys):
    import shutil

    from conftest import ROOT

    shutil.copytree(ROOT / "seeds", work / "seeds")  # the fixture model's tokenizers are trained on them
    (work / "eval.toml").write_text(
        SUITE + '[[systems]]\nname = "p"\nbackend = "pivot:passthrough+tiny-marian"\n'
        'options = { num_beams = 1, max_new_tokens = 8, via = "en" }\n',
        encoding="utf-8",
    )
    rc, out, err = main(monkeypatch, capsys, "eval")
    assert rc == 0, err


@pytest.mark.parametrize(
    ("rules", "needle"),
    [
        ("max_drop = { bleu = nan }", "allowed drops must be finite"),
        ("max_drop = { chrf = inf }", "allowed drops must be finite"),
        ("max_copy_rate = nan", "rules.max_copy_rate"),
    ],
)
def test_gate_thresholds_that_can_never_fire_are_refused(work, monkeypatch, capsys, rules, needle):
    (work / "gates.toml").write_text(
        '[[gate]]\nname = "g"\nbackend = "passthrough"\npair = "sv-hi"\nbaseline = "b.json"\n'
        f"[gate.rules]\n{rules}\n",
        encoding="utf-8",
    )
    rc, _, err = main(monkeypatch, capsys, "gate")
    assert rc == 2 and needle in _one_error_line(err)


@pytest.mark.parametrize(
    ("second", "needle"),
    [
        ('name = "g"\nbaseline = "c.json"', "two gates named 'g'"),
        ('name = "h"\nbaseline = "b.json"', "two gates keep their baseline in 'b.json'"),
    ],
)
def test_two_gates_with_one_name_or_one_baseline_are_refused(work, monkeypatch, capsys, second, needle):
    gate = '[[gate]]\nbackend = "passthrough"\npair = "sv-hi"\n'
    (work / "gates.toml").write_text(
        f'{gate}name = "g"\nbaseline = "b.json"\n{gate}{second}\n', encoding="utf-8"
    )
    rc, _, err = main(monkeypatch, capsys, "gate")
    assert rc == 2 and needle in _one_error_line(err)


@pytest.mark.parametrize(
    ("opt", "needle"),
    [
        ("max_ngram_order=0", "max_ngram_order=0: must be 1 or more"),
        ("char_order=0", "char_order=0: must be 1 or more"),
        ("smooth_value=nan", "must be a finite number"),
    ],
)
def test_metric_options_that_zero_every_score_are_refused(work, monkeypatch, capsys, opt, needle):
    (work / "h.txt").write_text("a b c d\n", encoding="utf-8")
    rc, out, err = main(monkeypatch, capsys, "score", "--hyp", "h.txt", "--ref", "h.txt", "--opt", opt)
    assert rc == 2 and needle in _one_error_line(err) and out == ""


def test_a_misspelt_folder_to_list_is_an_error_not_an_empty_list(work, monkeypatch, capsys):
    rc, out, err = main(monkeypatch, capsys, "runs", "list", "--runs", "runz")
    assert rc == 2 and "runz: no such runs folder" in _one_error_line(err) and out == ""
    rc, out, err = main(monkeypatch, capsys, "testset", "list", "--references", "refz")
    assert rc == 2 and "refz: no such test-set folder" in _one_error_line(err)
    rc, _, err = main(monkeypatch, capsys, "runs", "history", "--runs", "runz")
    assert rc == 2 and "no such runs folder" in _one_error_line(err)
    (work / "runs").mkdir()
    rc, out, err = main(monkeypatch, capsys, "runs", "list")
    assert rc == 0 and out == "" and "no runs in runs" in err


def test_an_option_given_twice_or_given_to_no_prompt_is_refused(work, monkeypatch, capsys):
    base = ["translate", "--testset", "hoalu", "--pair", "sv-hi", "--backend", "tiny-marian"]
    rc, _, err = main(monkeypatch, capsys, *base, "--beams", "2", "--backend-opt", "num_beams=1")
    assert rc == 2 and "num_beams is given twice" in _one_error_line(err)
    rc, _, err = main(monkeypatch, capsys, *base, "--backend-opt", "num_beam=1")
    assert (
        rc == 2 and "backend marian has no option 'num_beam'" in _one_error_line(err) or "tiny-marian" in err
    )
    glossary = work / "g.yaml"
    glossary.write_text("concepts: []\n", encoding="utf-8")
    rc, _, err = main(monkeypatch, capsys, *base, "--glossary", glossary)
    assert rc == 2 and "add --backend-opt terms=true" in _one_error_line(err)


def _lines(path, n: int = 10) -> list[str]:
    return [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()][:n]


def test_swapped_language_files_and_blank_lines_are_refused_on_import(work, monkeypatch, capsys):
    from conftest import HI, SV

    sv, hi = work / "a.sv", work / "a.hi"
    sv.write_text("\n".join(_lines(SV)) + "\n", encoding="utf-8")
    hi.write_text("\n".join(_lines(HI)) + "\n", encoding="utf-8")
    swapped = ["testset", "import", "--lang", f"sv={hi}", "--lang", f"hi={sv}", "--name", "t"]
    rc, _, err = main(monkeypatch, capsys, *swapped)
    assert rc == 2 and f"{hi}: given as 'sv' but its text reads as 'hi'" in _one_error_line(err)
    rc, _, err = main(monkeypatch, capsys, *swapped, "--trust-lang")
    assert rc == 0, err
    lines = _lines(HI)
    lines[3] = ""
    hi.write_text("\n".join(lines) + "\n", encoding="utf-8")
    straight = ["testset", "import", "--lang", f"sv={sv}", "--lang", f"hi={hi}", "--name", "u"]
    rc, _, err = main(monkeypatch, capsys, *straight)
    assert rc == 2 and f"{hi}: line 4 is blank here but not in the other files" in _one_error_line(err)
    rc, out, err = main(monkeypatch, capsys, *straight, "--allow-blank")
    assert rc == 0 and "9 segments" in out


def test_a_test_set_with_a_repeated_segment_id_is_refused(work, monkeypatch, capsys):
    import json

    from evalharness.corpus.store import content_version, identity_fields, load_testset, save_testset

    ts = load_testset(work / "references", "hoalu")
    segments = list(ts.segments)
    segments[1] = segments[1].model_copy(update={"id": segments[0].id})
    manifest = ts.manifest.model_copy(update=identity_fields(segments))
    from evalharness.corpus.store import TestSet

    folder, _ = save_testset(TestSet(manifest=manifest, segments=segments), work / "references")
    assert content_version(segments) == folder.name and json.loads((folder / "manifest.json").read_text())
    rc, _, err = main(monkeypatch, capsys, "testset", "show", f"hoalu@{folder.name}")
    assert rc == 2 and f"segment id {segments[0].id!r} is used twice" in _one_error_line(err)


def test_every_problem_of_a_config_is_a_line_of_its_own(work, monkeypatch, capsys):
    body = SUITE.replace('["sv-hi"]', '["sv-hi", "sv-hi"]') + COPY + COPY
    body += '[[systems]]\nname = "m"\nbackend = "tiny-marian"\noptions = { max_new_tokens = 0 }\n'
    (work / "eval.toml").write_text(body, encoding="utf-8")
    rc, _, err = main(monkeypatch, capsys, "eval")
    lines = err.rstrip().splitlines()
    assert rc == 2 and len(lines) == 4, err
    assert [ln.startswith("  eval.toml: ") for ln in lines[:3]] == [True] * 3
    assert "'sv-hi' is listed twice" in lines[0] and "two systems are named 'copy'" in lines[1]
    assert "max_new_tokens=0: expected a whole number, 1 or more" in lines[2]
    assert lines[3].startswith("error: eval.toml: 3 problems") and not (work / "runs").exists()


def test_every_problem_of_a_gates_file_is_a_line_of_its_own(work, monkeypatch, capsys):
    gate = '[[gate]]\nname = "g"\nbackend = "passthrough"\ntestset = "hoalu"\npair = "sv-hi"\nbaseline = "b.json"\n'
    body = gate + "[gate.rules]\nmax_drop = { bleu = nan }\n" + gate + "[gate.rules]\nmax_copy_rate = 2.0\n"
    (work / "gates.toml").write_text(body, encoding="utf-8")
    rc, _, err = main(monkeypatch, capsys, "gate")
    lines = err.rstrip().splitlines()
    assert rc == 2 and len(lines) == 3 and lines[-1].startswith("error: gates.toml: 2 problems"), err
    assert "gate 1 (g): rules.max_drop" in lines[0] and "gate 2 (g): rules.max_copy_rate" in lines[1]
