"""Terminology: glossary formats, matching (normalisation, inflection, nesting, near-misses),
every flag kind, the shipped glossary on the seeds, drift between runs, and the CLI."""

from __future__ import annotations

import json

import pytest
from conftest import EN_OTHER, ROOT, run_cli

from evalharness.corpus.store import load_testset
from evalharness.errors import UserError
from evalharness.terminology.checks import check_segments, drift_flags
from evalharness.terminology.glossary import load_glossary
from evalharness.terminology.matcher import TermIndex, word_score
from evalharness.terminology.suggest import suggest_terms

GLOSSARY = ROOT / "references" / "glossary" / "hoalu.yaml"


@pytest.fixture(scope="module")
def hoalu_glossary():
    return load_glossary(GLOSSARY)


def _audit(glossary):
    ts = load_testset(ROOT / "references", "hoalu")
    out = {}
    for lang in ts.manifest.languages:
        segs = [s for s in ts.segments if lang in s.text]
        others = [[s.text[o] for o in s.text if o != lang] for s in segs]
        out[lang] = check_segments([s.text[lang] for s in segs], lang, glossary, sources=others)
    return out


def _flags(report, kind=None):
    return [(f.kind, f.found) for f in report.flags if kind is None or f.kind == kind]


def test_audit_of_the_seed_references(hoalu_glossary):
    audit = _audit(hoalu_glossary)
    sv, hi = audit["sv"], audit["hi"]
    assert ("deprecated", "Skickad massmobilisering") in _flags(sv)
    untranslated = {found for _, found in _flags(sv, "untranslated")}
    assert untranslated == {
        "Skilled Mass Mobilization",
        "Skilled People's Mobilization",
        "Skilled mass mobilization",
    }
    inconsistent = {found for _, found in _flags(sv, "inconsistent")}
    assert inconsistent == {"Folkets mobiliseringskommitté", "efterlikningsrörelsen", "efterföljarrörelse"}
    movement = next(f for f in sv.flags if f.kind == "inconsistent" and f.concept == "emulation-movement")
    assert movement.detail["renditions"] == {
        "emuleringsrörelse": 6,
        "efterlikningsrörelse": 1,
        "efterföljarrörelse": 1,
    }
    assert _flags(hi, "misspelled") == [("misspelled", "कुशल जन जुटान")]
    # "अनुकरणीय" (exemplary) is a derived adjective, not a form of "अनुकरण": once against 7 uses
    # of "अनुकरण आंदोलन" it is an inconsistent rendering (an admitted term, but not the usual one).
    assert {found for _, found in _flags(hi, "inconsistent")} == {"कुशल जन-आंदोलन", "अनुकरणीय आंदोलन"}
    # No flag on correctly rendered occurrences:
    assert not any(
        f.found in ("कुशल जन जुटाव", "emuleringsrörelsen", "massmobiliseringskommission")
        for r in audit.values()
        for f in r.flags
    )
    assert not any(f.kind == "missing" for r in audit.values() for f in r.flags)


def test_english_document_skillful_is_inconsistent(hoalu_glossary):
    lines = EN_OTHER.read_text(encoding="utf-8").splitlines()
    report = check_segments(lines, "en", hoalu_glossary)
    found = [(f.kind, f.found, f.expected) for f in report.flags if f.concept == "skilled-mass-mobilization"]
    assert found == [("inconsistent", "Skillful mass mobilization", ["Skilled Mass Mobilization"])]


def test_word_by_word_near_misses():
    assert word_score("skickad", "skicklig", "sv") < 75  # a different word, not a typo
    assert 75 <= word_score("जुटान", "जुटाव", "hi") < 90  # a typo
    assert word_score("emuleringsrörelsen", "emuleringsrörelse", "sv") == 100  # definite form
    assert word_score("massmobiliseringsarbete", "massmobilisering", "sv") == 100  # compound
    assert word_score("massmobiliseringens", "massmobilisering", "sv") == 100  # definite genitive
    assert word_score("models", "model", "en") == 100


def _glossary(tmp_path, yaml_text):
    path = tmp_path / "g.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    return load_glossary(path)


def test_nested_terms_count_once(tmp_path):
    g = _glossary(
        tmp_path,
        """
concepts:
  - id: smm
    terms: {en: [Skilled Mass Mobilization], sv: [Skicklig massmobilisering]}
  - id: mm
    terms: {en: [mass mobilization], sv: [massmobilisering]}
""",
    )
    occ = TermIndex(g).find(
        "The Skilled Mass Mobilization movement and mass mobilization work.", langs={"en"}
    )
    assert [(o.concept, o.found) for o in occ] == [
        ("smm", "Skilled Mass Mobilization"),
        ("mm", "mass mobilization"),
    ]


