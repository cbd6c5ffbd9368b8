"""Test sets on disk: `references/NAME/VERSION/{segments.jsonl,manifest.json}` plus
`references/NAME/LATEST`. A version is a hash of the segments, so the same content always
has the same version and a changed one never overwrites the old."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from evalharness.corpus.records import TESTSET_SCHEMA_VERSION, Manifest, Segment
from evalharness.errors import UserError
from evalharness.fileio import dumps_json, dumps_jsonl, publish_dir_atomic, write_text_atomic

SEGMENTS_FILE = "segments.jsonl"
MANIFEST_FILE = "manifest.json"
LATEST_FILE = "LATEST"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class TestSet:
    manifest: Manifest
    segments: list[Segment]

    __test__ = False  # not a pytest class

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def version(self) -> str:
        return self.manifest.version

    def pair(self, src: str, tgt: str) -> list[Segment]:
        """Segments usable for translating src into tgt."""
        return [s for s in self.segments if s.has(src, tgt)]


def check_name(name: str) -> str:
    """Names become directory names: no separators, no '..', nothing hidden."""
    if not _NAME.match(name) or ".." in name:
        raise UserError(f"invalid test-set name {name!r}: use letters, digits, '.', '_' or '-' (max 64)")
    return name


def segments_jsonl(segments: list[Segment]) -> str:
    return dumps_jsonl(s.model_dump(mode="json") for s in segments)


def content_version(segments: list[Segment]) -> str:
    return hashlib.sha256(segments_jsonl(segments).encode("utf-8")).hexdigest()[:12]


def save_testset(testset: TestSet, root: Path) -> tuple[Path, bool]:
    """Publish a test set; returns (its directory, whether it was new)."""
    name = check_name(testset.name)
    target = root / name / testset.version
    created = publish_dir_atomic(
        {
            SEGMENTS_FILE: segments_jsonl(testset.segments),
            MANIFEST_FILE: dumps_json(testset.manifest.model_dump(mode="json")),
        },
        target,
    )
    write_text_atomic(root / name / LATEST_FILE, testset.version + "\n")
    return target, created


def resolve(root: Path, ref: str) -> Path:
    """`NAME` (latest version) or `NAME@VERSION` -> the version directory."""
    name, _, version = ref.partition("@")
    check_name(name)
    base = root / name
    if not version:
        latest = base / LATEST_FILE
        if not latest.is_file():
            raise UserError(f"no test set named {name!r} (build or import it first)", root)
        version = latest.read_text(encoding="utf-8").strip()
    if not re.fullmatch(r"[0-9a-f]{6,64}", version):
        raise UserError(f"invalid test-set version {version!r}", base)
    folder = base / version
    if not (folder / MANIFEST_FILE).is_file():
        raise UserError(f"test set {name!r} has no version {version!r}", base)
    return folder


def load_testset(root: Path, ref: str) -> TestSet:
    folder = resolve(root, ref)
    manifest_path = folder / MANIFEST_FILE
    try:
        raw = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"unreadable manifest ({exc})", manifest_path) from exc
    found = raw.get("schema_version")
    if found != TESTSET_SCHEMA_VERSION:
        raise UserError(
            f"test-set schema version {found!r} is not supported "
            f"(this evalharness reads version {TESTSET_SCHEMA_VERSION})",
            manifest_path,
        )
    seg_path = folder / SEGMENTS_FILE
    try:
        manifest = Manifest.model_validate(raw)
        segments = [
            Segment.model_validate_json(line)
            for line in seg_path.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
    except ValidationError as exc:
        raise UserError(f"malformed test set ({exc.error_count()} errors)", folder) from exc
    if content_version(segments) != manifest.version:
        raise UserError("segments do not match the manifest's version (edited by hand?)", seg_path)
    return TestSet(manifest=manifest, segments=segments)


def list_testsets(root: Path) -> list[tuple[str, str]]:
    out = []
    if root.is_dir():
        for latest in sorted(root.glob(f"*/{LATEST_FILE}")):
            out.append((latest.parent.name, latest.read_text(encoding="utf-8").strip()))
    return out
