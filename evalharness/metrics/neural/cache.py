"""Segment scores of model metrics, cached in SQLite: (metric fingerprint, segment key) ->
score and error spans; and sentence embeddings of sources and references for models that
embed each text on its own (COMET's regression models), so that the second system scored on
a test set encodes only its hypotheses.

The fingerprint holds everything that determines a score (checkpoint digest, mode, precision,
our inference code, library versions); the segment key is a SHA-256 of the segment's source,
hypothesis and references. Re-scoring a system whose hypotheses changed in 10% of segments
runs the model on those segments only, and a system scored before is not scored again.
Writes are one transaction per batch, as in the translation cache (`sqlite_store`)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

from evalharness.metrics.neural.base import ErrorSpan, SegmentScore
from evalharness.sqlite_store import Readable, Store

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
EMBEDDINGS = """
CREATE TABLE IF NOT EXISTS embeddings (
    fingerprint TEXT NOT NULL,
    text_sha256 TEXT NOT NULL,
    vector BLOB NOT NULL,              -- float32, native byte order
    PRIMARY KEY (fingerprint, text_sha256)
)
"""
EMBEDDING_COLUMNS = {"fingerprint", "text_sha256", "vector"}


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
        self.db = Store(path, SCHEMA, "scores", COLUMNS, "metric score cache")
        self.vectors = Store(path, EMBEDDINGS, "embeddings", EMBEDDING_COLUMNS, "metric score cache")
        self.rows = Readable(path, "cached scores", "scored again")

    def memo(self, fingerprint: str) -> Memo:
        return Memo(self, fingerprint)

    def get_many(self, fingerprint: str, keys: Sequence[str]) -> dict[str, SegmentScore]:
        sql = "SELECT segment_sha256, score, spans FROM scores WHERE fingerprint=? AND segment_sha256 IN ({})"
        return self.rows.decoded(self.db.select_in(sql, (fingerprint,), keys), _decode)

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
        self.db.write_batch(
            "INSERT INTO scores (fingerprint, segment_sha256, score, spans) VALUES (?,?,?,?) "
            "ON CONFLICT DO UPDATE SET score=excluded.score, spans=excluded.spans",
            rows,
        )

    def close(self) -> None:
        self.db.close()
        self.vectors.close()


class Memo:
    """Embeddings of one model (its fingerprint) by text, for `ModelScorer.score`."""

    def __init__(self, cache: ScoreCache, fingerprint: str) -> None:
        self.cache, self.fingerprint = cache, fingerprint

    def get_many(self, keys: Sequence[str]) -> dict[str, bytes]:
        sql = "SELECT text_sha256, vector FROM embeddings WHERE fingerprint=? AND text_sha256 IN ({})"
        return {
            key: bytes(vector)
            for key, vector in self.cache.vectors.select_in(sql, (self.fingerprint,), keys)
            if isinstance(vector, bytes) and vector and len(vector) % 4 == 0
        }

    def put_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        self.cache.vectors.write_batch(
            "INSERT INTO embeddings (fingerprint, text_sha256, vector) VALUES (?,?,?) "
            "ON CONFLICT DO UPDATE SET vector=excluded.vector",
            [(self.fingerprint, key, vector) for key, vector in items],
        )