def test_normalisation_case_hyphen_zero_width_nukta(tmp_path):
    g = _glossary(
        tmp_path,
        """
concepts:
  - id: c
    terms: {hi: [जन-आंदोलन समिति], en: [Mass Mobilization Commission], ur: [ज़मीन]}
""",
    )
    idx = TermIndex(g)
    assert [o.kind for o in idx.find("जन आंदोलन समिति ने कहा", langs={"hi"})] == ["exact"]  # hyphen vs space
    assert [o.kind for o in idx.find("the mass\u200b mobilization COMMISSION", langs={"en"})] == ["exact"]
    assert [o.kind for o in idx.find("जमीन", langs={"ur"})] == ["exact"]  # nukta dropped on both sides
    assert [o.kind for o in idx.find("जन-आँदोलन समिति", langs={"hi"})] == ["exact"]  # chandrabindu ~ anusvara


def test_each_flag_kind_with_a_source(tmp_path):
    g = _glossary(
        tmp_path,
        """
concepts:
  - id: smm
    terms:
      en: [Skilled Mass Mobilization]
      sv: [{term: Skicklig massmobilisering, status: preferred}, {term: Skickad massmobilisering, status: deprecated}]
""",
    )
    src = ["The Skilled Mass Mobilization movement."] * 5
    hyp = [
        "Rörelsen Skicklig massmobilisering.",  # fine
        "Rörelsen Skickad massmobilisering.",  # deprecated
        "Rörelsen Skilled Mass Mobilization.",  # untranslated
        "Rörelsen Skickliga massmobiliseringen.",  # inflected: fine
        "Rörelsen för massor.",  # missing
    ]
    report = check_segments(hyp, "sv", g, sources=[[s] for s in src])
    assert [(f.segment, f.kind) for f in report.flags] == [
        (1, "deprecated"),
        (2, "untranslated"),
        (4, "missing"),
    ]
    assert report.accuracy == pytest.approx(2 / 5)
    misspelt = check_segments(["Rörelsen Skicklig massmobiliserng."], "sv", g)
    assert [(f.kind, f.found) for f in misspelt.flags] == [("misspelled", "Skicklig massmobiliserng")]


def test_drift_between_runs(hoalu_glossary):
    first = check_segments(
        ["Rörelsen Skicklig massmobilisering.", "emuleringsrörelsen"], "sv", hoalu_glossary
    )
    second = check_segments(
        ["Rörelsen Skickad massmobilisering.", "emuleringsrörelsen"], "sv", hoalu_glossary
    )
    previous = dict(zip(["a", "b"], first.renditions, strict=True))
    flags = drift_flags(["a", "b"], second.renditions, previous, "sv")
    assert [(f.segment, f.concept, f.kind) for f in flags] == [(0, "skilled-mass-mobilization", "drift")]
    assert flags[0].detail == {
        "previous": ["skicklig massmobilisering"],
        "current": ["skickad massmobilisering"],
    }
    assert drift_flags(["a", "b"], first.renditions, previous, "sv") == []


def _tbx_entries(glossary, entry: str, lang_el: str, term_el: str) -> str:
    """The glossary's concepts as TBX elements with the given names."""
    status = '<termNote type="administrativeStatus">{}Term-admn-sts</termNote>'
    return "".join(
        f'<{entry} id="{c.id}">'
        + "".join(
            f'<{lang_el} xml:lang="{lang}">'
            + "".join(
                f"<{term_el}><term>{t.text}</term>{status.format(t.status)}</{term_el}>"
                for t in c.terms
                if t.lang == lang
            )
            + f"</{lang_el}>"
            for lang in dict.fromkeys(t.lang for t in c.terms)
        )
        + f"</{entry}>"
        for c in glossary.concepts.values()
    )


def test_tsv_tbx_and_tbx_v3_read_the_same_glossary(tmp_path, hoalu_glossary):
    tsv = tmp_path / "g.tsv"
    tsv.write_text(
        "concept\tlang\tstatus\tterm\n"
        + "".join(f"{t.concept}\t{t.lang}\t{t.status}\t{t.text}\n" for t in hoalu_glossary.terms),
        encoding="utf-8",
    )
    tbx = tmp_path / "g.tbx"  # TBX v2: martif, termEntry / langSet / tig
    entries = _tbx_entries(hoalu_glossary, "termEntry", "langSet", "tig")
    tbx.write_text(
        f'<?xml version="1.0"?><martif type="TBX"><text><body>{entries}</body></text></martif>',
        encoding="utf-8",
    )
    # TBX v3 (ISO 30042:2019, the TBX-Basic dialect): tbx root in the urn:iso:std:iso:30042
    # namespace, conceptEntry / langSec / termSec.
    tbx3 = tmp_path / "g3.tbx"
    entries = _tbx_entries(hoalu_glossary, "conceptEntry", "langSec", "termSec")
    tbx3.write_text(
        '<?xml version="1.0"?><tbx xmlns="urn:iso:std:iso:30042:ed-2" type="TBX-Basic" style="dca" '
        f'xml:lang="en"><tbxHeader/><text><body>{entries}</body></text></tbx>',
        encoding="utf-8",
    )
    expected = sorted((t.concept, t.lang, t.status, t.text) for t in hoalu_glossary.terms)
    for path in (tsv, tbx, tbx3):
        got = sorted((t.concept, t.lang, t.status, t.text) for t in load_glossary(path).terms)
        assert got == expected, path


