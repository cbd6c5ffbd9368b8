"""Run a backend over a test set's segments: dedupe, cache, batch, progress, resume."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from evalharness.backends.base import Backend, Hypothesis, as_hypothesis
from evalharness.backends.cache import TranslationCache, source_key


@dataclass(frozen=True)
class TranslationStats:
    segments: int
    unique: int
    from_cache: int
    translated: int
    seconds: float


def _progress(total: int, label: str):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    console = Console(file=sys.stderr)
    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} seg/s"),
        TimeRemainingColumn(),
        console=console,
        disable=not console.is_terminal,  # quiet in CI and pipes
        transient=True,
    )


def translate_segments(
    backend: Backend,
    sources: Sequence[str],
    src_lang: str,
    tgt_lang: str,
    cache: TranslationCache | None,
    chunk_size: int = 64,
    label: str = "translating",
) -> tuple[list[Hypothesis], TranslationStats]:
    """Hypotheses for `sources`, in order. Only segments missing from the cache reach the
    backend, longest-first chunks of similar length, each chunk committed as it finishes.
    With `cache=None` every segment is translated (what a regression gate needs)."""
    start = time.perf_counter()
    backend.prepare(sources, src_lang, tgt_lang)  # fail before any work
    fingerprint = backend.fingerprint().digest
    keys = [source_key(s) for s in sources]
    unique = dict(zip(keys, sources, strict=True))
    done = cache.get_many(fingerprint, src_lang, tgt_lang, list(unique)) if cache is not None else {}
    for key, text in unique.items():
        if key not in done and not text.strip():
            done[key] = Hypothesis("")  # empty in, empty out: never sent to a backend
    from_cache = len(done)
    todo = sorted((k for k in unique if k not in done), key=lambda k: -len(unique[k]))
    with _progress(len(todo), label) as progress:
        task = progress.add_task(label, total=len(todo), rate="-")
        for i in range(0, len(todo), chunk_size):
            chunk = todo[i : i + chunk_size]
            out = backend.translate([unique[k] for k in chunk], src_lang, tgt_lang)
            if len(out) != len(chunk):
                raise RuntimeError(
                    f"backend {backend.kind} returned {len(out)} hypotheses for {len(chunk)} segments"
                )
            hyps = [as_hypothesis(h) for h in out]
            if cache is not None:
                cache.put_many(fingerprint, src_lang, tgt_lang, list(zip(chunk, hyps, strict=True)))
            done.update(zip(chunk, hyps, strict=True))
            elapsed = time.perf_counter() - start
            progress.update(task, advance=len(chunk), rate=f"{(i + len(chunk)) / max(elapsed, 1e-9):.1f}")
    stats = TranslationStats(len(sources), len(unique), from_cache, len(todo), time.perf_counter() - start)
    return [done[k] for k in keys], stats
