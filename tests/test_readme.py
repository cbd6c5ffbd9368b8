"""The README and docs/ stay true: every relative link reaches a file and a heading, every
`evalharness COMMAND --option` in a code block exists, every sample transcript (a code block
whose lines start with `$ `) prints today what it shows, and the reference tables and
examples match the code they describe.

A transcript runs in a fresh copy of the repository's data (test sets, baselines, examples),
one shell per `$` line, with `evalharness` meaning this checkout's code. Its output is
compared line by line; a line `…` stands for lines left out, and run ids (which hold the time
of the run) match any run id, each id a later command names being the one the run printed."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import typer

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted((ROOT / "docs").glob("*.md"))
MARKDOWN = [ROOT / "README.md", *DOCS]
RUN_ID = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{8}")
ELIDED = "…"


# ---------------------------------------------------------------- reading Markdown


def blocks(path: Path) -> list[tuple[str, str]]:
    """(info string, text) of every fenced code block, in order."""
    return re.findall(r"^```([^\n`]*)\n(.*?)^```$", path.read_text(encoding="utf-8"), flags=re.S | re.M)


def unfenced(path: Path) -> str:
    """The file without its fenced code blocks."""
    return re.sub(r"^```[^\n`]*\n.*?^```$", "", path.read_text(encoding="utf-8"), flags=re.S | re.M)


def prose(path: Path) -> str:
    """The file without its fenced code blocks and inline code spans."""
    return re.sub(r"`[^`]+`", "", unfenced(path))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: inline markup dropped, lower case, punctuation removed,
    spaces as hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = text.replace("`", "").replace("*", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading's anchor, with GitHub's -1, -2 suffixes for repeated headings."""
    seen: dict[str, int] = {}
    found = set()
    for line in unfenced(path).splitlines():
        if m := re.match(r"#{1,6} (.+)", line):
            base = slug(m.group(1))
            n = seen.get(base, 0)
            found.add(base if n == 0 else f"{base}-{n}")
            seen[base] = n + 1
    return found


def test_slug_follows_github():
    assert (
        slug("Model metrics: COMET, CometKiwi, xCOMET, MetricX")
        == "model-metrics-comet-cometkiwi-xcomet-metricx"
    )
    assert (
        slug("The bundled suite: `make eval` and `make test`") == "the-bundled-suite-make-eval-and-make-test"
    )
    assert slug("gates.toml") == "gatestoml"
    assert slug("Re-segmentation figures") == "re-segmentation-figures"


# ---------------------------------------------------------------- links


def links(path: Path) -> list[str]:
    return re.findall(r"!?\[[^\]]*\]\(([^)\s]+)\)", prose(path))


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_reach_a_file_and_heading(path):
    checked, broken = 0, []
    for target in links(path):
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        dest = (path.parent / file_part).resolve() if file_part else path
        checked += 1
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and (dest.suffix != ".md" or anchor not in anchors(dest)):
            broken.append(f"{target}: no heading #{anchor} in {dest.relative_to(ROOT)}")
        elif not str(dest).startswith(str(ROOT)):
            broken.append(f"{target}: outside the repository")
    assert not broken, f"{path.name}: " + "; ".join(broken)
    if path.name == "README.md":
        assert checked >= 20, f"only {checked} relative links found in the README (parsing broken?)"


def test_every_doc_is_linked_from_the_readme():
    readme_links = {(ROOT / t.partition("#")[0]).resolve() for t in links(ROOT / "README.md")}
    assert not [d.name for d in DOCS if d.resolve() not in readme_links]


