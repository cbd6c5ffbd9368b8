"""Round trip through Hugging Face `datasets`: `load_from_disk(DIR)` gives the familiar
`translation` column; our manifest travels beside it so the version is kept. Document ids,
paragraphs and further references travel too (columns `doc`, `para`, `more_refs`, written
only when the set has them): they are part of the version, so without them a standard test
set would not come back. Other datasets are imported by `corpus.hf_import`."""

from __future__ import annotations

from pathlib import Path

from evalharness.corpus.records import Manifest, Provenance, Segment
from evalharness.corpus.store import TestSet, content_version
from evalharness.errors import UserError
from evalharness.fileio import building_dir, dumps_json

MANIFEST_NAME = "evalharness_manifest.json"


def export_hf(testset: TestSet, out: Path) -> Path:
    from datasets import Dataset

    langs = testset.manifest.languages
    pairs = sorted({k for s in testset.segments for k in s.pair_confidence})
    rows = [
        {
            "id": s.id,
            "translation": {lang: s.text.get(lang) for lang in langs},
            "confidence": s.confidence,
            "pair_confidence": {k: s.pair_confidence.get(k) for k in pairs},
            "provenance": {
                lang: (s.provenance[lang].model_dump() if lang in s.provenance else None) for lang in langs
            },
        }
        for s in testset.segments
    ]
    _add_standard_columns(rows, testset)
    with building_dir(out) as tmp:
        Dataset.from_list(rows).save_to_disk(str(tmp))
        (tmp / MANIFEST_NAME).write_text(
            dumps_json(testset.manifest.model_dump(mode="json")), encoding="utf-8"
        )
    return out


def _add_standard_columns(rows: list[dict], testset: TestSet) -> None:
    """doc, para and more_refs, each only when some segment has it (older exports unchanged)."""
    langs = testset.manifest.languages
    for key in ("doc", "para"):
        if any(getattr(s, key) for s in testset.segments):
            for row, s in zip(rows, testset.segments, strict=True):
                row[key] = getattr(s, key)
    if any(s.more_refs for s in testset.segments):
        for row, s in zip(rows, testset.segments, strict=True):
            row["more_refs"] = {lang: list(s.more_refs.get(lang, ())) for lang in langs}


def load_hf(folder: Path) -> TestSet:
    from datasets import load_from_disk

    manifest_path = folder / MANIFEST_NAME
    if not manifest_path.is_file():
        raise UserError(f"not an evalharness export (no {MANIFEST_NAME})", folder)
    manifest = Manifest.model_validate_json(manifest_path.read_text(encoding="utf-8"))
    segments = [
        Segment(
            id=row["id"],
            text={k: v for k, v in row["translation"].items() if v is not None},
            confidence=row["confidence"],
            pair_confidence={k: v for k, v in row["pair_confidence"].items() if v is not None},
            provenance={k: Provenance(**v) for k, v in row["provenance"].items() if v is not None},
            doc=row.get("doc"),
            para=row.get("para"),
            more_refs={k: v for k, v in (row.get("more_refs") or {}).items() if v},
        )
        for row in load_from_disk(str(folder))
    ]
    if content_version(segments) != manifest.version:
        raise UserError("dataset content does not match its manifest version", folder)
    return TestSet(manifest=manifest, segments=segments)
