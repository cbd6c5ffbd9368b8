"""Round trip through Hugging Face `datasets`: `load_from_disk(DIR)` gives the familiar
`translation` column; our manifest travels beside it so the version is kept."""

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
    with building_dir(out) as tmp:
        Dataset.from_list(rows).save_to_disk(str(tmp))
        (tmp / MANIFEST_NAME).write_text(
            dumps_json(testset.manifest.model_dump(mode="json")), encoding="utf-8"
        )
    return out


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
        )
        for row in load_from_disk(str(folder))
    ]
    if content_version(segments) != manifest.version:
        raise UserError("dataset content does not match its manifest version", folder)
    return TestSet(manifest=manifest, segments=segments)
