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
        except (OSError, sqlite3.Error) as exc:
            raise UserError(f"cannot open the translation cache ({exc})", path) from exc

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
                data = json.loads(raw)
                found[key] = Hypothesis(data["text"], tuple(data["flags"]), tuple(data["intermediate"]))
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
