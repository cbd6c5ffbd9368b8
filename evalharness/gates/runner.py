"""Run a gate: re-translate with the system under test (never from the translation cache), on
the test-set version its baseline was made on, and judge the new run against the baseline.

Which version: the one pinned in gates.toml (`testset = "NAME@VERSION"`), else the baseline's.
A newer `LATEST` is a warning naming both versions, not a failure; a baseline whose version is
gone is a failure that says what to do. `--update-baseline` runs on the pinned version or
LATEST and replaces the baseline on purpose."""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from evalharness.corpus.store import TestSet, latest_version, load_testset, version_on_disk
from evalharness.errors import UserError
from evalharness.fileio import dumps_json, write_bytes_atomic, write_text_atomic
from evalharness.gates.config import Gate, GateConfig
from evalharness.gates.rules import Decision, evaluate_rule
from evalharness.reports.schema import RunReport
from evalharness.reports.statistics import LoadedRun, stats_path
from evalharness.reports.store import load_run_file
from evalharness.suite import Job, Scoring, SystemEntry, run_job
from evalharness.terminal import one_line_safe


@dataclass(frozen=True)
class GateRun:
    gate: Gate
    current: RunReport
    decisions: list[Decision]
    warnings: tuple[str, ...] = ()
    current_path: Path | None = None  # the current run's report.json
    update: str = ""  # the command that accepts the current run as the baseline

    @property
    def passed(self) -> bool:
        return all(d.passed for d in self.decisions)


def failure_help(result: GateRun) -> list[str]:
    """What to do about a failed gate: where the new run is, how to see what changed, and the
    one command that accepts it as the new baseline."""
    gate = result.gate
    lines = []
    current = result.current_path
    if current is not None:
        lines.append(f"current run: {current.parent / 'report.html'}")
        page = f"compare-{gate.name}.html"
        lines.append(
            f"see what changed: evalharness compare {gate.baseline} {current} --format html --out {page}"
        )
    lines.append(f"accept it as the new baseline: {result.update}")
    return lines


def update_command(config: GateConfig, gate: Gate) -> str:
    """The command that replaces this gate's baseline, with the `--config` that was used
    (the default gates.toml of the current folder needs none)."""
    default = Path("gates.toml")
    named = "" if config.path.resolve() == default.resolve() else f" --config {shlex.quote(str(config.path))}"
    return f"evalharness gate{named} --only {shlex.quote(gate.name)} --update-baseline"


def _update_hint(config: GateConfig, gate: Gate) -> str:
    return f"review, then `{update_command(config, gate)}`"


def gate_testset(config: GateConfig, gate: Gate, baseline: RunReport | None) -> tuple[TestSet, list[str]]:
    """The test-set version the gate runs on, and warnings about newer versions."""
    name, _, pinned = gate.testset.partition("@")
    latest = latest_version(config.references, name)
    if pinned:
        if not version_on_disk(config.references, name, pinned):
            raise UserError(
                f"gate {gate.name}: pinned test set {name}@{pinned} is not on disk", config.references
            )
        version = pinned
        if baseline is not None and baseline.testset.version != pinned:
            raise UserError(
                f"gate {gate.name}: baseline was made on {baseline.testset.name}@{baseline.testset.version}, "
                f"the gate pins {name}@{pinned}; {_update_hint(config, gate)}",
                gate.baseline,
            )
    elif baseline is None:  # a new baseline: the current test set
        if latest is None:
            raise UserError(f"gate {gate.name}: no test set named {name!r}", config.references)
        version = latest
    else:
        made_on = f"{baseline.testset.name}@{baseline.testset.version}"
        if baseline.testset.name != name:
            raise UserError(
                f"gate {gate.name}: baseline was made on {made_on}, the gate names test set {name!r}; {_update_hint(config, gate)}",
                gate.baseline,
            )
        version = baseline.testset.version
        if not version_on_disk(config.references, name, version):
            now = f"{name}@{latest}" if latest else f"no {name!r} at all"
            raise UserError(
                f"gate {gate.name}: baseline was made on {made_on}, the test set is now {now}; {_update_hint(config, gate)}",
                gate.baseline,
            )
    warnings = []
    if latest is not None and version != latest:
        warnings.append(
            f"gate {gate.name} runs on {name}@{version} ({'pinned' if pinned else 'its baseline'}); "
            f"{name} now points to {name}@{latest}: {_update_hint(config, gate)} to move the gate to it"
        )
    return load_testset(config.references, f"{name}@{version}"), warnings


def current_run(config: GateConfig, gate: Gate, testset: TestSet) -> LoadedRun:
    """A fresh run of the gate's system: translated now, never served from the cache."""
    system = SystemEntry(name=gate.name, backend=gate.backend, options=gate.options)
    src, _, tgt = gate.pair.partition("-")
    return run_job(
        Job(testset, system, src, tgt),
        config.runs,
        config.cache,
        Scoring(gate.metrics, gate.metric_options),
        glossary=gate.glossary,
        use_cache=False,
        argv=["evalharness", "gate", gate.name],
    )


def baseline_of(config: GateConfig, gate: Gate) -> LoadedRun:
    if not gate.baseline.is_file():
        raise UserError(
            f"gate {gate.name}: no baseline report (create it with `{update_command(config, gate)}`)",
            gate.baseline,
        )
    return load_run_file(gate.baseline)


def judge(gate: Gate, baseline: LoadedRun, current: LoadedRun) -> list[Decision]:
    out: list[Decision] = []
    for rule, value in gate.rules.items():
        out += evaluate_rule(rule, value, baseline, current)
    return out


def run_gate(config: GateConfig, gate: Gate) -> GateRun:
    baseline = baseline_of(config, gate)
    testset, warnings = gate_testset(config, gate, baseline.report)
    current = current_run(config, gate, testset)
    return GateRun(
        gate,
        current.report,
        judge(gate, baseline, current),
        tuple(warnings),
        current_path=current.path,
        update=update_command(config, gate),
    )


def update_baseline(config: GateConfig, gate: Gate) -> Path:
    """Replace a baseline on purpose (pinned version or LATEST); the new one records which
    run it replaces. Its statistics are kept beside it (`NAME.stats.npz`)."""
    old = baseline_of(config, gate).run_id if gate.baseline.is_file() else None
    testset, _ = gate_testset(config, gate, None)
    run = current_run(config, gate, testset)
    update: dict = {"replaces_baseline": old}
    if run.report.statistics is not None and run.path is not None:
        data = (run.path.parent / run.report.statistics["file"]).read_bytes()
        write_bytes_atomic(stats_path(gate.baseline), data)
        update["statistics"] = {**run.report.statistics, "file": stats_path(gate.baseline).name}
    new = run.report.model_copy(update=update)
    write_text_atomic(gate.baseline, dumps_json(new.model_dump(mode="json")))
    print(
        one_line_safe(
            f"{gate.name}: baseline {old or '(none)'} -> {new.run_id} on {testset.name}@{testset.version}"
        ),
        file=sys.stderr,
    )
    return gate.baseline
