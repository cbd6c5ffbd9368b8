"""Our COMET, CometKiwi, xCOMET and MetricX inference equals the reference implementations:
every segment score within 1e-5 of what unbabel-comet and google-research/metricx computed on
the same tiny checkpoints (`tests/reference/` made them and ran the references, each in its
own pinned environment), xCOMET's error spans identical, and the tokenizers giving the
references' ids and offsets."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
import torch
from conftest import ROOT, run_cli

from evalharness.errors import UserError
from evalharness.metrics.neural.base import Inference, Segment
from evalharness.metrics.neural.checkpoint import load_weights
from evalharness.metrics.neural.comet import CometScorer, sparsemax
from evalharness.metrics.neural.comet_checkpoint import CometCheckpoint
from evalharness.metrics.neural.metricx import MetricXCheckpoint, MetricXScorer
from evalharness.metrics.neural.tokenizer import load_tokenizer

DATA = ROOT / "tests" / "data" / "neural"
TOLERANCE = 1e-5
INPUTS = [json.loads(line) for line in (DATA / "inputs.jsonl").read_text(encoding="utf-8").splitlines()]
SEGMENTS = [Segment(d["src"], d["mt"], (d["ref"],)) for d in INPUTS]
CASES = [
    ("comet-tiny", "ref"),
    ("cometkiwi-tiny", "qe"),
    ("xcomet-tiny", "ref"),
    ("xcomet-tiny", "qe"),
    ("metricx-tiny", "ref"),
    ("metricx-tiny", "qe"),
]


def expected(fixture: str, mode: str) -> dict:
    return json.loads((DATA / fixture / "expected.json").read_text(encoding="utf-8"))["modes"][mode]


def scorer(folder: Path, mode: str, **inference):
    if folder.name.startswith("metricx") or (folder / "config.json").is_file():
        return MetricXScorer(MetricXCheckpoint.resolve(str(folder)), Inference(**inference), mode == "ref")
    return CometScorer(CometCheckpoint.resolve(str(folder)), Inference(**inference), mode == "ref")


@pytest.mark.parametrize("fixture, mode", CASES)
def test_segment_scores_equal_the_reference(fixture, mode):
    want = expected(fixture, mode)
    got = scorer(DATA / fixture, mode).score(SEGMENTS)
    assert len(got) == len(want["scores"]) == len(INPUTS)
    for n, (mine, theirs) in enumerate(zip(got, want["scores"], strict=True)):
        assert abs(mine.score - theirs) <= TOLERANCE, f"segment {n}: {mine.score} vs {theirs}"
    system = sum(s.score for s in got) / len(got)
    assert abs(system - want["system_score"]) <= TOLERANCE


@pytest.mark.parametrize("mode", ["ref", "qe"])
def test_xcomet_error_spans_equal_the_reference(mode):
    want = expected("xcomet-tiny", mode)["error_spans"]
    got = scorer(DATA / "xcomet-tiny", mode).score(SEGMENTS)
    assert sum(len(s) for s in want) > 40  # the fixture has spans of every severity to compare
    assert {span["severity"] for spans in want for span in spans} == {"minor", "major", "critical"}
    for n, (mine, theirs) in enumerate(zip(got, want, strict=True)):
        assert [(s.text, s.severity, s.start, s.end) for s in mine.spans] == [
            (s["text"], s["severity"], s["start"], s["end"]) for s in theirs
        ], f"segment {n}"
        for s, t in zip(mine.spans, theirs, strict=True):
            assert abs(s.confidence - t["confidence"]) <= TOLERANCE


@pytest.mark.parametrize("batch_tokens", [40, 100_000])
def test_comet_scores_do_not_depend_on_batching(batch_tokens):
    """Batches sorted by length and bounded by tokens, whatever their size: the same scores."""
    want = expected("comet-tiny", "ref")["scores"]
    got = scorer(DATA / "comet-tiny", "ref", batch_tokens=batch_tokens).score(SEGMENTS)
    assert max(abs(a.score - b) for a, b in zip(got, want, strict=True)) <= TOLERANCE


def test_metricx_batched_and_from_safetensors(tmp_path):
    """MetricX from a safetensors copy scores the same; batched inputs (padded, as on a GPU)
    stay within float rounding of the one-at-a-time reference."""
    copy = tmp_path / "metricx"
    copy.mkdir()
    for item in (DATA / "metricx-tiny").iterdir():
        if item.name != "pytorch_model.bin":
            (copy / item.name).symlink_to(item)
    from safetensors.torch import save_file

    state = load_weights(DATA / "metricx-tiny" / "pytorch_model.bin")
    save_file({k: v.clone().contiguous() for k, v in state.items()}, str(copy / "model.safetensors"))
    want = expected("metricx-tiny", "ref")["scores"]
    exact = scorer(copy, "ref").score(SEGMENTS)
    assert max(abs(a.score - b) for a, b in zip(exact, want, strict=True)) <= TOLERANCE
    batched = scorer(copy, "ref", batch_tokens=4000).score(SEGMENTS)
    assert max(abs(a.score - b) for a, b in zip(batched, want, strict=True)) <= 1e-4


def test_tokenizers_give_the_references_ids_and_offsets():
    """COMET's tokenizer (untruncated ids; offsets of hypotheses, which xCOMET's spans are)
    and what MetricX's model reads (cut to 1,536 tokens, </s> removed), per segment."""
    rows = [json.loads(line) for line in (DATA / "reference_tokens.jsonl").read_text().splitlines()]
    xlmr = load_tokenizer(DATA / "comet-tiny" / "encoder", "xlmr")
    metricx = {mode: scorer(DATA / "metricx-tiny", mode) for mode in ("ref", "qe")}
    checked = 0
    for row in rows:
        n = row["segment"]
        if row["family"] == "xlmr":
            enc = xlmr.encode(INPUTS[n][row["field"]])
            assert enc.ids == row["ids"]
            if "offsets" in row:
                assert [list(o) for o in enc.offsets] == row["offsets"]
        else:
            assert metricx[row["mode"]].sequences([SEGMENTS[n]])[0] == row["ids"]
        checked += 1
    assert checked == 135


