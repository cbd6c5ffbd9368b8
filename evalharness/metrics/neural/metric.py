"""Model metrics in the metric registry: a `ModelMetric` says what a family of model metrics is
(direction, scale, default checkpoint, modes, how a checkpoint is found and loaded); the
registry configures it into a `NeuralMetric` from the run's options; that object scores
segments (through the score cache, loading the model only for segments it has not scored)
and answers what the statistics code asks of any metric: a signature, and a corpus score
from statistics.

A model metric's statistics per segment are [score, 1]: sums of them over any resample of
segments give the total and the count, so the corpus score (the mean), bootstrap intervals
and paired tests (bootstrap and approximate randomisation) run on the same draws and code as
BLEU and chrF. COMET-family scores are reported x100 (COMET 85.23 is unbabel-comet's 0.8523),
on the scale of BLEU and chrF, so a gate's `max_drop = { comet = 0.5 }` means half a point;
the signature says `scale:100`. MetricX keeps its own 0-25 error scale (lower is better)."""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from evalharness.errors import UserError
from evalharness.metrics.neural.base import Counters, Inference, ModelScorer, Segment, SegmentScore

IMPLEMENTATION = 1  # bump when our inference gives a checkpoint different numbers
MODES = ("auto", "ref", "qe")
SCORING_CHUNK = 1024  # segments scored (and committed to the cache) at a time
SHARED_CODE = (
    "evalharness.metrics.neural.base",
    "evalharness.metrics.neural.metric",
    "evalharness.metrics.neural.checkpoint",
    "evalharness.metrics.neural.tokenizer",
)
# options every model metric takes, with their defaults (they choose where and how it runs)
INFERENCE_OPTIONS = {
    "neural_device": "auto",
    "neural_dtype": "auto",
    "neural_batch_tokens": 0,
    "neural_quantize": False,
    "neural_threads": 0,
}


@dataclass(frozen=True)
class ScoringContext:
    """Where segment scores are cached (None: not cached, as for regression gates), and where
    models run: here, or elsewhere (`remote`: the Ray executor's `RayScoring`)."""

    cache: Path | None = None
    label: str = "scoring"
    remote: Any = None


@dataclass(frozen=True)
class ModelMetric:
    """A family of model metrics as the registry knows it. Third parties add one through the
    `evalharness.metrics` entry-point group (the entry point is a ModelMetric)."""

    id: str
    display: str
    higher_is_better: bool
    default_model: str
    resolve: Callable[[str, Mapping[str, Any]], Any]  # (model, options) -> checkpoint
    load: Callable[[Any, Inference, bool], ModelScorer]  # (checkpoint, inference, use reference)
    scale: float = 1.0
    modes: tuple[str, ...] = ("ref", "qe")  # which of ref / qe this metric may score in
    extra_options: Mapping[str, Any] = field(default_factory=dict)  # option -> default
    code: tuple[str, ...] = ()  # modules whose source is part of the score cache's key
    libraries: tuple[str, ...] = ("torch", "transformers", "tokenizers")
    description: str = ""
    range_text: str = ""  # what the numbers mean, for pages and the README

    @property
    def model_option(self) -> str:
        return f"{self.id}_model"

    @property
    def mode_option(self) -> str:
        return f"{self.id}_mode"

    def defaults(self) -> dict[str, Any]:
        return {
            self.model_option: self.default_model,
            self.mode_option: "auto",
            **self.extra_options,
            **INFERENCE_OPTIONS,
        }

    def parameters(self) -> dict[str, inspect.Parameter]:
        """The options this metric takes, shaped like a constructor's parameters (the registry
        checks and coerces `--opt KEY=VALUE` against them)."""
        return {
            name: inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default)
            for name, default in self.defaults().items()
        }

    def configure(self, options: Mapping[str, Any] | None = None) -> NeuralMetric:
        values = {**self.defaults(), **{k: v for k, v in (options or {}).items() if v is not None}}
        mode = _text(values, self.mode_option)
        if mode not in MODES or (mode != "auto" and mode not in self.modes):
            allowed = ", ".join(m for m in MODES if m == "auto" or m in self.modes)
            raise UserError(f"{self.mode_option}={mode!r}: choose {allowed}")
        inference = Inference(
            device=_text(values, "neural_device"),
            dtype=_text(values, "neural_dtype"),
            batch_tokens=_count(values, "neural_batch_tokens"),
            quantize=_flag(values, "neural_quantize"),
            threads=_count(values, "neural_threads"),
        )
        model = _text(values, self.model_option).strip() or self.default_model
        return NeuralMetric(self, model, mode, inference, values)


