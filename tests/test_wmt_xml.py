"""WMT XML test sets (issue 24): documents, two references and three systems in a file we
make ourselves (WMT's own test data is held out); imported, scored against both references
exactly as sacrebleu scores them, the systems become runs, and `compare` reads them."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
import sacrebleu
from conftest import ROOT, run_cli

from evalharness.corpus.store import load_testset
from evalharness.corpus.wmt_xml import read_wmt_xml
from evalharness.errors import UserError


def _second_translator(text: str) -> str:
    """Another translator's wording: the same content, other choices (some words swapped
    with their neighbours, some function words replaced)."""
    words = text.split()
    for i in range(0, len(words) - 1, 3):
        words[i], words[i + 1] = words[i + 1], words[i]
    swaps = {"है।": "था।", "और": "तथा", "के": "की", "में": "मे"}
    return " ".join(swaps.get(w, w) for w in words)


def _corpus() -> list[tuple[str, str, str]]:
    """(document id, Swedish source, Hindi reference) from the committed seed test set."""
    ts = load_testset(ROOT / "references", "hoalu")
    rows = [(s.text["sv"], s.text["hi"]) for s in ts.segments if s.has("sv", "hi")]
    assert len(rows) == 10
    return [(f"doc-{n // 4}", sv, hi) for n, (sv, hi) in enumerate(rows)]


SYSTEMS = {
    "copy": lambda sv, hi: sv,
    "close": lambda sv, hi: " ".join(hi.split()[:-1]),
    "other": lambda sv, hi: _second_translator(" ".join(hi.split()[1:])),
}


def write_wmt(path: Path, rows=None, doctype: str = "") -> Path:
    rows = rows or _corpus()
    dataset = ET.Element("dataset", id="ourtest2026")
    collection = ET.SubElement(dataset, "collection", id="general")
    docs: dict[str, list] = {}
    for doc_id, sv, hi in rows:
        docs.setdefault(doc_id, []).append((sv, hi))
    for doc_id, segs in docs.items():
        doc = ET.SubElement(collection, "doc", id=doc_id, origlang="sv", domain="news")
        blocks = [("src", {"lang": "sv"}, lambda sv, hi: sv)]
        blocks += [("ref", {"lang": "hi", "translator": "A"}, lambda sv, hi: hi)]
        blocks += [("ref", {"lang": "hi", "translator": "B"}, lambda sv, hi: _second_translator(hi))]
        blocks += [("hyp", {"lang": "hi", "system": name}, fn) for name, fn in SYSTEMS.items()]
        for tag, attrs, fn in blocks:
            block = ET.SubElement(doc, tag, attrs)
            para = ET.SubElement(block, "p")
            for n, (sv, hi) in enumerate(segs, start=1):
                ET.SubElement(para, "seg", id=str(n)).text = fn(sv, hi)
    text = ET.tostring(dataset, encoding="unicode")
    path.write_text('<?xml version="1.0" encoding="utf-8"?>\n' + doctype + text, encoding="utf-8")
    return path


def test_documents_and_both_references_are_kept(tmp_path):
    wmt = read_wmt_xml(write_wmt(tmp_path / "t.xml"), "ours")
    segments = wmt.testset.segments
    rows = _corpus()
    assert (wmt.src_lang, wmt.tgt_lang, wmt.translators) == ("sv", "hi", ("A", "B"))
    assert [s.doc for s in segments] == [doc for doc, _, _ in rows]
    assert [s.references("hi") for s in segments] == [[hi, _second_translator(hi)] for _, _, hi in rows]
    assert set(wmt.systems) == set(SYSTEMS) and all(len(h) == len(rows) for h in wmt.systems.values())
    assert wmt.testset.manifest.settings["documents"]["doc-0"] == {
        "collection": "general",
        "origlang": "sv",
        "domain": "news",
    }


def test_import_scores_against_both_references_as_sacrebleu_does(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_wmt(tmp_path / "t.xml")
    proc = run_cli("testset", "import-wmt", "t.xml", "--name", "ours", "--no-ci")
    assert proc.returncode == 0, proc.stderr
    assert "10 segments in 3 documents, sv-hi, 2 reference(s), 3 system(s)" in proc.stdout
    loaded = load_testset(tmp_path / "references", "ours")
    assert loaded.segments[0].more_refs["hi"] and loaded.segments[0].doc == "doc-0"
    rows = _corpus()
    refs = [[hi for _, _, hi in rows], [_second_translator(hi) for _, _, hi in rows]]
    reports = {}
    for folder in (tmp_path / "runs").iterdir():
        if folder.name.startswith("."):
            continue
        report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
        reports[report["backend"]["name"]] = report
    assert set(reports) == set(SYSTEMS)
    for name, fn in SYSTEMS.items():
        hyps = [fn(sv, hi) for _, sv, hi in rows]
        scores = reports[name]["scores"]
        assert scores["bleu"]["score"] == pytest.approx(sacrebleu.corpus_bleu(hyps, refs).score, abs=1e-9)
        assert scores["chrf"]["score"] == pytest.approx(sacrebleu.corpus_chrf(hyps, refs).score, abs=1e-9)
        assert scores["ter"]["score"] == pytest.approx(sacrebleu.corpus_ter(hyps, refs).score, abs=1e-9)
        assert "nrefs:2" in scores["bleu"]["signature"]
        # over documents: each document's segments joined, scored against both references
        docs = sorted({doc for doc, _, _ in rows})
        joined = [" ".join(h for h, (d, _, _) in zip(hyps, rows, strict=True) if d == doc) for doc in docs]
        joined_refs = [
            [" ".join(r for r, (d, _, _) in zip(stream, rows, strict=True) if d == doc) for doc in docs]
            for stream in refs
        ]
        by_doc = reports[name]["document_scores"]
        assert by_doc["documents"] == docs and by_doc["segments"] == [4, 4, 2]
        assert by_doc["scores"]["chrf"] == pytest.approx(
            sacrebleu.corpus_chrf(joined, joined_refs).score, abs=1e-9
        )
        assert by_doc["scores"]["bleu"] == pytest.approx(
            sacrebleu.corpus_bleu(joined, joined_refs).score, abs=1e-9
        )
        assert all(len(s["references"]) == 2 for s in reports[name]["segments"])
    ids = sorted(r["run_id"] for r in reports.values())
    proc = run_cli("compare", *ids, "--ar-trials", "0", "--bootstrap", "50")
    assert proc.returncode == 0, proc.stderr
    assert all(name in proc.stdout for name in SYSTEMS)
    proc = run_cli("compare", *ids, "--ar-trials", "20", "--bootstrap", "50", "--resample", "documents")
    assert proc.returncode == 0, proc.stderr
    assert "50 resamples of whole documents" in proc.stdout and "swapping whole documents" in proc.stdout
    # over documents, the baseline's interval is drawn as the others' are: by document
    from evalharness.reports.compare import compare_runs
    from evalharness.reports.store import resolve_run

    a, b = (resolve_run(i, tmp_path / "runs") for i in ids[:2])
    first = compare_runs([a, b], ["chrf"], n_ar=0, resample="documents", analysis=False)
    second = compare_runs([b, a], ["chrf"], n_ar=0, resample="documents", analysis=False)
    as_base = next(r for r in first.metrics if r.run_id == a.report.run_id).half_width
    as_system = next(r for r in second.metrics if r.run_id == a.report.run_id).half_width
    assert as_base == pytest.approx(as_system, abs=1e-9)
    assert as_base > 0 and a.report.scores["chrf"].interval is None  # imported --no-ci: drawn here
    # one reference only would give other numbers: the second one is really used
    other = [SYSTEMS["other"](sv, hi) for _, sv, hi in rows]
    single = sacrebleu.corpus_bleu(other, refs[:1]).score
    assert reports["other"]["scores"]["bleu"]["score"] > single + 1


def test_a_doctype_or_a_missing_segment_is_one_line(tmp_path):
    bomb = '<!DOCTYPE dataset [<!ENTITY a "aaaaaaaa">]>\n'
    with pytest.raises(UserError, match="DOCTYPE"):
        read_wmt_xml(write_wmt(tmp_path / "a.xml", doctype=bomb), "x")
    path = write_wmt(tmp_path / "b.xml")
    text = path.read_text(encoding="utf-8")
    cut = text.index('<ref lang="hi" translator="B">')
    second = text.index('<seg id="2">', cut)
    path.write_text(text[:second] + text[text.index("</seg>", second) + 6 :], encoding="utf-8")
    with pytest.raises(
        UserError, match=r"document 'doc-0', reference B: lacks segment '2'|lacks segment '2'"
    ):
        read_wmt_xml(path, "x")
