"""Run a backend over a test set's segments: dedupe, cache, batch, progress, resume."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from evalharness.backends.base import Backend, Hypothesis, SourceItem, as_hypothesis, text_of
from evalharness.backends.cache import TranslationCache, source_key
from evalharness.progress import progress_bar


@dataclass(frozen=True)
class TranslationStats:
    segments: int
    unique: int
    from_cache: int
    translated: int
    seconds: float


@dataclass
class Plan:
    """What a translation job needs: unique sources, what the cache already holds, the rest."""

    keys: list[str]  # per segment, in order
    unique: dict[str, str | SourceItem]  # key -> source text (or item, for backends that read more)
    done: dict[str, Hypothesis]  # key -> hypothesis (from the cache, or empty in -> empty out)
    todo: list[str]  # keys to translate, longest source first
    from_cache: int
    start: float

    def finish(self) -> tuple[list[Hypothesis], TranslationStats]:
        missing = [k for k in self.keys if k not in self.done]
        if missing:
            raise RuntimeError(f"{len(missing)} segments came back without a hypothesis")
        stats = TranslationStats(
            len(self.keys),
            len(self.unique),
            self.from_cache,
            len(self.todo),
            time.perf_counter() - self.start,
        )
        return [self.done[k] for k in self.keys], stats


def item_key(item: str | SourceItem) -> str:
    """A segment's cache key: its source text's hash, or everything its prompt is built from."""
    return item.key() if isinstance(item, SourceItem) else source_key(item)


def plan_translation(
    sources: Sequence[str | SourceItem],
    fingerprint: str,
    src_lang: str,
    tgt_lang: str,
    cache: TranslationCache | None,
) -> Plan:
    start = time.perf_counter()
    keys = [item_key(s) for s in sources]
    unique = dict(zip(keys, sources, strict=True))
    done = cache.get_many(fingerprint, src_lang, tgt_lang, list(unique)) if cache is not None else {}
    for key, item in unique.items():
        if key not in done and not text_of(item).strip():
            done[key] = Hypothesis("")  # empty in, empty out: never sent to a backend
    todo = sorted((k for k in unique if k not in done), key=lambda k: -len(text_of(unique[k])))
    return Plan(keys, unique, done, todo, len(done), start)


def translate_segments(
    backend: Backend,
    sources: Sequence[str | SourceItem],
    src_lang: str,
    tgt_lang: str,
    cache: TranslationCache | None,
    chunk_size: int = 64,
    label: str = "translating",
) -> tuple[list[Hypothesis], TranslationStats]:
    """Hypotheses for `sources`, in order. Only segments missing from the cache reach the
    backend, longest-first chunks of similar length, each chunk committed as it finishes.
    With `cache=None` every segment is translated (what a regression gate needs)."""
    backend.prepare(sources, src_lang, tgt_lang)  # fail before any work
    fingerprint = backend.fingerprint().digest
    plan = plan_translation(sources, fingerprint, src_lang, tgt_lang, cache)
    todo, unique = plan.todo, plan.unique
    with progress_bar(label) as progress:
        task = progress.add_task(label, total=len(todo), rate="-")
        finished = 0
        for group in _finished(backend, todo, unique, src_lang, tgt_lang, chunk_size):
            if cache is not None:
                cache.put_many(fingerprint, src_lang, tgt_lang, group)
            plan.done.update(group)
            finished += len(group)
            elapsed = time.perf_counter() - plan.start
            progress.update(task, advance=len(group), rate=f"{finished / max(elapsed, 1e-9):.1f}")
    return plan.finish()


def _finished(
    backend: Backend,
    todo: list[str],
    unique: dict[str, str | SourceItem],
    src_lang: str,
    tgt_lang: str,
    chunk_size: int,
) -> Iterator[list[tuple[str, Hypothesis]]]:
    """(key, hypothesis) groups as the backend finishes them: chunks of `chunk_size`, or, from
    a backend that streams (a service answering many requests at once), whatever has come
    back since the last group, so that a killed run has lost at most what was in flight."""
    if backend.streams:
        seen = 0
        for group in backend.stream([unique[k] for k in todo], src_lang, tgt_lang):
            seen += len(group)
            yield [(todo[i], as_hypothesis(h)) for i, h in group]
        if seen != len(todo):
            raise RuntimeError(f"backend {backend.kind} returned {seen} hypotheses for {len(todo)} segments")
        return
    for i in range(0, len(todo), chunk_size):
        chunk = todo[i : i + chunk_size]
        out = backend.translate([unique[k] for k in chunk], src_lang, tgt_lang)
        if len(out) != len(chunk):
            raise RuntimeError(
                f"backend {backend.kind} returned {len(out)} hypotheses for {len(chunk)} segments"
            )
        yield list(zip(chunk, [as_hypothesis(h) for h in out], strict=True))
