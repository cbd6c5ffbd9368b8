"""Translate on Ray (`evalharness eval --executor ray`, `pip install evalharness[ray]`).

Each job's segments that the translation cache does not hold flow through `ray.data`
`map_batches` with a pool of actors per backend: one model load per actor, `num_gpus=1` per
actor where the cluster has GPUs, one CPU otherwise. Rows come back in whatever order the
actors finish; they are put back in segment order by their source key. Results are written to
the translation cache by this process as they arrive, so the cache needs no shared
filesystem, and a crash loses at most the batches in flight.

An actor that dies (a killed process, a lost node) is restarted and its batch retried (Ray
Data's defaults for actor pools: unlimited restarts and task retries), so a job still
completes with every segment once (tested by killing one).
The backend's fingerprint is computed by a task with the actors' resources, on the kind of
machine that will translate, not on the driver (whose device may differ); every batch
carries its actor's fingerprint and a mismatch is an error, not a silent mix.

Scoring and reports are not done here: the suite scores each job's `Translation` exactly as
the in-process executor does."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from evalharness.backends.base import Hypothesis, SourceItem, as_hypothesis
from evalharness.backends.cache import TranslationCache
from evalharness.backends.prompts import PromptInputs, source_items
from evalharness.backends.registry import create_backend
from evalharness.backends.runner import plan_translation
from evalharness.errors import optional_module

log = logging.getLogger(__name__)
INSTALL_HINT = "the ray executor needs Ray: pip install 'evalharness[ray]'"


@dataclass(frozen=True)
class RaySettings:
    address: str | None = None  # None: start a local Ray (or join RAY_ADDRESS)
    actors: int = 1  # per job, at most
    batch_size: int = 64  # segments per batch sent to an actor
    num_cpus: int | None = None  # for a local Ray; None: all cores


@dataclass(frozen=True)
class RayJob:
    spec: str
    options: dict
    sources: list[str]
    src: str
    tgt: str
    use_cache: bool = True
    inputs: PromptInputs = PromptInputs()  # terms and documents, for backends whose prompts read them


def _ray():
    return optional_module("ray", INSTALL_HINT)


def start(settings: RaySettings) -> None:
    """Join the cluster at `address` (or RAY_ADDRESS), else start a local one."""
    ray = _ray()
    if ray.is_initialized():
        return
    kwargs: dict = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
    if settings.address or os.environ.get("RAY_ADDRESS"):
        kwargs["address"] = settings.address or os.environ["RAY_ADDRESS"]
    elif settings.num_cpus:
        kwargs["num_cpus"] = settings.num_cpus
    ray.init(**kwargs)
    from ray.data import DataContext

    DataContext.get_current().enable_progress_bars = False


def actor_resources() -> dict:
    """One GPU per actor when the cluster has GPUs, else one CPU."""
    gpus = _ray().cluster_resources().get("GPU", 0)
    return {"num_gpus": 1} if gpus >= 1 else {"num_cpus": 1}


class TranslateActor:
    """Holds one backend (one model load) and translates the batches it is given."""

    def __init__(self, spec: str, options: dict, sources: list[str], src: str, tgt: str) -> None:
        self.backend = create_backend(spec, **options)
        self.backend.prepare(sources, src, tgt)
        self.src, self.tgt = src, tgt
        self.digest = self.backend.fingerprint().digest

    def __call__(self, batch: dict) -> dict:
        sources = [
            SourceItem.from_json(str(i)) if i else str(s)
            for s, i in zip(batch["source"], batch["item"], strict=True)
        ]
        out = [as_hypothesis(h) for h in self.backend.translate(sources, self.src, self.tgt)]
        if len(out) != len(sources):
            raise RuntimeError(f"backend returned {len(out)} hypotheses for {len(sources)} segments")
        return {
            "key": batch["key"],
            "text": [h.text for h in out],
            "flags": [json.dumps(list(h.flags)) for h in out],
            "intermediate": [json.dumps(list(h.intermediate), ensure_ascii=False) for h in out],
            "raw": [json.dumps(h.raw, ensure_ascii=False) for h in out],
            "fingerprint": [self.digest] * len(out),
        }


def _describe(spec: str, options: dict, sources: list[str], src: str, tgt: str) -> tuple[dict, dict, tuple]:
    """Fingerprint, determinism, and what the backend's prompts read (terms, context)."""
    backend = create_backend(spec, **options)
    try:
        backend.prepare(sources, src, tgt)
        reads = (backend.reads, backend.context_segments)
        return backend.fingerprint().as_dict(), backend.determinism(), reads
    finally:
        backend.close()


