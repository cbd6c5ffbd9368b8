"""Headless Chromium for the page tests of the analyses and the history: open a page from
file:// with the network off, run a probe script that writes what it found into the DOM,
and read it back; or take a screenshot. Skips (with how to get Chromium) where there is none,
as `test_browser.py` does."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest


def _chromium() -> str | None:
    for name in (os.environ.get("EVALHARNESS_CHROMIUM", ""), "chromium", "chromium-browser", "google-chrome"):
        if name and (path := shutil.which(name)):
            return path
    return None


CHROMIUM = _chromium()
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("EVALHARNESS_REQUIRE_BROWSER"),
    reason="Chromium not found: install it (Debian: apt-get install chromium) or set EVALHARNESS_CHROMIUM; "
    ".ci/run installs it",
)


def _command(folder: Path, width: int, height: int) -> list[str]:
    assert CHROMIUM, "Chromium is required here (EVALHARNESS_REQUIRE_BROWSER) but not found"
    return [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        f"--user-data-dir={folder / 'profile'}",
        f"--window-size={width},{height}",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--proxy-server=127.0.0.1:9",
        "--hide-scrollbars",
    ]


def probe(page_html: str, folder: Path, script: str, width: int = 1280) -> dict:
    """What `script` found: it runs first in <head>, and must, once it is done, append
    `<pre id="probe-result">JSON</pre>` to the body. Real time, not virtual: timings hold."""
    path = folder / "probed.html"
    path.write_text(page_html.replace("<head>", "<head><script>" + script + "</script>", 1), encoding="utf-8")
    proc = subprocess.run(
        [*_command(folder, width, 800), "--dump-dom", path.as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
    )
    found = re.search(r'<pre id="probe-result">(.*?)</pre>', proc.stdout, re.S)
    assert found, f"no probe result (exit {proc.returncode}): {proc.stderr[-2000:]}"
    return json.loads(html.unescape(found.group(1)))


def screenshot(page: Path, out: Path, width: int = 1280, height: int = 2400) -> Path:
    """A PNG of the page's top `height` pixels."""
    folder = out.parent / f"{out.stem}-chromium"
    folder.mkdir(exist_ok=True)
    proc = subprocess.run(
        [*_command(folder, width, height), f"--screenshot={out}", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.is_file() and out.stat().st_size > 0, (
        f"no screenshot (exit {proc.returncode}): {proc.stderr[-2000:]}"
    )
    return out


# Collects errors from the start; at `load`, forces style and layout and reports the time
# since navigation began, which sections are there and visible, and the page's width.
LOAD_PROBE = """
var probeErrors=[];
window.addEventListener('error',function(e){probeErrors.push('error: '+e.message)});
var consoleError=console.error;
console.error=function(){probeErrors.push('console: '+Array.prototype.join.call(arguments,' '));consoleError.apply(console,arguments)};
window.addEventListener('load',function(){
  var height=document.body.offsetHeight;  // style and layout of the whole page, now
  var nav=performance.getEntriesByType('navigation')[0]||{};
  var r={loadedMs:performance.now(),height:height,errors:probeErrors,
    parsedMs:nav.domInteractive,contentLoadedMs:nav.domContentLoadedEventEnd,loadEventMs:nav.loadEventStart,
    scrollWidth:document.documentElement.scrollWidth,innerWidth:window.innerWidth,
    resources:performance.getEntriesByType('resource').map(function(e){return e.name}),
    sections:{}};
  Array.prototype.forEach.call(document.querySelectorAll('section[id]'),function(s){
    r.sections[s.id]={visible:s.offsetHeight>0,rows:s.querySelectorAll('tbody tr').length,
      circles:s.querySelectorAll('svg circle').length,rects:s.querySelectorAll('svg rect').length,
      text:s.textContent.slice(0,4000)}});
  if(window.afterLoad){window.afterLoad(r)}
  var pre=document.createElement('pre');pre.id='probe-result';pre.textContent=JSON.stringify(r);
  document.body.appendChild(pre);
});
"""
