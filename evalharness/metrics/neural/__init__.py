"""Model metrics: COMET, CometKiwi, xCOMET and MetricX, run offline on our own stack and
proven equal to their reference implementations (`tests/reference/`).

- `base`: segments, scores, error spans, inference settings, length-bounded batches.
- `checkpoint`: finding a checkpoint offline, reading weights safely, naming it by digest.
- `comet_checkpoint`, `comet`: COMET-family checkpoints, and inference on them.
- `metricx`: MetricX-24.
- `tokenizer`: tokenizers as the references run them.
- `ray_scoring`: model metrics on Ray actors.
- `cache`: segment scores in SQLite, keyed by everything that determines them.
- `metric`: what the metric registry and the statistics code see of a model metric.

The built-in metrics are defined below; the registry (`metrics/registry.py`) adds them and
any third-party ones (entry-point group `evalharness.metrics`) next to BLEU and chrF."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evalharness.metrics.neural.metric import ModelMetric


def _comet_checkpoint(model: str, options: Mapping[str, Any]):
    from evalharness.metrics.neural.comet_checkpoint import CometCheckpoint

    return CometCheckpoint.resolve(model)


def _comet_scorer(checkpoint, inference, use_reference: bool):
    from evalharness.metrics.neural.comet import CometScorer

    return CometScorer(checkpoint, inference, use_reference)


def _metricx_checkpoint(model: str, options: Mapping[str, Any]):
    from evalharness.metrics.neural.metricx import MetricXCheckpoint

    return MetricXCheckpoint.resolve(model, options.get("metricx_tokenizer") or None)


def _metricx_scorer(checkpoint, inference, use_reference: bool):
    from evalharness.metrics.neural.metricx import MetricXScorer

    return MetricXScorer(checkpoint, inference, use_reference)


_COMET_CODE = ("evalharness.metrics.neural.comet", "evalharness.metrics.neural.comet_checkpoint")
_COMET_RANGE = "about 0-100 (unbabel-comet's 0-1 x100); higher is better; compare within one checkpoint only"

BUILTIN: tuple[ModelMetric, ...] = (
    ModelMetric(
        id="comet",
        display="COMET",
        higher_is_better=True,
        default_model="Unbabel/wmt22-comet-da",
        resolve=_comet_checkpoint,
        load=_comet_scorer,
        scale=100,
        code=_COMET_CODE,
        description="COMET (wmt22-comet-da): source, hypothesis and reference through XLM-R, trained on human DA",
        range_text=_COMET_RANGE,
    ),
    ModelMetric(
        id="cometkiwi",
        display="CometKiwi",
        higher_is_better=True,
        default_model="Unbabel/wmt22-cometkiwi-da",
        resolve=_comet_checkpoint,
        load=_comet_scorer,
        scale=100,
        modes=("qe",),
        code=_COMET_CODE,
        description="CometKiwi (wmt22-cometkiwi-da): reference-free quality estimation from source and hypothesis",
        range_text=_COMET_RANGE,
    ),
    ModelMetric(
        id="xcomet",
        display="xCOMET",
        higher_is_better=True,
        default_model="Unbabel/XCOMET-XL",
        resolve=_comet_checkpoint,
        load=_comet_scorer,
        scale=100,
        code=_COMET_CODE,
        description="xCOMET (XCOMET-XL): a score and error spans (minor, major, critical), with or without reference",
        range_text="0-100 (unbabel-comet's 0-1 x100); higher is better; error spans lower it",
    ),
    ModelMetric(
        id="metricx",
        display="MetricX",
        higher_is_better=False,
        default_model="google/metricx-24-hybrid-large-v2p6",
        resolve=_metricx_checkpoint,
        load=_metricx_scorer,
        extra_options={"metricx_tokenizer": ""},
        code=("evalharness.metrics.neural.metricx",),
        description="MetricX-24 (hybrid large): an MQM-like error score, reference-based or QE",
        range_text="0-25, an MQM-like error count; lower is better",
    ),
)
