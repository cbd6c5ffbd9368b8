"""Atomic file and directory writes: a crash leaves the old state or the new one, never half."""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from evalharness.errors import SystemFault, UserError


def read_toml(path: Path, what: str) -> dict:
    """A TOML configuration file, or one line saying why not (`what`: "evaluation config")."""
    import tomllib

    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UserError(f"no {what}", path) from exc
    except IsADirectoryError as exc:
        raise UserError(f"is a directory, not a {what}", path) from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"invalid TOML ({exc})", path) from exc


def dumps_json(obj: Any) -> str:
    """Canonical JSON: sorted keys, real Unicode, trailing newline; same object, same bytes."""
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, indent=2) + "\n"


_LINE_BREAKS = re.compile(r"[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]+")


def one_line(text: str) -> str:
    """`text` with every line break (also the ones str.splitlines and other tools honour) as
    a space: one hypothesis per line must stay one line for every reader."""
    return _LINE_BREAKS.sub(" ", text)


def dumps_jsonl(rows: Iterable[Any]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)


def ensure_writable_dir(path: Path) -> None:
    """Fail before any work starts when `path` could not hold our output; creates nothing."""
    probe_dir = path
    while not probe_dir.exists() and probe_dir != probe_dir.parent:
        probe_dir = probe_dir.parent
    try:
        if not probe_dir.is_dir():
            raise NotADirectoryError(20, f"{probe_dir} is not a directory")
        fd, probe = tempfile.mkstemp(prefix=".probe-", dir=probe_dir)
        os.close(fd)
        os.unlink(probe)
    except NotADirectoryError as exc:
        raise UserError(f"cannot write here ({exc.strerror or exc})", path) from exc
    except OSError as exc:  # permission denied, a read-only file system, a full disk
        raise SystemFault(f"cannot write here ({exc.strerror or exc})", path) from exc


def _umask() -> int:
    """The process umask (read by setting it and putting it back: there is no getter)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _normal_mode(path: str | Path, directory: bool) -> None:
    """mkstemp/mkdtemp create 0600/0700 entries; what we publish gets the mode a plain
    open()/mkdir() would give (0666/0777 less the umask), so teammates and CI can read it."""
    os.chmod(path, (0o777 if directory else 0o666) & ~_umask())


# A published run's folder (`runs/RUN_ID/`): written once, never again (reports/store.py).
RUN_DIR = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{8}")  # always fullmatch: `$` passes a final "\n"


def check_output_file(path: Path) -> None:
    """A file we are asked to write must not be an existing directory, nor lie in a
    published run (`runs show RUN --out runs/RUN/report.json` must not replace a report)."""
    if path.is_dir():
        raise UserError("is a directory; give a file name", path)
    for folder in path.resolve().parents:
        if RUN_DIR.fullmatch(folder.name) and (folder / "report.json").is_file():
            raise UserError("lies in a published run, which is never written again; write elsewhere", path)


def read_regular(path: Path, limit: int, what: str, follow_links: bool = True) -> bytes:
    """The bytes of a regular file of at most `limit` bytes, or one line saying why not. A
    FIFO or a device is refused without blocking on it (opened non-blocking, checked on the
    open descriptor), and nothing larger than `limit` is read into memory. Without
    `follow_links` a symbolic link is refused: a file we found in a folder we listed (a run's
    report and statistics) must not lead anywhere else on disk."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | (0 if follow_links else getattr(os, "O_NOFOLLOW", 0))
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise UserError(f"no {what}", path) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow_links:
            raise UserError(
                f"is a symbolic link, not a {what} (never followed out of its folder)", path
            ) from exc
        raise UserError(f"cannot read {what} ({exc.strerror or exc})", path) from exc
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise UserError(f"not a regular file (expected {what})", path)
        if info.st_size > limit:
            raise UserError(f"{what} of {info.st_size:,} bytes is larger than the {limit:,} read", path)
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise UserError(f"{what} is larger than the {limit:,} bytes read", path)
    return data


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: Path, data: bytes) -> None:
    check_output_file(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        replaced: int | None = stat.S_IMODE(os.stat(path).st_mode)  # a file we replace keeps its mode
    except OSError:
        replaced = None
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if replaced is None:
            _normal_mode(tmp, directory=False)
        else:
            os.chmod(tmp, replaced)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def publish_dir_atomic(files: dict[str, str | bytes], target: Path) -> bool:
    """Write `files` (text or bytes) into a temp dir beside `target`, then rename it into place.

    Returns False (and writes nothing) when `target` already exists, also when another
    writer published it between our check and our rename: published directories are
    immutable, and the first one to land wins.
    """
    if target.exists():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        for name, content in files.items():
            if isinstance(content, bytes):
                (tmp / name).write_bytes(content)
            else:
                (tmp / name).write_text(content, encoding="utf-8", newline="\n")
        _normal_mode(tmp, directory=True)
        os.rename(tmp, target)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if exc.errno in (errno.EEXIST, errno.ENOTEMPTY) and target.exists():
            return False
        raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return True


@contextmanager
def building_dir(out: Path) -> Iterator[Path]:
    """Yield a temporary directory beside `out`; on success it becomes `out` (which must be
    missing or empty), on any error it is removed: no half-built directory is ever visible."""
    if out.exists() and not out.is_dir():
        raise UserError("exists and is not a directory; give a directory to create", out)
    if out.exists() and any(out.iterdir()):
        raise UserError("output directory exists and is not empty", out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        _normal_mode(tmp, directory=True)
        yield tmp
        if out.exists():
            out.rmdir()
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
