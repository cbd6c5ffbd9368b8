"""Hostile and careless input, one regression test per case found by trying (issue 16): never
a traceback, never a silent wrong result, never a green run that evaluated nothing. Each
runs the real command in process through `cli.main` and checks the exit code, the one
`error:` line and that nothing was lost or half-written."""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import stat

import pytest
from conftest import SEED_RUN
from conftest import cli_main as main

RUN = SEED_RUN
TRANSLATE = ["translate", "--testset", "hoalu", "--backend", "passthrough", "--pair", "sv-hi"]


def _one_error_line(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if not ln.startswith("warning:")]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


def _runs(work) -> list[str]:
    root = work / "runs"
    return sorted(p.name for p in root.iterdir() if not p.name.startswith(".")) if root.is_dir() else []


def _hyp_file(work, lines: list[str]) -> str:
    """A hypothesis file for hoalu sv-hi (10 segments)."""
    path = work / "hyps.txt"
    path.write_text("".join(line + "\n" for line in (lines + ["x"] * 10)[:10]), encoding="utf-8")
    return f"file:{path.name}"


# ----------------------------------------------------------------- exit codes


def test_one_corrupt_report_does_not_block_eval_or_listing(work, monkeypatch, capsys):
    assert main(monkeypatch, capsys, *RUN, "--backend", "passthrough", "--name", "a")[0] == 0
    assert main(monkeypatch, capsys, *RUN, "--backend", "passthrough", "--name", "b")[0] == 0
    bad = work / "runs" / _runs(work)[0] / "report.json"
    bad.write_text("[1, 2]", encoding="utf-8")
    rc, out, err = main(monkeypatch, capsys, "runs", "list")
    assert rc == 0 and len(out.strip().splitlines()) == 1  # the readable run is listed
    assert f"warning: {bad.relative_to(work)}: not a run report" in err
    (work / "eval.toml").write_text(
        'testset = "hoalu"\npairs = ["sv-hi"]\nmetrics = ["chrf"]\nci = false\n'
        '[[systems]]\nname = "copy"\nbackend = "passthrough"\n',
        encoding="utf-8",
    )
    rc, out, err = main(monkeypatch, capsys, "eval")
    assert rc == 0 and "copy" in out and "(skipped)" in err  # drift skips the bad run, says so


def test_an_unforeseen_error_is_one_line_not_a_traceback(work, monkeypatch, capsys):
    from evalharness.reports import store

    def broken(*_a, **_k):
        raise RuntimeError("boom")

    monkeypatch.setattr(store, "list_runs", broken)
    (work / "runs").mkdir()
    rc, _, err = main(monkeypatch, capsys, "runs", "list")
    line = _one_error_line(err)
    assert rc == 1 and "internal error (RuntimeError: boom)" in line and "EVALHARNESS_TRACEBACK=1" in line


# ------------------------------------------------------------ text that breaks files


@pytest.mark.parametrize(
    "char", ["\u2028", "\u2029", "\u0085", "\x0b", "\x0c", "\x1b", "\t", "\x1c"], ids=repr
)
def test_a_segment_with_a_line_separator_or_control_char_round_trips(work, monkeypatch, capsys, char):
    from evalharness.corpus.store import load_testset

    (work / "sv.txt").write_text(f"Polisen{char}kom i går.\nAndra raden.\n", encoding="utf-8")
    (work / "hi.txt").write_text("पुलिस कल आई।\nदूसरी पंक्ति।\n", encoding="utf-8")
    args = ["testset", "import", "--lang", "sv=sv.txt", "--lang", "hi=hi.txt", "--name", "ctl"]
    assert main(monkeypatch, capsys, *args)[0] == 0
    ts = load_testset(work / "references", "ctl")  # LATEST moved to a version that loads
    assert [s.text["sv"] for s in ts.segments] == ["Polisen kom i går.", "Andra raden."]
    rc, out, err = main(monkeypatch, capsys, "testset", "show", "ctl")
    assert rc == 0, err


