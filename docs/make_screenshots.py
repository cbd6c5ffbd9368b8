"""Regenerate the README's screenshots: `python docs/make_screenshots.py` (needs Chromium).

Two made-up systems translate the seed test set hi -> sv from hypothesis files: "v1" drops
some words of the reference, "v2" drops others and renders the glossary's "Skicklig
massmobilisering" as the deprecated "Skickad massmobilisering". Their run page and their
comparison are rendered and photographed at 1280 px wide. Everything happens in a temporary
folder; only the two PNGs are written here."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evalharness.corpus.store import load_testset  # noqa: E402
from evalharness.evaluate import RunRequest, run_evaluation  # noqa: E402
from evalharness.reports.compare import compare_runs  # noqa: E402
from evalharness.reports.comparison_page import comparison_page  # noqa: E402
from evalharness.reports.formats import render  # noqa: E402
from evalharness.reports.statistics import LoadedRun  # noqa: E402


def drop_words(text: str, salt: str, every: int) -> str:
    """Deterministically drop about one word in `every` (never a glossary term's word)."""
    words = text.split()
    kept = [
        w
        for w in words
        if "massmobilisering" in w
        or "Skick" in w
        or int(hashlib.sha256((salt + w).encode()).hexdigest(), 16) % every
    ]
    return " ".join(kept)


def shoot(html_file: Path, png: Path, height: int) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if chromium is None:
        sys.exit("Chromium not found (Debian: apt-get install chromium)")
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--window-size=1280,{height}",
            f"--screenshot={png}",
            html_file.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )


def main() -> None:
    ts = load_testset(ROOT / "references", "hoalu")
    refs = [s.text["sv"] for s in ts.pair("hi", "sv")]
    refs = [r.replace("Skilled Mass Mobilization", "Skicklig massmobilisering") for r in refs]
    v1 = [drop_words(r, "v1", 6) for r in refs]
    v2 = [drop_words(r.replace("Skicklig", "Skickad"), "v2", 4) for r in refs]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        glossary = Path("references/glossary/hoalu.yaml")  # as a user in a checkout names it
        (work / glossary).parent.mkdir(parents=True)
        shutil.copy(ROOT / glossary, work / glossary)
        os.chdir(work)
        runs = []
        for name, lines in (("v1", v1), ("v2", v2)):
            (work / f"{name}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
            req = RunRequest(
                testset=ts,
                backend_spec=f"file:{name}.txt",
                src="hi",
                tgt="sv",
                name=f"demo-{name}",
                glossary=glossary,
            )
            argv = ["evalharness", "run", "--backend", req.backend_spec, "--name", req.name]
            runs.append(run_evaluation(req, Path("runs"), Path("cache.sqlite"), argv=argv))
        shoot(work / runs[1][1] / "report.html", ROOT / "docs" / "run-page.png", 1500)
        comp = compare_runs([LoadedRun(r, f / "report.json") for r, f in runs])
        page = work / "comparison.html"
        os.chdir(ROOT)
        page.write_text(render(comparison_page(comp), "html"), encoding="utf-8")
        shoot(page, ROOT / "docs" / "comparison-page.png", 2000)
    print("wrote docs/run-page.png, docs/comparison-page.png")


if __name__ == "__main__":
    main()