def _text(values: Mapping[str, Any], key: str) -> str:
    if not isinstance(values[key], str):
        raise UserError(f"metric option {key}={values[key]!r}: expected text")
    return values[key]


def _count(values: Mapping[str, Any], key: str) -> int:
    """A whole number, as given in TOML or on the command line ("4096"); nothing else."""
    value = values[key]
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UserError(f"metric option {key}={values[key]!r}: expected a whole number, 0 or more")
    return value


def _flag(values: Mapping[str, Any], key: str) -> bool:
    value = values[key]
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        value = value.strip().lower() == "true"
    if not isinstance(value, bool):
        raise UserError(f"metric option {key}={values[key]!r}: expected true or false")
    return value


@dataclass(frozen=True)
class ModelScore:
    """A model metric's corpus score, shaped like a sacrebleu score where our code reads one."""

    name: str
    score: float
    segments: int

    def format(self, width: int = 2, score_only: bool = False, signature: str = "") -> str:
        if score_only:
            return f"{self.score:.{width}f}"
        return f"{self.name} = {self.score:.{width}f} (mean of {self.segments} segments)"


@dataclass
class ModelResult:
    """A scoring pass: per-segment statistics, error spans (metrics that mark them), counters."""

    array: np.ndarray  # (segments, 2): [score, 1]
    spans: list[tuple] | None
    counters: Counters


