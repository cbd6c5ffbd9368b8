"""The metric registry: the one place that defines each metric.

An entry says which sacrebleu class computes it and with which fixed options, whether a
higher score is better, whether it is in the default set, how many statistics a segment has
and of which type, and how a score is computed from summed statistics for many rows at once
(`metrics.vectorised`, bit-identical to sacrebleu). Everything else — scoring, bootstrap,
comparison, gates, reports, the command line — asks the registry; a new metric is one entry
here plus its tests.

Metrics are configured the way sacrebleu's command line configures them (the BLEU
tokenizer follows the target language), and every option the user sets goes to sacrebleu's
constructor and shows in the signature, so a number can always be traced to its settings."""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np

from evalharness.errors import UserError
from evalharness.metrics import vectorised


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

    def sacrebleu_class(self) -> type:
        module, _, name = self.class_name.partition(":")
        return getattr(importlib.import_module(module), name)

    def build(self, tgt_lang: str | None = None, options: Mapping[str, Any] | None = None):
        """A configured sacrebleu metric. Options a metric does not take are ignored for it, so
        one option set can serve several metrics (as on sacrebleu's command line)."""
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
        ),
    )
}


def sacrebleu_bleu() -> type:
    from sacrebleu.metrics import BLEU

    return BLEU


def metric_ids() -> tuple[str, ...]:
    return tuple(METRICS)


def default_metrics() -> tuple[str, ...]:
    return tuple(m for m, spec in METRICS.items() if spec.default)


def headline_metrics() -> tuple[str, ...]:
    return tuple(m for m, spec in METRICS.items() if spec.headline)


def segment_metric(available: Sequence[str]) -> str:
    """The metric to rank single segments by: one that means something per segment."""
    return next((m for m in available if METRICS[m].segment_level), available[0])


def get(metric_id: str) -> MetricSpec:
    try:
        return METRICS[metric_id]
    except KeyError:
        raise UserError(f"unknown metric {metric_id!r} (choose from {', '.join(METRICS)})") from None


def build_metric(metric_id: str, tgt_lang: str | None = None, options: Mapping[str, Any] | None = None):
    return get(metric_id).build(tgt_lang, options)


def parse_metrics(text: str | Sequence[str]) -> list[str]:
    items = text.split(",") if isinstance(text, str) else list(text)
    ids = [m.strip().lower() for m in items if m.strip()]
    unknown = [m for m in ids if m not in METRICS]
    if unknown or not ids:
        raise UserError(
            f"unknown metric {', '.join(unknown) or str(text)!r} (choose from {', '.join(METRICS)})"
        )
    return list(dict.fromkeys(ids))


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
        params.update(_parameters(get(metric_id).sacrebleu_class()))
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
        out[key] = _coerce(key, value, params[key])
    return out


def check_options(options: Mapping[str, Any], metric_ids: Sequence[str]) -> None:
    """Options given as a mapping (eval.toml, a report's config) must be real parameters."""
    known: set[str] = set()
    for metric_id in metric_ids:
        known |= set(_parameters(get(metric_id).sacrebleu_class()))
    if bad := sorted(set(options) - known):
        raise UserError(f"unknown metric option(s) {', '.join(bad)} (known: {', '.join(sorted(known))})")


# ---------------------------------------------------------------- signatures


def signature(metric) -> str:
    """sacrebleu's long signature, prefixed with the metric name as its text output does."""
    from sacrebleu.metrics import CHRF, TER

    if isinstance(metric, CHRF):  # the name follows beta and word order
        name = f"chrF{metric.beta}" + "+" * metric.word_order
    else:
        name = "TER" if isinstance(metric, TER) else "BLEU"
    return f"{name}|{metric.get_signature().format()}"


def signature_key(signature_text: str) -> str:
    """A signature without the resampling settings, which do not change a statistic."""
    return re.sub(r"\|(bs|seed|ar):[^|]*", "", signature_text)