def test_hypotheses_with_line_breaks_stay_one_per_line(work, monkeypatch, capsys):
    from evalharness.backends.passthrough import Passthrough

    monkeypatch.setattr(
        Passthrough, "translate", lambda self, texts, s, t: [f"a\rb\u2028c {x}" for x in texts]
    )
    out_file = work / "out.txt"
    args = [*TRANSLATE, "--out", out_file]
    assert main(monkeypatch, capsys, *args, "--cache", work / "c.sqlite")[0] == 0
    assert len(out_file.read_bytes().split(b"\n")) == 11  # ten lines and the final newline


# ------------------------------------------------------ options ignored or altered


def test_translate_refuses_out_and_details_naming_one_file(work, monkeypatch, capsys):
    (work / "h.txt").write_text("keep me\n", encoding="utf-8")
    rc, _, err = main(monkeypatch, capsys, *TRANSLATE, "--out", "h.txt", "--details", "./h.txt")
    assert rc == 2 and "name the same file" in _one_error_line(err)
    assert (work / "h.txt").read_text(encoding="utf-8") == "keep me\n"


@pytest.mark.parametrize(
    "body, needle",
    [
        (
            "concepts:\n  - id: a\n    terms:\n      sv: [polis, Polis]\n",
            "'Polis' (sv) is listed twice in this concept",
        ),
        ("concepts:\n  - id: a\n    terms:\n      1: [polis]\n", "1 is not a language code"),
        ("concepts:\n  - id: a\n    terms:\n      null: [polis]\n", "None is not a language code"),
        ("concepts:\n  - id: a\n    terms:\n      sv: [polis]\n      sv: [snut]\n", "key 'sv' appears twice"),
        ("concepts:\n  - id: a\n    terms:\n      Svenska: [polis]\n", "'Svenska' is not a language code"),
    ],
    ids=["dup-in-concept", "key-1", "key-null", "dup-yaml-key", "not-a-code"],
)
def test_glossary_duplicates_and_non_language_keys_are_refused(work, monkeypatch, capsys, body, needle):
    (work / "g.yaml").write_text(body, encoding="utf-8")
    rc, _, err = main(
        monkeypatch, capsys, "terms", "check", "hyp.txt", "--lang", "sv", "--glossary", "g.yaml"
    )
    assert rc == 2 and needle in _one_error_line(err) and "g.yaml" in err


def test_a_term_under_two_concepts_is_one_warning_not_a_refusal(work, monkeypatch, capsys):
    """Real termbases list one target term under two concepts: accepted, with one warning."""
    (work / "g.yaml").write_text(
        "concepts:\n  - id: a\n    terms:\n      sv: [polis]\n  - id: b\n    terms:\n      sv: [polis]\n",
        encoding="utf-8",
    )
    rc, _, err = main(
        monkeypatch, capsys, "terms", "check", "hyp.txt", "--lang", "sv", "--glossary", "g.yaml"
    )
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert rc == 0 and len(warnings) == 1 and "g.yaml" in warnings[0] and "polis" in warnings[0]


def test_tsv_glossary_keeps_quotes_and_an_unbalanced_quote_swallows_nothing(work):
    from evalharness.terminology.glossary import load_glossary

    (work / "g.tsv").write_text(
        'concept\tlang\tstatus\tterm\nc1\tsv\tpreferred\t"Polisen"\nc2\tsv\tpreferred\tab"c\n'
        "c3\tsv\tpreferred\tsnut\nc4\tsv\tpreferred\tlag\n",
        encoding="utf-8",
    )
    glossary = load_glossary(work / "g.tsv")
    assert [t.text for t in glossary.terms] == ['"Polisen"', 'ab"c', "snut", "lag"]


# ----------------------------------------------------------------- resource bombs


def test_yaml_alias_bomb_is_refused_at_once(work, monkeypatch, capsys):
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    lines.append("concepts:\n  - id: x\n    terms:\n      sv: *i")
    (work / "bomb.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    rc, _, err = main(
        monkeypatch, capsys, "terms", "check", "hyp.txt", "--lang", "sv", "--glossary", "bomb.yaml"
    )
    assert rc == 2 and "aliases (*name) are not allowed" in _one_error_line(err)


