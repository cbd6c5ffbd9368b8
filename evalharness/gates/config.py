"""Gate definitions: `gates.toml`, or `[tool.evalharness.gates]` in pyproject.toml.

[[gate]]
name = "passthrough-sv-hi"
backend = "passthrough"
testset = "hoalu"
pair = "sv-hi"
baseline = "gates/baselines/passthrough-sv-hi.json"   # a run report kept in the repo
glossary = "references/glossary/hoalu.yaml"          # optional
[gate.rules]
max_drop = { bleu = 1.0, chrf = 2.0 }   # fails only for a significant (p < 0.05) drop larger than this
no_new_flags = ["deprecated", "untranslated"]
max_copy_rate = 0.1
min_term_accuracy = 0.5
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from evalharness.errors import UserError

RULES = ("max_drop", "no_new_flags", "max_copy_rate", "min_term_accuracy")


@dataclass(frozen=True)
class Gate:
    name: str
    backend: str
    testset: str
    pair: str
    baseline: Path
    rules: dict
    glossary: Path | None = None
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class GateConfig:
    path: Path
    root: Path  # paths in the file are relative to it
    gates: list[Gate]
    references: Path
    runs: Path
    cache: Path


def load_gates(path: Path) -> GateConfig:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UserError("no gates file", path) from exc
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"invalid TOML ({exc})", path) from exc
    if path.name == "pyproject.toml":
        data = data.get("tool", {}).get("evalharness", {}).get("gates", {})
    root = Path(os.path.relpath(path.parent))  # reports record paths; keep them relative
    gates = []
    for n, g in enumerate(data.get("gate", []), start=1):
        try:
            rules = dict(g.get("rules", {}))
            unknown = set(rules) - set(RULES)
            if unknown:
                raise UserError(
                    f"gate {n}: unknown rule(s) {', '.join(sorted(unknown))} (known: {', '.join(RULES)})",
                    path,
                )
            gates.append(
                Gate(
                    name=g.get("name") or f"{g['backend']}-{g['pair']}",
                    backend=g["backend"],
                    testset=g.get("testset", "hoalu"),
                    pair=g["pair"],
                    baseline=root / g["baseline"],
                    rules=rules,
                    glossary=root / g["glossary"] if g.get("glossary") else None,
                    options=dict(g.get("options", {})),
                )
            )
        except KeyError as exc:
            raise UserError(f"gate {n}: missing key {exc}", path) from exc
    if not gates:
        raise UserError("no [[gate]] entries", path)
    return GateConfig(
        path=path,
        root=root,
        gates=gates,
        references=root / data.get("references", "references"),
        runs=root / data.get("runs", "runs/gates"),
        cache=root / data.get("cache", "runs/.cache/translations.sqlite"),
    )
