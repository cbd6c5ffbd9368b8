"""The SQLite habits our caches share (translations, metric scores).

Every write is one short transaction, so a crash (Ctrl-C, kill -9, power loss) loses at
most the batch in flight and never damages what is stored. Several processes may share a
file: WAL mode lets readers and a writer work at once, each batch takes the write lock up
front (`BEGIN IMMEDIATE`), and a writer that finds the lock taken waits (SQLite's busy
timeout) and then retries."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from evalharness.errors import SystemFault, UserError
from evalharness.terminal import warn

WRITE_ATTEMPTS = 20  # after SQLite's own 30 s busy wait each


# SQLite's error codes by what they mean for the user (Python 3.11 names them on the error).
_OS_REFUSED = (
    "SQLITE_FULL",
    "SQLITE_READONLY",
    "SQLITE_CANTOPEN",
    "SQLITE_PERM",
    "SQLITE_IOERR",
    "SQLITE_BUSY",
)
_DAMAGED = ("SQLITE_CORRUPT", "SQLITE_NOTADB")


def fault(exc: BaseException, path: Path, what: str) -> UserError:
    """One line for an error of the store at `path`. The disk or the permissions refusing is
    the operating system's fault (exit 1, the OS error, nothing to delete: a full disk is no
    reason to lose every cached entry); a damaged file is bad input (exit 2) that may be
    moved aside, since every entry in it can be computed again."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    if isinstance(exc, OSError) or name.startswith(_OS_REFUSED):
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return SystemFault(f"the {what} cannot be used ({reason})", path)
    if name.startswith(_DAMAGED) or isinstance(exc, sqlite3.DatabaseError):
        return UserError(
            f"the {what} is damaged ({exc}); move it aside (what it held is computed again) "
            "or pass another --cache",
            path,
        )
    return SystemFault(f"the {what} failed ({exc})", path)


class Store:
    """One table of an SQLite cache file. Every error becomes one line naming the file: the
    pages of a cache can be damaged on disk and found only when a query reaches them."""

    def __init__(self, path: Path, schema: str, table: str, columns: set[str], what: str) -> None:
        self.path, self.what = path, what
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute(schema)
            found = {row[1] for row in self.db.execute(f"PRAGMA table_info({table})")}
        except (OSError, sqlite3.Error) as exc:
            raise fault(exc, path, what) from exc
        if found != columns:
            self.db.close()
            raise UserError(
                f"not an evalharness {what} (its table has other columns); move it aside or pass "
                "another --cache",
                path,
            )

    def select_in(self, sql: str, fixed: Sequence, keys: Sequence[str]) -> Iterator[tuple]:
        """Rows of `sql` (ending in `IN ({})`) for every key, 500 keys per query."""
        try:
            for start in range(0, len(keys), 500):
                chunk = list(keys[start : start + 500])
                yield from self.db.execute(sql.format(",".join("?" * len(chunk))), (*fixed, *chunk))
        except sqlite3.Error as exc:
            raise fault(exc, self.path, self.what) from exc

    def write_batch(self, sql: str, rows: Sequence[tuple]) -> None:
        """`executemany(sql, rows)` as one transaction, retried while another writer holds the lock."""
        try:
            _write_batch(self.db, sql, rows)
        except sqlite3.Error as exc:
            raise fault(exc, self.path, self.what) from exc

    def close(self) -> None:
        self.db.close()


def _write_batch(db: sqlite3.Connection, sql: str, rows: Sequence[tuple]) -> None:
    for attempt in range(WRITE_ATTEMPTS):
        try:
            db.execute("BEGIN IMMEDIATE")  # one short transaction per batch
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc) or attempt == WRITE_ATTEMPTS - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
            continue
        try:
            db.executemany(sql, rows)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return


class Readable:
    """Rows read back with their damage counted: a row that does not decode is a miss (done
    again and overwritten), and the first one is reported on one line."""

    def __init__(self, path: Path, what: str, then: str) -> None:
        self.path, self.what, self.then, self.ignored_rows = path, what, then, 0

    def decoded(self, rows: Iterable[tuple], decode: Callable[..., object]) -> dict:
        """key -> decode(*rest) for rows (key, *rest), damaged rows left out."""
        found = {}
        for key, *raw in rows:
            value = decode(*raw)
            if value is None:
                if not self.ignored_rows:
                    warn(f"{self.path}: unreadable {self.what} are ignored ({self.then})")
                self.ignored_rows += 1
                continue
            found[key] = value
        return found
