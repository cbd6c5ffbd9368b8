"""The HTML pages in a real browser: headless Chromium opens the run page and the comparison
page from file:// with the network off, and a probe script reports what a reader would see:
one bar per system in the chart, highlighted changed words and terms, no horizontal
overflow at 1280 px, no console errors, no request for anything, and working sort and
filter. `.ci/run` installs Chromium; elsewhere these tests skip and say how to get it."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from headless import CHROMIUM, needs_chromium

from evalharness.reports.compare import compare_runs
from evalharness.reports.comparison_page import comparison_page
from evalharness.reports.formats import render
from evalharness.reports.sections import labels
from evalharness.reports.statistics import LoadedRun

pytestmark = needs_chromium

# Runs first in <head>: collects errors, then, once the page has loaded, measures it and
# exercises the tables, and writes the findings into the DOM for --dump-dom.
PROBE = """<script>
var probeErrors=[];
window.addEventListener('error',function(e){probeErrors.push('error: '+e.message)});
var consoleError=console.error;
console.error=function(){probeErrors.push('console: '+Array.prototype.join.call(arguments,' '));consoleError.apply(console,arguments)};
window.addEventListener('load',function(){
  function texts(sel){return Array.prototype.map.call(document.querySelectorAll(sel),function(e){return e.textContent})}
  var r={scrollWidth:document.documentElement.scrollWidth,innerWidth:window.innerWidth,
    resources:performance.getEntriesByType('resource').map(function(e){return e.name}),
    links:Array.prototype.map.call(document.querySelectorAll('[src],[href],[srcset],[poster],[action]'),function(e){
      return e.getAttribute('src')||e.getAttribute('href')||e.getAttribute('srcset')||e.getAttribute('poster')||e.getAttribute('action')})
      .filter(function(v){return v.charAt(0)!=='#'}),
    bars:{},dels:texts('del'),inss:texts('ins'),marks:texts('mark'),sorted:[],visible:null,
    errorMarks:Array.prototype.map.call(document.querySelectorAll('mark.err'),function(e){
      var st=getComputedStyle(e);return [e.classList[1],e.textContent,st.borderBottomStyle,st.borderBottomColor]})};
  Array.prototype.forEach.call(document.querySelectorAll('#score-chart rect.bar'),function(b){
    var m=b.getAttribute('data-metric');r.bars[m]=(r.bars[m]||[]).concat([b.getAttribute('data-system')])});
  var table=document.getElementById('t-segments')||document.querySelector('table.sortable');
  if(table){
    var th=table.querySelectorAll('th')[0];
    th.click();r.sorted.push(table.tBodies[0].rows[0].cells[0].textContent);
    th.click();r.sorted.push(table.tBodies[0].rows[0].cells[0].textContent);
    var box=document.querySelector('input.filter[data-table="'+table.id+'"]');
    box.value=r.sorted[0];box.dispatchEvent(new Event('input'));
    r.visible=Array.prototype.filter.call(table.tBodies[0].rows,function(x){return x.style.display!=='none'}).length;
  }
  r.errors=probeErrors;
  var pre=document.createElement('pre');pre.id='probe-result';pre.textContent=JSON.stringify(r);
  document.body.appendChild(pre);
});
</script>"""


def open_in_browser(page_html: str, folder: Path, width: int = 1280) -> dict:
    """What the probe found, with the page opened from file:// and no network."""
    assert CHROMIUM, "Chromium is required here (EVALHARNESS_REQUIRE_BROWSER) but not found"
    path = folder / "page.html"
    path.write_text(page_html.replace("<head>", "<head>" + PROBE, 1), encoding="utf-8")
    proc = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={folder / 'profile'}",
            f"--window-size={width},800",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--proxy-server=127.0.0.1:9",
            "--virtual-time-budget=5000",
            "--dump-dom",
            path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    found = re.search(r'<pre id="probe-result">(.*?)</pre>', proc.stdout, re.S)
    assert found, f"no probe result (exit {proc.returncode}): {proc.stderr[-2000:]}"
    return json.loads(html.unescape(found.group(1)))


def _loaded(entry) -> LoadedRun:
    report, folder = entry
    return LoadedRun(report, folder / "report.json")


def _assert_clean(found: dict) -> None:
    assert found["errors"] == [], found["errors"]
    assert found["resources"] == [], found["resources"]  # nothing fetched: works offline, one file
    assert found["links"] == [], found["links"]  # nothing to fetch: only links within the page
    assert found["scrollWidth"] <= found["innerWidth"], found  # no horizontal overflow


def _assert_self_contained(page: str) -> None:
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)
    assert "@import" not in page and "url(" not in page


def test_run_page_in_a_browser(page_runs, tmp_path):
    _, _, r = page_runs
    report, folder = r["b"]
    page = (folder / "report.html").read_text(encoding="utf-8")  # the page written with the run
    _assert_self_contained(page)
    found = open_in_browser(page, tmp_path)
    _assert_clean(found)
    assert set(found["bars"]) == {f"{m} (higher is better)" for m in ("BLEU", "chrF", "chrF++")} | {
        "TER (lower is better)"
    }
    assert all(systems == ["sys"] for systems in found["bars"].values())
    assert "Skickad massmobilisering" in found["marks"]  # the deprecated term, highlighted
    ids = [s.id for s in report.segments]
    assert found["sorted"] == [ids[0], ids[-1]]  # sorted ascending, then descending
    assert found["visible"] == 1  # filtering on one id leaves its row


