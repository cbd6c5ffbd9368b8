"""Resource bounds (issue 23): big glossaries stay linear, a huge import is refused with its
limit before it fills memory, and the glossary memo never serves a changed file. The timing
targets themselves live in benchmarks/bench_bounds.py."""

from __future__ import annotations

import pytest
from conftest import run_cli

from evalharness.errors import UserError
from evalharness.terminology.glossary import load_glossary
from evalharness.terminology.matcher import TermIndex


def _mapping_yaml(keys: int, repeat_last: bool = False) -> str:
    lines = ["concepts:", "  - id: c", "    terms:", "      en: [apple]"]
    lines += [f"    k{k}: v" for k in range(keys)]
    if repeat_last:
        lines.append(f"    k{keys - 1}: again")
    return "\n".join(lines) + "\n"


def test_a_repeated_key_at_the_end_of_a_30000_key_mapping_is_still_found(tmp_path):
    path = tmp_path / "g.yaml"
    path.write_text(_mapping_yaml(30_000, repeat_last=True), encoding="utf-8")
    with pytest.raises(UserError, match=r"line 30005: .*'k29999' appears twice"):
        load_glossary(path)


def test_aliases_are_refused_before_anything_is_composed(tmp_path):
    bomb = ["a: &a [x, x, x, x, x, x, x, x, x]"] + [
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}]" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    ]
    path = tmp_path / "g.yaml"
    path.write_text("\n".join(bomb) + "\nconcepts: [*i]\n", encoding="utf-8")
    with pytest.raises(UserError, match="aliases"):
        load_glossary(path)


def test_the_glossary_memo_never_serves_a_changed_file(tmp_path):
    path = tmp_path / "g.yaml"
    path.write_text("concepts:\n  - id: a\n    terms:\n      en: [apple]\n", encoding="utf-8")
    assert load_glossary(path) is load_glossary(path)  # read once for validation and use
    path.write_text("concepts:\n  - id: b\n    terms:\n      en: [pear]\n", encoding="utf-8")
    assert set(load_glossary(path).concepts) == {"b"}


def test_forms_of_each_term_word_are_the_inverse_of_their_owners():
    """The one-pass index equals the definition it replaced (forms owned by each word)."""
    from evalharness.terminology.glossary import Concept, Glossary, Term

    terms = [("c1", "sv", "massmobilisering"), ("c2", "sv", "skickad"), ("c3", "sv", "mobilisering")]
    glossary = Glossary({c: Concept(c, [Term(c, lang, text, "preferred", "")]) for c, lang, text in terms})
    index = TermIndex(glossary)
    index.spelling("sv")
    owners = index._owners["sv"]
    expected = {w: {f for f, ws in owners.items() if w in ws} for w in index._forms["sv"]}
    assert index._forms["sv"] == expected and len(expected) == 3
    assert any(len(forms) > 1 for forms in expected.values())  # inflected forms are there


def test_an_import_over_the_segment_limit_is_refused_with_the_limit(tmp_path):
    for lang, word in (("sv", "Hej"), ("en", "Hello")):
        (tmp_path / f"m.{lang}").write_text("".join(f"{word} {i}.\n" for i in range(60)), encoding="utf-8")
    args = ["testset", "import", "--lang", f"sv={tmp_path / 'm.sv'}", "--lang", f"en={tmp_path / 'm.en'}"]
    args += ["--name", "big", "--references", tmp_path / "refs", "--trust-lang"]
    proc = run_cli(*args, env_extra={"EVALHARNESS_MAX_SEGMENTS": "50"})
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "m.sv: has more than 50 lines" in proc.stderr and "EVALHARNESS_MAX_SEGMENTS" in proc.stderr
    assert not (tmp_path / "refs").exists() or not any((tmp_path / "refs").rglob("*.jsonl"))
    assert run_cli(*args, env_extra={"EVALHARNESS_MAX_SEGMENTS": "60"}).returncode == 0


def test_a_bad_segment_limit_is_blamed_on_the_variable(tmp_path):
    (tmp_path / "a.sv").write_text("Hej.\n", encoding="utf-8")
    (tmp_path / "a.en").write_text("Hello.\n", encoding="utf-8")
    args = ["testset", "import", "--lang", f"sv={tmp_path / 'a.sv'}", "--lang", f"en={tmp_path / 'a.en'}"]
    proc = run_cli(
        *args, "--name", "x", "--references", tmp_path, env_extra={"EVALHARNESS_MAX_SEGMENTS": "-1"}
    )
    assert proc.returncode == 2 and "environment variable EVALHARNESS_MAX_SEGMENTS" in proc.stderr, (
        proc.stderr
    )
    assert "a.sv" not in proc.stderr
