"""Build once, reuse: a test set whose inputs (documents, settings, aligner) are unchanged is
taken from disk instead of being embedded and aligned again, and `LATEST` is left alone.

The fingerprint is looked up in the manifests of the versions on disk (tracked, so a fresh
clone reuses the committed test set) and in a small local index (`.build-index.json` beside
the test sets, not tracked) that remembers rebuilds which gave a version already on disk,
e.g. after a change to our corpus code that did not change a single segment."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from evalharness.corpus.align import AlignSettings
from evalharness.corpus.build import DocSpec, build_testset, input_fingerprint
from evalharness.corpus.embed import Encoder
from evalharness.corpus.store import (
    MANIFEST_FILE,
    TestSet,
    check_name,
    latest_version,
    load_testset,
    save_testset,
)
from evalharness.fileio import dumps_json, write_text_atomic

INDEX_FILE = ".build-index.json"


@dataclass(frozen=True)
class BuildResult:
    testset: TestSet
    state: str  # "reused" (nothing built), "written" (a new version), "unchanged" (rebuilt, same version)
    folder: Path

    @property
    def message(self) -> str:
        return {
            "reused": "reused (inputs unchanged since it was built; nothing aligned, LATEST untouched)",
            "written": "written",
            "unchanged": "unchanged (rebuilt: same segments, same version)",
        }[self.state]


def _read_index(root: Path) -> dict:
    try:
        data = json.loads((root / INDEX_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}  # a lost or damaged index only costs one rebuild
    return data if isinstance(data, dict) else {}


def _remember(root: Path, name: str, digest: str, version: str) -> None:
    index = _read_index(root)
    entries = index.get(name) if isinstance(index.get(name), dict) else {}
    index[name] = {**entries, digest: version}
    write_text_atomic(root / INDEX_FILE, dumps_json(index))


def find_reusable(root: Path, name: str, digest: str) -> str | None:
    """A version on disk built from exactly these inputs; LATEST first if it is one."""
    base = root / check_name(name)
    found = []
    for manifest in sorted(base.glob(f"*/{MANIFEST_FILE}")):
        try:
            raw = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue  # load_testset reports damaged versions when they are asked for
        if isinstance(raw, dict) and (raw.get("inputs") or {}).get("digest") == digest:
            found.append(manifest.parent.name)
    indexed = (_read_index(root).get(name) or {}).get(digest)
    if isinstance(indexed, str) and (base / indexed / MANIFEST_FILE).is_file():
        found.append(indexed)
    latest = latest_version(root, name)
    return latest if latest in found else (found[0] if found else None)


def build_or_reuse(
    specs: Sequence[DocSpec],
    name: str,
    references: Path,
    settings: AlignSettings | None = None,
    pivot: str | None = None,
    encoder: Encoder | None = None,
    rebuild: bool = False,
) -> BuildResult:
    settings = settings or AlignSettings()
    inputs = input_fingerprint(specs, settings, pivot, encoder.name if encoder else None)
    if not rebuild and (version := find_reusable(references, name, inputs.digest)):
        ts = load_testset(references, f"{name}@{version}")
        if latest_version(references, name) is None:
            save_testset(ts, references)  # a name with no LATEST yet gets one
        return BuildResult(ts, "reused", references / name / version)
    ts = build_testset(specs, name, settings, encoder, pivot=pivot)
    folder, created = save_testset(ts, references)
    if created:
        return BuildResult(ts, "written", folder)
    on_disk = load_testset(references, f"{name}@{ts.version}")  # published versions are immutable
    if on_disk.manifest.inputs is None or on_disk.manifest.inputs.digest != inputs.digest:
        _remember(references, name, inputs.digest, ts.version)
    return BuildResult(on_disk, "unchanged", folder)
