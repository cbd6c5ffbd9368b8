"""The pinned, isolated environments that run the reference implementations.

Each reference runs in its own virtual environment under ``$EVALHARNESS_REFENVS``
(default ``~/.cache/evalharness/refenvs``): ``comet/`` for Unbabel COMET and ``metricx/``
for Google's MetricX, plus ``metricx-src/``, a checkout of google-research/metricx at the
pinned commit (MetricX is not on PyPI). An environment is created only when it is missing;
one that exists is checked against the pins and never changed.

Creating them needs the network (PyPI, and GitHub for the MetricX checkout). ``torch`` is
pinned in both: without a pin pip fetches a multi-gigabyte CUDA build.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

COMET_REQUIREMENTS = [
    "torch==2.13.0",
    "unbabel-comet==2.2.7",
    # pytorch-lightning imports pkg_resources, which setuptools 81 removed.
    "setuptools<81",
    # sentencepiece 0.2.3's protobuf module needs protobuf>=5, and unbabel-comet 2.2.7
    # requires protobuf<5: the slow-to-fast tokenizer conversion then fails to import.
    "sentencepiece==0.2.2",
]

METRICX_REQUIREMENTS = [
    "torch==2.13.0",
    "transformers==4.30.2",
    "sentencepiece==0.1.99",
    "datasets==2.13.1",
    "numpy<2",
    "protobuf<4",
    # transformers.Trainer needs accelerate; 0.20.3 is the release of transformers 4.30's time.
    "accelerate==0.20.3",
    # datasets 2.13 breaks with what pip picks today: pyarrow>=20 wants numpy 2, and fsspec
    # after 2023.9 makes load_dataset fail ("Loading a dataset cached in a LocalFileSystem").
    "pyarrow==12.0.1",
    "fsspec==2023.6.0",
    # accelerate 0.20 imports pkg_resources, which setuptools 81 removed.
    "setuptools<81",
]

METRICX_REPOSITORY = "https://github.com/google-research/metricx"
METRICX_COMMIT = "fc4978eb064670f7cc33e93ea4f52d38396b8ae6"

# The distributions whose versions go into the expected outputs' "environment" record.
COMET_PACKAGES = [
    "unbabel-comet",
    "torch",
    "transformers",
    "tokenizers",
    "sentencepiece",
    "pytorch-lightning",
    "entmax",
    "numpy",
    "protobuf",
]
METRICX_PACKAGES = [
    "torch",
    "transformers",
    "tokenizers",
    "sentencepiece",
    "datasets",
    "accelerate",
    "numpy",
    "protobuf",
]


@dataclass(frozen=True)
class RefEnvs:
    """Where the reference environments are."""

    comet_python: Path
    metricx_python: Path
    metricx_src: Path


def refenvs_root() -> Path:
    """The folder that holds the environments: $EVALHARNESS_REFENVS or the user cache."""
    configured = os.environ.get("EVALHARNESS_REFENVS")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "evalharness" / "refenvs"


def _python(env_dir: Path) -> Path:
    return env_dir / "bin" / "python"


def _log(message: str) -> None:
    print(f"[refenvs] {message}", file=sys.stderr, flush=True)


def installed_versions(python: Path, packages: list[str]) -> dict[str, str | None]:
    """The installed version of each distribution in the environment of ``python``."""
    script = (
        "import json, sys\n"
        "from importlib import metadata\n"
        "out = {}\n"
        "for name in sys.argv[1:]:\n"
        "    try:\n"
        "        out[name] = metadata.version(name)\n"
        "    except metadata.PackageNotFoundError:\n"
        "        out[name] = None\n"
        "print(json.dumps(out))\n"
    )
    result = subprocess.run(
        [str(python), "-c", script, *packages], check=True, capture_output=True, text=True
    )
    return json.loads(result.stdout)


def _check_exact_pins(python: Path, requirements: list[str]) -> None:
    """Fails when an exact pin (name==version) disagrees with what is installed."""
    pins = dict(r.split("==", 1) for r in requirements if "==" in r)
    found = installed_versions(python, list(pins))
    wrong = {
        name: (want, found[name])
        for name, want in pins.items()
        if found[name] is None or found[name].split("+")[0] != want
    }
    if wrong:
        details = ", ".join(f"{n}: want {w}, found {f}" for n, (w, f) in wrong.items())
        raise SystemExit(
            f"reference environment {python.parent.parent} does not match its pins ({details}); "
            "delete it to have it created again"
        )


def ensure_venv(env_dir: Path, requirements: list[str]) -> Path:
    """Creates the virtual environment with ``requirements`` if it is missing; returns its python."""
    python = _python(env_dir)
    if not python.exists():
        _log(f"creating {env_dir} with {' '.join(requirements)}")
        venv.EnvBuilder(with_pip=True, clear=False).create(env_dir)
        subprocess.run([str(python), "-m", "pip", "install", *requirements], check=True)
    _check_exact_pins(python, requirements)
    return python


def git_head(checkout: Path) -> str:
    result = subprocess.run(
        ["git", "-C", str(checkout), "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    )
    return result.stdout.strip()


def ensure_metricx_src(checkout: Path) -> Path:
    """A checkout of google-research/metricx at METRICX_COMMIT, cloned if missing."""
    if not (checkout / "metricx24" / "models.py").exists():
        _log(f"cloning {METRICX_REPOSITORY} into {checkout}")
        subprocess.run(["git", "clone", "--quiet", METRICX_REPOSITORY, str(checkout)], check=True)
        subprocess.run(["git", "-C", str(checkout), "checkout", "--quiet", METRICX_COMMIT], check=True)
    head = git_head(checkout)
    if head != METRICX_COMMIT:
        raise SystemExit(f"{checkout} is at {head}, not at the pinned MetricX commit {METRICX_COMMIT}")
    return checkout


def ensure_all(root: Path | None = None, metricx_src: Path | None = None) -> RefEnvs:
    """Makes sure that both environments and the MetricX checkout exist; returns where they are."""
    root = root or refenvs_root()
    return RefEnvs(
        comet_python=ensure_venv(root / "comet", COMET_REQUIREMENTS),
        metricx_python=ensure_venv(root / "metricx", METRICX_REQUIREMENTS),
        metricx_src=ensure_metricx_src(metricx_src or root / "metricx-src"),
    )


if __name__ == "__main__":
    envs = ensure_all()
    print(envs)