def test_sparsemax_matches_the_mix_weights_comet_used():
    facts = json.loads((DATA / "comet-tiny" / "expected.json").read_text())["facts"]["layerwise_attention"]
    weights = sparsemax(torch.tensor(facts["scalar_parameters"]))
    assert weights.tolist() == pytest.approx(facts["layer_weights"], abs=1e-7)
    assert weights[0] == 0.0  # a layer sparsemax drops entirely


class Explode:
    """Unpickling this would run code: it must never be unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "executed"))


def test_a_pickled_checkpoint_is_refused_and_nothing_in_it_runs(tmp_path):
    folder = tmp_path / "evil-comet"
    folder.mkdir()
    for name in ("hparams.yaml", "encoder"):
        (folder / name).symlink_to(DATA / "comet-tiny" / name)
    (folder / "checkpoints").mkdir()
    marker = tmp_path / "pwned"
    with open(folder / "checkpoints" / "model.ckpt", "wb") as fh:
        pickle.dump({"state_dict": {}, "payload": Explode(marker)}, fh, protocol=2)
    with pytest.raises(UserError, match="refused: the checkpoint holds pickled Python objects"):
        CometCheckpoint.resolve(str(folder))  # refused when resolved, before any translation
    (tmp_path / "h.txt").write_text("a\n")
    result = run_cli(
        "score",
        "--hyp",
        tmp_path / "h.txt",
        "--ref",
        tmp_path / "h.txt",
        "--src",
        tmp_path / "h.txt",
        "--metrics",
        f"comet={folder}",
        "--no-cache",
    )
    assert result.returncode == 2 and "refused" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not marker.exists()


def test_lightning_hyperparameters_are_read_as_a_dict(tmp_path, monkeypatch):
    """Checkpoints saved by older Lightning versions keep their hyperparameters in Lightning's
    AttributeDict: read as a plain dict, without Lightning installed and without running it."""
    import sys
    import types

    module = types.ModuleType("pytorch_lightning.utilities.parsing")

    class AttributeDict(dict):
        pass

    AttributeDict.__module__, AttributeDict.__qualname__ = module.__name__, "AttributeDict"
    module.AttributeDict = AttributeDict
    for name in ("pytorch_lightning", "pytorch_lightning.utilities"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, module.__name__, module)
    path = tmp_path / "model.ckpt"
    torch.save({"state_dict": {"w": torch.ones(2)}, "hyper_parameters": AttributeDict(pool="avg")}, path)
    for name in ("pytorch_lightning", "pytorch_lightning.utilities", module.__name__):
        monkeypatch.delitem(sys.modules, name)
    from evalharness.metrics.neural.checkpoint import read_torch

    raw = read_torch(path)
    assert dict(raw["hyper_parameters"]) == {"pool": "avg"} and "pytorch_lightning" not in sys.modules
    assert torch.equal(load_weights(path)["w"], torch.ones(2))
