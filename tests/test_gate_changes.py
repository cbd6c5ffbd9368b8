"""Gates that can fail on what they guard (issue 26): the untrained fixture's output is noise,
so a score rule cannot tell a broken decoder from a working one; `max_changed_segments`
can, and shows what changed as word diffs."""

from __future__ import annotations

import shutil

import pytest
from conftest import ROOT

from evalharness.errors import UserError
from evalharness.gates.config import load_gates
from evalharness.gates.runner import run_gate


@pytest.fixture
def gate_work(tmp_path, monkeypatch):
    """The repo's gates.toml with its references, glossary and committed baselines."""
    for part in ("references", "gates", "seeds"):
        shutil.copytree(ROOT / part, tmp_path / part)
    shutil.copy(ROOT / "gates.toml", tmp_path / "gates.toml")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _fixture_gate(work):
    config = load_gates(work / "gates.toml")
    return config, next(g for g in config.gates if g.name == "tiny-marian-sv-hi")


def test_the_fixture_gate_fails_when_the_decoding_path_changes(gate_work, monkeypatch):
    from evalharness.backends.marian import MarianBackend

    config, gate = _fixture_gate(gate_work)
    healthy = run_gate(config, gate)
    assert healthy.passed, [d.message for d in healthy.decisions]
    assert any(d.message == "0 of 10 segments changed (allowed 0)" for d in healthy.decisions)

    decode = MarianBackend.generate

    def sabotaged(self, batch):  # every output reversed, junk appended
        return [text[::-1] + " xyz" for text in decode(self, batch)]

    monkeypatch.setattr(MarianBackend, "generate", sabotaged)
    broken = run_gate(config, gate)
    verdict = {d.rule: d for d in broken.decisions}
    assert not broken.passed and not verdict["max_changed_segments"].passed
    message = verdict["max_changed_segments"].message
    assert message.startswith("10 of 10 segments changed (allowed 0): s0001: ")
    assert "{+" in message and "xyz" in message and "and 7 more" in message
    # what the score rule alone said: noise against noise
    assert verdict["max_drop[chrf]"].passed


def test_a_share_that_can_never_fire_is_refused(gate_work):
    text = (gate_work / "gates.toml").read_text(encoding="utf-8")
    (gate_work / "gates.toml").write_text(
        text.replace(
            "max_changed_segments = 0              # the fixture", 'max_changed_segments = "100%"  # the'
        ),
        encoding="utf-8",
    )
    with pytest.raises(UserError, match="100% of the segments never fires"):
        load_gates(gate_work / "gates.toml")
