"""Score model metrics on Ray actors (`evalharness eval --executor ray`).

One actor pool per configured metric, kept while a suite is scored: each actor loads the
model once (`num_gpus=1` per actor where the cluster has GPUs) and scores the batches it is
sent, so the systems and pairs of a suite share the loads. The suite translates every job
first and scores afterwards, and releases the pools when it is done: actors holding GPUs or
CPUs must not starve the next suite's translation actors. The driver keeps the score cache: it looks
up what is cached, sends only the rest, and writes results as batches come back (in whatever
order actors finish; they are keyed). The fingerprint (checkpoint digest, code, libraries,
device) is computed by an actor, on the kind of machine that scores, and every batch carries
its actor's; a mismatch is an error, not a silent mix of numbers."""

from __future__ import annotations

from typing import Any

from evalharness.metrics.neural.base import ErrorSpan, Segment, SegmentScore


class ScoreActor:
    """One model metric loaded once, scoring batches of segments."""

    def __init__(self, metric_id: str, options: dict, num_refs: int) -> None:
        from evalharness.metrics.registry import get

        self.metric = get(metric_id).build(None, options)
        self.metric.num_refs = num_refs
        self.mode = self.metric.mode()
        self.device = self.metric.inference.torch_device()
        self.scorer = self.metric.spec.load(self.metric.checkpoint, self.metric.inference, self.mode == "ref")

    def fingerprint(self) -> str:
        return self.metric.fingerprint(self.mode, self.device)

    def score(self, keys: list[str], segments: list[tuple]) -> tuple[str, list[str], list[dict]]:
        results = self.scorer.score([Segment(s, h, tuple(r)) for s, h, r in segments])
        rows = [
            {"score": r.score, "spans": None if r.spans is None else [x.as_dict() for x in r.spans]}
            for r in results
        ]
        return self.fingerprint(), keys, rows


_POOLS: dict[tuple, Any] = {}


def _pool(metric, settings):
    """The actor pool for this metric configuration (created once per process)."""
    from evalharness.backends.ray_runner import _ray, actor_resources, start

    start(settings)
    ray = _ray()
    key = (metric.spec.id, metric.model, metric.mode(), metric.inference, settings.actors)
    if key not in _POOLS:
        remote = ray.remote(**actor_resources(), max_restarts=-1, max_task_retries=-1)(ScoreActor)
        options = {k: v for k, v in metric.options.items() if v is not None}
        actors = [
            remote.remote(metric.spec.id, options, metric.num_refs) for _ in range(max(1, settings.actors))
        ]
        expected = ray.get(actors[0].fingerprint.remote())
        _POOLS[key] = (ray.util.ActorPool(actors), expected)
    return _POOLS[key]


class RayScoring:
    """What `ScoringContext.remote` holds for the Ray executor: the fingerprint the actors score
    with (for the cache lookups) and the scoring of what the cache lacks."""

    def __init__(self, settings, batch: int = 64) -> None:
        self.settings, self.batch = settings, batch

    def fingerprint(self, metric) -> str:
        return self._call(lambda: _pool(metric, self.settings)[1])

    def score(self, metric, todo: dict[str, Segment]) -> dict[str, SegmentScore]:
        return self._call(lambda: self._score(metric, todo))

    def _score(self, metric, todo: dict[str, Segment]) -> dict[str, SegmentScore]:
        pool, expected = _pool(metric, self.settings)
        keys = list(todo)
        work = [
            (chunk, [(todo[k].source, todo[k].hypothesis, list(todo[k].references)) for k in chunk])
            for chunk in (keys[i : i + self.batch] for i in range(0, len(keys), self.batch))
        ]
        out: dict[str, SegmentScore] = {}
        for fingerprint, done, rows in pool.map_unordered(lambda actor, w: actor.score.remote(*w), work):
            if fingerprint != expected:
                raise RuntimeError(
                    f"actors scored with fingerprint {fingerprint[:12]}, expected {expected[:12]}: "
                    "the cluster's machines differ in what shapes the scores"
                )
            for key, row in zip(done, rows, strict=True):
                spans = None if row["spans"] is None else tuple(ErrorSpan(**s) for s in row["spans"])
                out[key] = SegmentScore(row["score"], spans)
        return out

    def close(self) -> None:
        release_pools()

    @staticmethod
    def _call(work):
        from evalharness.backends.ray_runner import _unwrap

        try:
            return work()
        except Exception as exc:  # noqa: BLE001 - a user error stays one line
            raise _unwrap(exc) from None


def release_pools() -> None:
    """End the scoring actors (and free their GPUs and CPUs)."""
    from evalharness.backends.ray_runner import _ray

    ray = _ray() if _POOLS else None
    for pool, _ in _POOLS.values():
        while pool.has_free():
            ray.kill(pool.pop_idle())
    _POOLS.clear()
