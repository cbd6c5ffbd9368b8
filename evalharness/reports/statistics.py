"""Per-segment statistics stored with a run, and statistics for runs being compared.

A run writes `report.stats.npz` beside `report.json` in the same atomic publish: one array per
scored metric, filed under the metric's signature without its resampling settings (the same
tokenizer, options and sacrebleu version give the same statistics). The report records the
file's sha256. `compare`, the gates and the bootstrap read the arrays back; nothing
re-tokenises a run that was scored with the same signature. A metric a run was not scored
with is computed from the run's stored hypotheses and references (in parallel for large
runs), and the caller is told so.

Model metrics (COMET, MetricX) are found by the signature the runs were scored with (it
names the checkpoint's digest), so comparing stored runs never loads a model; a run that
lacks one is scored with the checkpoint the options name, which must be the same one."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from evalharness.errors import UserError
from evalharness.fileio import read_regular
from evalharness.metrics.neural.metric import ScoringContext
from evalharness.metrics.registry import get, signature, signature_key
from evalharness.metrics.stats import Job, MetricStats, extract_many, from_stored
from evalharness.reports.schema import RunReport

SUFFIX = ".stats.npz"


def stats_path(report_path: Path) -> Path:
    """`runs/ID/report.json` -> `runs/ID/report.stats.npz`; `x.json` -> `x.stats.npz`."""
    return report_path.with_suffix(SUFFIX)


def encode(stats: Sequence[MetricStats]) -> bytes:
    """npz (no pickles): arrays `s0`, `s1`, ... and their signature keys and metric ids."""
    arrays: dict[str, np.ndarray] = {f"s{n}": s.array for n, s in enumerate(stats)}
    arrays["keys"] = np.array([s.key for s in stats], dtype=np.str_)
    arrays["metrics"] = np.array([s.metric_id for s in stats], dtype=np.str_)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def decode(data: bytes, limit: int = 1 << 31) -> dict[str, np.ndarray]:
    """signature key -> statistics; raises ValueError on anything that is not our file, and
    on one that would unpack to more than `limit` bytes (a small file can hold a huge zero
    array: it is refused before anything is unpacked)."""
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ValueError(f"not a statistics file ({exc})") from exc
    if unpacked > limit:
        raise ValueError(f"not a statistics file (it unpacks to {unpacked:,} bytes)")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            keys = [str(k) for k in npz["keys"]]
            return {key: npz[f"s{n}"] for n, key in enumerate(keys)}
    except (OSError, KeyError, ValueError, EOFError) as exc:
        raise ValueError(f"not a statistics file ({exc})") from exc


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_stored(report: RunReport, report_path: Path | None) -> tuple[dict[str, np.ndarray], str | None]:
    """The statistics stored with a report, and a note when they could not be used."""
    ref = report.statistics
    if ref is None or report_path is None:
        return {}, None
    name = ref.get("file") if isinstance(ref, dict) else None
    if not isinstance(name, str) or not name or Path(name).name != name or name.startswith("."):
        # a file name beside the report, nothing else: a report must not point anywhere on disk
        return {}, f"{report_path}: the statistics record is damaged; computing them from the hypotheses"
    path = report_path.parent / name
    from evalharness.reports.store import max_report_bytes

    try:
        data = read_regular(path, max_report_bytes(), "statistics file", follow_links=False)
    except UserError as exc:
        return {}, f"{exc}; computing them from the hypotheses"
    if sha256(data) != ref.get("sha256"):
        return {}, f"{path}: stored statistics do not match the report's checksum; computing them again"
    try:
        return decode(data, 4 * max_report_bytes()), None
    except ValueError as exc:
        return {}, f"{path}: {exc}; computing them from the hypotheses"


@dataclass
class LoadedRun:
    """A report with the statistics stored beside it (empty when there are none)."""

    report: RunReport
    path: Path | None = None  # its report.json, when it came from disk
    stored: dict[str, np.ndarray] | None = None
    note: str | None = None  # why stored statistics could not be used

    def __post_init__(self) -> None:
        if self.stored is None:
            self.stored, self.note = read_stored(self.report, self.path)

    @property
    def run_id(self) -> str:
        return self.report.run_id


def references_of(report: RunReport) -> list[list[str]]:
    """Reference streams (sacrebleu's layout) from a report's segments."""
    return [list(stream) for stream in zip(*(s.references for s in report.segments), strict=True)]


def expected_metric(metric_id: str, report: RunReport, options: Mapping[str, Any] | None = None):
    """The metric as the report would have been scored with it (target language, options)."""
    opts = report.config.get("metric_options") if options is None else options
    metric = get(metric_id).build(report.testset.tgt_lang, opts)
    metric.num_refs = len(report.segments[0].references) if report.segments else 1
    return metric


def expected_key(metric_id: str, runs: Sequence[LoadedRun], options: Mapping[str, Any]) -> str:
    """The signature key statistics of `metric_id` are looked up by: what the current code and
    options would record (a new sacrebleu version gives a new key and fresh statistics); for a
    model metric, the signature the runs were scored with (computing it would need the
    checkpoint), else the one the options' checkpoint gives."""
    if get(metric_id).model is not None:
        for run in runs:
            if metric_id in run.report.scores:
                return signature_key(run.report.scores[metric_id].signature)
    return signature_key(signature(expected_metric(metric_id, runs[0].report, options)))


def statistics_for(
    runs: Sequence[LoadedRun],
    metric_ids: Sequence[str],
    options: Mapping[str, Any] | None = None,
    workers: int | None = None,
    context: ScoringContext | None = None,
    keys: Mapping[str, str] | None = None,
) -> tuple[dict[str, list[MetricStats]], list[str]]:
    """Every run's statistics for every metric, stored where possible; the rest extracted in
    one parallel batch against the first run's references. Also returns notes for the user.
    `keys` (metric -> signature key) overrides what the statistics are looked up by."""
    base = runs[0].report
    opts = dict(base.config.get("metric_options") or {}) if options is None else dict(options)
    tgt = base.testset.tgt_lang
    refs = references_of(base)
    out: dict[str, list[MetricStats | None]] = {}
    wanted: dict[str, str] = {}
    todo: list[tuple[str, int]] = []
    notes = [r.note for r in runs if r.note]
    for metric_id in metric_ids:
        key = wanted[metric_id] = (keys or {}).get(metric_id) or expected_key(metric_id, runs, opts)
        out[metric_id] = []
        for n, run in enumerate(runs):
            array = (run.stored or {}).get(key)
            if array is not None and len(array) == len(run.report.segments):
                num_refs = len(refs)
                out[metric_id].append(from_stored(metric_id, array, tgt, opts, num_refs, key))
            else:
                out[metric_id].append(None)
                todo.append((metric_id, n))
    if todo:
        jobs = [
            Job(
                m,
                [s.hypothesis for s in runs[n].report.segments],
                refs,
                [s.source for s in runs[n].report.segments],
            )
            for m, n in todo
        ]
        for (metric_id, n), stats in zip(todo, extract_many(jobs, tgt, opts, workers, context), strict=True):
            if get(metric_id).model is not None and stats.key != wanted[metric_id]:
                raise UserError(
                    f"{metric_id}: run {runs[n].run_id} has no stored {metric_id} statistics, and scoring it now "
                    f"gives {stats.signature}, not what the other runs were scored with ({wanted[metric_id]}); "
                    "name the same checkpoint and settings"
                )
            out[metric_id][n] = stats
        for metric_id in dict.fromkeys(m for m, _ in todo):
            which = [runs[n].run_id for m, n in todo if m == metric_id]
            notes.append(
                f"{metric_id}: computed from the stored hypotheses and references of {', '.join(which)} "
                "(not stored with the run under this signature)"
            )
    return {m: [s for s in stats if s is not None] for m, stats in out.items()}, notes
