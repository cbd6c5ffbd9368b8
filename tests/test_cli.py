"""The command line as a user meets it: exit codes, one-line errors, nothing half-written."""

from __future__ import annotations

import json

import pytest
from conftest import EN_OTHER, HI, SV, cli_main, content_lines, run_cli


def assert_one_line_error(proc, *needles):
    assert proc.returncode == 2, proc.stderr
    err = proc.stderr.strip()
    assert err.startswith("error: ") and "\n" not in err, err
    for needle in needles:
        assert str(needle) in err, err


def test_build_show_and_list(tmp_path, encoder, monkeypatch, capsys):
    # In process (cli.main, as the script calls it) so the session's encoder is loaded once.
    refs = tmp_path / "refs"
    build = ["testset", "build", SV, HI, EN_OTHER, "--name", "hoalu", "--references", refs]
    rc, out, err = cli_main(monkeypatch, capsys, *build)
    assert rc == 0, err
    assert "is not parallel to" in out and "written" in out
    rc, out, _ = cli_main(monkeypatch, capsys, "testset", "show", "hoalu", "--references", refs)
    assert rc == 0
    assert "segments: 10  sv-hi: 10" in out
    assert f"NOT {EN_OTHER.name} (en) is not parallel to" in out
    assert "dropped as boilerplate" in out and "counter line" in out and "LEFT OUT" in out
    rc, out, _ = cli_main(monkeypatch, capsys, "testset", "list", "--references", refs)
    assert out.startswith("hoalu\t")
    rc, out, _ = cli_main(monkeypatch, capsys, *build)
    assert "reused (inputs unchanged" in out
    rc, out, _ = cli_main(monkeypatch, capsys, *build, "--rebuild")
    assert "unchanged (rebuilt: same segments, same version)" in out


def test_import_and_export(tmp_path):
    a, b = tmp_path / "a.sv", tmp_path / "b.en"
    a.write_text("Hej.\nTack.\n", encoding="utf-8")
    b.write_text("Hello.\nThanks.\n", encoding="utf-8")
    refs = tmp_path / "refs"
    proc = run_cli(
        "testset", "import", "--lang", f"sv={a}", "--lang", f"en={b}", "--name", "t", "--references", refs
    )
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "hf"
    proc = run_cli("testset", "export", "t", "--format", "hf", "--out", out, "--references", refs)
    assert proc.returncode == 0, proc.stderr
    from datasets import load_from_disk

    assert load_from_disk(str(out))[1]["translation"] == {"sv": "Tack.", "en": "Thanks."}


def test_align_presegmented_covers_every_line_once_in_order(tmp_path):
    sv_lines, hi_lines = content_lines(SV), content_lines(HI)
    src = tmp_path / "src.txt"
    tgt = tmp_path / "tgt.txt"
    src.write_text("\n".join([""] + sv_lines[:3] + [""] + sv_lines[3:6]) + "\n", encoding="utf-8")
    tgt.write_text(
        "\n".join(hi_lines[:2] + [f"{hi_lines[2]} {hi_lines[3]}"] + hi_lines[4:6]) + "\n", encoding="utf-8"
    )
    proc = run_cli("align", src, tgt, "--src-lang", "sv", "--tgt-lang", "hi", "--presegmented")
    assert proc.returncode == 0, proc.stderr
    beads = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [i for b in beads for i in b["src"]] == list(range(8))
    assert [j for b in beads for j in b["tgt"]] == list(range(5))
    assert beads[0] == {"src": [0], "tgt": [], "score": 0.0}  # a leading blank line
    # Lines 3 and 5 merge into target line 2; the blank line between them joins the bead.
    assert {"src": [3, 4, 5], "tgt": [2]} in [{k: b[k] for k in ("src", "tgt")} for b in beads]
    assert all(0.0 <= b["score"] <= 1.0 for b in beads)


