"""pytest plugin (entry point `pytest11`): a `gates.toml` collected by pytest becomes one
test item per gate rule, and a failing gate reads as a sentence, not a traceback."""

from __future__ import annotations

import warnings

import pytest

from evalharness.errors import UserError


class GateFailure(Exception):
    pass


class GateWarning(UserWarning):
    """The gate ran, but on an older test-set version than LATEST (see the message)."""


def pytest_collect_file(parent, file_path):
    if file_path.name == "gates.toml":
        return GatesFile.from_parent(parent, path=file_path)
    return None


class GatesFile(pytest.File):
    def collect(self):
        from evalharness.gates.config import load_gates

        config = load_gates(self.path)
        for gate in config.gates:
            for rule, value in gate.rules.items():
                names = [f"{rule}[{m}]" for m in value] if rule == "max_drop" else [rule]
                for name in names:
                    yield GateItem.from_parent(
                        self, name=f"{gate.name}::{name}", config_=config, gate=gate, rule=name
                    )


_RUNS: dict[tuple[str, str], object] = {}


class GateItem(pytest.Item):
    def __init__(self, *, config_, gate, rule, **kwargs):
        super().__init__(**kwargs)
        self.gate_config, self.gate, self.rule = config_, gate, rule

    def runtest(self):
        from evalharness.gates.runner import run_gate

        key = (str(self.gate_config.path), self.gate.name)
        if key not in _RUNS:  # one run and one judgement per gate, shared by its rules
            try:
                _RUNS[key] = run_gate(self.gate_config, self.gate)
            except UserError as exc:
                _RUNS[key] = GateFailure(str(exc))
            else:
                for message in _RUNS[key].warnings:
                    warnings.warn(GateWarning(message), stacklevel=1)
        result = _RUNS[key]
        if isinstance(result, GateFailure):
            raise result
        decisions = [d for d in result.decisions if d.rule == self.rule]
        self.user_properties.append(("gate", [d.message for d in decisions]))
        failed = [d for d in decisions if not d.passed]
        if failed:
            from evalharness.gates.runner import failure_help

            raise GateFailure("\n".join(["; ".join(d.message for d in failed), *failure_help(result)]))
        self.add_report_section("call", "gate", "\n".join(d.message for d in decisions))

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, GateFailure):
            return f"gate {self.gate.name} failed: {excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, 0, f"gate {self.gate.name}: {self.rule}"
