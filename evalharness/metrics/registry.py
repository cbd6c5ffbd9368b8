"""The metric registry: the one place that defines each metric.

An entry says which sacrebleu class computes it and with which fixed options, whether a
higher score is better, whether it is in the default set, how many statistics a segment has
and of which type, and how a score is computed from summed statistics for many rows at once
(`metrics.vectorised`, bit-identical to sacrebleu). Everything else — scoring, bootstrap,
comparison, gates, reports, the command line — asks the registry; a new metric is one entry
here plus its tests.

Model metrics (COMET, CometKiwi, xCOMET, MetricX; `metrics/neural/`) are entries too: their
statistics are [score, 1] per segment, their options name the checkpoint
(`comet_model=...`, or `--metrics comet=CHECKPOINT`) and how the model runs (`neural_*`).
Third parties add model metrics through the `evalharness.metrics` entry-point group; the
entry point is a `ModelMetric`:

    [project.entry-points."evalharness.metrics"]
    mymetric = "mypackage.metric:MY_METRIC"

Metrics are configured the way sacrebleu's command line configures them (the BLEU
tokenizer follows the target language), and every option the user sets goes to sacrebleu's
constructor and shows in the signature, so a number can always be traced to its settings."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from typing import Any

import numpy as np

from evalharness.errors import UserError
from evalharness.metrics import vectorised
from evalharness.metrics.neural import BUILTIN as MODEL_METRICS
from evalharness.metrics.neural.metric import ModelMetric, NeuralMetric
from evalharness.terminal import warn

ENTRY_POINT_GROUP = "evalharness.metrics"


@dataclass(frozen=True)
class MetricSpec:
    id: str
    display: str  # how tables name it
    class_name: str  # "module:Class": a sacrebleu metric, or our faster subclass with identical numbers
    higher_is_better: bool
    default: bool  # in the default metric set of `run`, `eval` and reports
    scores: Callable[..., np.ndarray]  # (metric, summed statistics rows, exact=True) -> scores
    fixed: Mapping[str, Any] = field(default_factory=dict)  # options the id implies
    segment_options: Mapping[str, Any] = field(default_factory=dict)  # for per-segment scores
    float_statistics: bool = False  # statistics are floats (TER's average reference length)
    headline: bool = False  # shown in summary tables (eval, runs list)
    segment_level: bool = False  # meaningful for single segments (used to rank what moved)
    description: str = ""
    to_rows: Callable[[np.ndarray], list] | None = None  # statistics as sacrebleu's rows (default: as is)
    resample_float32: bool = True  # bootstrap sums in float32, as sacrebleu resamples
    model: ModelMetric | None = None  # a model metric (COMET, MetricX, ...): no sacrebleu class

    @classmethod
    def of_model(cls, model: ModelMetric) -> MetricSpec:
        return cls(
            model.id,
            model.display,
            class_name="",
            higher_is_better=model.higher_is_better,
            default=False,
            scores=vectorised.mean_scores,
            float_statistics=True,
            segment_level=True,
            description=model.description,
            resample_float32=False,
            model=model,
        )

    def sacrebleu_class(self) -> type:
        module, _, name = self.class_name.partition(":")
        return getattr(importlib.import_module(module), name)

    def parameters(self) -> dict[str, inspect.Parameter]:
        """The options this metric takes (a sacrebleu class's constructor parameters)."""
        return self.model.parameters() if self.model is not None else _parameters(self.sacrebleu_class())

    def build(self, tgt_lang: str | None = None, options: Mapping[str, Any] | None = None):
        """A configured sacrebleu metric (or model metric). Options a metric does not take are
        ignored for it, so one option set can serve several metrics (as on sacrebleu's
        command line)."""
        if self.model is not None:
            known = self.model.defaults()
            return self.model.configure({k: v for k, v in (options or {}).items() if k in known})
        cls = self.sacrebleu_class()
        accepted = _parameters(cls)
        kwargs = {k: v for k, v in (options or {}).items() if k in accepted}
        kwargs.update(self.fixed)
        if issubclass(cls, sacrebleu_bleu()) and tgt_lang:
            kwargs.setdefault("trg_lang", tgt_lang)  # zh / ja-mecab / ko-mecab, else 13a
        try:
            return cls(**kwargs)
        except Exception as exc:  # e.g. ja-mecab without its dictionary installed
            reason = " ".join(str(exc).split())  # sacrebleu's hints span lines; ours are one line
            raise UserError(f"cannot set up {self.id} with {kwargs}: {reason}") from exc

    def better(self, delta):
        """Is a change of `delta` (system minus baseline) an improvement? Elementwise for an
        array of changes."""
        return delta > 0 if self.higher_is_better else delta < 0


METRICS: dict[str, MetricSpec] = {
    spec.id: spec
    for spec in (
        MetricSpec(
            "bleu",
            "BLEU",
            "evalharness.metrics.bleu:FastBLEU",
            higher_is_better=True,
            default=True,
            scores=vectorised.bleu_scores,
            segment_options={"effective_order": True},  # as sacrebleu's sentence_score
            headline=True,
            description="BLEU (sacrebleu), n-gram precision with brevity penalty",
        ),
        MetricSpec(
            "chrf",
            "chrF",
            "evalharness.metrics.chrf:FastCHRF",
            higher_is_better=True,
            default=True,
            scores=vectorised.chrf_scores,
            headline=True,
            segment_level=True,
            description="chrF2, character n-gram F-score",
        ),
        MetricSpec(
            "chrf++",
            "chrF++",
            "evalharness.metrics.chrf:FastCHRF",
            higher_is_better=True,
            default=True,
            scores=vectorised.chrf_scores,
            fixed={"word_order": 2},
            segment_level=True,
            description="chrF2++, chrF with word unigrams and bigrams",
        ),
        MetricSpec(
            "ter",
            "TER",
            "evalharness.metrics.ter:FastTER",
            higher_is_better=False,
            default=True,
            scores=vectorised.ter_scores,
            float_statistics=True,
            description="TER, translation edit rate (lower is better)",
            to_rows=lambda array: [[int(r[0]), *r[1:]] for r in array.tolist()],  # edits are ints
        ),
        *(MetricSpec.of_model(m) for m in MODEL_METRICS),
    )
}


@cache
def _plugins() -> None:
    """Model metrics of installed plug-ins, added once (a built-in id is never replaced). The
    plug-in's modules join the score cache's key (an upgraded plug-in never reads old
    scores). A plug-in that fails to load is one warning, not a failure of every command."""
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in METRICS:
            continue
        try:
            model = ep.load()
            model = model() if callable(model) and not isinstance(model, ModelMetric) else model
            if not isinstance(model, ModelMetric) or model.id != ep.name:
                raise TypeError(f"not an evalharness ModelMetric with id {ep.name!r}")
        except Exception as exc:  # a broken plug-in must not look like our bug, nor stop us
            warn(f"metric plug-in {ep.name!r} is not available ({type(exc).__name__}: {exc})")
            continue
        own = tuple(dict.fromkeys(f.__module__ for f in (model.resolve, model.load) if f.__module__))
        model = dataclasses.replace(model, code=tuple(dict.fromkeys((*model.code, *own))))
        METRICS[ep.name] = MetricSpec.of_model(model)


def sacrebleu_bleu() -> type:
    from sacrebleu.metrics import BLEU

    return BLEU


def metric_ids() -> tuple[str, ...]:
    _plugins()
    return tuple(METRICS)


def model_metric_ids() -> tuple[str, ...]:
    return tuple(m for m in metric_ids() if METRICS[m].model is not None)


def is_model_metric(metric_id: str) -> bool:
    return get(metric_id).model is not None


def default_metrics() -> tuple[str, ...]:
    return tuple(m for m, spec in METRICS.items() if spec.default)


def headline_metrics() -> tuple[str, ...]:
    return tuple(m for m, spec in METRICS.items() if spec.headline)


def segment_metric(available: Sequence[str]) -> str:
    """The metric to rank single segments by: one that means something per segment."""
    return next((m for m in available if METRICS[m].segment_level), available[0])


def availability() -> list[tuple[str, str, str, str]]:
    """(id, direction, default checkpoint or "text only", here or the fetch command) per metric."""
    from evalharness.errors import ModelUnavailable

    rows = []
    for metric_id in metric_ids():
        spec = METRICS[metric_id]
        direction = "higher is better" if spec.higher_is_better else "lower is better"
        if spec.model is None:
            rows.append((metric_id, direction, "text only", spec.description))
            continue
        try:
            spec.build(None, {}).check_available()
            state = "checkpoint here"
        except ModelUnavailable as exc:
            state = f"not here: {exc}"
        except UserError as exc:
            state = f"unusable: {exc}"
        rows.append((metric_id, direction, spec.model.default_model, state))
    return rows


def get(metric_id: str) -> MetricSpec:
    if metric_id not in METRICS:
        _plugins()
    try:
        return METRICS[metric_id]
    except KeyError:
        raise UserError(f"unknown metric {metric_id!r} (choose from {', '.join(METRICS)})") from None


def build_metric(metric_id: str, tgt_lang: str | None = None, options: Mapping[str, Any] | None = None):
    return get(metric_id).build(tgt_lang, options)


def parse_metrics(text: str | Sequence[str]) -> list[str]:
    items = text.split(",") if isinstance(text, str) else list(text)
    ids = [m.strip().lower() for m in items if m.strip()]
    _plugins()
    unknown = [m for m in ids if m not in METRICS]
    if unknown or not ids:
        raise UserError(
            f"unknown metric {', '.join(unknown) or str(text)!r} (choose from {', '.join(METRICS)})"
        )
    return list(dict.fromkeys(ids))


def parse_metric_list(text: str | Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """`bleu,chrf,comet=CHECKPOINT` -> (ids, options): a model metric may name its checkpoint
    (hub id or folder), which becomes the option `<id>_model`."""
    items = text.split(",") if isinstance(text, str) else list(text)
    ids, options = [], {}
    for item in items:
        name, sep, checkpoint = item.strip().partition("=")
        if not name.strip():
            continue
        [metric_id] = parse_metrics([name])
        if sep:
            spec = get(metric_id)
            if spec.model is None:
                raise UserError(f"{metric_id} takes no checkpoint ({item.strip()!r}); only model metrics do")
            if not checkpoint.strip():
                raise UserError(f"{item.strip()!r}: name a checkpoint after '=' (a hub id or a folder)")
            key = spec.model.model_option
            if options.get(key, checkpoint.strip()) != checkpoint.strip():
                raise UserError(
                    f"{metric_id} is given two checkpoints ({options[key]} and {checkpoint.strip()})"
                )
            options[key] = checkpoint.strip()
        ids.append(metric_id)
    if not ids:
        raise UserError(f"no metric named in {str(text)!r}")
    return list(dict.fromkeys(ids)), options


# ---------------------------------------------------------------- options


@cache
def _parameters(cls: type) -> dict[str, inspect.Parameter]:
    """The constructor parameters of the metric (of the sacrebleu class a subclass passes on to)."""
    for klass in cls.__mro__:
        params = dict(inspect.signature(klass.__init__).parameters)
        if not any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params.values()):
            break
    for name in ("self", "references"):
        params.pop(name, None)
    return params


# Options whose smallest sensible value is above 0: BLEU over 0-grams or chrF over 0-character
# n-grams is 0 whatever the text (`max_ngram_order=0` on identical files gave BLEU 0.0).
MINIMUM = {"max_ngram_order": 1, "char_order": 1}


def _in_range(key: str, value: Any) -> Any:
    low = MINIMUM.get(key)
    if low is not None and isinstance(value, int | float) and not isinstance(value, bool) and value < low:
        raise UserError(f"metric option {key}={value!r}: must be {low} or more")
    if isinstance(value, float) and value != value or value in (float("inf"), float("-inf")):
        raise UserError(f"metric option {key}={value!r}: must be a finite number")
    return value


def _coerce(key: str, value: str, param: inspect.Parameter) -> Any:
    """Typed by the parameter's default, strictly: `lowercase=maybe` is an error, not True."""
    default = param.default
    low = value.strip().lower()
    if isinstance(default, bool):
        if low in ("true", "yes", "on", "1"):
            return True
        if low in ("false", "no", "off", "0"):
            return False
        raise UserError(f"metric option {key}={value!r}: expected true or false")
    if isinstance(default, int):
        try:
            number = int(low)
        except ValueError:
            raise UserError(f"metric option {key}={value!r}: expected a whole number") from None
        if number < 0:
            raise UserError(f"metric option {key}={value!r}: must not be negative")
        return number
    if isinstance(default, float):
        try:
            return float(low)
        except ValueError:
            raise UserError(f"metric option {key}={value!r}: expected a number") from None
    if isinstance(default, str):  # a checkpoint, a device, a mode: the text as given
        return value.strip()
    if low in ("none", "null"):
        return None
    for cast in (int, float):  # untyped parameters (default None), e.g. smooth_value
        try:
            return cast(low)
        except ValueError:
            pass
    return value.strip()


def parse_options(pairs: Sequence[str], metric_ids: Sequence[str] | None = None) -> dict[str, Any]:
    """`KEY=VALUE` strings for sacrebleu's constructors (tokenize=intl, lowercase=true, ...),
    checked against the real parameters of the metrics asked for (all metrics when None)."""
    params: dict[str, inspect.Parameter] = {}
    for metric_id in metric_ids or METRICS:
        params.update(get(metric_id).parameters())
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise UserError(f"metric option {pair!r} is not KEY=VALUE")
        if key not in params:
            raise UserError(
                f"unknown metric option {key!r} for {', '.join(metric_ids or METRICS)} "
                f"(known: {', '.join(sorted(params))})"
            )
        out[key] = _in_range(key, _coerce(key, value, params[key]))
    return out


def parse_request(
    metrics: str | Sequence[str], pairs: Sequence[str] = ()
) -> tuple[list[str], dict[str, Any]]:
    """`--metrics bleu,comet=DIR --opt neural_device=cpu` -> (metric ids, options)."""
    ids, checkpoints = parse_metric_list(metrics)
    return ids, with_checkpoints(parse_options(pairs, ids), checkpoints)


def with_checkpoints(options: Mapping[str, Any], checkpoints: Mapping[str, str]) -> dict[str, Any]:
    """Options plus the checkpoints a metric list names (`comet=DIR` is `comet_model`); naming
    one in both places, differently, is an error, not a silent choice."""
    for key, value in checkpoints.items():
        if options.get(key, value) != value:
            raise UserError(f"{key} is given twice ({options[key]} and {value})")
    return {**options, **checkpoints}


def check_request(metric_ids: Sequence[str], options: Mapping[str, Any]) -> None:
    """Options from a file (eval.toml, gates.toml): real parameters, values every metric
    accepts (a mode, a device, a number)."""
    check_options(options, metric_ids)
    for metric_id in metric_ids:
        get(metric_id).build(None, options)


def check_options(options: Mapping[str, Any], metric_ids: Sequence[str]) -> None:
    """Options given as a mapping (eval.toml, a report's config) must be real parameters."""
    known: set[str] = set()
    for metric_id in metric_ids:
        known |= set(get(metric_id).parameters())
    if bad := sorted(set(options) - known):
        raise UserError(f"unknown metric option(s) {', '.join(bad)} (known: {', '.join(sorted(known))})")
    for key, value in options.items():
        _in_range(key, value)


# ---------------------------------------------------------------- signatures


def signature(metric) -> str:
    """sacrebleu's long signature, prefixed with the metric name as its text output does (a
    model metric's names its checkpoint and digest instead)."""
    from sacrebleu.metrics import CHRF, TER

    if isinstance(metric, NeuralMetric):
        return metric.signature()
    if isinstance(metric, CHRF):  # the name follows beta and word order
        name = f"chrF{metric.beta}" + "+" * metric.word_order
    else:
        name = "TER" if isinstance(metric, TER) else "BLEU"
    return f"{name}|{metric.get_signature().format()}"


def signature_key(signature_text: str) -> str:
    """A signature without the resampling settings, which do not change a statistic, nor a
    model metric's checkpoint name (its digest says what it is: a hub id and a copy of it in
    a folder are the same checkpoint)."""
    return re.sub(r"\|(bs|seed|ar|model):[^|]*", "", signature_text)
