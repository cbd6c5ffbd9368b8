"""Produce the current run for a gate and judge it against the baseline kept in the repo."""

from __future__ import annotations

import sys
from pathlib import Path

from evalharness.corpus.store import load_testset
from evalharness.errors import UserError
from evalharness.evaluate import RunRequest, run_evaluation
from evalharness.fileio import dumps_json, write_text_atomic
from evalharness.gates.config import Gate, GateConfig
from evalharness.gates.rules import Decision, evaluate_rule
from evalharness.reports.schema import RunReport
from evalharness.reports.store import load_report_file


def current_run(config: GateConfig, gate: Gate) -> RunReport:
    src, _, tgt = gate.pair.partition("-")
    ts = load_testset(config.references, gate.testset)
    request = RunRequest(
        testset=ts,
        backend_spec=gate.backend,
        src=src,
        tgt=tgt,
        backend_options=gate.options,
        glossary=gate.glossary,
        name=gate.name,
    )
    report, _ = run_evaluation(request, config.runs, config.cache, argv=["evalharness", "gate", gate.name])
    return report


def baseline_of(gate: Gate) -> RunReport:
    if not gate.baseline.is_file():
        raise UserError(
            f"gate {gate.name}: no baseline report (create it with `evalharness gate --update-baseline`)",
            gate.baseline,
        )
    return load_report_file(gate.baseline)


def judge(gate: Gate, baseline: RunReport, current: RunReport) -> list[Decision]:
    out: list[Decision] = []
    for rule, value in gate.rules.items():
        out += evaluate_rule(rule, value, baseline, current)
    return out


def update_baseline(gate: Gate, current: RunReport) -> Path:
    """Replace a baseline on purpose; the new one records which run it replaces."""
    old = load_report_file(gate.baseline).run_id if gate.baseline.is_file() else None
    new = current.model_copy(update={"replaces_baseline": old})
    write_text_atomic(gate.baseline, dumps_json(new.model_dump(mode="json")))
    print(f"{gate.name}: baseline {old or '(none)'} -> {new.run_id}", file=sys.stderr)
    return gate.baseline
