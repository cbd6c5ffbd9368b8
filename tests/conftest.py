from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
SV = SEEDS / "000_46ff231d867e4b0c.txt"
HI = SEEDS / "001_22db494995b66e38.txt"
EN_OTHER = SEEDS / "004_83babfd7e11e928a.txt"
EN_HOALU = ROOT / "tests" / "data" / "hoalu_en.txt"  # written for the tests: same article as SV/HI


@pytest.fixture(scope="session")
def encoder():
    from evalharness.corpus.embed import default_encoder

    return default_encoder()


@pytest.fixture(scope="session")
def seed_testset(encoder):
    from evalharness.corpus.build import DocSpec, build_testset

    return build_testset([DocSpec(SV), DocSpec(HI), DocSpec(EN_OTHER)], "hoalu", encoder=encoder)


@pytest.fixture(scope="session")
def three_way_testset(encoder):
    from evalharness.corpus.build import DocSpec, build_testset

    return build_testset([DocSpec(SV), DocSpec(HI), DocSpec(EN_HOALU)], "hoalu3", encoder=encoder)


@pytest.fixture
def seeds_copy(tmp_path: Path) -> Path:
    out = tmp_path / "docs"
    out.mkdir()
    for p in (SV, HI, EN_OTHER):
        shutil.copy(p, out / p.name)
    return out


def content_lines(path: Path) -> list[str]:
    """The ten article lines of a seed (everything before the byline, blank lines skipped)."""
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    return lines[:10]


@pytest.fixture(scope="session")
def fixture_models(tmp_path_factory):
    """Tiny untrained Marian models (real tokenizers and weights files; noise output)."""
    from evalharness.backends.fixtures import build_tiny_marian

    base = tmp_path_factory.mktemp("models")
    return {
        pair: build_tiny_marian(base / pair, *pair.split("-"), seeds=SEEDS)
        for pair in ("sv-hi", "sv-en", "en-hi")
    }


@pytest.fixture(scope="session")
def llm_models(tmp_path_factory):
    """A tiny untrained chat model (Llama layers, byte-level BPE, a chat template), a tiny
    NLLB-like seq2seq model (M2M100 layers, NLLB's tokenizer and language codes) and a tiny
    M2M100 with M2M100's own tokenizer."""
    from evalharness.backends.llm_fixtures import build_tiny_causal, build_tiny_m2m100, build_tiny_nllb

    base = tmp_path_factory.mktemp("llm-models")
    return {
        "causal": build_tiny_causal(base / "causal", seeds=SEEDS),
        "nllb": build_tiny_nllb(base / "nllb", seeds=SEEDS),
        "m2m100": build_tiny_m2m100(base / "m2m100", seeds=SEEDS),
    }


def run_cli(*args, cwd=None, env_extra=None, timeout=600, fresh=False) -> subprocess.CompletedProcess:
    """`evalharness ARGS` as a user runs it: through `cli.main`, the function the script calls,
    with its own argv, working directory, environment, stdout and stderr. In this process by
    default (models and encoders load once per session); `fresh=True` starts a new Python,
    for what only a real process shows (signals, the installed script, import side effects)."""
    if fresh:
        env = {**os.environ, "PYTHONPATH": str(ROOT), **(env_extra or {})}
        return subprocess.run(
            [sys.executable, "-m", "evalharness", *map(str, args)],
            capture_output=True,
            text=True,
            cwd=cwd,
            env=env,
            timeout=timeout,
        )
    from evalharness import cli

    out, err = io.StringIO(), io.StringIO()
    saved_env, saved_argv = dict(os.environ), sys.argv
    os.environ.update(env_extra or {})
    sys.argv = ["evalharness", *map(str, args)]
    try:
        with contextlib.chdir(cwd or os.getcwd()), redirect_stdout(out), redirect_stderr(err):
            try:
                cli.main()
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = saved_argv
        os.environ.clear()
        os.environ.update(saved_env)
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


EVIL_NAME = '"><img src=x onerror=alert(1)>'
EVIL_TEXT = '<script>alert(2)</script> \u202eevil\u202c "><img src=x onerror=alert(3)> ](javascript:alert(4))'


@pytest.fixture(scope="session")
def page_runs(tmp_path_factory):
    """Runs for the report pages, hi -> sv on the seed test set, all from hypothesis files:
    `a` and `b` are one system ("sys") given as two files, `b` renders the glossary's
    "Skicklig massmobilisering" as the deprecated "Skickad massmobilisering"; `same` has a's
    output under another name; `evil` has hostile names, text, file name and glossary."""
    from evalharness.corpus.store import load_testset
    from evalharness.evaluate import RunRequest, run_evaluation

    work = tmp_path_factory.mktemp("pages")
    ts = load_testset(ROOT / "references", "hoalu")
    refs = [s.text["sv"] for s in ts.pair("hi", "sv")]
    base = [r.replace("Skilled Mass Mobilization", "Skicklig massmobilisering") for r in refs]
    changed = [r.replace("Skicklig massmobilisering", "Skickad massmobilisering") for r in base]
    evil = [f"{r} {EVIL_TEXT}" for r in base]
    files = {"base.txt": base, "changed.txt": changed, "ev<i>l.txt": evil}
    for name, lines in files.items():
        (work / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    glossary = ROOT / "references" / "glossary" / "hoalu.yaml"
    evil_glossary = work / "evil<g>.yaml"
    evil_glossary.write_text(
        "concepts:\n  - id: 'x\"><script>alert(5)</script>'\n    terms:\n"
        "      hi: [{term: होआ लू, status: preferred}]\n"
        "      sv: [{term: '<script>alert(6)</script> Folkrörelsen', status: preferred}]\n",
        encoding="utf-8",
    )
    runs = work / "runs"
    out = {}
    for key, name, backend, terms in (
        ("a", "sys", "base.txt", glossary),
        ("b", "sys", "changed.txt", glossary),
        ("same", "other", "base.txt", glossary),
        ("evil", EVIL_NAME, "ev<i>l.txt", evil_glossary),
    ):
        req = RunRequest(
            testset=ts, backend_spec=f"file:{work / backend}", src="hi", tgt="sv", name=name, glossary=terms
        )
        out[key] = run_evaluation(req, runs, work / "cache.sqlite", argv=["evalharness", "run"])
    return work, runs, out


def cli_main(monkeypatch, capsys, *args) -> tuple[int, str, str]:
    """`evalharness ARGS` in this process (see `run_cli`): (exit code, stdout, stderr). Takes
    the fixtures its callers hold so that their monkeypatched environment applies."""
    proc = run_cli(*args)
    return proc.returncode, proc.stdout, proc.stderr


# A run of the committed seed test set, scored with chrF only (fast); callers add --backend.
SEED_RUN = ["run", "--testset", "hoalu", "--pair", "sv-hi", "--metrics", "chrf", "--no-ci"]


@pytest.fixture
def work(tmp_path, monkeypatch):
    """A repo-like folder with the committed seed test set and a small hypothesis file."""
    shutil.copytree(ROOT / "references" / "hoalu", tmp_path / "references" / "hoalu")
    (tmp_path / "hyp.txt").write_text("a\nb\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path