class NeuralMetric:
    """One configured model metric: a checkpoint, a mode, how it runs."""

    def __init__(
        self, spec: ModelMetric, model: str, mode: str, inference: Inference, options: Mapping[str, Any]
    ) -> None:
        self.spec, self.model, self.mode_setting = spec, model, mode
        self.inference, self.options = inference, dict(options)
        self.num_refs = 1  # set by the statistics code from the references it is given
        self.n_bootstrap: int | None = None  # set when intervals are computed (signature)
        self.seed: str | None = None

    @cached_property
    def checkpoint(self):
        """The resolved checkpoint (a missing one raises CheckpointMissing)."""
        return self.spec.resolve(self.model, self.options)

    def check_available(self) -> None:
        """The checkpoint is here (else CheckpointMissing, with its fetch commands)."""
        self.checkpoint  # noqa: B018

    def check_usable(self, num_refs: int) -> None:
        """Everything that can be known before any work: the checkpoint, the mode with these
        references, the device."""
        self.check_available()
        self.num_refs = num_refs
        self.mode()
        self.inference.torch_device()

    def mode(self) -> str:
        """ref or qe: asked for, or the best the checkpoint and the references allow. With
        references for some segments only (`num_refs` -1), auto does not quietly fall back
        to qe for all of them: it asks for a choice."""
        native = tuple(getattr(self.checkpoint, "native_modes", ("ref", "qe")))
        allowed = [m for m in ("ref", "qe") if m in self.spec.modes and m in native]
        if not allowed:
            raise UserError(
                f"{self.spec.id} scores in mode {' or '.join(self.spec.modes)}; checkpoint "
                f"{self.checkpoint.name!r} can only score in mode {' or '.join(native)}"
            )
        if self.mode_setting != "auto":
            if self.mode_setting not in allowed:
                raise UserError(
                    f"{self.spec.id}: checkpoint {self.checkpoint.name!r} cannot score in mode "
                    f"{self.mode_setting!r} (it can: {', '.join(allowed)})"
                )
            wanted = self.mode_setting
        elif self.num_refs < 0 and "ref" in allowed:
            raise UserError(
                f"{self.spec.id}: some segments have a reference and some do not; give every segment "
                f"one, or score without them ({self.spec.mode_option}=qe)"
                + ("" if "qe" in allowed else f", which checkpoint {self.checkpoint.name!r} cannot")
            )
        else:
            wanted = "ref" if "ref" in allowed and self.num_refs > 0 else allowed[-1]
        if wanted == "ref" and self.num_refs <= 0:
            raise UserError(
                f"{self.spec.id} with checkpoint {self.checkpoint.name!r} needs a reference for every segment"
            )
        return wanted

    def dtype(self) -> str:
        native = getattr(self.checkpoint, "native_dtype", "float32")
        return native if self.inference.dtype == "auto" else self.inference.dtype

    def signature(self) -> str:
        """What a score is comparable by: the checkpoint (name and digest), mode, precision,
        scale and our implementation's version (plus resampling settings, as sacrebleu's)."""
        parts = [
            self.spec.display,
            f"model:{self.checkpoint.name}",
            f"sha:{self.checkpoint.digest[:12]}",
            f"mode:{self.mode()}",
            f"dtype:{self.dtype()}",
        ]
        if self.num_refs > 1 and self.mode() == "ref":
            parts += [f"nrefs:{self.num_refs}", "refs:mean"]
        if self.inference.quantize:
            parts.append("quant:int8")
        parts.append(f"scale:{self.spec.scale:g}")
        if self.n_bootstrap:
            parts += [f"bs:{self.n_bootstrap}", f"seed:{self.seed}"]
        parts.append(f"impl:{IMPLEMENTATION}")
        return "|".join(parts)

    def fingerprint(self, mode: str, device: str) -> str:
        """The score cache's key: everything that determines a segment's score, to float
        rounding included (the batch size, as the translation cache keys batch settings)."""
        from evalharness.versions import code_digest, library_versions

        modules = (*SHARED_CODE, *self.spec.code)
        for name in modules:  # the digest reads a module's source only once it is imported
            importlib.import_module(name)
        fields = {
            "metric": self.spec.id,
            "checkpoint": self.checkpoint.digest,
            "mode": mode,
            "dtype": self.dtype(),
            "quantize": self.inference.quantize,
            "batch_tokens": self.inference.batch_tokens,
            "device": device.split(":")[0],
            "implementation": IMPLEMENTATION,
            "code_sha256": code_digest(*modules),
            "libraries": library_versions(*self.spec.libraries),
        }
        canon = json.dumps(fields, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canon.encode("utf-8")).hexdigest()

    # ------------------------------------------------------------ what the statistics code reads

    def _aggregate_and_compute(self, rows: Sequence[Sequence[float]]) -> ModelScore:
        from evalharness.metrics.vectorised import mean_scores

        array = np.asarray(rows, dtype=np.float64).reshape(-1, 2)
        return ModelScore(
            self.spec.display, float(mean_scores(self, array.sum(axis=0)[None, :])[0]), len(array)
        )

    # ------------------------------------------------------------ scoring

    def statistics(self, segments: Sequence[Segment], context: ScoringContext) -> ModelResult:
        """[score, 1] per segment. With several references, each segment is scored against
        every reference on its own (the models are trained with one) and the scores are
        averaged; error spans are the first reference's. Each (source, output, reference)
        is one entry of the score cache, so a single-reference run's scores are reused."""
        counts = {len(s.references) for s in segments}
        if self.mode() != "ref" or len(counts) != 1 or (k := counts.pop()) < 2:
            return self._statistics(segments, context)
        flat = [Segment(s.source, s.hypothesis, (r,)) for s in segments for r in s.references]
        result = self._statistics(flat, context)
        array = result.array.reshape(len(segments), k, 2).mean(axis=1)
        spans = None if result.spans is None else result.spans[::k]
        result.counters.extra["references"] = k
        return ModelResult(array, spans, result.counters)

    def _statistics(self, segments: Sequence[Segment], context: ScoringContext) -> ModelResult:
        """[score, 1] per segment: cached scores where there are any, the model for the rest
        (loaded only when something is left), each chunk committed to the cache as it ends."""
        from evalharness.metrics.neural.cache import ScoreCache
        from evalharness.progress import progress_bar

        start = time.perf_counter()
        mode = self.mode()
        if mode == "qe":  # a reference-free score must not depend on (or be keyed by) references
            segments = [Segment(s.source, s.hypothesis) for s in segments]
        remote = context.remote
        device = "remote" if remote is not None else self.inference.torch_device()
        fingerprint = remote.fingerprint(self) if remote is not None else self.fingerprint(mode, device)
        keys = [s.key(mode) for s in segments]
        unique = dict(zip(keys, segments, strict=True))
        cache = ScoreCache(context.cache) if context.cache is not None else None
        counters = Counters(segments=len(segments))
        try:
            done = cache.get_many(fingerprint, list(unique)) if cache is not None else {}
            counters.from_cache = sum(1 for k in keys if k in done)
            todo = sorted((k for k in unique if k not in done), key=lambda k: -len(unique[k].hypothesis))
            if todo and remote is not None:
                scored = remote.score(self, {k: unique[k] for k in todo})
                _check([scored[k] for k in todo], len(todo), self.spec.id)
                if cache is not None:
                    cache.put_many(fingerprint, [(k, scored[k]) for k in todo])
                done.update(scored)
            elif todo:
                scorer, loaded = _scorer(self, mode)
                counters.model_loads = int(loaded)
                with progress_bar(f"{context.label} {self.spec.display}") as bar:
                    task = bar.add_task("", total=len(todo), rate="-")
                    for i in range(0, len(todo), SCORING_CHUNK):
                        chunk = todo[i : i + SCORING_CHUNK]
                        memo = cache.memo(f"{fingerprint}:embeddings") if cache is not None else None
                        results = scorer.score([unique[k] for k in chunk], memo)
                        counters.texts_encoded += getattr(scorer, "embedded", 0)
                        counters.texts_recalled += getattr(scorer, "recalled", 0)
                        _check(results, len(chunk), self.spec.id)
                        if cache is not None:
                            cache.put_many(fingerprint, list(zip(chunk, results, strict=True)))
                        done.update(zip(chunk, results, strict=True))
                        rate = (i + len(chunk)) / max(time.perf_counter() - start, 1e-9)
                        bar.update(task, advance=len(chunk), rate=f"{rate:.1f}")
            counters.scored = len(todo)
        finally:
            if cache is not None:
                cache.close()
        results = [done[k] for k in keys]
        array = np.array([[r.score * self.spec.scale, 1.0] for r in results], dtype=np.float64).reshape(-1, 2)
        spans = [r.spans or () for r in results] if any(r.spans is not None for r in results) else None
        counters.seconds = time.perf_counter() - start
        counters.extra = {"mode": mode, "device": device, "dtype": self.dtype()}
        return ModelResult(array, spans, counters)


