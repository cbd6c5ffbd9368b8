"""Fuzzing the command line with hypothesis: glossaries, line-parallel test-set files,
damaged run reports and whole argument lists, generated and run in process through
`cli.main`. Whatever the input, the command must

- exit 0, 1 or 2 (success, a failed check, bad input) and never raise;
- print no traceback and no "internal error" line (our catch-all for the unforeseen: an
  example that reaches it is a bug this suite found);
- leave no half-written file (`*.tmp`) behind;
- and, for valid input, round-trip: what was written reads back the same.

`make test` runs a few hundred examples (profile "default"); `make fuzz` runs the long
profile (EVALHARNESS_FUZZ=long, thousands of examples)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, run_cli
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

settings.register_profile(
    "default",
    max_examples=60,
    deadline=None,
    database=None,  # nothing written into the checkout
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile("long", parent=settings.get_profile("default"), max_examples=1500)
settings.load_profile("long" if os.environ.get("EVALHARNESS_FUZZ") == "long" else "default")

# Text as careless and hostile users write it: every script we use, quotes, tabs, line and
# paragraph separators, NEL, NUL, escapes, bidi overrides, markup, surrogates excluded.
HOSTILE = st.sampled_from(
    ["\u2028", "\u2029", "\x85", "\x00", "\x1b[31m", "\t", "\r", '"', "'", "*a", "&a", "<b>", "![x](y)",
     "\u202e", "\ufeff", "\u200b", "|", "{", "}", "[", "]", ":", "-", "#", "%", "\\", "..", "/"]
)  # fmt: skip
WORDS = st.sampled_from(
    ["polisen", "Polisen", "पुलिस", "massmobilisering", "Skicklig", "कुशल", "2021", "Hoa Lư"]
)
TEXT = st.lists(st.one_of(WORDS, HOSTILE, st.text(max_size=6)), max_size=8).map(" ".join)


@contextlib.contextmanager
def workdir():
    """A fresh folder holding the committed seed test set, as the current directory."""
    with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp:
        work = Path(tmp)
        shutil.copytree(ROOT / "references" / "hoalu", work / "references" / "hoalu")
        (work / "hyp.txt").write_text("polisen kom\nकुशल जन जुटाव\n", encoding="utf-8")
        with contextlib.chdir(work):
            yield work


def run(*args) -> tuple[int, str, str]:
    """`evalharness ARGS` in process; asserts the invariants every command keeps."""
    proc = run_cli(*args)
    code, stderr = proc.returncode, proc.stderr
    assert code in (0, 1, 2), (args, code, stderr)
    assert "Traceback" not in stderr and "internal error" not in stderr, (args, stderr)
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    if code == 2:  # bad input: exactly one line says what and where, and it is the last
        assert len(errors) == 1 and stderr.strip().splitlines()[-1] == errors[0], (args, stderr)
    leftovers = [p for p in Path.cwd().rglob("*.tmp")]
    assert not leftovers, (args, leftovers)
    return code, proc.stdout, stderr


# ------------------------------------------------------------------ glossaries

LANG = st.sampled_from(["sv", "hi", "en", "pt-BR"])
TERM = st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=12)
CONCEPTS = st.dictionaries(
    st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True),
    st.dictionaries(LANG, st.lists(TERM, min_size=1, max_size=3), min_size=1, max_size=3),
    min_size=1,
    max_size=4,
)


def _unique_terms(concepts: dict) -> bool:
    seen = [
        (lang, " ".join(t.casefold().split()))
        for c in concepts.values()
        for lang, ts in c.items()
        for t in ts
    ]
    return len(seen) == len(set(seen))


@given(CONCEPTS.filter(_unique_terms))
def test_valid_yaml_and_tsv_glossaries_round_trip(concepts):
    from evalharness.terminology.glossary import load_glossary

    with workdir() as work:
        doc = {"concepts": [{"id": cid, "terms": terms} for cid, terms in concepts.items()]}
        (work / "g.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
        rows = [
            f"{cid}\t{lang}\tpreferred\t{t}"
            for cid, terms in concepts.items()
            for lang, ts in terms.items()
            for t in ts
        ]
        (work / "g.tsv").write_text(
            "concept\tlang\tstatus\tterm\n" + "\n".join(rows) + "\n", encoding="utf-8"
        )
        expected = {
            (cid, lang, t) for cid, terms in concepts.items() for lang, ts in terms.items() for t in ts
        }
        for name in ("g.yaml", "g.tsv"):
            glossary = load_glossary(work / name)
            assert {(t.concept, t.lang, t.text) for t in glossary.terms} == expected
            code, _, err = run("terms", "check", "hyp.txt", "--lang", "sv", "--glossary", name)
            assert code == 0, err


GLOSSARY_TEXT = st.one_of(
    st.lists(st.one_of(TEXT, st.sampled_from(["concepts:", "  - id: a", "    terms:", "      sv: [x]", "a: &a [1]", "b: *a"])), max_size=10).map("\n".join),
    st.lists(st.lists(TEXT, max_size=5).map("\t".join), max_size=6).map(lambda r: "concept\tlang\tstatus\tterm\n" + "\n".join(r)),
    st.lists(TEXT, max_size=6).map(lambda r: "<martif><text><body><termEntry id='c'><langSet xml:lang='sv'><tig><term>" + "".join(r) + "</term></tig></langSet></termEntry></body></text></martif>"),
)  # fmt: skip


@given(GLOSSARY_TEXT, st.sampled_from(["g.yaml", "g.tsv", "g.tbx"]))
@example("\x1b[31m", "g.yaml")  # found by this test: a two-line YAML error
@example("concept\tlang\tstatus\tterm\n\r polisen", "g.tsv")  # found: csv.Error on a stray CR
def test_any_glossary_text_is_read_or_refused_in_one_line(text, name):
    with workdir() as work:
        (work / name).write_bytes(text.encode("utf-8", "surrogatepass"))
        code, _, err = run("terms", "check", "hyp.txt", "--lang", "sv", "--glossary", name)
        assert (
            code == 0
            or len(err.strip().splitlines()) >= 1
            and err.strip().splitlines()[-1].startswith("error: ")
        )


# ------------------------------------------------------------ test-set files


@given(st.lists(st.tuples(TEXT, TEXT), min_size=1, max_size=6))
@example([("polisen", "0\x1f\n polisen")])
def test_line_parallel_files_import_and_load_back(rows):
    from evalharness.corpus.ingest import normalize_text
    from evalharness.corpus.store import load_testset

    rows = [tuple(t.replace("\n", " ").replace("\r", " ") for t in r) for r in rows]  # one line each
    with workdir() as work:
        for k, lang in enumerate(("sv", "hi")):
            text = "".join(r[k] + "\n" for r in rows)
            (work / f"{lang}.txt").write_bytes(text.encode("utf-8", "surrogatepass"))
        code, _, err = run(
            "testset", "import", "--lang", "sv=sv.txt", "--lang", "hi=hi.txt", "--name", "fz",
            "--allow-blank", "--trust-lang",  # random text: what is kept when blanks are allowed
        )  # fmt: skip
        if code != 0:
            assert code == 2, err
            return
        ts = load_testset(work / "references", "fz")
        kept = [(normalize_text(a), normalize_text(b)) for a, b in rows]
        kept = [(a, b) for a, b in kept if a and b]
        assert [(s.text["sv"], s.text["hi"]) for s in ts.segments] == kept
        assert run("testset", "show", "fz")[0] == 0


# --------------------------------------------------------------- run reports


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Two real runs of the seed test set, made once; each example damages a copy."""
    base = tmp_path_factory.mktemp("runs")
    shutil.copytree(ROOT / "references" / "hoalu", base / "references" / "hoalu")
    (base / "g.yaml").write_text(GLOSSARY, encoding="utf-8")
    with contextlib.chdir(base):
        for name in ("a", "b"):
            args = [
                "run",
                "--testset",
                "hoalu",
                "--pair",
                "sv-hi",
                "--backend",
                "passthrough",
                "--metrics",
                "chrf,bleu",
            ]
            assert run(*args, "--name", name, "--no-ci", "--glossary", "g.yaml")[0] == 0
    return base


