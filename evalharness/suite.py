"""The default evaluation suite (`eval.toml`): which test set, pairs and systems `make eval`
runs. Systems that cannot be loaded here (a hub model neither cached nor downloadable) are
reported as skipped, with the command that would fetch them."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from evalharness.errors import UserError


@dataclass(frozen=True)
class SystemEntry:
    name: str
    backend: str
    pairs: tuple[str, ...] | None = None  # None: every pair of the suite
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Suite:
    testset: str
    documents: tuple[str, ...]
    pairs: tuple[str, ...]
    metrics: tuple[str, ...]
    ci: bool
    systems: tuple[SystemEntry, ...]
    glossary: str | None = None


def load_suite(path: Path) -> Suite:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UserError("no evaluation config", path) from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"invalid TOML ({exc})", path) from exc
    try:
        systems = tuple(
            SystemEntry(
                name=s["name"],
                backend=s["backend"],
                pairs=tuple(s["pairs"]) if "pairs" in s else None,
                options=dict(s.get("options", {})),
            )
            for s in data["systems"]
        )
        return Suite(
            testset=data["testset"],
            documents=tuple(data.get("documents", [])),
            pairs=tuple(data["pairs"]),
            metrics=tuple(data.get("metrics", ["bleu", "chrf", "chrf++", "ter"])),
            ci=bool(data.get("ci", True)),
            systems=systems,
            glossary=data.get("glossary"),
        )
    except (KeyError, TypeError) as exc:
        raise UserError(f"missing or malformed key {exc}", path) from exc
