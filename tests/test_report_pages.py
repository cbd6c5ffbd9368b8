"""Report pages: every section in every format, provenance everywhere, drift by system name,
word-level differences, identical outputs, hostile input escaped, and the CLI around them."""

from __future__ import annotations

import json
import re

import pytest
from conftest import EVIL_NAME, run_cli

from evalharness.reports.compare import compare_runs
from evalharness.reports.comparison_page import comparison_page
from evalharness.reports.diff import inline_diff, word_diff
from evalharness.reports.formats import FORMATS, md_escape, render
from evalharness.reports.history import history_page, load_history
from evalharness.reports.run_page import run_page
from evalharness.reports.statistics import LoadedRun
from evalharness.reports.view import Chart, Span, Table


def _loaded(entry) -> LoadedRun:
    report, folder = entry
    return LoadedRun(report, folder / "report.json")


@pytest.fixture(scope="module")
def pages(page_runs):
    _, runs, r = page_runs
    comp = compare_runs([_loaded(r["a"]), _loaded(r["b"]), _loaded(r["same"])], n_ar=200)
    return {
        "run": run_page(r["b"][0]),
        "comparison": comparison_page(comp),
        "history": history_page(load_history(runs), str(runs)),
    }


@pytest.mark.parametrize("kind", ["run", "comparison", "history"])
def test_every_section_appears_in_every_format(pages, kind):
    page = pages[kind]
    out = {fmt: render(page, fmt) for fmt in FORMATS}
    assert [s["id"] for s in json.loads(out["json"])["sections"]] == [s.id for s in page.sections]
    for section in page.sections:
        assert f"== {section.title}" in out["text"], section.id
        assert f"## {md_escape(section.title)}" in out["md"], section.id
        assert f'<section id="{section.id}">' in out["html"], section.id
        if isinstance(section, Table):  # and its rows: the first cell of every row
            for row in section.rows:
                assert md_escape(row[0].text) in out["md"]
    for fact in page.facts:
        assert fact.value in out["text"] and md_escape(fact.value) in out["md"]


def test_run_page_has_the_sections_a_reader_needs(pages):
    ids = [s.id for s in pages["run"].sections]
    for wanted in (
        "scores",
        "score-chart",
        "drift",
        "sanity",
        "terminology",
        "term-flags",
        "by-length",
        "by-frequency",
        "by-confidence",
        "segments",
        "signatures",
        "provenance",
    ):
        assert wanted in ids


def test_provenance_in_every_format(page_runs, pages):
    _, _, r = page_runs
    a, b = r["a"][0], r["b"][0]
    for kind, reports in (("run", [b]), ("comparison", [a, b])):
        for fmt in FORMATS:
            out = render(pages[kind], fmt)
            esc = md_escape if fmt == "md" else (lambda s: s)
            wanted = [f"hoalu@{b.testset.version}", "hi → sv", b.backend.fingerprint["digest"]]
            wanted += [r.run_id for r in reports] + [esc(s.signature) for s in b.scores.values()]
            for item in wanted:
                if fmt == "json":
                    item = json.dumps(item, ensure_ascii=False)[1:-1]
                assert item in out, (kind, fmt, item)


def test_drift_follows_the_system_name_not_the_backend(page_runs):
    _, _, r = page_runs
    a, b, same = r["a"][0], r["b"][0], r["same"][0]
    assert a.backend.spec != b.backend.spec and a.drift is None
    assert b.drift is not None and b.drift.previous_run == a.run_id
    changed = sum(x.hypothesis != y.hypothesis for x, y in zip(a.segments, b.segments, strict=True))
    assert not b.drift.identical_output and b.drift.changed_segments == changed > 0
    assert b.drift.term_drift and b.drift.term_drift > 0  # Skicklig -> Skickad
    assert set(b.drift.scores) == set(b.scores)
    for change in b.drift.scores.values():  # a p-value exactly where the scores differ
        assert (change.p_bootstrap is None) == (abs(change.delta) < 1e-9)
    assert same.drift is None  # same backend as `a`, but another system
    assert b.terminology["previous_run"] == a.run_id


def test_eval_summary_shows_the_change_and_drift(page_runs):
    from evalharness.reports.summary import summary_table as _summary_table

    _, _, r = page_runs
    a, b = r["a"][0], r["b"][0]
    out = _summary_table([a, b], [])
    header, first, second = out.splitlines()[:3]
    assert "Δ vs previous BLEU/chrF" in header and "term drift" in header
    assert "first run" in first
    cells = second.split()
    assert str(b.drift.term_drift) in cells
    bleu = b.drift.scores["bleu"]
    assert f"{bleu.delta:+.1f}{'*' if bleu.significant else ''}/" in second


def test_history_shows_each_run_with_its_change(page_runs):
    _, runs, r = page_runs
    history = load_history(runs, system="sys")
    (entries,) = history.values()
    assert [e.report.run_id for e in entries] == [r["a"][0].run_id, r["b"][0].run_id]
    assert entries[1].backend_changed and entries[1].changes["chrf"].p_bootstrap is not None
    text = render(history_page(history, str(runs), "sys"), "text")
    assert "first run" in text and "(p " in text and "changed" in text
    assert "No runs of system 'nobody'" in render(
        history_page(load_history(runs, "nobody"), str(runs), "nobody"), "text"
    )