def test_an_enormous_line_is_refused_with_the_limit_named(work, monkeypatch, capsys):
    monkeypatch.setenv("EVALHARNESS_MAX_LINE_BYTES", "1000")
    (work / "long.txt").write_text("ok\n" + "a" * 1001 + "\n", encoding="utf-8")
    for args in (
        ["terms", "check", "long.txt", "--lang", "sv", "--glossary", str(work / "references/../hyp.txt")],
        ["score", "--hyp", "long.txt", "--ref", "hyp.txt"],
        ["testset", "import", "--lang", "sv=long.txt", "--lang", "hi=hyp.txt", "--name", "x"],
    ):
        rc, _, err = main(monkeypatch, capsys, *args)
        assert rc == 2, args
        line = _one_error_line(err)
        assert "long.txt: line 2 is longer than 1,000 bytes" in line or "hyp.txt" in line, line


def test_a_giant_token_is_near_no_term():
    from evalharness.terminology.spelling import DeletionIndex

    index = DeletionIndex(["polisen", "massmobilisering"])
    assert index.near("polsien") and index.near("a" * 3_000_000) == ()


# ---------------------------------------------------------- output hygiene


def test_markdown_and_terminal_injection_from_hypotheses_is_neutralised(work, monkeypatch, capsys):
    assert main(monkeypatch, capsys, *RUN, "--backend", "passthrough", "--name", "base")[0] == 0
    evil = "![x](https://evil.example/p.png) <img src=x> \x1b[31mred\x1b]0;title\x07"
    rc, _, err = main(monkeypatch, capsys, *RUN, "--backend", _hyp_file(work, [evil] * 10), "--name", "evil")
    assert rc == 0, err
    base, new = _runs(work)
    page = (work / "runs" / new / "report.md").read_text(encoding="utf-8")
    assert "![x](" not in page and "<img" not in page and "\x1b" not in page
    rc, out, _ = main(monkeypatch, capsys, "compare", base, new, "--format", "md", "--ar-trials", "0")
    assert rc == 0 and "![x](" not in out and "<img" not in out
    rc, out, _ = main(monkeypatch, capsys, "compare", base, new, "--ar-trials", "0")
    assert rc == 0 and "red" in out and "\x1b" not in out and "\x07" not in out


def test_files_and_folders_follow_the_umask(work, monkeypatch, capsys):
    old = os.umask(0o022)
    try:
        assert main(monkeypatch, capsys, *RUN, "--backend", "passthrough")[0] == 0
    finally:
        os.umask(old)
    folder = work / "runs" / _runs(work)[0]
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    assert {stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()} == {0o644}


# ------------------------------------------------ tracebacks that are now one line


def test_a_damaged_cache_row_is_translated_again(work, monkeypatch, capsys):
    args = [*TRANSLATE, "--cache", "c.sqlite"]
    assert main(monkeypatch, capsys, *args)[0] == 0
    with sqlite3.connect(work / "c.sqlite") as db:
        db.execute("UPDATE translations SET hypothesis = '{bad'")
    rc, out, err = main(monkeypatch, capsys, *args)
    assert rc == 0 and len(out.splitlines()) == 10
    assert "unreadable cache rows are ignored (translated again)" in err and "10 translated" in err


def test_a_foreign_cache_file_gets_a_hint(work, monkeypatch, capsys):
    with sqlite3.connect(work / "c.sqlite") as db:
        db.execute("CREATE TABLE translations (x)")
    (work / "junk.sqlite").write_bytes(b"not a database at all" * 100)
    for name in ("c.sqlite", "junk.sqlite"):
        args = [*TRANSLATE, "--cache", name]
        rc, _, err = main(monkeypatch, capsys, *args)
        assert rc == 2 and "move it aside" in _one_error_line(err) and name in err