def test_comparison_page_in_a_browser(page_runs, tmp_path):
    _, _, r = page_runs
    comp = compare_runs([_loaded(r["a"]), _loaded(r["b"]), _loaded(r["evil"])], n_ar=200)
    page = render(comparison_page(comp), "html")
    _assert_self_contained(page)
    found = open_in_browser(page, tmp_path)
    _assert_clean(found)
    names = labels(comp.reports)
    assert found["bars"] and all(systems == names for systems in found["bars"].values())  # one bar each
    assert any("Skicklig" in d for d in found["dels"]) and any("Skickad" in i for i in found["inss"])
    assert not any("alert" in e for e in found["errors"])  # the hostile run's text stayed text


def test_pages_fit_a_narrow_window_too(page_runs, tmp_path):
    _, _, r = page_runs
    found = open_in_browser((r["evil"][1] / "report.html").read_text(encoding="utf-8"), tmp_path, width=800)
    _assert_clean(found)


def test_the_probe_sees_errors_and_requests(tmp_path):
    """The checks above could pass vacuously if the probe saw nothing: a broken page must fail them."""
    (tmp_path / "style.css").write_text("body{}", encoding="utf-8")
    broken = (
        "<!doctype html><html><head><link rel=stylesheet href='style.css'></head>"
        "<body><div style='width:3000px'>wide</div><script>undefinedFunction()</script></body></html>"
    )
    found = open_in_browser(broken, tmp_path)
    assert any("undefinedFunction" in e for e in found["errors"])
    assert found["links"] == ["style.css"]
    assert found["scrollWidth"] > found["innerWidth"]


def test_error_spans_are_marked_by_severity_in_a_browser(tmp_path):
    """xCOMET's error spans (the fixture checkpoint) on a run page: every span is a visible,
    underlined mark of its severity's colour over exactly that stretch of the hypothesis."""
    from conftest import ROOT

    from evalharness.corpus.store import load_testset
    from evalharness.evaluate import RunRequest, run_evaluation

    shutil.copytree(ROOT / "references", tmp_path / "references")
    ts = load_testset(tmp_path / "references", "hoalu")
    refs = [s.text["hi"] for s in ts.pair("sv", "hi")]
    (tmp_path / "half.txt").write_text("\n".join(r[: len(r) // 2] for r in refs) + "\n", encoding="utf-8")
    request = RunRequest(
        testset=ts,
        backend_spec=f"file:{tmp_path / 'half.txt'}",
        src="sv",
        tgt="hi",
        metrics=("chrf", "xcomet"),
        metric_options={"xcomet_model": str(ROOT / "tests" / "data" / "neural" / "xcomet-tiny")},
        name="half",
    )
    report, folder = run_evaluation(request, tmp_path / "runs", tmp_path / "c.sqlite")
    spans = [
        (s.severity, seg.hypothesis[s.start : s.end])
        for seg in report.segments
        for s in seg.error_spans.get("xcomet", [])
    ]
    found = open_in_browser((folder / "report.html").read_text(encoding="utf-8"), tmp_path)
    _assert_clean(found)
    marked = [(severity, text) for severity, text, _, _ in found["errorMarks"]]
    assert spans and sorted(marked) == sorted((sev, text) for sev, text in spans if text)
    assert {style for _, _, style, _ in found["errorMarks"]} == {"solid"}  # underlined, visibly
    colours = {severity: colour for severity, _, _, colour in found["errorMarks"]}
    assert len(set(colours.values())) == len(colours)  # each severity its own colour


def test_an_llm_run_page_in_a_browser(tmp_path, monkeypatch):
    """An openai run whose model wraps its translations: the page shows the LLM output section
    and the raw replies (hostile markup in them stays text), fits the window, fetches nothing."""
    pytest.importorskip("openai")
    from chat_server import ChatServer
    from conftest import ROOT

    from evalharness.corpus.store import load_testset
    from evalharness.evaluate import RunRequest, run_evaluation

    chatty = (
        "Here is the translation:\n\nHej <img src=x onerror=alert(7)> "
        + "världen " * 30
        + "\n\nNote: literal."
    )
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with ChatServer(None, reply=chatty, faults=["429"]) as server:
        request = RunRequest(
            testset=load_testset(ROOT / "references", "hoalu"), backend_spec="openai:tiny-chat", src="sv",
            tgt="hi", metrics=("bleu", "chrf"), backend_options={"base_url": server.url, "max_tokens": 8},
        )  # fmt: skip
        report, folder = run_evaluation(request, tmp_path / "runs", tmp_path / "c.sqlite")
    assert all("commentary" in s.flags and s.raw == chatty for s in report.segments if s.source.strip())
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert 'id="llm-output"' in page and "raw model output" in page and "<img src=x" not in page
    found = open_in_browser(page, tmp_path)
    _assert_clean(found)
    assert not any("alert" in e for e in found["errors"])
