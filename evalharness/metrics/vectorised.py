"""Scores from summed sufficient statistics for many rows at once, bit-identical to sacrebleu.

sacrebleu computes a score from one row of statistics at a time, in Python; resampling
(bootstrap: 1,000 rows per system, approximate randomisation: 20,000) spends its time there.
These functions do the same arithmetic over a whole array, in the same order and at the same
precision as sacrebleu does for that input: float32 for bootstrap sums (sacrebleu resamples a
float32 array), float64 for sums of integer counts (its approximate randomisation and corpus
scores). +, -, * and / are correctly rounded in numpy as in Python, so those agree exactly;
The result has the type sacrebleu's score has for that input: chrF and TER scores of float32
sums are float32 (so differences between them are taken in float32, as sacrebleu's paired
bootstrap takes them), BLEU scores are always doubles.
Logarithms and exponentials go through Python's `math` when `exact` (the default), or numpy's
(faster, possibly one unit in the last place away) when a caller only needs comparisons and
re-checks near-ties exactly. Rows outside the common case (an n-gram order with no
hypothesis or reference n-grams, add-k smoothing, chrF's eps smoothing) take sacrebleu's own
per-row path, so every row gets sacrebleu's number."""

from __future__ import annotations

import math

import numpy as np


def _dtype(sums: np.ndarray) -> type:
    return np.float32 if sums.dtype == np.float32 else np.float64


def _per_row(metric, sums: np.ndarray, rows: np.ndarray, out: np.ndarray) -> bool:
    """sacrebleu's own computation for the marked rows (a copy: BLEU's add-k edits its input).
    Returns whether every score came back as float32 (else sacrebleu would hold doubles)."""
    all_float32 = True
    for k in np.flatnonzero(rows):
        score = metric._compute_score_from_stats(sums[k].copy()).score
        all_float32 &= isinstance(score, np.float32)
        out[k] = float(score)
    return all_float32


def _native(out: np.ndarray, dt: type, float32_everywhere: bool) -> np.ndarray:
    """float32 when sacrebleu's scores for these rows would all be float32 (numpy then keeps
    them in a float32 array, and differences between them are taken in float32)."""
    return out.astype(np.float32) if dt is np.float32 and float32_everywhere else out


def _log(values: np.ndarray, exact: bool) -> np.ndarray:
    """sacrebleu's `my_log`: log, with -9999999999 for zero."""
    if exact:
        return np.array(
            [math.log(v) if v != 0.0 else -9999999999.0 for v in values.ravel().tolist()]
        ).reshape(values.shape)
    with np.errstate(divide="ignore"):
        return np.where(values == 0.0, -9999999999.0, np.log(values.astype(np.float64)))


def _exp(values: np.ndarray, exact: bool) -> np.ndarray:
    if exact:
        return np.array([math.exp(v) for v in values.tolist()])
    return np.exp(values)


def bleu_scores(metric, sums: np.ndarray, exact: bool = True) -> np.ndarray:
    """sacrebleu's `BLEU.compute_bleu` for every row of [sys_len, ref_len, correct.., total..]."""
    sums = np.asarray(sums)
    dt = _dtype(sums)
    order = metric.max_ngram_order
    out = np.zeros(len(sums), dtype=np.float64)
    if not len(sums):
        return out
    correct = sums[:, 2 : 2 + order].astype(dt)
    total = sums[:, 2 + order : 2 + 2 * order].astype(dt)
    method = metric.smooth_method
    simple = (total > 0).all(axis=1) & (method in ("exp", "none", "floor"))
    hit = (correct != 0).any(axis=1)  # no match at all: score 0 (sacrebleu's early stop)
    rows = simple & hit
    if rows.any():
        c, t = correct[rows], total[rows]
        zero = c == 0
        with np.errstate(divide="ignore", invalid="ignore"):
            prec = dt(100.0) * c / t
            if method == "exp":  # each order without matches halves the next smoothed count
                smooth = np.power(2.0, np.cumsum(zero, axis=1)).astype(dt)
                prec = np.where(zero, dt(100.0) / (smooth * t), prec)
            elif method == "floor":
                value = metric.smooth_value
                if value is None:
                    value = type(metric).SMOOTH_DEFAULTS["floor"]
                prec = np.where(zero, dt(100.0 * value) / t, prec)
            else:
                prec = np.where(zero, dt(0.0), prec)
        logs = _log(prec, exact)
        acc = logs[:, 0].copy()
        for n in range(1, order):
            acc = acc + logs[:, n]
        geo = _exp(acc / order, exact)
        sys_len = sums[rows, 0].astype(np.int64).astype(np.float64)
        ref_len = sums[rows, 1].astype(np.int64).astype(np.float64)
        short = sys_len < ref_len
        bp = np.ones(len(sys_len))
        if short.any():
            with np.errstate(divide="ignore"):
                ratio = 1.0 - ref_len[short] / np.where(sys_len[short] > 0, sys_len[short], 1.0)
            bp[short] = np.where(sys_len[short] > 0, _exp(ratio, exact), 0.0)
        out[rows] = bp * geo
    _per_row(metric, sums, ~simple & hit, out)  # anything unusual: sacrebleu itself
    return out