def _report(work) -> tuple[str, dict]:
    run_id = _runs(work)[-1]
    return run_id, json.loads((work / "runs" / run_id / "report.json").read_text(encoding="utf-8"))


def test_damaged_reports_and_test_sets_get_one_line(work, monkeypatch, capsys):
    assert main(monkeypatch, capsys, *RUN, "--backend", "passthrough", "--name", "a")[0] == 0
    assert main(monkeypatch, capsys, *RUN, "--backend", "passthrough", "--name", "b")[0] == 0
    run_id, raw = _report(work)
    raw["segments"] = []
    (work / "runs" / run_id / "report.json").write_text(json.dumps(raw), encoding="utf-8")
    (work / "runs" / _runs(work)[0] / "report.md").unlink()
    rc, _, err = main(monkeypatch, capsys, "compare", *_runs(work))
    assert rc == 2 and "does not hold the same segments" in _one_error_line(err)
    rc, _, err = main(monkeypatch, capsys, "runs", "show", _runs(work)[0])
    assert rc == 0, err  # pages are rendered from report.json
    refs = work / "references" / "hoalu"
    version = (refs / "LATEST").read_text(encoding="utf-8").strip()
    manifest = (refs / version / "manifest.json").read_bytes()
    (refs / version / "manifest.json").write_text("[1]", encoding="utf-8")
    rc, _, err = main(monkeypatch, capsys, "testset", "show", "hoalu")
    assert rc == 2 and "manifest.json: test-set schema version None" in _one_error_line(err)
    (refs / "LATEST").write_bytes(b"\xff\xfe\n")
    rc, _, err = main(monkeypatch, capsys, "testset", "show", "hoalu")
    assert rc == 2 and "LATEST" in _one_error_line(err)
    (refs / "LATEST").write_text(version + "\n", encoding="utf-8")
    (refs / version / "manifest.json").write_bytes(manifest)
    seg = refs / version / "segments.jsonl"
    seg.write_bytes(seg.read_bytes() + b"\xff\n")
    rc, _, err = main(monkeypatch, capsys, "testset", "show", "hoalu")
    assert rc == 2 and "segments.jsonl: unreadable segments ('utf-8' codec" in _one_error_line(err)
    report = work / "runs" / _runs(work)[0] / "report.json"
    report.write_text("[1, 2]", encoding="utf-8")
    rc, _, err = main(monkeypatch, capsys, "compare", *_runs(work))
    assert rc == 2 and "not a run report (not a JSON object)" in _one_error_line(err)


@pytest.mark.parametrize(
    "rules, needle",
    [
        ('max_drop = { bleu = "one" }', "rules.max_drop.bleu"),
        ("max_drop = { blue = 1.0 }", "unknown metric 'blue'"),
        ("max_copy_rate = 2.0", "rules.max_copy_rate"),
        ('no_new_flags = ["wrong-kind"]', "rules.no_new_flags.0"),
        ("min_term_acuracy = 0.5", "min_term_acuracy"),
    ],
)
def test_bad_gate_values_fail_before_any_translation(work, monkeypatch, capsys, rules, needle):
    (work / "gates.toml").write_text(
        '[[gate]]\nname = "g"\nbackend = "passthrough"\npair = "sv-hi"\nbaseline = "b.json"\n'
        f"[gate.rules]\n{rules}\n",
        encoding="utf-8",
    )
    rc, out, err = main(monkeypatch, capsys, "gate")
    line = _one_error_line(err)
    assert rc == 2 and "gates.toml: gate 1 (g): " in line and needle in line and out == ""
    assert not (work / "runs").exists()


