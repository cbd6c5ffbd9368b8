"""sacrebleu metrics by id, configured the way sacrebleu's command line configures them.

Every option the user sets is passed to sacrebleu's constructor and shows up in the
signature, so a number can always be traced to its settings."""

from __future__ import annotations

import inspect
from typing import Any

from evalharness.errors import UserError

METRIC_IDS = ("bleu", "chrf", "chrf++", "ter")


def _classes() -> dict[str, tuple[type, dict]]:
    from sacrebleu.metrics import BLEU, CHRF, TER

    return {"bleu": (BLEU, {}), "chrf": (CHRF, {}), "chrf++": (CHRF, {"word_order": 2}), "ter": (TER, {})}


def parse_metrics(text: str) -> list[str]:
    ids = [m.strip().lower() for m in text.split(",") if m.strip()]
    unknown = [m for m in ids if m not in METRIC_IDS]
    if unknown or not ids:
        raise UserError(
            f"unknown metric {', '.join(unknown) or text!r} (choose from {', '.join(METRIC_IDS)})"
        )
    return list(dict.fromkeys(ids))


def _coerce(value: str) -> Any:
    low = value.lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value


def parse_options(pairs: list[str]) -> dict[str, Any]:
    """`KEY=VALUE` strings (sacrebleu constructor arguments, e.g. tokenize=intl, lowercase=true)."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UserError(f"metric option {pair!r} is not KEY=VALUE")
        out[key.strip().replace("-", "_")] = _coerce(value.strip())
    return out


def build_metric(metric_id: str, tgt_lang: str | None = None, options: dict | None = None):
    """A sacrebleu metric object. Options a metric does not take are ignored for it, so one
    option set can serve several metrics (as on sacrebleu's command line)."""
    cls, fixed = _classes()[metric_id]
    accepted = set(inspect.signature(cls.__init__).parameters)
    kwargs = {k: v for k, v in (options or {}).items() if k in accepted}
    kwargs.update(fixed)
    if cls.__name__ == "BLEU" and tgt_lang:
        kwargs.setdefault("trg_lang", tgt_lang)  # zh / ja-mecab / ko-mecab, else 13a
    try:
        return cls(**kwargs)
    except Exception as exc:  # e.g. ja-mecab without its dictionary installed
        reason = " ".join(str(exc).split())  # sacrebleu's hints span lines; ours are one line
        raise UserError(f"cannot set up {metric_id} with {kwargs}: {reason}") from exc


def unknown_options(options: dict) -> list[str]:
    known = set()
    for cls, _ in _classes().values():
        known |= set(inspect.signature(cls.__init__).parameters)
    return sorted(set(options) - known - {"self", "references"})


def signature(metric) -> str:
    """sacrebleu's long signature, prefixed with the metric name as its text output does."""
    name = {"BLEU": "BLEU", "TER": "TER"}.get(type(metric).__name__)
    if name is None:  # chrF: name depends on beta and word order
        name = f"chrF{metric.beta}" + "+" * metric.word_order
    return f"{name}|{metric.get_signature().format()}"