def _check(results: Sequence[SegmentScore], expected: int, metric_id: str) -> None:
    if len(results) != expected:
        raise RuntimeError(f"{metric_id} returned {len(results)} scores for {expected} segments")
    bad = sum(1 for r in results if not np.isfinite(r.score))
    if bad:
        raise UserError(
            f"{metric_id}: the model gave {bad} scores that are not numbers (NaN/inf); try neural_dtype=float32"
        )


# Loaded models are kept for the next job of the same process (eval scores many systems);
# at most this many at once, the least recently used released first.
_LOADED: OrderedDict[tuple, ModelScorer] = OrderedDict()


def _max_loaded() -> int:
    value = os.environ.get("EVALHARNESS_MODELS_LOADED", "2")
    return int(value) if value.isdigit() and int(value) > 0 else 2


def _scorer(metric: NeuralMetric, mode: str) -> tuple[ModelScorer, bool]:
    """(scorer, whether it was loaded now)."""
    key = (metric.spec.id, metric.checkpoint.digest, mode, metric.inference)
    if key in _LOADED:
        _LOADED.move_to_end(key)
        return _LOADED[key], False
    scorer = metric.spec.load(metric.checkpoint, metric.inference, mode == "ref")
    _LOADED[key] = scorer
    while len(_LOADED) > _max_loaded():
        _, old = _LOADED.popitem(last=False)
        old.close()
    return scorer, True


def release_models() -> None:
    """Free every loaded model (tests, long-lived processes)."""
    while _LOADED:
        _, old = _LOADED.popitem()
        old.close()


def loaded_models() -> int:
    return len(_LOADED)
