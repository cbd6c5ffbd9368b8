"""The SQLite habits our caches share (translations, metric scores).

Every write is one short transaction, so a crash (Ctrl-C, kill -9, power loss) loses at
most the batch in flight and never damages what is stored. Several processes may share a
file: WAL mode lets readers and a writer work at once, each batch takes the write lock up
front (`BEGIN IMMEDIATE`), and a writer that finds the lock taken waits (SQLite's busy
timeout) and then retries."""

from __future__ import annotations

import sqlite3
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from evalharness.errors import UserError

WRITE_ATTEMPTS = 20  # after SQLite's own 30 s busy wait each


def open_store(path: Path, schema: str, table: str, columns: set[str], what: str) -> sqlite3.Connection:
    """A connection to `path` holding `table` with exactly `columns` (created when new). A file
    that is no such store is one line naming it, never an internal error."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, timeout=30, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(schema)
        found = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
    except (OSError, sqlite3.Error) as exc:
        raise UserError(f"cannot open the {what} ({exc}); delete it to start an empty one", path) from exc
    if found != columns:
        db.close()
        raise UserError(
            f"not an evalharness {what} (its table has other columns); delete it or pass another --cache",
            path,
        )
    return db


def select_in(db: sqlite3.Connection, sql: str, fixed: Sequence, keys: Sequence[str]) -> Iterable[tuple]:
    """Rows of `sql` (ending in `IN ({})`) for every key, 500 keys per query."""
    for start in range(0, len(keys), 500):
        chunk = list(keys[start : start + 500])
        yield from db.execute(sql.format(",".join("?" * len(chunk))), (*fixed, *chunk))


def write_batch(db: sqlite3.Connection, sql: str, rows: Sequence[tuple]) -> None:
    """`executemany(sql, rows)` as one transaction, retried while another writer holds the lock."""
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
                    print(
                        f"warning: {self.path}: unreadable {self.what} are ignored ({self.then})",
                        file=sys.stderr,
                    )
                self.ignored_rows += 1
                continue
            found[key] = value
        return found
