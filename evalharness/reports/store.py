"""Run reports on disk: `runs/RUN_ID/{report.json,report.md,hypotheses.txt}`, written once,
atomically. RUN_ID is a sortable UTC timestamp plus a short content hash."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from pydantic import ValidationError

from evalharness.errors import UserError, env_positive_int
from evalharness.fileio import RUN_DIR, dumps_json, one_line, publish_dir_atomic, read_regular
from evalharness.reports.schema import REPORT_SCHEMA_VERSION, RunReport
from evalharness.reports.statistics import LoadedRun
from evalharness.terminal import warn

RUN_ID = RUN_DIR
# A report is read whole; larger than this it was not written by us (100,000 segments with
# model metrics and error spans make about 200 MB). EVALHARNESS_MAX_REPORT_BYTES raises it.
MAX_REPORT_BYTES = 512 * 1024 * 1024
REPORT_FILE, PAGE_FILE, HTML_FILE, HYPS_FILE = "report.json", "report.md", "report.html", "hypotheses.txt"

# schema_version -> function upgrading a raw dict by one version
MIGRATIONS: dict[int, Callable[[dict], dict]] = {
    1: lambda raw: {**raw, "schema_version": 2, "determinism": None},  # 2 adds `determinism`
    2: lambda raw: {**raw, "schema_version": 3, "statistics": None},  # 3 stores statistics beside it
    3: lambda raw: {**raw, "schema_version": 4, "drift": None},  # 4: drift, segment confidences
    4: lambda raw: {**raw, "schema_version": 5},  # 5: model metrics (scoring records, error spans)
    5: lambda raw: {**raw, "schema_version": 6},  # 6: LLM raw output per segment, service usage
    6: lambda raw: {**raw, "schema_version": 7},  # 7: documents per segment, paragraph/document units
}


def make_run_id(created_compact: str, content: str) -> str:
    return f"{created_compact}-{hashlib.sha256(content.encode('utf-8')).hexdigest()[:8]}"


def check_run_id(run_id: str) -> str:
    """Run ids come from users: only the exact shape we write is accepted (no paths)."""
    if not RUN_ID.fullmatch(run_id):
        raise UserError(f"invalid run id {run_id!r} (expected e.g. 20261123T120000Z-1a2b3c4d)")
    return run_id


def save_report(report: RunReport, root: Path, extra: dict[str, bytes] | None = None) -> Path:
    """Publish the report, its pages (Markdown and HTML, from the same typed page), its
    hypotheses and `extra` files (the statistics) at once."""
    from evalharness.reports.formats import render
    from evalharness.reports.run_page import run_page

    check_run_id(report.run_id)
    target = root / report.run_id
    page = run_page(report)
    files: dict[str, str | bytes] = {
        REPORT_FILE: dumps_json(report.model_dump(mode="json")),
        PAGE_FILE: render(page, "md"),
        HTML_FILE: render(page, "html"),
        HYPS_FILE: "".join(one_line(s.hypothesis) + "\n" for s in report.segments),
        **(extra or {}),
    }
    if not publish_dir_atomic(files, target):
        raise UserError("a run with this id already exists; reports are never overwritten", target)
    return target


def _migrate(raw: dict, path: Path) -> dict:
    version = raw.get("schema_version")
    if not isinstance(version, int):
        raise UserError("not a run report (no schema_version)", path)
    if version > REPORT_SCHEMA_VERSION:
        raise UserError(
            f"report schema version {version} is newer than this evalharness reads ({REPORT_SCHEMA_VERSION}); upgrade evalharness",
            path,
        )
    while version < REPORT_SCHEMA_VERSION:
        if version not in MIGRATIONS:
            raise UserError(f"report schema version {version} is too old to migrate", path)
        raw = MIGRATIONS[version](raw)
        version = raw["schema_version"]
    return raw


def load_report(root: Path, run_id: str) -> RunReport:
    return load_run(root, run_id).report


def report_path(root: Path, run_id: str) -> Path:
    path = root / check_run_id(run_id) / REPORT_FILE
    if not path.is_file():
        raise UserError(f"no run {run_id!r}", root)
    return path


def load_run(root: Path, run_id: str) -> LoadedRun:
    """A run with the statistics stored beside its report (which must be the run it says)."""
    path = report_path(root, run_id)
    if path.parent.is_symlink():
        raise UserError(
            "is a symbolic link, not a run folder (never followed out of the runs folder)", path.parent
        )
    run = LoadedRun(load_report_file(path, follow_links=False), path)
    if run.report.run_id != run_id:
        raise UserError(f"the report says it is run {run.report.run_id!r}: moved or edited", run.path)
    return run


def resolve_run(ref: str, root: Path) -> LoadedRun:
    """A run named by id (under `root`), by its folder, or by a report file anywhere (e.g. a
    gate baseline in gates/baselines/)."""
    if RUN_ID.fullmatch(ref):
        return load_run(root, ref)
    path = Path(ref)
    if path.is_dir():
        path = path / REPORT_FILE
    if not path.is_file():
        raise UserError(
            f"no run {ref!r}: give a run id from `evalharness runs list`, a run folder or a report .json file"
        )
    return load_run_file(path)


def load_run_file(path: Path) -> LoadedRun:
    return LoadedRun(load_report_file(path), path)


def max_report_bytes() -> int:
    return env_positive_int("EVALHARNESS_MAX_REPORT_BYTES", MAX_REPORT_BYTES)


def load_report_file(path: Path, follow_links: bool = True) -> RunReport:
    """A report file; `follow_links=False` for one found in a runs folder (see read_regular)."""
    data = read_regular(path, max_report_bytes(), "run report", follow_links)
    try:  # the common case, a current report: pydantic's own JSON parser, several times faster
        report = RunReport.model_validate_json(data)
        if report.schema_version == REPORT_SCHEMA_VERSION:
            return report
    except ValidationError:
        pass  # older or broken: read it slowly, migrate, and say what is wrong
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"unreadable report ({exc})", path) from exc
    if not isinstance(raw, dict):
        raise UserError("not a run report (not a JSON object)", path)
    try:
        return RunReport.model_validate(_migrate(raw, path))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "top level"
        more = f" and {exc.error_count() - 1} more" if exc.error_count() > 1 else ""
        raise UserError(f"malformed report ({where}: {first['msg']}{more})", path) from exc


def is_pristine(path: Path) -> bool:
    """Is this report file exactly as evalharness writes it (canonical JSON of a current
    report)? Anything else was migrated, damaged or edited by hand."""
    try:
        data = read_regular(path, max_report_bytes(), "run report")
        report = RunReport.model_validate_json(data)
    except (UserError, ValidationError):
        return False
    return dumps_json(report.model_dump(mode="json")).encode("utf-8") == data


@contextmanager
def reading(paths: list[Path]):
    """Turn an error met while using reports into one line naming them, when one of them is
    not as we wrote it: every record is typed, but a hand edit can still be valid and
    inconsistent (a segment count that is not the number of segments). An error with
    pristine reports is our bug and is let through."""
    try:
        yield
    except UserError:
        raise
    except Exception as exc:
        edited = [p for p in paths if not is_pristine(p)]
        if not edited:
            raise
        raise UserError(
            f"{', '.join(map(str, edited))}: not as evalharness writes it (edited or damaged): "
            f"{type(exc).__name__}: {exc}"
        ) from exc


def _run_dirs(root: Path) -> list[Path]:
    max_report_bytes()  # a bad setting is the setting's error, not each report's
    if not root.is_dir():
        return []
    found = []
    for folder in sorted(root.iterdir()):
        if not RUN_ID.fullmatch(folder.name):
            continue
        if folder.is_symlink():
            warn(f"{folder}: is a symbolic link, not a run folder (never followed; skipped)")
        elif (folder / REPORT_FILE).is_file() or (folder / REPORT_FILE).is_symlink():
            found.append(folder)
    return found


def _when(report: RunReport) -> tuple[dt.datetime, str]:
    """Order of runs: their creation time (milliseconds since schema 4; run ids only have
    seconds, and two runs in one second must still come in the order they were made)."""
    try:
        created = dt.datetime.fromisoformat(report.created)
    except ValueError:
        created = dt.datetime.min.replace(tzinfo=dt.UTC)
    if created.tzinfo is None:
        created = created.replace(tzinfo=dt.UTC)
    return created, report.run_id


def _readable(path: Path) -> RunReport | None:
    """A report, or None after one warning line naming it: one damaged run must not stop
    commands about other runs (listing, history, drift against the previous run). A report
    whose run id is not its folder's name was moved or edited: callers build paths from the
    ids of the reports listed here, so it is skipped too."""
    try:
        report = load_report_file(path, follow_links=False)
    except UserError as exc:
        warn(f"{exc} (skipped)")
        return None
    if report.run_id != path.parent.name:
        warn(f"{path}: its run id {report.run_id!r} is not its folder's name (moved or edited; skipped)")
        return None
    return report


def latest_run(root: Path, accept) -> RunReport | None:
    """The newest run for which `accept(report)` holds; reads reports newest second first.
    Unreadable reports are skipped with a warning."""
    folders = _run_dirs(root)
    for second in sorted({p.name[:16] for p in folders}, reverse=True):
        same_second = [_readable(p / REPORT_FILE) for p in folders if p.name[:16] == second]
        chosen = [r for r in same_second if r is not None and accept(r)]
        if chosen:
            return max(chosen, key=_when)
    return None


def list_runs(root: Path) -> list[RunReport]:
    """Every readable run, oldest first (unreadable ones are skipped with a warning)."""
    reports = (_readable(p / REPORT_FILE) for p in _run_dirs(root))
    return sorted((r for r in reports if r is not None), key=_when)