GLOSSARY = (
    "concepts:\n  - id: smm\n    terms:\n      sv: [Skicklig massmobilisering]\n      hi: [कुशल जन जुटाव]\n"
)
RUN_B = ["run", "--testset", "hoalu", "--pair", "sv-hi", "--backend", "passthrough", "--metrics", "chrf,bleu"]


def _mutate(value, path: list, new):
    if not path:
        return new
    key, rest = path[0], path[1:]
    if isinstance(value, dict) and value:
        k = list(value)[key % len(value)]
        return {**value, k: _mutate(value[k], rest, new)}
    if isinstance(value, list) and value:
        i = key % len(value)
        return value[:i] + [_mutate(value[i], rest, new)] + value[i + 1 :]
    return new


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.floats(allow_nan=False), TEXT),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(TEXT, inner, max_size=3)),
    max_leaves=6,
)


@given(st.lists(st.integers(0, 50), min_size=1, max_size=4), JSON_VALUES, st.booleans())
@example([33], [], False)  # found: a report whose segments were emptied broke drift in `run`
def test_damaged_reports_are_shown_compared_or_refused(two_runs, path, new, truncate):
    with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp, contextlib.chdir(tmp):
        shutil.copytree(two_runs, tmp, dirs_exist_ok=True)
        run_a, run_b = sorted(p.name for p in Path("runs").iterdir() if not p.name.startswith("."))
        report = Path("runs") / run_b / "report.json"
        raw = json.loads(report.read_text(encoding="utf-8"))
        text = json.dumps(_mutate(raw, path, new))
        report.write_text(text[: len(text) // 2] if truncate else text, encoding="utf-8")
        for args in (
            ["runs", "show", run_b],
            ["compare", run_a, run_b, "--ar-trials", "0", "--bootstrap", "10"],
            ["runs", "list"],
            ["runs", "history"],
            [*RUN_B, "--name", "b", "--no-ci", "--glossary", "g.yaml"],  # drift against the damaged run
        ):
            run(*args)


# ---------------------------------------------------------- argument lists

COMMANDS = [
    ["score", "--hyp", "hyp.txt", "--ref", "hyp.txt"],
    ["terms", "check", "hyp.txt", "--lang", "sv"],
    ["testset", "show", "hoalu"],
    ["testset", "list"],
    ["testset", "export", "hoalu", "--format", "hf"],
    ["testset", "import", "--lang", "sv=hyp.txt", "--lang", "hi=hyp.txt"],
    ["runs", "list"],
    ["runs", "history"],
    ["translate", "--testset", "hoalu", "--backend", "passthrough", "--pair", "sv-hi"],
    ["run", "--testset", "hoalu", "--backend", "passthrough", "--pair", "sv-hi", "--no-ci"],
    ["compare", "20990101T000000Z-00000000"],
    ["terms", "suggest", "--testset", "hoalu"],
    ["backends", "list"],
]
OPTIONS = ["--metrics", "--opt", "--width", "--format", "--out", "--name", "--pair", "--lang", "--glossary",
           "--chunk-size", "--ar-trials", "--bootstrap", "--details", "--testset", "--backend", "--via",
           "--references", "--runs", "--cache", "--min-count", "--correction", "--lang-pair", "--ci"]  # fmt: skip
VALUES = st.one_of(
    TEXT,
    st.integers(-10, 10**7).map(str),
    st.sampled_from(["hyp.txt", "references", "runs", "../x", "/dev/null", "x.yaml", "sv-hi", "hi-sv", "xx-yy",
                     "bleu,chrf", "ter", "tokenize=intl", "tokenise=13a", "lowercase=maybe", "char_order=-1",
                     "json", "md", "html", "text", "hoalu", "hoalu@0123456789ab", "passthru", "file:hyp.txt",
                     "pivot:passthrough+passthrough", "holm", "", "-", "--", "nan", "1e309"]),
)  # fmt: skip


@given(
    st.sampled_from(COMMANDS),
    st.lists(st.tuples(st.sampled_from(OPTIONS), VALUES), max_size=3),
    st.lists(VALUES, max_size=2),
)
@example(COMMANDS[0], [], ["\u2028"])  # found: a line separator split the error line
def test_any_argument_list_exits_0_1_or_2_without_a_traceback(command, options, extra):
    with workdir():
        args = [*command, *[x for pair in options for x in pair], *extra]
        run(*[a.replace("\x00", "") for a in args])  # argv cannot hold NUL


# --------------------------------------------------------------- configuration

CONFIG_LINES = st.one_of(
    st.sampled_from(["[[systems]]", "[[gate]]", "[gate.rules]", "[tool.evalharness.gates]", "[[tool.evalharness.gates.gate]]"]),
    st.builds(
        "{} = {}".format,
        st.sampled_from(["testset", "documents", "pairs", "metrics", "ci", "glossary", "name", "backend", "options",
                         "pair", "baseline", "max_drop", "no_new_flags", "max_copy_rate", "min_term_accuracy",
                         "references", "runs", "cache", "systems", "rules", "gate", "unknown_key"]),
        st.sampled_from(['"hoalu"', '["sv-hi"]', '["sv-xx"]', "1", "-1", "2.0", "true", "[]", "{}", '"x"', "[[1]]",
                        '"passthru"', '"passthrough"', '"pivot:passthrough+nope"', '{ bleu = "one" }',
                        "{ bleu = 1.0 }", "{ blue = 1.0 }", '["deprecated"]', '["wrong"]', '"../../etc"',
                        '"hoalu\\n"', '"b.json"', '{ num_beams = 0 }', '["bleu", "ter"]', '["bleu", "bleu"]']),
    ),
)  # fmt: skip


@given(st.lists(CONFIG_LINES, max_size=12), st.sampled_from(["eval.toml", "gates.toml", "pyproject.toml"]))
@example(["[[gate]]", 'name = "hoalu\\n"'], "gates.toml")  # found: a name's line break split the problem
@example(["[[systems]]", 'name = "a\\nb"', "unit = 1"], "eval.toml")
def test_any_configuration_is_loaded_or_refused_in_one_line(lines, name):
    from evalharness.errors import UserError
    from evalharness.gates.config import load_gates
    from evalharness.suite import load_suite

    with workdir() as work:
        (work / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
        loader = load_suite if name == "eval.toml" else load_gates
        try:
            loader(work / name)
        except UserError as exc:
            assert "\n" not in str(exc) and name in str(exc), exc


# ------------------------------------------------- careless configuration, by meaning


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value != value:
        return "nan"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string for what we write here
    if isinstance(value, list):
        return "[" + ", ".join(map(_toml_value, value)) + "]"
    return "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"


def _toml(data: dict, tables: str) -> str:
    """`data` as TOML: plain keys first, then each entry of `data[tables]` as [[tables]]."""
    lines = [f"{k} = {_toml_value(v)}" for k, v in data.items() if k != tables]
    for entry in data.get(tables, []):
        lines += ["", f"[[{tables}]]"] + [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in entry.items()]
    return "\n".join(lines) + "\n"


def _suite() -> dict:
    return {
        "testset": "hoalu",
        "pairs": ["sv-hi"],
        "metrics": ["chrf"],
        "systems": [
            {"name": "copy", "backend": "passthrough"},
            {"name": "noise", "backend": "tiny-marian", "options": {"num_beams": 1, "max_new_tokens": 8}},
        ],
    }


def _gates() -> dict:
    def gate(name: str, backend: str, **extra) -> dict:
        return {"name": name, "backend": backend, "testset": "hoalu", "pair": "sv-hi",
                "baseline": f"gates/{name}.json", **extra,
                "rules": {"max_drop": {"bleu": 0.5, "chrf": 1.0}, "max_copy_rate": 1.0}}  # fmt: skip

    return {
        "references": "references",
        "runs": "runs/gates",
        "gate": [gate("copy", "passthrough"), gate("noise", "tiny-marian", options={"num_beams": 1})],
    }


def _set(path: tuple, value):
    def change(data: dict) -> None:
        *parents, last = path
        for key in parents:
            data = data.setdefault(key, {}) if isinstance(data, dict) else data[key]
        data[last] = value

    return change


def _drop(path: tuple):
    def change(data: dict) -> None:
        *parents, last = path
        for key in parents:
            data = data[key]
        data.pop(last, None)

    return change


# Slips a careless user makes: each alone must be refused, in one line naming the file.
CARELESS_SUITE = {
    "two systems of one name": lambda d: d["systems"][1].update(name=d["systems"][0]["name"]),
    "a pair twice": _set(("pairs",), ["sv-hi", "sv-hi"]),
    "a misspelt option": _set(("systems", 1, "options"), {"num_beam": 2, "max_new_tokens": 8}),
    "another misspelt option": _set(("systems", 1, "options"), {"num_beams": 1, "max_new_token": 8}),
    "an option of the wrong type": _set(("systems", 1, "options", "num_beams"), "two"),
    "an option out of range": _set(("systems", 1, "options", "max_new_tokens"), 0),
    "a NaN option": _set(("systems", 1, "options", "max_new_tokens"), float("nan")),
    "a misspelt key": _set(("metric",), ["bleu"]),
    "a misspelt system key": _set(("systems", 0, "backnd"), "passthrough"),
    "an unknown backend": _set(("systems", 0, "backend"), "passthru"),
    "a pair in one direction only given twice": _set(("systems", 0, "pairs"), ["sv-hi", "sv-hi"]),
}
BENIGN_SUITE = {
    "renamed": _set(("systems", 0, "name"), "copy 2"),
    "other pair": _set(("pairs",), ["hi-sv"]),
    "more beams": _set(("systems", 1, "options", "num_beams"), 2),
    "intervals": _set(("ci",), True),
    "no options": _drop(("systems", 1, "options")),
}
CARELESS_GATES = {
    "a NaN drop": _set(("gate", 0, "rules", "max_drop", "bleu"), float("nan")),
    "an infinite drop": _set(("gate", 0, "rules", "max_drop", "chrf"), float("inf")),
    "a negative drop": _set(("gate", 0, "rules", "max_drop", "chrf"), -1.0),
    "two gates of one name": lambda d: d["gate"][1].update(name=d["gate"][0]["name"]),
    "one baseline for two gates": lambda d: d["gate"][1].update(baseline=d["gate"][0]["baseline"]),
    "an infinite copy rate": _set(("gate", 0, "rules", "max_copy_rate"), float("inf")),
    "a copy rate over 1": _set(("gate", 0, "rules", "max_copy_rate"), 1.5),
    "a NaN term accuracy": _set(("gate", 0, "rules", "min_term_accuracy"), float("nan")),
    "a misspelt rule": _set(("gate", 0, "rules", "max_drops"), {"bleu": 1.0}),
    "a misspelt metric": _set(("gate", 0, "rules", "max_drop"), {"blue": 1.0}),
    "a misspelt option": _set(("gate", 1, "options"), {"num_beam": 1}),
    "a misspelt gate key": _set(("gate", 0, "pairs"), "sv-hi"),
}
BENIGN_GATES = {
    "renamed": _set(("gate", 0, "name"), "copy 2"),
    "a zero drop": _set(("gate", 0, "rules", "max_drop", "bleu"), 0.0),
    "no copy rule": _drop(("gate", 0, "rules", "max_copy_rate")),
    "more beams": _set(("gate", 1, "options", "num_beams"), 3),
}


@given(
    st.sampled_from(["eval.toml", "gates.toml"]),
    st.lists(st.integers(0, 20), max_size=3),
    st.lists(st.integers(0, 20), max_size=2, unique=True),
)
def test_careless_configuration_is_refused_and_careful_is_loaded(name, careless, benign):
    """Benign edits load; any careless slip among them is refused before any work, in one
    line naming the file: never a run with a silently wrong number."""
    import copy

    from evalharness.errors import UserError
    from evalharness.gates.config import load_gates
    from evalharness.suite import load_suite

    bad, good = (CARELESS_SUITE, BENIGN_SUITE) if name == "eval.toml" else (CARELESS_GATES, BENIGN_GATES)
    data = copy.deepcopy(_suite() if name == "eval.toml" else _gates())
    for i in benign:
        list(good.values())[i % len(good)](data)
    slips = [list(bad)[i % len(bad)] for i in careless]
    for slip in slips:
        bad[slip](data)
    with workdir() as work:
        (work / name).write_text(_toml(data, "systems" if name == "eval.toml" else "gate"), encoding="utf-8")
        loader = load_suite if name == "eval.toml" else load_gates
        try:
            loaded = loader(work / name)
        except UserError as exc:
            assert slips, f"a careful configuration was refused: {exc}"
            assert "\n" not in str(exc) and name in str(exc), exc
            assert not (work / "runs").exists()
            return
        assert not slips, f"accepted although careless ({', '.join(slips)})"
        names = [s.name for s in loaded.systems] if name == "eval.toml" else [g.name for g in loaded.gates]
        assert len(names) == len(set(names))


@pytest.fixture(scope="module")
def seed_lines():
    from evalharness.corpus.store import load_testset

    segments = load_testset(ROOT / "references", "hoalu").segments_for("sv", "hi")
    return [(s.text["sv"], s.text["hi"]) for s in segments]


@given(st.integers(0, 50), st.integers(3, 10), st.booleans())
def test_swapped_language_files_are_refused(seed_lines, start, count, swapped):
    rows = (seed_lines * 6)[start : start + count]
    with workdir() as work:
        (work / "a.txt").write_text("".join(sv + "\n" for sv, _ in rows), encoding="utf-8")
        (work / "b.txt").write_text("".join(hi + "\n" for _, hi in rows), encoding="utf-8")
        langs = (
            ["--lang", "hi=a.txt", "--lang", "sv=b.txt"]
            if swapped
            else ["--lang", "sv=a.txt", "--lang", "hi=b.txt"]
        )
        code, _, err = run("testset", "import", *langs, "--name", "x")
        if swapped:
            assert code == 2 and "swapped" in err, err
            assert not (work / "references" / "x").exists()
        else:
            assert code == 0, err


# ------------------------------------------------------------ a damaged runs folder

DAMAGE = [
    "symlinked run folder",
    "symlinked report",
    "symlinked statistics",
    "dangling report link",
    "FIFO report",
    "FIFO statistics",
    "huge report",
    "folder as report",
    "id names a path",
    "id names the other run",
    "score edited to inf",
    "statistics file names a path",
]


EDITS = {"id names a path", "id names the other run", "score edited to inf", "statistics file names a path"}


def _outside_state(outside: Path) -> list:
    """What is outside the folders given: every entry, its kind, size and content."""
    state = []
    for p in sorted(outside.rglob("*")):
        kind = "link" if p.is_symlink() else "fifo" if p.is_fifo() else "dir" if p.is_dir() else "file"
        data = p.read_bytes() if kind == "file" else b""
        state.append((str(p), kind, len(data), hash(data)))
    return state


def _damage(kind: str, runs: Path, run_id: str, outside: Path, env: dict) -> None:
    folder = runs / run_id
    report = folder / "report.json"
    stats = folder / "report.stats.npz"
    decoy = outside / run_id
    raw = json.loads(report.read_text(encoding="utf-8")) if kind in EDITS else {}
    if kind == "symlinked run folder":
        shutil.rmtree(folder)
        folder.symlink_to(decoy, target_is_directory=True)
    elif kind == "symlinked report":
        report.unlink()
        report.symlink_to(decoy / "report.json")
    elif kind == "symlinked statistics":
        stats.unlink()
        stats.symlink_to(outside / "trap.fifo")
    elif kind == "dangling report link":
        report.unlink()
        report.symlink_to(outside / "missing.json")
    elif kind == "FIFO report":
        report.unlink()
        os.mkfifo(report)
    elif kind == "FIFO statistics":
        stats.unlink()
        os.mkfifo(stats)
    elif kind == "huge report":
        env["EVALHARNESS_MAX_REPORT_BYTES"] = str(report.stat().st_size + 10)
        with report.open("ab") as fh:
            fh.truncate(report.stat().st_size + (1 << 20))  # sparse: large, not heavy
    elif kind == "folder as report":
        report.unlink()
        report.mkdir()
    elif kind == "id names a path":
        raw["run_id"] = f"../../{outside.name}/{run_id}"
        report.write_text(json.dumps(raw), encoding="utf-8")
    elif kind == "id names the other run":
        other = next(p.name for p in runs.iterdir() if p.name != run_id and not p.name.startswith("."))
        raw["run_id"] = other
        report.write_text(json.dumps(raw), encoding="utf-8")
    elif kind == "score edited to inf":
        raw["scores"]["chrf"]["score"] = float("inf")
        report.write_text(json.dumps(raw), encoding="utf-8")
    elif kind == "statistics file names a path":
        raw["statistics"]["file"] = f"../../{outside.name}/trap.fifo"
        report.write_text(json.dumps(raw), encoding="utf-8")


@contextlib.contextmanager
def _watchdog(seconds: int = 120):
    """A command that blocks (on a FIFO) fails the suite instead of hanging it."""
    import threading

    timer = threading.Timer(seconds, lambda: os._exit(3))
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


@given(st.lists(st.sampled_from(DAMAGE), min_size=1, max_size=3, unique=True), st.booleans())
@example(["symlinked run folder"], True)
@example(["FIFO report", "statistics file names a path"], False)
def test_a_damaged_runs_folder_never_leads_outside_it(two_runs, damage, first):
    """Whatever is planted in runs/, commands exit 0, 1 or 2 without blocking, and read and
    write nothing outside the folders given: the decoy outside (a valid report of a system
    named OUTSIDE, a FIFO that would block a reader) is never shown, opened or changed."""
    with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp, contextlib.chdir(tmp):
        work = Path(tmp) / "work"
        shutil.copytree(two_runs, work)
        runs = work / "runs"
        ids = sorted(p.name for p in runs.iterdir() if not p.name.startswith("."))
        target = ids[0 if first else 1]
        outside = Path(tmp) / "outside"
        decoy = outside / target
        shutil.copytree(runs / target, decoy)
        raw = json.loads((decoy / "report.json").read_text(encoding="utf-8"))
        raw["backend"]["name"] = "OUTSIDE"
        (decoy / "report.json").write_text(json.dumps(raw), encoding="utf-8")
        os.mkfifo(outside / "trap.fifo")
        env: dict = {}
        for kind in sorted(damage, key=lambda k: k not in EDITS):  # edits need the report still JSON
            if (runs / target).is_symlink() or not (runs / target / "report.json").is_file():
                break  # later damage needs the report still there
            _damage(kind, runs, target, outside, env)
        before = _outside_state(outside)
        with contextlib.chdir(work), _watchdog():
            for args in (
                ["runs", "list"],
                ["runs", "show", target],
                ["runs", "history"],
                ["compare", *ids, "--ar-trials", "0", "--bootstrap", "10"],
                [*RUN_B, "--name", "a", "--no-ci"],  # drift against the previous run of "a"
            ):
                proc = run_cli(*args, env_extra=env)
                assert proc.returncode in (0, 1, 2), (args, proc.stderr)
                assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, (
                    args,
                    proc.stderr,
                )
                assert "OUTSIDE" not in proc.stdout + proc.stderr, (damage, args, proc.stdout[:300])
        assert _outside_state(outside) == before, damage
        assert not list(outside.parent.glob("*.tmp")) and not list(runs.rglob("*.tmp"))
