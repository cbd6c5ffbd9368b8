"""Terminology in any language: lemmas instead of ending lists, misspellings anywhere in a
word but never a real word taken for a typo, scripts without spaces, normalisation of each
kind, per-segment annotations with the shared tasks' figure, and the random control."""

from __future__ import annotations

import pytest
from conftest import run_cli

from evalharness.terminology.annotations import (
    SegmentTerms,
    TermPair,
    as_glossary,
    dumps_annotations,
    load_annotations,
    shuffled,
    success_rate,
)
from evalharness.terminology.checks import check_segments
from evalharness.terminology.glossary import load_glossary
from evalharness.terminology.matcher import TermIndex
from evalharness.terminology.normalize import normalize, words_of


def _glossary(tmp_path, text):
    path = tmp_path / "g.yaml"
    path.write_text(text, encoding="utf-8")
    return load_glossary(path)


def _kinds(index, text, lang):
    return [(o.kind, o.found) for o in index.find(text, langs={lang}, fuzzy_langs={lang})]


# ---------------------------------------------------------------- misspellings anywhere


@pytest.mark.parametrize(
    "lang, term, typos",
    [
        ("sv", "polisen", ["bolisen", "polsien", "polisem"]),  # first, middle (transposed), last letter
        ("sv", "polismyndighet", ["olismyndighet", "polismyndgihet", "polismyndighe"]),
        ("hi", "आंदोलन", ["अंदोलन", "आंदलोन", "आंदोलण"]),
    ],
)
def test_misspelling_in_the_first_middle_and_last_letter(tmp_path, lang, term, typos):
    g = _glossary(tmp_path, f"concepts:\n  - id: c\n    terms: {{{lang}: [{term}]}}\n")
    index = TermIndex(g)
    for typo in typos:
        assert _kinds(index, f"x {typo} y", lang) == [("misspelled", typo)], typo
    assert _kinds(index, f"x {term} y", lang) == [("exact", term)]


# ---------------------------------------------------------------- inflection by lemma


def test_inflected_polish_and_swedish_terms_are_accepted(tmp_path):
    g = _glossary(
        tmp_path,
        """
concepts:
  - id: malignant
    terms: {pl: [nowotwór złośliwy], en: [malignant tumour]}
  - id: carcinogenesis
    terms: {pl: [karcynogeneza], en: [carcinogenesis]}
  - id: mobilization
    terms: {sv: [massmobilisering], en: [mass mobilization]}
  - id: movement
    terms: {sv: [emuleringsrörelse], en: [emulation movement]}
""",
    )
    index = TermIndex(g)
    pl = "Badano rozwój nowotworu złośliwego oraz mechanizmy karcynogenezy u myszy."
    assert _kinds(index, pl, "pl") == [("exact", "nowotworu złośliwego"), ("exact", "karcynogenezy")]
    sv = "Massmobiliseringens resultat visar att emuleringsrörelsen växer."
    assert _kinds(index, sv, "sv") == [("exact", "Massmobiliseringens"), ("exact", "emuleringsrörelsen")]
    report = check_segments([pl, sv], "pl", g)
    assert not [f for f in report.flags if f.kind == "misspelled"]


def test_a_different_real_word_sharing_a_prefix_is_not_a_misspelling(tmp_path):
    g = _glossary(tmp_path, "concepts:\n  - id: c\n    terms: {pl: [komórkowy], en: [cellular]}\n")
    index = TermIndex(g)
    for text in ("Liczba komórki wzrosła.", "Wiele komórek obumiera."):
        assert _kinds(index, text, "pl") == []
    assert _kinds(index, "proces komórkowy", "pl") == [("exact", "komórkowy")]
    assert _kinds(index, "proces komórkowi", "pl")[0][1] == "komórkowi"  # an inflection, exact


def test_a_one_word_variant_never_changes_a_number(tmp_path):
    g = _glossary(tmp_path, "concepts:\n  - id: c\n    terms: {sv: [Agenda 2030 för hållbarhet]}\n")
    index = TermIndex(g)
    assert _kinds(index, "enligt Agenda 2030 för miljön", "sv") == [("variant", "Agenda 2030 för miljön")]
    assert _kinds(index, "enligt Agenda 2040 för hållbarhet", "sv") == []


def test_languages_without_a_lexicon_fall_back_to_exact_matching_and_say_so(tmp_path):
    g = _glossary(
        tmp_path, "concepts:\n  - id: c\n    terms: {vi: [trí tuệ nhân tạo], zh: [人工智能], sv: [polis]}\n"
    )
    index = TermIndex(g)
    lines = index.fallbacks()
    assert any(line.startswith("vi: simplemma has no lexicon") for line in lines)
    assert any(line.startswith("zh: written without spaces") for line in lines)
    assert not any(line.startswith("sv") for line in lines)
    assert _kinds(index, "về trí tuệ nhân tạo", "vi") == [("exact", "trí tuệ nhân tạo")]
    assert _kinds(index, "về trí tuệ nhân tao", "vi") == []  # no typo guessing without a lexicon


# ---------------------------------------------------------------- scripts without spaces


