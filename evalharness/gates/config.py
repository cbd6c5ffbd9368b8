"""Gate definitions: `gates.toml`, or `[tool.evalharness.gates]` in pyproject.toml.

[[gate]]
name = "passthrough-sv-hi"
backend = "passthrough"
testset = "hoalu"
pair = "sv-hi"
baseline = "gates/baselines/passthrough-sv-hi.json"   # a run report kept in the repo
glossary = "references/glossary/hoalu.yaml"          # optional
metrics = ["bleu", "chrf", "comet=Unbabel/wmt22-comet-da"]   # optional; default: bleu, chrf, chrf++, ter
[gate.rules]
max_drop = { bleu = 1.0, chrf = 2.0, comet = 0.5 }   # fails only for a significant (p < 0.05) drop larger than this
no_new_flags = ["deprecated", "untranslated"]
max_copy_rate = 0.1
min_term_accuracy = 0.5

The whole file is validated (typed models, unknown keys refused) before any gate runs, so a
bad value is one line naming the gate and the key, not an error after minutes of translation.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from evalharness.errors import Problems, UserError
from evalharness.fileio import read_toml
from evalharness.metrics.registry import default_metrics

RULES = ("max_drop", "no_new_flags", "max_copy_rate", "min_term_accuracy")
FlagKind = Literal[
    "deprecated", "misspelled", "untranslated", "missing", "inconsistent-in-document", "inconsistent", "drift"
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Rules(_Strict):
    max_drop: dict[str, float] | None = None
    no_new_flags: list[FlagKind] | None = None
    max_copy_rate: float | None = Field(default=None, ge=0, le=1, allow_inf_nan=False)
    min_term_accuracy: float | None = Field(default=None, ge=0, le=1, allow_inf_nan=False)
    # a count of segments (0: the output must not change) or a share such as "5%"
    max_changed_segments: (
        Annotated[int, Field(ge=0)] | Annotated[str, Field(pattern=r"^\d+(\.\d+)?%$")] | None
    ) = None

    @field_validator("max_changed_segments")
    @classmethod
    def _share_can_fire(cls, value: int | str | None) -> int | str | None:
        if isinstance(value, str) and float(value[:-1]) >= 100:
            raise ValueError(f"{value} of the segments never fires: give less than 100%, or a count")
        return value

    @field_validator("max_drop")
    @classmethod
    def _metrics_known(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        from evalharness.metrics.registry import parse_metrics

        if value is not None:
            try:
                parse_metrics(",".join(value))
            except UserError as exc:
                raise ValueError(str(exc)) from None
            if any(not math.isfinite(v) or v < 0 for v in value.values()):
                raise ValueError("allowed drops must be finite numbers, 0 or more (NaN or inf never fires)")
        return value


class GateEntry(_Strict):
    name: str | None = Field(default=None, min_length=1)
    backend: str = Field(min_length=1)
    testset: str = "hoalu"
    pair: str
    baseline: str = Field(min_length=1)
    glossary: str | None = None
    options: dict = Field(default_factory=dict)
    metrics: tuple[str, ...] | None = None  # as in eval.toml: ids, a model metric may name its checkpoint
    metric_options: dict = Field(default_factory=dict)
    rules: Rules = Field(default_factory=Rules)

    @field_validator("metrics")
    @classmethod
    def _metrics_known(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        from evalharness.metrics.registry import parse_metric_list

        if value is not None:
            try:
                parse_metric_list(list(value))
            except UserError as exc:
                raise ValueError(str(exc)) from None
        return value


class GatesFile(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    gate: list[GateEntry] = Field(min_length=1)
    references: str = "references"
    runs: str = "runs/gates"
    cache: str = "runs/.cache/translations.sqlite"


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
    metrics: tuple[str, ...] = field(default_factory=default_metrics)  # what the current run is scored with
    metric_options: dict = field(default_factory=dict)  # sacrebleu options, checkpoints, neural_*


@dataclass(frozen=True)
class GateConfig:
    path: Path
    root: Path  # paths in the file are relative to it
    gates: list[Gate]
    references: Path
    runs: Path
    cache: Path


def _where(loc: tuple, data: dict) -> str:
    """`gate 2 (name): rules.max_copy_rate` from a pydantic error location."""
    if len(loc) >= 2 and loc[0] == "gate" and isinstance(loc[1], int):
        entries = data.get("gate", [])
        entry = entries[loc[1]] if loc[1] < len(entries) else {}
        name = entry.get("name") if isinstance(entry, dict) else None
        rest = ".".join(str(p) for p in loc[2:])
        return f"gate {loc[1] + 1}{f' ({name})' if name else ''}" + (f": {rest}" if rest else "")
    return ".".join(str(p) for p in loc) or "(top level)"


def _scoring(entry: GateEntry, root: Path) -> tuple[tuple[str, ...], dict]:
    """The metrics a gate's run is scored with: those it names (default: the default set) and
    every metric a rule reads; a checkpoint folder is relative to the gates file."""
    from evalharness.metrics.registry import check_request, parse_metric_list, with_checkpoints

    ids, checkpoints = parse_metric_list(list(entry.metrics or default_metrics()))
    ids += [m for m in (entry.rules.max_drop or {}) if m not in ids]
    options = {
        key: str(root / value)
        if key.endswith("_model") and isinstance(value, str) and (root / value).exists()
        else value
        for key, value in with_checkpoints(entry.metric_options, checkpoints).items()
    }
    check_request(ids, options)
    return tuple(ids), options


def load_gates(path: Path) -> GateConfig:
    from evalharness.backends.registry import check_options, check_spec
    from evalharness.corpus.language import parse_pair
    from evalharness.corpus.store import check_name

    data = read_toml(path, "gates file")
    if path.name == "pyproject.toml":
        data = data.get("tool", {}).get("evalharness", {}).get("gates", {})
    if not data.get("gate"):
        raise UserError("no [[gate]] entries", path)
    problems = Problems(path)
    try:
        parsed = GatesFile.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            problems.add(f"{_where(error['loc'], data)}: {error['msg']}")
        problems.raise_any()
    root = Path(os.path.relpath(path.parent))  # reports record paths; keep them relative
    gates = []
    for n, g in enumerate(parsed.gate, start=1):
        with problems.catch(f"gate {n}: "):
            parse_pair(g.pair)
            check_name(g.testset.partition("@")[0])
            check_spec(g.backend)
            check_options(g.backend, g.options)
            metrics, metric_options = _scoring(g, root)
            gates.append(
                Gate(
                    name=g.name or f"{g.backend}-{g.pair}",
                    backend=g.backend,
                    testset=g.testset,
                    pair=g.pair,
                    baseline=root / g.baseline,
                    rules=g.rules.model_dump(exclude_none=True),
                    glossary=root / g.glossary if g.glossary else None,
                    options=dict(g.options),
                    metrics=metrics,
                    metric_options=metric_options,
                )
            )
    for what, values, why in (
        ("named", [g.name for g in gates], "--only would run both, --update-baseline replace both"),
        (
            "keep their baseline in",
            [str(g.baseline) for g in gates],
            "--update-baseline would write it twice",
        ),
    ):
        if twice := next((v for n, v in enumerate(values) if v in values[:n]), None):
            problems.add(f"two gates {what} {twice!r} ({why})")
    problems.raise_any()
    return GateConfig(
        path=path,
        root=root,
        gates=gates,
        references=root / parsed.references,
        runs=root / parsed.runs,
        cache=root / parsed.cache,
    )
