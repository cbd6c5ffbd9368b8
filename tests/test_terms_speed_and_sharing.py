"""Terms listed under two concepts (accepted with one warning, each occurrence counted for
the concept its source calls for), the on-disk lexicon index that lets `terms check` start
fast (built once, read after; a damaged file rebuilt, never trusted; never unpickled), and
the remembered language codes. The start-up time itself is a benchmark
(`benchmarks/bench_terms.py --parts cli`), not a test."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from conftest import run_cli

from evalharness.errors import UserError
from evalharness.terminology import languages
from evalharness.terminology import lexicon as lx
from evalharness.terminology.checks import check_segments
from evalharness.terminology.glossary import load_glossary

SHARED = """
concepts:
  - id: benign-neoplasm
    terms:
      en: [benign neoplasm]
      pl: [nowotwór łagodny, {term: guz niezłośliwy, status: deprecated}]
  - id: benign-tumor
    terms:
      en: [benign tumor]
      pl: [nowotwór łagodny, {term: guz łagodny, status: deprecated}]
"""


def _warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("warning:")]


# ------------------------------------------------------------------ a term under two concepts


def test_a_term_under_two_concepts_loads_with_one_warning(tmp_path, capsys):
    path = tmp_path / "shared.yaml"
    path.write_text(SHARED, encoding="utf-8")
    glossary = load_glossary(path)
    warnings = _warnings(capsys.readouterr().err)
    assert len(warnings) == 1, warnings
    line = warnings[0]
    assert str(path) in line and "'nowotwór łagodny' (pl)" in line
    assert "'benign-neoplasm'" in line and "'benign-tumor'" in line
    both = [t.concept for t in glossary.terms if t.text == "nowotwór łagodny"]
    assert both == ["benign-neoplasm", "benign-tumor"]
    assert load_glossary(path) is glossary and not _warnings(capsys.readouterr().err)  # memo: no repeat
    # twice inside one concept is still refused
    path.write_text("concepts:\n  - id: a\n    terms:\n      pl: [guz, Guz]\n", encoding="utf-8")
    with pytest.raises(UserError, match="listed twice in this concept"):
        load_glossary(path)


def test_a_shared_term_counts_for_the_concept_its_source_calls_for(tmp_path, capsys):
    path = tmp_path / "shared.yaml"
    path.write_text(SHARED, encoding="utf-8")
    glossary = load_glossary(path)
    sources = [
        "A benign neoplasm grows slowly.",
        "Benign tumors grow slowly.",
        "A benign tumor is not always a benign neoplasm.",
        "A benign tumor grows slowly.",
        "A benign neoplasm grows slowly.",
    ]
    hyps = [
        "Nowotwór łagodny rośnie powoli.",  # the shared term for A
        "Nowotwory łagodne rosną powoli.",  # the shared term (inflected) for B
        "Nowotwór łagodny to nie zawsze nowotwór łagodny.",  # once for each
        "Guz łagodny rośnie powoli.",  # B's deprecated term
        "Rośnie powoli.",  # A missing
    ]
    report = check_segments(hyps, "pl", glossary, sources=[[s] for s in sources], source_langs={"en"})
    flags = [(f.segment, f.kind, f.concept, f.found) for f in report.flags]
    assert flags == [
        (3, "deprecated", "benign-tumor", "Guz łagodny"),
        (4, "missing", "benign-neoplasm", ""),
    ]
    assert report.renditions[:3] == [
        {"benign-neoplasm": ["nowotwór łagodny"]},
        {"benign-tumor": ["nowotwór łagodny"]},
        {"benign-tumor": ["nowotwór łagodny"], "benign-neoplasm": ["nowotwór łagodny"]},
    ]
    assert report.occurrences == 6 and report.acceptable == 4
    # without a source, a shared preferred term is never a wrong or deprecated rendering
    alone = check_segments(["Nowotwór łagodny rośnie."], "pl", glossary)
    assert alone.flags == [] and alone.acceptable == 1


def test_a_shared_source_term_is_missing_only_when_neither_concept_is_there(tmp_path):
    path = tmp_path / "g.yaml"
    path.write_text(
        """
