"""Translation cache: (fingerprint, language pair, source hash) -> hypothesis, in SQLite.

Every finished batch is one transaction, so a crash (Ctrl-C, kill -9, power loss) loses at
most the batch in flight and never damages what is stored; the next run resumes from it.
Several processes may share one cache (parallel `eval`s, executor threads); see
`sqlite_store` for how. A key is stored once; writing it again updates it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

from evalharness.backends.base import Hypothesis
from evalharness.sqlite_store import Readable, Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS translations (
    fingerprint TEXT NOT NULL,
    src_lang TEXT NOT NULL,
    tgt_lang TEXT NOT NULL,
    source_sha256 TEXT NOT NULL,
    hypothesis TEXT NOT NULL,          -- JSON: text, flags, intermediate, raw (LLM output, optional)
    times_translated INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (fingerprint, src_lang, tgt_lang, source_sha256)
)
"""


EXPECTED_COLUMNS = {"fingerprint", "src_lang", "tgt_lang", "source_sha256", "hypothesis", "times_translated"}


def _decode(raw: object) -> Hypothesis | None:
    try:
        data = json.loads(raw)  # type: ignore[arg-type]
        text, flags, intermediate = data["text"], data["flags"], data["intermediate"]
        raw = data.get("raw")
        if not isinstance(text, str) or not all(isinstance(x, str) for x in [*flags, *intermediate]):
            return None
        if raw is not None and not isinstance(raw, str):
            return None
        return Hypothesis(text, tuple(flags), tuple(intermediate), raw)
    except (TypeError, ValueError, KeyError):
        return None


def source_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class TranslationCache:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = Store(path, SCHEMA, "translations", EXPECTED_COLUMNS, "translation cache")
        self.rows = Readable(path, "cache rows", "translated again")

    def get_many(self, fingerprint: str, src: str, tgt: str, keys: Sequence[str]) -> dict[str, Hypothesis]:
        rows = self.db.select_in(
            "SELECT source_sha256, hypothesis FROM translations WHERE fingerprint=? AND src_lang=? "
            "AND tgt_lang=? AND source_sha256 IN ({})",
            (fingerprint, src, tgt),
            keys,
        )
        return self.rows.decoded(rows, _decode)

    def put_many(self, fingerprint: str, src: str, tgt: str, items: Sequence[tuple[str, Hypothesis]]) -> None:
        rows = [
            (
                fingerprint,
                src,
                tgt,
                key,
                json.dumps(
                    {"text": h.text, "flags": list(h.flags), "intermediate": list(h.intermediate)}
                    | ({"raw": h.raw} if h.raw is not None else {}),
                    ensure_ascii=False,
                ),
            )
            for key, h in items
        ]
        self.db.write_batch(
            "INSERT INTO translations (fingerprint, src_lang, tgt_lang, source_sha256, hypothesis) "
            "VALUES (?,?,?,?,?) ON CONFLICT DO UPDATE SET hypothesis=excluded.hypothesis, "
            "times_translated=times_translated+1",
            rows,
        )

    def close(self) -> None:
        self.db.close()