@pytest.mark.parametrize(
    "name, content, needle",
    [
        ("bad.yaml", "concepts:\n  - id: a\n    terms: {en: [x]\n", "line"),
        (
            "bad.yaml",
            "concepts:\n  - id: a\n    terms:\n      en:\n        - {term: x, status: favourite}\n",
            "line 5: unknown status 'favourite'",
        ),
        (
            "bad.yaml",
            "concepts:\n  - id: a\n  - id: a\n    terms: {en: [x]}\n",
            "line 2: a concept needs 'id' and a 'terms'",
        ),
        (
            "bad.tsv",
            "concept\tlang\tstatus\tterm\na\ten\tpreferred\n",
            "line 2: expected 4 tab-separated columns",
        ),
        ("bad.tsv", "id\tlanguage\tterm\n", "line 1: expected the header"),
        ("bad.tbx", "<martif><text><body><termEntry>\n<langSet>\n</body></martif>", "line 3: invalid TBX"),
        ("bad.txt", "whatever", "unknown glossary format"),
    ],
)
def test_malformed_glossaries_name_file_and_line(tmp_path, name, content, needle):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(UserError) as err:
        load_glossary(path)
    assert str(path) in str(err.value) and needle in str(err.value) and "\n" not in str(err.value)


def test_suggest_surfaces_the_drift_in_the_seeds():
    ts = load_testset(ROOT / "references", "hoalu")
    concepts = suggest_terms(ts.segments, ts.manifest.languages)
    smm = next(c for c in concepts if "Skilled Mass Mobilization" in c["renditions"].get("sv", {}))
    assert {"Skickad massmobilisering", "Skilled People's Mobilization"} <= set(smm["renditions"]["sv"])
    assert {"कुशल जन जुटाव", "कुशल जन जुटान", "कुशल जन-आंदोलन"} <= set(smm["renditions"]["hi"])
    assert smm["multiple"] == ["hi", "sv"]


def test_cli_check_jsonl_and_audit(tmp_path):
    proc = run_cli("terms", "check", EN_OTHER, "--lang", "en", "--glossary", GLOSSARY, "--format", "jsonl")
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert {
        "segment_id": "7",  # line 7, named as everywhere else (not a 0-based index)
        "line": 7,
        "concept": "skilled-mass-mobilization",
        "kind": "inconsistent",
        "found": "Skillful mass mobilization",
        "expected": ["Skilled Mass Mobilization"],
    } in rows
    assert all(set(r) == {"segment_id", "line", "concept", "kind", "found", "expected"} for r in rows)
    text = run_cli("terms", "check", EN_OTHER, "--lang", "en", "--glossary", GLOSSARY).stdout
    assert any(line.startswith("7 ") and "Skillful mass mobilization" in line for line in text.splitlines())
    audit = run_cli(
        "terms", "audit", "--testset", "hoalu", "--glossary", GLOSSARY, "--references", ROOT / "references"
    )
    assert audit.returncode == 0 and "[sv] deprecated" in audit.stdout and "[hi] misspelled" in audit.stdout
    draft = tmp_path / "draft.yaml"
    sug = run_cli(
        "terms", "suggest", "--testset", "hoalu", "--references", ROOT / "references", "--out", draft
    )
    assert sug.returncode == 0 and load_glossary(draft).concepts  # the draft is itself a valid glossary
    bad = run_cli("terms", "check", EN_OTHER, "--lang", "en", "--glossary", tmp_path / "missing.yaml")
    assert bad.returncode == 2 and "no such glossary" in bad.stderr


