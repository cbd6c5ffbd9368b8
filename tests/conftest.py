from __future__ import annotations

import os
import shutil
import subprocess
import sys
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


def run_cli(*args, cwd=None, env_extra=None, timeout=600) -> subprocess.CompletedProcess:
    """`evalharness ARGS` as a user runs it, in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "evalharness", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
    )