def chrf_scores(metric, sums: np.ndarray, exact: bool = True) -> np.ndarray:
    """sacrebleu's `CHRF._compute_f_score` for every row of [hyp, ref, match] per order."""
    sums = np.asarray(sums)
    dt = _dtype(sums)
    out = np.zeros(len(sums), dtype=np.float64)
    if not len(sums):
        return out
    stats = sums.astype(dt, copy=False)
    hyp, ref, match = stats[:, 0::3], stats[:, 1::3], stats[:, 2::3]
    simple = (hyp > 0).all(axis=1) & (ref > 0).all(axis=1) & (not metric.eps_smoothing)
    if simple.any():
        factor = metric.beta**2
        h, r, m = hyp[simple], ref[simple], match[simple]
        avg_prec = np.zeros(len(h), dtype=dt)
        avg_rec = np.zeros(len(h), dtype=dt)
        for i in range(metric.order):
            avg_prec = avg_prec + m[:, i] / h[:, i]
            avg_rec = avg_rec + m[:, i] / r[:, i]
        avg_prec = avg_prec / dt(metric.order)
        avg_rec = avg_rec / dt(metric.order)
        both = (avg_prec + avg_rec) != 0
        with np.errstate(divide="ignore", invalid="ignore"):
            score = dt(1 + factor) * avg_prec * avg_rec
            score = score / ((dt(factor) * avg_prec) + avg_rec)
        out[simple] = np.where(both, dt(100) * score, 0.0)
        python_zero = (~both).any()  # sacrebleu returns a Python 0.0 there
    else:
        python_zero = False
    float32_rows = _per_row(metric, sums, ~simple, out)
    return _native(out, dt, float32_rows and not python_zero)


def ter_scores(metric, sums: np.ndarray, exact: bool = True) -> np.ndarray:
    """sacrebleu's `TER._compute_score_from_stats` for every row of [edits, reference length]."""
    sums = np.asarray(sums)
    dt = _dtype(sums)
    stats = sums.astype(dt, copy=False)
    edits, length = stats[:, 0], stats[:, 1]
    out = np.where(edits > 0, 100.0, 0.0)  # empty references: 100 if anything was said, else 0
    has_ref = length > 0
    out[has_ref] = dt(100) * (edits[has_ref] / length[has_ref])
    return _native(out, dt, bool(has_ref.all()))  # empty references give Python floats


def mean_scores(metric, sums: np.ndarray, exact: bool = True) -> np.ndarray:
    """A model metric's corpus score for every row of [summed segment scores, segment count]:
    the mean (0 for no segments). Always doubles: model scores are resampled in float64."""
    sums = np.asarray(sums, dtype=np.float64)
    if not len(sums):
        return np.zeros(0, dtype=np.float64)
    counts = sums[:, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(counts > 0, sums[:, 0] / np.where(counts > 0, counts, 1.0), 0.0)