def test_a_concept_rendered_two_ways_inside_one_document_is_its_own_flag(tmp_path):
    """Two documents: the first renders the concept two ways (flagged inside the document,
    with the document named); the second is consistent within itself but uses the rendition
    the first document did not prefer (only the run-level 'inconsistent' flag can say so)."""
    g = _glossary(
        tmp_path,
        """
concepts:
  - id: smm
    terms:
      en: [Skilled Mass Mobilization]
      sv: [{term: Skicklig massmobilisering, status: preferred}, {term: Kunnig massmobilisering, status: admitted}]
""",
    )
    hyp = [
        "Rörelsen Skicklig massmobilisering började.",
        "Rörelsen Skicklig massmobilisering växte.",
        "Rörelsen Kunnig massmobilisering slutade.",  # doc A's odd one out
        "Rörelsen Skicklig massmobilisering igen.",
        "Rörelsen Skicklig massmobilisering till sist.",
    ]
    docs = ["A", "A", "A", "B", "B"]
    report = check_segments(hyp, "sv", g, documents=docs)
    flags = [(f.segment, f.kind, f.detail.get("document")) for f in report.flags]
    assert flags == [(2, "inconsistent-in-document", "A")]
    b_differs = check_segments(
        hyp[:3] + ["Rörelsen Kunnig massmobilisering igen.", "Rörelsen Kunnig massmobilisering sist."],
        "sv",
        g,
        documents=docs,
    )
    # run-wide Kunnig now leads 3 to 2: document A's two Skicklig differ from the run
    assert [(f.segment, f.kind) for f in b_differs.flags] == [
        (0, "inconsistent"),
        (1, "inconsistent"),
        (2, "inconsistent-in-document"),
    ]
    # one document (or none given): the run-level flag, as before
    assert [f.kind for f in check_segments(hyp, "sv", g).flags] == ["inconsistent"]


# ------------------------------------------------------------------ recall on deprecated and missing terms


def _one_concept(tmp_path, lang, preferred, deprecated, source="term"):
    return _glossary(
        tmp_path,
        f"concepts:\n  - id: c\n    terms:\n      en: [{source}]\n"
        f"      {lang}: [{preferred}, {{term: {deprecated}, status: deprecated}}]\n",
    )


@pytest.mark.parametrize(
    "lang, preferred, deprecated, text, found",
    [
        # a form the lexicon lists that does not start like its lemma (wyżej of wysoko)
        ("pl", "wielce", "wysoko", "Cena jest wyżej niż wczoraj.", "wyżej"),
        # the lexicon's lemma of the form is the term, while the lemmatiser goes a step further
        ("pl", "strzelec", "strzelająca", "Była to kobieta strzelającej drużyny.", "strzelającej"),
        # Hindi: a half nasal written as anusvara, and a short root with a nukta letter
        ("hi", "पतलून", "जीन्स", "उसने नई जींस खरीदी।", "जींस"),
        ("hi", "गिरना", "झड़ना", "पत्ते झड़ते हैं।", "झड़ते"),
        # Swedish: a closed compound written hyphenated, and the term ending a compound
        (
            "sv",
            "massmobilisering",
            "folkmobilisering",
            "Folk-mobiliseringen lyckades.",
            "Folk-mobiliseringen",
        ),
        ("sv", "vildsvin", "grävsvin", "Ett ungt skogsgrävsvin syntes.", "skogsgrävsvin"),
        ("sv", "vildsvin", "grävsvin", "GRÄVSVINEN syntes.", "GRÄVSVINEN"),
    ],
)
def test_deprecated_terms_found_in_every_written_form(tmp_path, lang, preferred, deprecated, text, found):
    g = _one_concept(tmp_path, lang, preferred, deprecated)
    flags = [(f.kind, f.found) for f in check_segments([text], lang, g).flags]
    assert flags == [("deprecated", found)]


def test_a_term_part_of_a_longer_word_only_where_the_rest_is_a_word(tmp_path):
    """Precision: "förslag" is no "slag" (too short a term to end a compound), and a word
    that merely ends like the term, after letters that are no word, is not the term."""
    g = _glossary(
        tmp_path,
        "concepts:\n  - id: a\n    terms: {sv: [{term: slag, status: deprecated}]}\n"
        "  - id: b\n    terms: {sv: [{term: flicka, status: deprecated}]}\n",
    )
    assert check_segments(["Ett förslag om xqzflickan kom."], "sv", g).flags == []
    assert [f.found for f in check_segments(["En skolflicka kom."], "sv", g).flags] == ["skolflicka"]


def test_a_missing_term_whose_source_is_inflected_or_hyphenated_differently(tmp_path):
    g = _glossary(
        tmp_path,
        "concepts:\n  - id: mail\n    terms: {en: [e-mail], sv: [e-post]}\n"
        "  - id: mouse\n    terms: {en: [mouse], sv: [mus]}\n",
    )
    sources = [["Three emails came."], ["Two MICE ran."], ["An E-MAIL came."], ["The mice ran."]]
    hyps = ["Tre brev kom.", "Två djur sprang.", "Ett epostmeddelande kom.", "Mössen sprang."]
    flags = [(f.segment, f.kind, f.concept) for f in check_segments(hyps, "sv", g, sources=sources).flags]
    assert flags == [(0, "missing", "mail"), (1, "missing", "mouse")]