def test_chinese_term_found_in_running_text_and_missing_when_absent(tmp_path):
    g = _glossary(
        tmp_path, "concepts:\n  - id: ai\n    terms: {en: [artificial intelligence], zh: [人工智能]}\n"
    )
    index = TermIndex(g)
    occ = index.find("我们研究人工智能的发展。", langs={"zh"})
    assert [(o.concept, o.kind, o.found) for o in occ] == [("ai", "exact", "人工智能")]
    src = ["We study artificial intelligence.", "We study artificial intelligence."]
    hyp = ["我们研究人 工智能的发展。", "我们研究机器的发展。"]  # a stray space; then no term at all
    report = check_segments(hyp, "zh", g, sources=[[s] for s in src])
    assert [(f.segment, f.kind) for f in report.flags] == [(1, "missing")]
    mixed = index.find("我们用artificial intelligence方法", langs={"en"})  # Latin next to Han
    assert [o.found for o in mixed] == ["artificial intelligence"]


# ---------------------------------------------------------------- normalisation, one by one


@pytest.mark.parametrize(
    "a, b",
    [
        ("ＡＩ　Ｍｏｄｅｌ", "ai model"),  # full-width letters (NFKC)
        ("ﬁnance", "finance"),  # ligature (NFKC)
        ("Straße", "strasse"),  # case folding
        ("كتاب يدوي", "کتاب یدوی"),  # Arabic kaf and yeh as Persian
        ("ёлка", "елка"),  # Cyrillic yo
        ("don’t", "don't"),  # apostrophes
        ("mobili\u00adzation", "mobilization"),  # soft hyphen
        ("mass\u200bmobilization", "massmobilization"),  # zero-width space
        ("ज़मीन", "जमीन"),  # Devanagari nukta (precomposed)
        ("ज\u093cमीन", "जमीन"),  # Devanagari nukta (combining)
        ("आँदोलन", "आंदोलन"),  # chandrabindu as anusvara
    ],
)
def test_each_normalisation(a, b):
    assert [w for w, _, _ in words_of(a)] == [w for w, _, _ in words_of(b)]
    assert normalize(a).split() == normalize(b).split()


# ---------------------------------------------------------------- annotations and control


def _annotations():
    return [
        SegmentTerms("s1", (TermPair("police", "polisen", ("polisens",)),)),
        SegmentTerms("s2", (TermPair("emulation movement", "emuleringsrörelse"),)),
        SegmentTerms(
            "s3", (TermPair("mass mobilization", "massmobilisering"), TermPair("police", "polisen"))
        ),
        SegmentTerms("s4", (TermPair("committee", "kommitté"),)),
    ]


def test_annotation_file_round_trip(tmp_path):
    items = _annotations()
    path = tmp_path / "terms.jsonl"
    path.write_text(dumps_annotations(items), encoding="utf-8")
    assert load_annotations(path) == items
    path.write_text('{"terms": [{"source": "x"}]}\n', encoding="utf-8")
    with pytest.raises(Exception, match="line 1: each term needs a non-empty 'target'"):
        load_annotations(path)


def test_success_rate_exact_and_inflected_and_the_random_control():
    items = _annotations()
    hyps = [
        "Polisens talesperson svarade.",  # a listed form: exact
        "Emuleringsrörelsen växer.",  # inflected (definite form), not listed
        "Massmobiliseringen och polisen samarbetar.",  # one inflected, one exact
        "Kommittén möttes i går.",  # inflected
    ]
    glossary, required = as_glossary(items, "en", "sv")
    index = TermIndex(glossary)
    rate = success_rate(items, hyps, "sv", index)
    assert (
        rate["required"] == 5 and rate["exact"] == pytest.approx(2 / 5) and rate["exact_or_inflected"] == 1.0
    )
    control = shuffled(items)
    assert [p.target for c in control for p in c.terms] != [p.target for c in items for p in c.terms]
    random_glossary, _ = as_glossary(control, "en", "sv")
    chance = success_rate(control, hyps, "sv", TermIndex(random_glossary))
    assert chance["exact_or_inflected"] <= 0.2
    report = check_segments(hyps, "sv", glossary, index=index, expected=required)
    assert report.accuracy == 1.0 and not report.flags


def test_cli_terms_check_with_annotations_and_control(tmp_path):
    items = _annotations()
    (tmp_path / "terms.jsonl").write_text(dumps_annotations(items), encoding="utf-8")
    hyp = tmp_path / "hyp.sv"
    hyp.write_text("Polisens svar.\nEmuleringsrörelsen.\nIngen term här.\nKommittén.\n", encoding="utf-8")
    proc = run_cli(
        "terms",
        "check",
        hyp,
        "--lang",
        "sv",
        "--terms",
        tmp_path / "terms.jsonl",
        "--random-glossary-control",
    )
    assert proc.returncode == 0, proc.stderr
    assert "missing" in proc.stdout  # segment 3 lacks both of its terms
    assert "term success rate: 60% exact or inflected" in proc.stderr
    assert "random-glossary control" in proc.stderr
    bad = run_cli("terms", "check", hyp, "--lang", "sv")
    assert bad.returncode == 2 and "give --glossary, --terms, or both" in bad.stderr
