from __future__ import annotations

import json

import pytest

from evalharness.corpus.hf import export_hf, load_hf
from evalharness.corpus.importer import import_parallel, parse_lang_file
from evalharness.corpus.store import check_name, load_testset, save_testset
from evalharness.errors import UserError


def _write(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def parallel_files(tmp_path):
    sv = _write(tmp_path / "flores.sv", ["Hej världen.", "Det regnar i dag.", "Tack så mycket."])
    en = _write(tmp_path / "flores.en", ["Hello world.", "It is raining today.", "Thank you very much."])
    return sv, en


def test_import_line_parallel(parallel_files):
    sv, en = parallel_files
    ts = import_parallel([("sv", sv), ("en", en)], "tiny")
    assert ts.manifest.method == "imported" and ts.manifest.languages == ["sv", "en"]
    assert [s.text for s in ts.segments][1] == {"sv": "Det regnar i dag.", "en": "It is raining today."}
    assert ts.segments[2].provenance["en"].lines == [3]
    assert ts.manifest.pair_counts == {"sv-en": 3}


def test_import_line_count_mismatch_names_files_and_counts(parallel_files, tmp_path):
    sv, _ = parallel_files
    short = _write(tmp_path / "short.en", ["Hello world.", "It is raining today."])
    with pytest.raises(UserError) as err:
        import_parallel([("sv", sv), ("en", short)], "tiny")
    msg = str(err.value)
    assert "line counts differ" in msg and f"{sv} has 3 lines" in msg and f"{short} has 2 lines" in msg


def test_import_rejects_language_twice_and_unknown_code(parallel_files):
    sv, en = parallel_files
    with pytest.raises(UserError, match="language 'sv' given twice"):
        import_parallel([("sv", sv), ("sv", en)], "tiny")
    with pytest.raises(UserError, match="unknown language code 'zz'"):
        parse_lang_file(f"zz={sv}")
    with pytest.raises(UserError, match="expected LANG=FILE"):
        parse_lang_file(str(sv))


def test_round_trip_through_store(parallel_files, tmp_path):
    ts = import_parallel([("sv", parallel_files[0]), ("en", parallel_files[1])], "tiny")
    save_testset(ts, tmp_path / "refs")
    back = load_testset(tmp_path / "refs", "tiny")
    assert back.segments == ts.segments and back.manifest == ts.manifest


def test_tampered_segments_are_detected(parallel_files, tmp_path):
    ts = import_parallel([("sv", parallel_files[0]), ("en", parallel_files[1])], "tiny")
    folder, _ = save_testset(ts, tmp_path / "refs")
    seg = folder / "segments.jsonl"
    seg.write_text(seg.read_text(encoding="utf-8").replace("Tack", "Tacka"), encoding="utf-8")
    with pytest.raises(UserError, match="do not match the manifest"):
        load_testset(tmp_path / "refs", "tiny")


def test_newer_schema_is_refused(parallel_files, tmp_path):
    ts = import_parallel([("sv", parallel_files[0]), ("en", parallel_files[1])], "tiny")
    folder, _ = save_testset(ts, tmp_path / "refs")
    manifest = folder / "manifest.json"
    raw = json.loads(manifest.read_text(encoding="utf-8"))
    raw["schema_version"] = 99
    manifest.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(UserError, match="schema version 99 is not supported"):
        load_testset(tmp_path / "refs", "tiny")


@pytest.mark.parametrize("name", ["../evil", "a/b", ".hidden", "", "x" * 65, "a..b"])
def test_untrusted_names_are_refused(name):
    with pytest.raises(UserError, match="invalid test-set name"):
        check_name(name)


def test_missing_testset_and_version(tmp_path):
    with pytest.raises(UserError, match="no test set named 'nope'"):
        load_testset(tmp_path, "nope")


def test_datasets_round_trip(three_way_testset, tmp_path):
    from datasets import load_from_disk

    out = export_hf(three_way_testset, tmp_path / "hf")
    ds = load_from_disk(str(out))
    assert len(ds) == 10 and ds[0]["translation"]["sv"] == three_way_testset.segments[0].text["sv"]
    assert set(ds[0]["translation"]) == {"sv", "hi", "en"}
    back = load_hf(out)
    assert back.segments == three_way_testset.segments
    assert back.version == three_way_testset.version
    with pytest.raises(UserError, match="not empty"):
        export_hf(three_way_testset, out)


def test_datasets_round_trip_with_missing_languages(tmp_path):
    a = _write(tmp_path / "a.sv", ["Ett.", "", "Tre."])
    b = _write(tmp_path / "b.en", ["One.", "Two.", "Three."])
    c = _write(tmp_path / "c.hi", ["एक।", "दो।", ""])
    ts = import_parallel([("sv", a), ("en", b), ("hi", c)], "gaps", allow_blank=True)
    assert [sorted(s.text) for s in ts.segments] == [["en", "hi", "sv"], ["en", "hi"], ["en", "sv"]]
    back = load_hf(export_hf(ts, tmp_path / "hf"))
    assert back.segments == ts.segments