@pytest.mark.parametrize(
    "args, needle",
    [
        (["score", "--hyp", "hyp.txt", "--ref", "hyp.txt", "--width", "-3"], "--width"),
        (["compare", "20990101T000000Z-00000000", "--ar-trials", "-5"], "--ar-trials"),
        ([*TRANSLATE, "--chunk-size", "0"], "--chunk-size"),
        (["score", "--hyp", "hyp.txt", "--ref", "hyp.txt", "--opt", "char_order=-1"], "must not be negative"),
        ([*RUN, "--backend", "passthrough", "--opt", "tokenise=intl"], "unknown metric option 'tokenise'"),
        (
            ["score", "--hyp", "hyp.txt", "--ref", "hyp.txt", "--opt", "lowercase=maybe"],
            "expected true or false",
        ),
        (
            ["testset", "export", "hoalu", "--format", "hf", "--out", "hyp.txt"],
            "exists and is not a directory",
        ),
        (["terms", "suggest", "--testset", "hoalu", "--out", "references"], "is a directory"),
        (["runs", "show", "20990101T000000Z-00000000\n"], "no run '20990101T000000Z-00000000\\n'"),
        (["testset", "show", "hoalu\n"], "invalid test-set name"),
    ],
)
def test_bad_numbers_and_paths_are_one_line(work, monkeypatch, capsys, args, needle):
    before = sorted(p.name for p in work.iterdir())
    rc, _, err = main(monkeypatch, capsys, *args)
    assert rc == 2 and needle in _one_error_line(err)
    assert sorted(p.name for p in work.iterdir()) == before  # nothing written


def test_disk_full_is_one_line_and_leaves_nothing_half_written(work, monkeypatch, capsys):
    import evalharness.fileio as fileio

    def full(_fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    (work / "out.txt").write_text("old\n", encoding="utf-8")
    monkeypatch.setattr(fileio.os, "fsync", full)
    args = [*TRANSLATE, "--out", "out.txt"]
    rc, _, err = main(monkeypatch, capsys, *args)
    assert rc == 1 and "No space left on device" in _one_error_line(err)
    assert (work / "out.txt").read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in work.iterdir() if p.name.endswith(".tmp")] == []


# ------------------------------------------------------------------- smaller


def test_two_writers_publishing_one_version_both_succeed(tmp_path, monkeypatch):
    import evalharness.fileio as fileio

    target = tmp_path / "abc"
    real_rename = os.rename

    def rival_first(src, dst):  # another process lands the same version between check and rename
        if not target.exists():
            target.mkdir()
            (target / "segments.jsonl").write_text("theirs\n", encoding="utf-8")
        real_rename(src, dst)

    monkeypatch.setattr(fileio.os, "rename", rival_first)
    assert fileio.publish_dir_atomic({"segments.jsonl": "ours\n"}, target) is False
    assert (target / "segments.jsonl").read_text(encoding="utf-8") == "theirs\n"
    assert [p.name for p in tmp_path.iterdir()] == ["abc"]  # our temp folder is gone


def test_a_rewritten_manifest_version_does_not_load_under_the_old_folder(work, monkeypatch, capsys):
    refs = work / "references" / "hoalu"
    version = (refs / "LATEST").read_text(encoding="utf-8").strip()
    manifest = json.loads((refs / version / "manifest.json").read_text(encoding="utf-8"))
    manifest["version"] = "0123456789ab"
    (refs / version / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    rc, _, err = main(monkeypatch, capsys, "testset", "show", "hoalu")
    assert rc == 2 and "do not match" in _one_error_line(err)


@pytest.mark.parametrize("record", [None, {"file": None}, {"file": "../../etc/passwd", "sha256": "x"}, ["x"]])
def test_a_damaged_statistics_record_is_recomputed_not_followed(work, monkeypatch, capsys, record):
    # found by the fuzz suite: a report whose statistics record lost its file name
    assert main(monkeypatch, capsys, *RUN, "--backend", "passthrough")[0] == 0
    run_id, raw = _report(work)
    raw["statistics"] = record
    (work / "runs" / run_id / "report.json").write_text(json.dumps(raw), encoding="utf-8")
    rc, out, err = main(monkeypatch, capsys, "compare", run_id, run_id, "--ar-trials", "0")
    assert rc in (0, 2) and "Traceback" not in err and "internal error" not in err, err
    if rc == 0:
        assert "chrF" in out