def _unwrap(exc: BaseException) -> BaseException:
    """Ray wraps errors raised in tasks; a user error stays a one-line user error."""
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, BaseException) else exc


def translate_job(job: RayJob, cache_path: Path | None, settings: RaySettings):
    """A `Translation` (see evaluate.py) of the job's sources, translated on Ray."""
    from evalharness.evaluate import Translation

    ray = _ray()
    resources = actor_resources()
    describe = ray.remote(**resources)(_describe)
    try:
        fingerprint, determinism, (reads, context) = ray.get(
            describe.remote(job.spec, job.options, job.sources, job.src, job.tgt)
        )
    except Exception as exc:  # noqa: BLE001 - re-raised as what it is
        raise _unwrap(exc) from None
    digest = fingerprint["digest"]
    cache = TranslationCache(cache_path) if (job.use_cache and cache_path is not None) else None
    try:
        items = source_items(job.sources, reads, context, job.inputs)
        plan = plan_translation(items, digest, job.src, job.tgt, cache)
        if plan.todo:
            rows = [_row(k, plan.unique[k]) for k in plan.todo]
            mapped = ray.data.from_items(rows).map_batches(
                TranslateActor,
                fn_constructor_kwargs={
                    "spec": job.spec,
                    "options": job.options,
                    "sources": job.sources,
                    "src": job.src,
                    "tgt": job.tgt,
                },
                batch_size=settings.batch_size,
                concurrency=(1, max(1, settings.actors)),
                batch_format="numpy",
                **resources,  # Ray Data's actors restart and retry their batch by default
            )
            for batch in mapped.iter_batches(batch_size=None, batch_format="numpy"):
                foreign = {str(f) for f in batch["fingerprint"]} - {digest}
                if foreign:
                    raise RuntimeError(
                        f"actors translated with fingerprint(s) {', '.join(sorted(foreign))}, expected {digest}: "
                        "the cluster's machines differ in what shapes the output"
                    )
                hyps = [
                    (str(k), Hypothesis(str(t), tuple(json.loads(f)), tuple(json.loads(m)), json.loads(r)))
                    for k, t, f, m, r in zip(
                        batch["key"],
                        batch["text"],
                        batch["flags"],
                        batch["intermediate"],
                        batch["raw"],
                        strict=True,
                    )
                ]
                if cache is not None:
                    cache.put_many(digest, job.src, job.tgt, hyps)
                plan.done.update(hyps)
        hypotheses, stats = plan.finish()  # in segment order, whatever order the actors finished in
    finally:
        if cache is not None:
            cache.close()
    return Translation(hypotheses, stats, fingerprint, determinism)


def _row(key: str, item: str | SourceItem) -> dict:
    """A row for Ray Data: plain columns (a SourceItem travels as JSON; "" for plain text)."""
    if isinstance(item, SourceItem):
        return {"key": key, "source": item.text, "item": item.as_json()}
    return {"key": key, "source": item, "item": ""}


def translate_all(jobs: Sequence[RayJob], cache_path: Path | None, settings: RaySettings) -> list[object]:
    """Every job at once (one driver thread per job, each feeding its own actor pool); each
    result is a Translation or the exception that job raised."""
    start(settings)

    def run(job: RayJob) -> object:
        try:
            return translate_job(job, cache_path, settings)
        except Exception as exc:  # noqa: BLE001 - reported per job by the caller
            return exc

    with ThreadPoolExecutor(max_workers=max(1, len(jobs))) as pool:
        return list(pool.map(run, jobs))