def test_link_checker_sees_a_broken_link(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n[ok](#title) [bad](#nowhere) [gone](missing.md) `[code](x.md)`\n")
    assert links(page) == ["#title", "#nowhere", "missing.md"]
    assert anchors(page) == {"title"}


# ---------------------------------------------------------------- commands named in code blocks


def cli_tree():
    from evalharness import cli

    return typer.main.get_command(cli.app)


def _is_group(command) -> bool:
    """typer vendors its own click: a group is what has subcommands."""
    return isinstance(getattr(command, "commands", None), dict)


def _options(command) -> set[str]:
    names = {"--help"}
    for param in command.params:
        names.update(o for o in (*param.opts, *param.secondary_opts) if o.startswith("--"))
    return names


def named_commands(text: str) -> list[tuple[str, list[str], list[str]]]:
    """(line, command words, --options) for each `evalharness WORD...` in a code block's text;
    a synopsis's indented continuation lines (`[--opt ...]`) count as the same line."""
    found = []
    lines = text.splitlines()
    for n, line in enumerate(lines):
        m = re.search(r"(?:^|[\s$`(:])evalharness((?:[ \t]+[a-z][a-z0-9-]*)+)(.*)", line)
        if not m:
            continue
        rest = [m.group(2)]
        for more in lines[n + 1 :]:
            if not re.match(r"\s+[\[-]", more):
                break
            rest.append(more)
        words_and_rest = " ".join(rest).split(" #")[0]  # not the comment
        options = re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", words_and_rest)
        found.append((line.strip(), m.group(1).split(), options))
    return found


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda p: str(p.relative_to(ROOT)))
def test_commands_in_code_blocks_exist(path):
    root = cli_tree()
    seen, problems = 0, []
    for _info, text in blocks(path):
        for line, words, options in named_commands(text):
            command, named, unknown_word = root, [], None
            for word in words:
                if not _is_group(command):
                    break  # the rest are the command's arguments
                if word not in command.commands:
                    unknown_word = word
                    break
                command, named = command.commands[word], [*named, word]
            if unknown_word is not None:
                problems.append(f"{line!r}: no command 'evalharness {' '.join([*named, unknown_word])}'")
                continue
            if _is_group(command):
                continue  # a group named alone (prose such as `evalharness runs`)
            seen += 1
            unknown = sorted(set(options) - _options(command))
            if unknown:
                problems.append(f"{line!r}: 'evalharness {' '.join(named)}' has no {', '.join(unknown)}")
    assert not problems, "\n".join(problems)
    if path.name == "README.md":
        assert seen >= 8, f"only {seen} commands found in the README's code blocks (parsing broken?)"


def test_command_check_catches_a_typo():
    root = cli_tree()
    [(_, words, options)] = named_commands("$ evalharness runs shw RUN --format csv")
    assert words[:2] == ["runs", "shw"] and options == ["--format"]
    assert "shw" not in root.commands["runs"].commands
    [(_, _, options)] = named_commands("evalharness score --hyp A\n                  [--ci] [--nope]\nnext")
    assert options == ["--hyp", "--ci", "--nope"]
    assert "--nope" not in _options(root.commands["score"])


# ---------------------------------------------------------------- transcripts


def transcripts(path: Path) -> list[list[tuple[str, list[str]]]]:
    """Each block whose first line starts with `$ `: [(command, expected output lines)]."""
    found = []
    for info, text in blocks(path):
        if info.strip() or not text.startswith("$ "):
            continue
        steps: list[tuple[str, list[str]]] = []
        for line in text.splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], []))
            else:
                steps[-1][1].append(line)
        found.append(steps)
    return found


def written_files(path: Path) -> dict[str, str]:
    """Blocks that name the file they are (`# file: gates-mine.toml`, `<!-- file: ours.xml -->`)."""
    files = {}
    for _info, text in blocks(path):
        if m := re.match(r"(?:#|<!--) file: (\S+)", text):
            files[m.group(1)] = text
    return files


def matches(expected: list[str], actual: list[str]) -> bool:
    """Whether `actual` is `expected`, each `…` line standing for any lines (none included)."""
    expected = [RUN_ID.sub("RUN", line.rstrip()) for line in expected]
    actual = [RUN_ID.sub("RUN", line.rstrip()) for line in actual]
    parts, part = [], []
    for line in expected:
        if line == ELIDED:
            parts.append(part)
            part = []
        else:
            part.append(line)
    parts.append(part)
    pos = 0
    for n, part in enumerate(parts):
        if n == 0:
            if actual[: len(part)] != part:
                return False
            pos = len(part)
            continue
        for start in range(pos, len(actual) - len(part) + 1):
            if actual[start : start + len(part)] == part:
                pos = start + len(part)
                break
        else:
            return False
    return pos == len(actual) or not parts[-1] and len(parts) > 1


def test_matches_elisions():
    assert matches(["a", "…", "d"], ["a", "b", "c", "d"])
    assert matches(["a", "…"], ["a", "b"])
    assert not matches(["a", "…", "d"], ["a", "b", "c"])
    assert not matches(["a"], ["a", "b"])
    assert matches(["x 20261201T175034Z-e3c3bef8"], ["x 20991231T000000Z-0123abcd"])


def workspace(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A copy of what the examples read, and an environment whose `evalharness` is this
    checkout's code (unbuffered, so stdout and stderr interleave as on a terminal)."""
    work = tmp_path / "repo"
    work.mkdir()
    for name in ("references", "gates", "docs", "seeds"):
        shutil.copytree(ROOT / name, work / name, ignore=shutil.ignore_patterns(".build-index.json"))
    for name in ("eval.toml", "gates.toml"):
        shutil.copy(ROOT / name, work / name)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "evalharness"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m evalharness "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        "HF_HUB_OFFLINE": "1",
    }
    return work, env


