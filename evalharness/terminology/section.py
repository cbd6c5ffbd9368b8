"""The terminology section of a run report: flags on the hypotheses, accuracy and
consistency, and drift against the previous run of the same system on the same test set."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from evalharness.terminology.checks import check_segments, drift_flags
from evalharness.terminology.glossary import load_glossary


def terminology_section(
    glossary_path: Path,
    ids: Sequence[str],
    sources: Sequence[str],
    hypotheses: Sequence[str],
    tgt_lang: str,
    previous: dict | None = None,
) -> dict:
    """`previous` is the terminology section of the previous comparable run, if any."""
    glossary = load_glossary(glossary_path)
    report = check_segments(hypotheses, tgt_lang, glossary, sources=[[s] for s in sources])
    flags = list(report.flags)
    if previous:
        flags += drift_flags(ids, report.renditions, previous.get("renditions", {}), tgt_lang)
        flags.sort(key=lambda f: f.segment)
    return {
        "glossary": str(glossary_path),
        "glossary_sha256": hashlib.sha256(Path(glossary_path).read_bytes()).hexdigest(),
        "term_accuracy": report.accuracy,
        "consistency": report.consistency,
        "occurrences": report.occurrences,
        "counts": {k: sum(f.kind == k for f in flags) for k in sorted({f.kind for f in flags})},
        "previous_run": previous.get("run_id") if previous else None,
        "flags": [{**f.as_dict(), "segment_id": ids[f.segment]} for f in flags],
        "renditions": {seg_id: r for seg_id, r in zip(ids, report.renditions, strict=True) if r},
    }
