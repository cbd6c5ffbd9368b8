"""Translation cache: (fingerprint, language pair, source hash) -> hypothesis, in SQLite.

Every finished batch is one transaction, so a crash (Ctrl-C, kill -9, power loss) loses at
most the batch in flight and never damages what is stored; the next run resumes from it.

Several processes may share one cache (parallel `eval`s, executor threads): WAL mode lets
readers and a writer work at once, each batch takes the write lock up front (`BEGIN
IMMEDIATE`) and holds it only for its insert, and a writer that finds the lock taken waits
(SQLite's busy timeout) and then retries. A key is stored once; writing it again updates it."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from evalharness.backends.base import Hypothesis
from evalharness.errors import UserError

WRITE_ATTEMPTS = 20  # after SQLite's own 30 s busy wait each

SCHEMA = """
CREATE TABLE IF NOT EXISTS translations (
    fingerprint TEXT NOT NULL,
    src_lang TEXT NOT NULL,
    tgt_lang TEXT NOT NULL,
    source_sha256 TEXT NOT NULL,
    hypothesis TEXT NOT NULL,          -- JSON: text, flags, intermediate
    times_translated INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (fingerprint, src_lang, tgt_lang, source_sha256)
)
"""


EXPECTED_COLUMNS = {"fingerprint", "src_lang", "tgt_lang", "source_sha256", "hypothesis", "times_translated"}


def _decode(raw: object) -> Hypothesis | None:
    try:
        data = json.loads(raw)  # type: ignore[arg-type]
        text, flags, intermediate = data["text"], data["flags"], data["intermediate"]
        if not isinstance(text, str) or not all(isinstance(x, str) for x in [*flags, *intermediate]):
            return None
        return Hypothesis(text, tuple(flags), tuple(intermediate))
    except (TypeError, ValueError, KeyError):
        return None


def source_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class TranslationCache:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute(SCHEMA)
            columns = {row[1] for row in self.db.execute("PRAGMA table_info(translations)")}
        except (OSError, sqlite3.Error) as exc:
            raise UserError(
                f"cannot open the translation cache ({exc}); delete it to start an empty one", path
            ) from exc
        if columns != EXPECTED_COLUMNS:
            self.db.close()
            raise UserError(
                "not an evalharness translation cache (its table has other columns); "
                "delete it or pass another --cache",
                path,
            )
        self.ignored_rows = 0

    def get_many(self, fingerprint: str, src: str, tgt: str, keys: Sequence[str]) -> dict[str, Hypothesis]:
        found: dict[str, Hypothesis] = {}
        for start in range(0, len(keys), 500):
            chunk = list(keys[start : start + 500])
            rows = self.db.execute(
                "SELECT source_sha256, hypothesis FROM translations WHERE fingerprint=? AND src_lang=? "
                f"AND tgt_lang=? AND source_sha256 IN ({','.join('?' * len(chunk))})",
                (fingerprint, src, tgt, *chunk),
            )
            for key, raw in rows:
                hypothesis = _decode(raw)
                if hypothesis is None:  # damaged row: a miss, translated again and overwritten
                    if not self.ignored_rows:
                        print(
                            f"warning: {self.path}: unreadable cache rows are ignored (translated again)",
                            file=sys.stderr,
                        )
                    self.ignored_rows += 1
                    continue
                found[key] = hypothesis
        return found

    def put_many(self, fingerprint: str, src: str, tgt: str, items: Sequence[tuple[str, Hypothesis]]) -> None:
        rows = [
            (
                fingerprint,
                src,
                tgt,
                key,
                json.dumps(
                    {"text": h.text, "flags": list(h.flags), "intermediate": list(h.intermediate)},
                    ensure_ascii=False,
                ),
            )
            for key, h in items
        ]
        for attempt in range(WRITE_ATTEMPTS):
            try:
                self.db.execute("BEGIN IMMEDIATE")  # one short transaction per batch
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc) or attempt == WRITE_ATTEMPTS - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))
                continue
            try:
                self.db.executemany(
                    "INSERT INTO translations (fingerprint, src_lang, tgt_lang, source_sha256, hypothesis) "
                    "VALUES (?,?,?,?,?) ON CONFLICT DO UPDATE SET hypothesis=excluded.hypothesis, "
                    "times_translated=times_translated+1",
                    rows,
                )
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            return

    def close(self) -> None:
        self.db.close()
