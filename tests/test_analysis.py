"""compare-mt's analyses on the comparison page (issue 25): word accuracy by frequency bucket,
characteristic n-grams, corpus scores and paired tests per bucket of segments (document,
length, user tags), the length difference and the segment scatter. Numbers checked against
sacrebleu and against counts done by hand; the sections checked in every format and in
headless Chromium. Runs come from the WMT XML fixture of `test_wmt_xml.py` (3 documents,
2 references, 3 systems), imported as a user imports them."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import numpy as np
import pytest
import sacrebleu
from conftest import run_cli
from headless import LOAD_PROBE, needs_chromium, probe
from test_wmt_xml import write_wmt

from evalharness.metrics.significance import compare_many
from evalharness.metrics.stats import MetricStats
from evalharness.reports import analysis
from evalharness.reports.compare import compare_runs
from evalharness.reports.comparison_page import comparison_page
from evalharness.reports.formats import FORMATS, md_escape, render
from evalharness.reports.statistics import statistics_for
from evalharness.reports.store import load_run
from evalharness.reports.view import Chart, Table


@pytest.fixture(scope="module")
def wmt_runs(tmp_path_factory):
    """The three systems of the WMT fixture as runs (baseline `close`, then `other`, `copy`)."""
    work = tmp_path_factory.mktemp("wmt-analysis")
    write_wmt(work / "t.xml")
    proc = run_cli("testset", "import-wmt", "t.xml", "--name", "ours", "--no-ci", cwd=work)
    assert proc.returncode == 0, proc.stderr
    runs = {}
    for folder in (work / "runs").iterdir():
        if not folder.name.startswith("."):
            run = load_run(work / "runs", folder.name)
            runs[run.report.backend.name] = run
    ordered = [runs["close"], runs["other"], runs["copy"]]
    return work, ordered


@pytest.fixture(scope="module")
def comp(wmt_runs):
    _, runs = wmt_runs
    return compare_runs(runs, ["bleu", "chrf"], n_ar=0, n_bootstrap=1000)


def _buckets(comp, attr: str):
    return next(b for b in comp.analysis.buckets if b.id == f"buckets-{attr}")


def test_bucket_scores_are_sacrebleu_on_the_buckets_segments(comp):
    reports = comp.reports
    segments = reports[0].segments
    docs = _buckets(comp, "document")
    assert [(b.label, b.segments, b.small) for b in docs.buckets] == [
        ("doc-0", 4, True),
        ("doc-1", 4, True),
        ("doc-2", 2, True),
    ]
    for bucket in docs.buckets:
        members = [i for i, s in enumerate(segments) if s.doc == bucket.label]
        refs = [[segments[i].references[k] for i in members] for k in range(2)]  # both translators
        for k, report in enumerate(reports):
            hyps = [report.segments[i].hypothesis for i in members]
            bleu, chrf = bucket.scores["bleu"][k], bucket.scores["chrf"][k]
            assert bleu.score == pytest.approx(sacrebleu.corpus_bleu(hyps, refs).score, abs=1e-9)
            assert chrf.score == pytest.approx(sacrebleu.corpus_chrf(hyps, refs).score, abs=1e-9)
            assert bleu.low <= bleu.high
            assert (bleu.delta is None) == (k == 0)
    # length buckets cover every segment once, by source length
    lengths = _buckets(comp, "length")
    assert sum(b.segments for b in lengths.buckets) == len(segments)
    for bucket in lengths.buckets:
        members = [i for i, s in enumerate(segments) if _length_label(s.source) == bucket.label]
        hyps = [reports[1].segments[i].hypothesis for i in members]
        refs = [[segments[i].references[k] for i in members] for k in range(2)]
        assert bucket.segments == len(members)
        assert bucket.scores["bleu"][1].score == pytest.approx(
            sacrebleu.corpus_bleu(hyps, refs).score, abs=1e-9
        )


def _length_label(source: str) -> str:
    n = len(source.split())
    edges = analysis.buckets.LENGTH.edges
    return analysis.buckets.LENGTH.labels[sum(n >= e for e in edges)]


def test_bucket_p_values_are_compare_manys_on_the_sub_selected_statistics(wmt_runs, comp):
    _, runs = wmt_runs
    stats, _ = statistics_for(runs, ["bleu", "chrf"])
    segments = comp.reports[0].segments
    for bucket in _buckets(comp, "document").buckets:
        members = np.array([i for i, s in enumerate(segments) if s.doc == bucket.label])
        sub = {
            m: [MetricStats(s.metric_id, s.metric, s.array[members]) for s in ss] for m, ss in stats.items()
        }
        expected, _ = compare_many(sub, n_bootstrap=1000, n_ar=0)
        for metric in ("bleu", "chrf"):
            for k, result in enumerate(expected[metric], start=1):
                got = bucket.scores[metric][k]
                assert got.delta == pytest.approx(result.delta, abs=1e-12)
                assert got.p_bootstrap == result.p_bootstrap  # the same draws, the same p-value
    # `copy` outputs the Swedish source: worse than `close` in every document, and the bucket says so
    assert all(b.scores["bleu"][2].delta < 0 for b in _buckets(comp, "document").buckets)


def _naive_words(text: str) -> list[str]:
    """The analyses' words, written plainly: whitespace tokens, case-folded, without leading
    and trailing characters of Unicode categories P and S."""
    out = []
    for token in text.casefold().split():
        chars = list(token)
        while chars and unicodedata.category(chars[0])[0] in "PS":
            chars.pop(0)
        while chars and unicodedata.category(chars[-1])[0] in "PS":
            chars.pop()
        if chars:
            out.append("".join(chars))
    return out


def test_word_f_measure_by_hand():
    refs = ["the cat sat on the mat", "a dog"]
    hyps = ["The cat, the the mat.", "a cat"]  # case and punctuation do not count
    counts = {"the": 100, "cat": 3, "sat": 1, "on": 5, "mat": 1, "a": 1000, "dog": 2}
    got = analysis.word_accuracy(refs, [hyps], analysis.WordFrequencies(source="test", counts=counts))
    by_label = dict(zip(got.labels, got.runs[0], strict=True))
    # "the" (100 -> [100,1000)): 2 in the reference, 3 in the output, 2 matched
    assert (
        by_label["[100,1000)"].matched,
        by_label["[100,1000)"].reference,
        by_label["[100,1000)"].output,
    ) == (2, 2, 3)
    assert by_label["[100,1000)"].f_measure == pytest.approx(2 * (2 / 3) * 1 / (2 / 3 + 1))
    # "cat" (3): in both references' segments once... but the second segment's reference has no cat:
    # the match is clipped per segment, so 1 matched of 2 in the output
    assert (by_label["3"].matched, by_label["3"].reference, by_label["3"].output) == (1, 1, 2)
    assert by_label["3"].f_measure == pytest.approx(2 / 3)
    # "sat" and "mat" (1): 2 in the reference, "mat" matched once
    assert (by_label["1"].matched, by_label["1"].reference, by_label["1"].output) == (1, 2, 1)
    assert by_label["1"].precision == 1.0 and by_label["1"].recall == 0.5
    assert by_label["[5,10)"].f_measure == 0.0 and by_label["[5,10)"].reference == 1  # "on", missed
    assert by_label[">=1000"].f_measure == 1.0  # "a"
    assert by_label["<1"].reference == by_label["<1"].output == 0
    # without a corpus: frequencies counted over the references
    plain = analysis.word_accuracy(refs, [hyps])
    assert plain.source == "the test set's references"
    ones = dict(zip(plain.labels, plain.runs[0], strict=True))
    assert ones["2"].reference == 2 and ones["2"].matched == 2  # "the", seen twice in the references


def test_ngram_differences_by_hand():
    diff = analysis.ngram_differences(["a b c d"], ["a b x d"], ["a b c y"], run_id="r")
    assert [(c.ngram, c.system, c.baseline) for c in diff.system_better] == [
        ("a b c", 1, 0),
        ("b c", 1, 0),
        ("c", 1, 0),
    ]
    assert all(c.score == pytest.approx(2 / 3) for c in diff.system_better)
    assert [(c.ngram, c.system, c.baseline, c.score) for c in diff.baseline_better] == [
        ("d", 0, 1, pytest.approx(1 / 3))
    ]
    # matches are clipped per segment: the system's four x match once, as the baseline's one x
    # (unclipped, x would be the system's); the second segment's x is not in its reference
    clipped = analysis.ngram_differences(["x y", "z"], ["x y", "z"], ["x x x y", "x"], run_id="r")
    assert clipped.system_better == []
    assert [(c.ngram, c.system, c.baseline) for c in clipped.baseline_better] == [("z", 0, 1)]


def test_length_difference_counts_words(comp):
    ld = comp.analysis.length
    reports = comp.reports
    for report, counts, mean in zip(reports, ld.counts, ld.mean, strict=True):
        diffs = [
            len(_naive_words(s.hypothesis)) - len(_naive_words(r.references[0]))
            for s, r in zip(report.segments, reports[0].segments, strict=True)
        ]
        assert sum(counts) == len(diffs)
        assert all(analysis.words(s.hypothesis) == _naive_words(s.hypothesis) for s in report.segments)
        assert mean == pytest.approx(sum(diffs) / len(diffs))
        expected = np.bincount(np.searchsorted(analysis.LENGTH_EDGES, diffs, side="right"), minlength=9)
        assert counts == expected.tolist()
    assert ld.counts[0][ld.labels.index("-1")] >= 8  # `close` drops each reference's last word


def test_every_analysis_section_in_every_format(comp):
    page = comparison_page(comp)
    ids = [s.id for s in page.sections]
    runs = [r.run_id for r in comp.reports]
    for wanted in (
        "word-accuracy",
        "word-accuracy-chart",
        f"ngrams-{runs[1]}",
        f"ngrams-{runs[2]}",
        "buckets-document",
        "buckets-length",
        "length-difference",
        f"scatter-{runs[1]}",
        f"scatter-{runs[2]}",
    ):
        assert wanted in ids, wanted
    assert "by-length" not in ids  # the corpus-score buckets replace the mean sentence scores
    # every segment is in one rare-word and one confidence bucket here: a table of one row would
    # repeat the corpus score, and is left out
    assert "buckets-rarity" not in ids and "buckets-confidence" not in ids
    out = {fmt: render(page, fmt) for fmt in FORMATS}
    assert [s["id"] for s in json.loads(out["json"])["sections"]] == ids
    for section in page.sections:
        assert f"== {section.title}" in out["text"], section.id
        assert f"## {md_escape(section.title)}" in out["md"], section.id
        assert f'<section id="{section.id}">' in out["html"], section.id
        if isinstance(section, Table):
            for row in section.rows:
                assert md_escape(row[0].text) in out["md"]
    scatter = page.section(f"scatter-{runs[2]}")
    assert isinstance(scatter, Chart) and len(scatter.series[0].x) == 10
    # `copy` (Swedish for Hindi) scores below `close` on every segment: all points under the diagonal
    assert "0 above the diagonal" in out["text"]
    assert out["html"].count('class="point"') == 20  # two scatters of ten segments


def _write_tags(path: Path, ids: list[str]) -> Path:
    rows = [{"id": sid, "domain": "news" if n % 3 else "sport", "hard": n < 4} for n, sid in enumerate(ids)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_tags_and_a_frequency_corpus_from_the_command_line(wmt_runs, tmp_path):
    work, runs = wmt_runs
    ids = [s.id for s in runs[0].report.segments]
    tags = _write_tags(tmp_path / "tags.jsonl", ids)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(s.references[0] for s in runs[0].report.segments) * 3, encoding="utf-8")
    out = tmp_path / "cmp.json"
    args = ["compare", *(r.run_id for r in runs[:2]), "--runs", work / "runs", "--ar-trials", "0"]
    proc = run_cli(*args, "--tags", tags, "--freq-corpus", corpus, "--format", "md", "--out", out)
    assert proc.returncode == 0, proc.stderr
    page = out.read_text(encoding="utf-8")
    assert "## Scores by tag: domain" in page and "## Scores by tag: hard" in page
    assert "| sport |" in page and "| news |" in page and "| yes |" in page
    assert "corpus.txt (" in page  # the word accuracy names its frequencies (and how many words)
    # in Python: the tag buckets hold exactly the tagged segments
    comp = compare_runs(runs[:2], ["bleu"], n_ar=0, tags=analysis.read_tags(tags))
    domain = next(b for b in comp.analysis.buckets if b.id == "buckets-tag-domain")
    assert {b.label: b.segments for b in domain.buckets} == {"news": 6, "sport": 4}
    members = [i for i in range(10) if i % 3 == 0]
    hyps = [runs[1].report.segments[i].hypothesis for i in members]
    refs = [[runs[0].report.segments[i].references[k] for i in members] for k in range(2)]
    sport = next(b for b in domain.buckets if b.label == "sport")
    assert sport.scores["bleu"][1].score == pytest.approx(sacrebleu.corpus_bleu(hyps, refs).score, abs=1e-9)
    # --no-analysis: the page as before (mean sentence scores by bucket), none of the above
    plain = run_cli(*args, "--no-analysis", "--format", "md")
    assert (
        plain.returncode == 0
        and "## Word accuracy" not in plain.stdout
        and "## Sentence score by source length" in plain.stdout
    )


@pytest.mark.parametrize(
    "content, problem",
    [
        (
            '{"id": "s00001", "domain": "news"}\n{"id": "nope", "domain": "x"}\n',
            "segment 'nope' is not a segment of the runs compared",
        ),
        ('{"id": "s00001"}\nnot json\n', "line 2: not JSON (Expecting value)"),
        ('{"id": "s00001", "domain": ["a"]}\n', "line 1: tag 'domain' is not a string, number or true/false"),
        ('{"id": "s00001"}\n{"id": "s00001"}\n', "line 2: segment 's00001' is tagged twice"),
        ('{"domain": "news"}\n', 'line 1: expected an object with a string "id"'),
    ],
)
def test_bad_tags_are_one_line(wmt_runs, tmp_path, content, problem):
    work, runs = wmt_runs
    tags = tmp_path / "tags.jsonl"
    tags.write_text(content, encoding="utf-8")
    proc = run_cli(
        "compare", runs[0].run_id, runs[1].run_id, "--runs", work / "runs", "--ar-trials", "0", "--tags", tags
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == f"error: {tags}: {problem}\n"


def test_a_missing_frequency_corpus_is_one_line(wmt_runs, tmp_path):
    work, runs = wmt_runs
    missing = tmp_path / "nothing.txt"
    proc = run_cli(
        "compare", runs[0].run_id, runs[1].run_id, "--runs", work / "runs", "--freq-corpus", missing
    )
    assert proc.returncode == 2 and proc.stderr == f"error: {missing}: no frequency corpus (--freq-corpus)\n"
    binary = tmp_path / "corpus.bin"
    binary.write_bytes(b"ok\n\xff\xfe\n")
    proc = run_cli(
        "compare", runs[0].run_id, runs[1].run_id, "--runs", work / "runs", "--freq-corpus", binary
    )
    assert proc.returncode == 2 and proc.stderr.startswith(f"error: {binary}: not UTF-8 text")


@needs_chromium
def test_analysis_sections_in_a_browser(comp, tmp_path):
    page = render(comparison_page(comp), "html")
    found = probe(page, tmp_path, LOAD_PROBE)
    assert found["errors"] == [] and found["resources"] == []
    assert found["scrollWidth"] <= found["innerWidth"]  # nothing wider than the window at 1280 px
    sections = found["sections"]
    runs = [r.run_id for r in comp.reports]
    for wanted in ("word-accuracy", "word-accuracy-chart", "buckets-document", "length-difference"):
        assert sections[wanted]["visible"], wanted
    assert sections["buckets-document"]["rows"] == 3 * 2  # three documents, two metrics
    assert (
        "doc-2" in sections["buckets-document"]["text"]
        and "2 (small)" in sections["buckets-document"]["text"]
    )
    assert sections[f"scatter-{runs[1]}"]["circles"] == 10  # a point per segment
    assert sections["length-difference"]["rects"] >= 3 * 9  # a bar per system and bin (and the legend)
    assert sections[f"ngrams-{runs[1]}"]["rows"] > 0


def test_hostile_tags_stay_text(wmt_runs):
    _, runs = wmt_runs
    ids = [s.id for s in runs[0].report.segments]
    evil_key, evil_value = "<script>alert(1)</script>", '"><img src=x onerror=alert(2)> \u202eevil'
    tags = analysis.SegmentTags(
        source="t.jsonl",
        by_id={sid: {evil_key: evil_value if n % 2 else "plain"} for n, sid in enumerate(ids)},
    )
    comp = compare_runs(runs[:2], ["bleu"], n_ar=0, tags=tags)
    page = comparison_page(comp)
    assert "buckets-tag-0" in [s.id for s in page.sections]  # the key is no section id
    html = render(page, "html")
    assert html.count("<script>") == 1 and "<img" not in html and "\u202e" not in html
    assert "&lt;script&gt;alert(1)" in html and "&quot;&gt;&lt;img" in html
    md = render(page, "md")
    assert "<script" not in md and "<img" not in md and "\u202e" not in md