concepts:
  - id: tumor-growth
    terms: {en: [tumor], sv: [tumör]}
  - id: tumor-swelling
    terms: {en: [tumor], sv: [svulst]}
""",
        encoding="utf-8",
    )
    glossary = load_glossary(path)
    src = [["The tumor grew."]] * 3
    report = check_segments(["Tumören växte.", "Svulsten växte.", "Den växte."], "sv", glossary, sources=src)
    flags = [(f.segment, f.kind, f.concept, f.detail) for f in report.flags]
    assert flags == [(2, "missing", "tumor-growth", {"or": ["tumor-swelling"]})]


def test_terms_check_with_a_shared_term(tmp_path):
    (tmp_path / "g.yaml").write_text(SHARED, encoding="utf-8")
    (tmp_path / "hyp.pl").write_text("Nowotwór łagodny rośnie.\nGuz łagodny rośnie.\n", encoding="utf-8")
    (tmp_path / "src.en").write_text("A benign neoplasm grows.\nA benign tumor grows.\n", encoding="utf-8")
    args = ["terms", "check", "hyp.pl", "--lang", "pl", "--glossary", "g.yaml", "--src", "src.en"]
    proc = run_cli(*args, "--src-lang", "en", "--format", "jsonl", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert len(_warnings(proc.stderr)) == 1 and "listed under concepts" in proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(r["line"], r["kind"], r["concept"]) for r in rows] == [(2, "deprecated", "benign-tumor")]


# ------------------------------------------------------------------ the lexicon index on disk


@pytest.fixture
def counted_builds(monkeypatch, tmp_path):
    """The cache folder set to a fresh temp folder, and a list that grows on each build."""
    monkeypatch.setenv("EVALHARNESS_LEXICON_CACHE", str(tmp_path / "lexicons"))
    calls: list[str] = []
    real = lx.build_arrays

    def counting(lang):
        calls.append(lang)
        return real(lang)

    monkeypatch.setattr(lx, "build_arrays", counting)
    return calls


def test_the_index_is_built_once_then_read_from_disk(counted_builds, tmp_path):
    from simplemma.strategies.dictionaries.dictionary_factory import DefaultDictionaryFactory

    first = lx.load_arrays("hi", lx.cache_dir())
    path = lx.index_path(lx.cache_dir(), "hi")
    assert path.is_file() and path.name.startswith(f"hi-simplemma{lx.simplemma_version()}-")
    second = lx.load_arrays("hi", lx.cache_dir())
    assert counted_builds == ["hi"]  # the second load read the file
    assert all(np.array_equal(first[k], second[k]) for k in first)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left
    # the index answers as simplemma's own dictionary does
    lexicon = lx.Lexicon("hi", second)
    simplemma_dict = DefaultDictionaryFactory(cache_max_size=0).get_dictionary("hi")
    sample = sorted(simplemma_dict)[::97]
    assert len(lexicon) == len(simplemma_dict)
    assert [lexicon.get(w) for w in sample] == [simplemma_dict[w] for w in sample]
    assert lexicon.get("zzzz-not-a-word") is None
    form = next(w for w in sample if simplemma_dict[w] != w)
    from evalharness.terminology.normalize import normalize

    assert normalize(form) in {normalize(f) for f in lexicon.forms_of(normalize(simplemma_dict[form]))}


def _damage_flip(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside the form strings: only the CRC can tell
    path.write_bytes(bytes(data))


def _damage_truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])


def _damage_garbage(path):
    path.write_bytes(b"not an index at all")


def _damage_other_language(path):
    arrays = lx.read_arrays(path, "hi")
    meta = json.loads(bytes(arrays["meta"]))
    arrays["meta"] = np.frombuffer(json.dumps({**meta, "lang": "mr"}).encode(), dtype=np.uint8)
    lx.write_arrays(path, arrays)


def _damage_pickled_object(path):
    """A sound zip whose array needs unpickling: refused by allow_pickle=False, never run."""
    arrays = lx.read_arrays(path, "hi")
    with zipfile.ZipFile(path, "w") as zf:
        for name, arr in arrays.items():
            with zf.open(f"{name}.npy", "w") as fh:
                np.lib.format.write_array(
                    fh, np.array([object()], dtype=object) if name == "meta" else arr, allow_pickle=True
                )


def _damage_offsets(path):
    arrays = lx.read_arrays(path, "hi")
    arrays["form_off"] = arrays["form_off"].copy()
    arrays["form_off"][10] = arrays["form_off"][-1]  # a sound file whose offsets go backwards
    lx.write_arrays(path, arrays)


@pytest.mark.parametrize(
    "damage",
    [
        _damage_flip,
        _damage_truncate,
        _damage_garbage,
        _damage_other_language,
        _damage_pickled_object,
        _damage_offsets,
    ],
)
def test_a_damaged_index_is_rebuilt_not_trusted(counted_builds, capsys, damage):
    directory = lx.cache_dir()
    sound = lx.load_arrays("hi", directory)
    path = lx.index_path(directory, "hi")
    damage(path)
    capsys.readouterr()
    with pytest.raises(lx.DamagedIndex):
        lx.read_arrays(path, "hi")
    rebuilt = lx.load_arrays("hi", directory)
    warnings = _warnings(capsys.readouterr().err)
    assert len(warnings) == 1 and "damaged lexicon index" in warnings[0] and str(path) in warnings[0]
    assert counted_builds == ["hi", "hi"]
    assert all(np.array_equal(sound[k], rebuilt[k]) for k in sound)
    lx.read_arrays(path, "hi")  # the file is sound again
    lx.load_arrays("hi", directory)
    assert counted_builds == ["hi", "hi"]


def test_without_a_cache_folder_the_index_is_built_in_memory(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("EVALHARNESS_LEXICON_CACHE", "")
    assert lx.cache_dir() is None
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache folder would go", encoding="utf-8")
    arrays = lx.load_arrays("hi", blocked / "lexicons")  # cannot be written: one warning, still works
    assert len(arrays["form_lemma"]) > 1000
    warnings = _warnings(capsys.readouterr().err)
    assert len(warnings) == 1 and "cannot keep the lexicon index" in warnings[0]


# ------------------------------------------------------------------ language codes


def test_language_codes_are_remembered_and_unknown_ones_still_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("EVALHARNESS_LEXICON_CACHE", str(tmp_path))
    assert languages.check_term_language(" PL ") == "pl"  # learns the list (loads the identifier)
    remembered = json.loads(next(tmp_path.glob("langid-labels-*.json")).read_text(encoding="utf-8"))
    assert "pl" in remembered and "sv" in remembered

    import evalharness.corpus.language as language

    def no_identifier():
        raise AssertionError("the identifier was loaded")

    monkeypatch.setattr(language, "_identifier", no_identifier)
    language.known_languages.cache_clear()
    assert languages.check_term_language("sv") == "sv"  # from the list alone
    with pytest.raises(AssertionError):  # an unknown code goes to check_language itself
        languages.check_term_language("xx")
    monkeypatch.undo()
    language.known_languages.cache_clear()
    monkeypatch.setenv("EVALHARNESS_LEXICON_CACHE", str(tmp_path))
    with pytest.raises(UserError, match="unknown language code 'xx'"):
        languages.check_term_language("xx")
    next(tmp_path.glob("langid-labels-*.json")).write_text("{damaged", encoding="utf-8")
    assert languages.check_term_language("hi") == "hi"  # a damaged list costs only the load
    assert "hi" in json.loads(next(tmp_path.glob("langid-labels-*.json")).read_text(encoding="utf-8"))