def test_align_sentences_tsv(tmp_path):
    src = tmp_path / "s.txt"
    src.write_text(content_lines(SV)[0] + " " + content_lines(SV)[1] + "\n", encoding="utf-8")
    tgt = tmp_path / "t.txt"
    tgt.write_text(content_lines(HI)[0] + "\n" + content_lines(HI)[1] + "\n", encoding="utf-8")
    proc = run_cli("align", src, tgt, "--src-lang", "sv", "--tgt-lang", "hi", "--format", "tsv")
    assert proc.returncode == 0, proc.stderr
    rows = [line.split("\t") for line in proc.stdout.splitlines()]
    assert len(rows) == 2 and all(len(r) == 3 for r in rows)
    assert rows[0][0].startswith("Den 8 september") and float(rows[0][2]) > 0.5


@pytest.mark.parametrize(
    "content, problem",
    [
        (None, "no such file"),
        (b"", "file is empty"),
        (b"\x00\x01\x02binary", "looks binary"),
        (b"\xff\xfe not utf8", "not valid UTF-8"),
    ],
)
def test_bad_documents(tmp_path, content, problem):
    bad = tmp_path / "bad.txt"
    if content is not None:
        bad.write_bytes(content)
    refs = tmp_path / "refs"
    proc = run_cli("testset", "build", SV, bad, "--name", "x", "--references", refs)
    assert_one_line_error(proc, bad, problem)
    assert not list(refs.rglob("*.jsonl"))


def test_unknown_language_code(tmp_path):
    proc = run_cli("testset", "build", f"xx={SV}", HI, "--references", tmp_path)
    assert_one_line_error(proc, "unknown language code 'xx'", SV)
    proc = run_cli("align", SV, HI, "--src-lang", "sv", "--tgt-lang", "klingon")
    assert_one_line_error(proc, "unknown language code 'klingon'")


def test_language_given_twice(tmp_path):
    proc = run_cli(
        "testset",
        "import",
        "--lang",
        f"sv={SV}",
        "--lang",
        f"sv={HI}",
        "--name",
        "x",
        "--references",
        tmp_path,
    )
    assert_one_line_error(proc, "language 'sv' given twice")
    assert not (tmp_path / "x").exists() or not list((tmp_path / "x").iterdir())


def test_unwritable_output_directory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory", encoding="utf-8")
    refs = blocker / "refs"
    proc = run_cli("testset", "build", SV, HI, "--name", "x", "--references", refs)
    assert_one_line_error(proc, refs, "cannot write here")


def test_import_line_count_mismatch(tmp_path):
    a, b = tmp_path / "a.sv", tmp_path / "b.en"
    a.write_text("Hej.\nTack.\n", encoding="utf-8")
    b.write_text("Hello.\n", encoding="utf-8")
    proc = run_cli(
        "testset", "import", "--lang", f"sv={a}", "--lang", f"en={b}", "--name", "t", "--references", tmp_path
    )
    assert_one_line_error(proc, "line counts differ", f"{a} has 2 lines", f"{b} has 1 lines")
    assert not (tmp_path / "t").exists()


def test_show_missing_testset(tmp_path):
    assert_one_line_error(
        run_cli("testset", "show", "nope", "--references", tmp_path), "no test set named 'nope'"
    )
    assert_one_line_error(
        run_cli("testset", "show", "../etc", "--references", tmp_path), "invalid test-set name"
    )


def test_every_option_has_help_and_the_version_prints():
    """A newcomer reads `--help`: every option of every command says what it is for."""
    import typer

    from evalharness import __version__
    from evalharness.cli import app

    def commands(cmd, path):
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                yield from commands(sub, [*path, name])
        else:
            yield path, cmd

    silent = [
        f"{' '.join(path)} {param.opts[0]}"
        for path, cmd in commands(typer.main.get_command(app), [])
        for param in cmd.params
        if getattr(param, "param_type_name", "") == "option" and not param.help
    ]
    assert silent == []
    proc = run_cli("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"evalharness {__version__}"
    backend = {
        " ".join(path): next(p for p in cmd.params if p.opts[0] == "--backend")
        for path, cmd in commands(typer.main.get_command(app), [])
        if any(p.opts[0] == "--backend" for p in cmd.params)
    }
    assert set(backend) >= {"run", "translate"}
    assert all("marian:HUB_ID_OR_DIR" in p.help and "openai:MODEL" in p.help for p in backend.values())
