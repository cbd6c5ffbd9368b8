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
