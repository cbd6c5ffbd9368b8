"""Segment scores of model metrics, cached in SQLite: (metric fingerprint, segment key) ->
score and error spans.

The fingerprint holds everything that determines a score (checkpoint digest, mode, precision,
our inference code, library versions); the segment key is a SHA-256 of the segment's source,
hypothesis and references. Re-scoring a system whose hypotheses changed in 10% of segments
runs the model on those segments only, and a system scored before is not scored again.
Writes are one transaction per batch, as in the translation cache (`sqlite_store`)."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path

from evalharness.metrics.neural.base import ErrorSpan, SegmentScore
from evalharness.sqlite_store import open_store, select_in, write_batch

SCHEMA = """
CREATE TABLE IF NOT EXISTS scores (
    fingerprint TEXT NOT NULL,
    segment_sha256 TEXT NOT NULL,
    score REAL NOT NULL,
    spans TEXT,                        -- JSON list of error spans; NULL for metrics without spans
    PRIMARY KEY (fingerprint, segment_sha256)
)
"""
COLUMNS = {"fingerprint", "segment_sha256", "score", "spans"}


def _decode(score: object, spans: object) -> SegmentScore | None:
    if not isinstance(score, float) or not math.isfinite(score):
        return None
    if spans is None:
        return SegmentScore(score)
    try:
        items = json.loads(spans)  # type: ignore[arg-type]
        return SegmentScore(score, tuple(ErrorSpan(**item) for item in items))
    except (TypeError, ValueError):
        return None


class ScoreCache:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = open_store(path, SCHEMA, "scores", COLUMNS, "metric score cache")
        self.ignored_rows = 0

    def get_many(self, fingerprint: str, keys: Sequence[str]) -> dict[str, SegmentScore]:
        found: dict[str, SegmentScore] = {}
        sql = "SELECT segment_sha256, score, spans FROM scores WHERE fingerprint=? AND segment_sha256 IN ({})"
        for key, score, spans in select_in(self.db, sql, (fingerprint,), keys):
            value = _decode(score, spans)
            if value is None:  # a damaged row is a miss: scored again and overwritten
                if not self.ignored_rows:
                    print(
                        f"warning: {self.path}: unreadable cached scores are ignored (scored again)",
                        file=sys.stderr,
                    )
                self.ignored_rows += 1
                continue
            found[key] = value
        return found

    def put_many(self, fingerprint: str, items: Sequence[tuple[str, SegmentScore]]) -> None:
        rows = [
            (
                fingerprint,
                key,
                value.score,
                None
                if value.spans is None
                else json.dumps([s.as_dict() for s in value.spans], ensure_ascii=False),
            )
            for key, value in items
        ]
        write_batch(
            self.db,
            "INSERT INTO scores (fingerprint, segment_sha256, score, spans) VALUES (?,?,?,?) "
            "ON CONFLICT DO UPDATE SET score=excluded.score, spans=excluded.spans",
            rows,
        )

    def close(self) -> None:
        self.db.close()
