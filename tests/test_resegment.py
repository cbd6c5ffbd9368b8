"""Re-segmentation (issue 24): a paragraph- or document-level output put back onto the
reference segments by the aligner scores what the segment-level output scores; the
baseline is mwerSegmenter's edit-distance projection. The data are two independent
English translations (benchmarks/data/retranslation) and the seed article."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sacrebleu
from conftest import ROOT, run_cli
from test_wmt_xml import SYSTEMS, _corpus, write_wmt

from evalharness.corpus.resegment import resegment, split_by_edit_distance

RETRANSLATION = ROOT / "benchmarks" / "data" / "retranslation"


def _chapters(*names: str) -> list[tuple[list[str], list[str]]]:
    """(references, independent translation) per chapter, verse by verse."""
    a, b, docs = (
        (RETRANSLATION / f).read_text(encoding="utf-8").splitlines() for f in ("a.txt", "b.txt", "docs.txt")
    )
    return [
        (
            [x for x, d in zip(a, docs, strict=True) if d == name],
            [y for y, d in zip(b, docs, strict=True) if d == name],
        )
        for name in names
    ]


def test_edit_distance_split_recovers_a_plain_join_and_keeps_every_token():
    refs = ["The cat sat on the mat.", "It was warm.", "Then it left, slowly."]
    assert split_by_edit_distance(refs, " ".join(refs)) == refs
    hyp = "A cat sat down on a mat. Warm it was and then it left."
    pieces = split_by_edit_distance(refs, hyp)
    assert len(pieces) == 3 and " ".join(pieces).split() == hyp.split()
    assert pieces[0] == "A cat sat down on a mat."


def test_resegment_places_every_word_once_in_order_with_confidences(encoder):
    ((refs, translation),) = _chapters("luke-15")
    joined = " ".join(translation)
    placed = resegment(refs, joined, "en", encoder)
    assert len(placed) == len(refs)
    assert " ".join(p.text for p in placed).split() == joined.split()
    assert all(0.0 <= p.confidence <= 1.0 for p in placed)
    assert sum(p.confidence >= 0.5 for p in placed) >= 0.8 * len(refs)


def test_joined_independent_translation_scores_as_its_verses(encoder):
    """The acceptance figure on text we did not write: a translation whose sentences run
    across verse boundaries, joined per chapter and re-segmented, within 0.3 BLEU and chrF of
    the verse-level scores; and ours gives more verses exactly their own text than the
    edit-distance baseline."""
    refs, hyps, ours, base = [], [], [], []
    for chapter_refs, chapter_hyps in _chapters("luke-15", "acts-12"):
        joined = " ".join(chapter_hyps)
        refs += chapter_refs
        hyps += chapter_hyps
        ours += [p.text for p in resegment(chapter_refs, joined, "en", encoder)]
        base += split_by_edit_distance(chapter_refs, joined)
    for metric in (sacrebleu.corpus_bleu, sacrebleu.corpus_chrf):
        assert metric(ours, [refs]).score == pytest.approx(metric(hyps, [refs]).score, abs=0.3)
    exact_ours = sum(a == b for a, b in zip(ours, hyps, strict=True))
    exact_base = sum(a == b for a, b in zip(base, hyps, strict=True))
    assert exact_ours > exact_base


def test_a_sentence_merged_across_two_references_is_cut_between_them(encoder):
    refs = [
        "Den 8 september höll distriktet en konferens.",
        "Mötet sammanfattade tre års arbete.",
        "Ordföranden tackade alla deltagare.",
    ]
    hyp = "Den 8 september höll distriktet en konferens, och mötet sammanfattade tre års arbete. Ordföranden tackade alla."
    placed = resegment(refs, hyp, "sv", encoder)
    assert [p.text for p in placed] == [
        "Den 8 september höll distriktet en konferens,",
        "och mötet sammanfattade tre års arbete.",
        "Ordföranden tackade alla.",
    ]


def test_empty_output_gives_empty_segments_with_no_confidence(encoder):
    placed = resegment(["Ett.", "Två."], "  ", "sv", encoder)
    assert [(p.text, p.confidence) for p in placed] == [("", 0.0), ("", 0.0)]


def _reports(folder: Path) -> dict[str, dict]:
    out = {}
    for run in folder.iterdir():
        if not run.name.startswith("."):
            report = json.loads((run / "report.json").read_text(encoding="utf-8"))
            out[report["backend"]["name"]] = report
    return out


def test_run_with_paragraph_units_is_resegmented_and_says_so(tmp_path, monkeypatch):
    """`run --unit paragraph`: the backend gets one source per paragraph, its output is put
    back on the segments, and the report records the unit, each unit's output and each
    segment's placement confidence; scores equal the segment-level run's."""
    monkeypatch.chdir(tmp_path)
    write_wmt(tmp_path / "t.xml")
    assert run_cli("testset", "import-wmt", "t.xml", "--name", "ours", "--no-systems").returncode == 0
    rows = _corpus()
    per_doc: dict[str, list[str]] = {}
    for doc, sv, hi in rows:
        per_doc.setdefault(doc, []).append(SYSTEMS["other"](sv, hi))
    (tmp_path / "paragraphs.txt").write_text("\n".join(" ".join(v) for v in per_doc.values()) + "\n", "utf-8")
    (tmp_path / "segments.txt").write_text(
        "\n".join(SYSTEMS["other"](sv, hi) for _, sv, hi in rows) + "\n", "utf-8"
    )
    common = ("--testset", "ours", "--pair", "sv-hi", "--no-ci", "--metrics", "bleu,chrf")
    proc = run_cli(
        "run", "--backend", "file:paragraphs.txt", "--unit", "paragraph", "--name", "para", *common
    )
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("run", "--backend", "file:segments.txt", "--name", "seg", *common)
    assert proc.returncode == 0, proc.stderr
    reports = _reports(tmp_path / "runs")
    para, seg = reports["para"], reports["seg"]
    assert para["config"]["unit"] == "paragraph" and "unit" not in seg["config"]
    assert para["units"]["unit"] == "paragraph" and len(para["units"]["outputs"]) == 3
    assert para["units"]["outputs"][0]["segments"] == ["s00001", "s00002", "s00003", "s00004"]
    assert all(0 <= s["placement"] <= 1 and "resegmented" in s["flags"] for s in para["segments"])
    assert [s["doc"] for s in para["segments"]] == [doc for doc, _, _ in rows]
    for metric in ("bleu", "chrf"):
        assert para["scores"][metric]["score"] == pytest.approx(seg["scores"][metric]["score"], abs=0.3)
    # document-level scores join each document's segments: no segmentation moves them
    assert para["document_scores"]["documents"] == ["doc-0", "doc-1", "doc-2"]
    for metric in ("bleu", "chrf"):
        assert para["document_scores"]["scores"][metric] == pytest.approx(
            seg["document_scores"]["scores"][metric], abs=1e-9
        )
    page = (tmp_path / "runs" / para["run_id"] / "report.md").read_text(encoding="utf-8")
    assert "whole paragraphs, re-segmented" in page
    assert "## Output per paragraph" in page and "## Documents" in page


def test_units_need_a_set_with_that_structure(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sv.txt").write_text("Hej där.\nEn bok.\n", "utf-8")
    (tmp_path / "hi.txt").write_text("नमस्ते।\nएक किताब।\n", "utf-8")
    assert (
        run_cli(
            "testset", "import", "--name", "flat", "--lang", "sv=sv.txt", "--lang", "hi=hi.txt"
        ).returncode
        == 0
    )
    proc = run_cli(
        "run", "--backend", "passthrough", "--testset", "flat", "--pair", "sv-hi", "--unit", "document"
    )
    assert proc.returncode == 2
    assert "has no document structure" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_a_suite_system_can_translate_whole_documents(work, monkeypatch):
    """eval.toml: `unit = "document"` on a system gives its runs the document unit."""
    (work / "eval.toml").write_text(
        'testset = "hoalu"\npairs = ["sv-hi"]\nmetrics = ["chrf"]\nci = false\n'
        '[[systems]]\nname = "copy"\nbackend = "passthrough"\nunit = "document"\n',
        encoding="utf-8",
    )
    proc = run_cli("eval")
    assert proc.returncode == 0, proc.stderr
    [report] = _reports(work / "runs").values()
    assert report["config"]["unit"] == "document" and len(report["units"]["outputs"]) == 1
    assert len(report["units"]["outputs"][0]["segments"]) == report["testset"]["segments"] == 10