def test_changed_words_are_highlighted_against_baseline_and_reference(pages):
    html = render(pages["comparison"], "html")
    assert re.search(
        r"<del>[^<]*Skicklig[^<]*</del><ins>[^<]*Skickad[^<]*</ins>", html
    )  # against the baseline
    assert re.search(
        r"<del>[^<]*Skilled Mass Mobilization[^<]*</del><ins>[^<]*Skickad massmobilisering", html
    )
    text = render(pages["comparison"], "text")
    assert re.search(r"\[-\S*Skicklig -\]\{\+\S*Skickad \+\}", text)


def test_terms_are_highlighted_in_the_run_page(pages):
    html = render(pages["run"], "html")
    assert "<mark>Skickad massmobilisering</mark>" in html
    assert "«Skickad massmobilisering»" in render(pages["run"], "text")


def test_identical_output_is_said_not_tested(page_runs, pages):
    _, _, r = page_runs
    comp = compare_runs([_loaded(r["a"]), _loaded(r["same"])], n_ar=200)
    rows = [m for m in comp.metrics if m.run_id == r["same"][0].run_id]
    assert rows and all(m.identical and m.verdict == "identical output" and not m.significant for m in rows)
    scores = comparison_page(comp).section("scores")
    for row in scores.rows[1::2]:
        assert row[-1].text == "identical output" and row[5].text == "–" and row[6].text == "–"
    assert "output identical to the baseline's" in render(comparison_page(comp), "text")


def test_all_pairs_and_one_bar_per_system_when_more_than_two(pages):
    page = pages["comparison"]
    chart = page.section("score-chart")
    assert isinstance(chart, Chart) and len(chart.series) == 3
    html = render(page, "html")
    for metric in chart.categories:
        assert html.count(f'data-metric="{metric}"') == 3


def test_word_diff_keeps_every_word():
    old, new = "Den Skicklig massmobilisering i Hoa Lu", "Den Skickad massmobilisering i Hoa Lu."
    left, right = word_diff(old, new)
    assert "".join(s.text for s in left) == old and "".join(s.text for s in right) == new
    assert Span(text="Skicklig ", kind="del") in left and Span(text="Skickad ", kind="ins") in right
    merged = inline_diff(old, new)
    assert [s.text for s in merged if s.kind == "del"] == ["Skicklig ", "Lu"]
    assert [s.text for s in merged if s.kind == "ins"] == ["Skickad ", "Lu."]


def _evil_pages(page_runs):
    _, _, r = page_runs
    evil = r["evil"][0]
    comp = compare_runs([_loaded(r["a"]), _loaded(r["evil"])], n_ar=100)
    return evil, [run_page(evil), comparison_page(comp)]


def test_hostile_text_is_escaped_everywhere(page_runs):
    evil, pages = _evil_pages(page_runs)
    assert evil.terminology["flags"], "the hostile glossary should flag something"
    for page in pages:
        html = render(page, "html")
        assert html.count("<script>") == 1  # ours, at the end
        assert "<img" not in html and "<script>alert" not in html and "onerror=alert(1)>" not in html
        assert "\u202e" not in html and "&lt;U+202E&gt;" in html  # bidi override shown, not obeyed
        assert "&lt;script&gt;alert(2)" in html and "&quot;&gt;&lt;img" in html
        md = render(page, "md")
        assert "<script" not in md and "<img" not in md and "\u202e" not in md
        assert "\\](javascript" in md and not re.search(r"(?<!\\)\]\(javascript", md)  # no link
        text = render(page, "text")
        assert "\u202e" not in text and "\x1b" not in text
        assert EVIL_NAME in json.loads(render(page, "json"))["title"]  # JSON keeps data as data
    assert 'data-system="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"' in render(pages[1], "html")


def test_compare_takes_report_paths_and_writes_a_page(page_runs, tmp_path):
    _, runs, r = page_runs
    (a, a_dir), (b, b_dir) = r["a"], r["b"]
    out = tmp_path / "cmp.html"
    proc = run_cli(
        "compare", a_dir, b_dir / "report.json", "--format", "html", "--out", out, "--ar-trials", "100"
    )
    assert proc.returncode == 0, proc.stderr
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and a.run_id in page and b.run_id in page
    shown = run_cli("runs", "show", b.run_id, "--runs", runs, "--format", "md")
    assert shown.returncode == 0 and f"# Run {b.run_id}" in shown.stdout
    bad = run_cli("compare", a_dir, tmp_path / "nothing.json")
    assert bad.returncode == 2 and "no run" in bad.stderr and bad.stderr.count("\n") == 1
    fmt = run_cli("runs", "history", "--runs", runs, "--format", "pdf")
    assert fmt.returncode == 2 and "unknown format 'pdf'" in fmt.stderr