WITH_TRANSCRIPTS = [p for p in MARKDOWN if transcripts(p)]


def test_readme_and_reference_have_transcripts():
    names = {p.name for p in WITH_TRANSCRIPTS}
    assert {"README.md", "configuration.md", "reports.md", "metrics.md", "test-sets.md"} <= names


@pytest.mark.parametrize("path", WITH_TRANSCRIPTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_transcripts_print_what_they_show(path, tmp_path):
    work, env = workspace(tmp_path)
    for name, text in written_files(path).items():
        (work / name).write_text(text, encoding="utf-8")
    ids: dict[str, str] = {}  # a run id the page shows -> the one this run printed
    for steps in transcripts(path):
        for command, expected in steps:
            for shown, real in ids.items():
                command = command.replace(shown, real)
            proc = subprocess.run(
                ["bash", "-c", command],
                cwd=work,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=600,
            )
            actual = proc.stdout.splitlines()
            assert matches(expected, actual), (
                f"{path.name}: `{command}` printed (exit {proc.returncode}):\n{proc.stdout}\n"
                f"--- the page shows:\n" + "\n".join(expected)
            )
            shown_ids = list(dict.fromkeys(RUN_ID.findall("\n".join(expected))))
            real_ids = list(dict.fromkeys(RUN_ID.findall(proc.stdout)))
            ids.update({s: r for s, r in zip(shown_ids, real_ids, strict=False) if s != r})


def test_readme_python_api_prints_what_it_shows(tmp_path):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Python API\n", 1)[1].split("\n## ", 1)[0]
    code = re.findall(r"```python\n(.*?)```", section, flags=re.S)[0]
    shown = re.search(r"```python\n.*?```\n\nprints[^\n]*\n\n```\n(.*?)```", section, flags=re.S)
    assert shown, "the first Python example's output is not shown after it"
    out = io.StringIO()
    with contextlib.chdir(tmp_path), contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {"__name__": "__readme__"})
    assert out.getvalue().splitlines() == shown.group(1).splitlines()


# ---------------------------------------------------------------- reference tables and examples


def test_backend_options_table_matches_the_backends():
    from evalharness.backends.registry import _declared

    text = (ROOT / "docs" / "backends.md").read_text(encoding="utf-8")
    table = text.split("## Backend options", 1)[1].split("\n\n| backend |", 1)[1].split("\n\n", 1)[0]
    rows = re.findall(r"^\| `([a-z0-9-]+)` \| (.*) \|$", table, flags=re.M)
    assert len(rows) >= 10
    for name, cell in rows:
        shown = dict(re.findall(r"`([a-z_]+)=([^`]*)`", cell))
        declared = {
            key: json.dumps(value) if isinstance(value, str) else str(value).lower()
            for key, value in _declared(name).items()
        }
        assert shown == declared, name


def test_configuration_examples_load(tmp_path):
    from evalharness.gates.config import load_gates
    from evalharness.suite import load_suite

    loaded = 0
    for info, text in blocks(ROOT / "docs" / "configuration.md"):
        if info != "toml":
            continue
        name = text.splitlines()[0].split()[-1]
        (tmp_path / name).write_text(text, encoding="utf-8")
        if name == "eval.toml":
            suite = load_suite(tmp_path / name)
            assert suite.mlflow is not None and {s.unit for s in suite.systems} == {"segment", "document"}
        else:
            assert load_gates(tmp_path / name).gates[0].rules["max_changed_segments"] == 0
        loaded += 1
    assert loaded == 3


def test_glossary_examples_give_the_same_terms(tmp_path):
    from evalharness.terminology.glossary import load_glossary

    suffix = {"yaml": ".yaml", "tsv": ".tsv", "xml": ".tbx"}
    terms = []
    for n, (info, text) in enumerate(blocks(ROOT / "docs" / "glossary.md")):
        if info in suffix:
            path = tmp_path / f"example{n}{suffix[info]}"
            path.write_text(text, encoding="utf-8")
            terms.append(sorted((t.concept, t.lang, t.text, t.status) for t in load_glossary(path).terms))
    assert len(terms) == 3 and terms[0] == terms[1] == terms[2]
    assert ("skilled-mass-mobilization", "sv", "Skickad massmobilisering", "deprecated") in terms[0]
