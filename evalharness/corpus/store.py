"""Test sets on disk: `references/NAME/VERSION/{segments.jsonl,manifest.json}` plus
`references/NAME/LATEST`.

A version is the identity of what is scored: a hash of the segment ids and their texts in
every language (and so of the pairs they make). Alignment confidences, provenance, timings
and library versions are recorded in the files but kept out of the hash: they are floats
from a neural model or facts about the machine, and differ in the last digits between
machines (BLAS, CPU features, threads) while the segments are the same. The same segments
therefore always have the same version, and a changed segment never overwrites the old.
The whole file's sha256 is kept in the manifest too, so a hand edit is still detected."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from evalharness.corpus.records import TESTSET_SCHEMA_VERSION, Manifest, Segment
from evalharness.errors import UserError
from evalharness.fileio import dumps_json, dumps_jsonl, publish_dir_atomic, read_regular, write_text_atomic

MAX_TESTSET_BYTES = 4 << 30  # a test set's files are read whole; a FIFO or a device never

SEGMENTS_FILE = "segments.jsonl"
MANIFEST_FILE = "manifest.json"
LATEST_FILE = "LATEST"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


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

    def segments_for(self, src: str, tgt: str) -> list[Segment]:
        """`pair`, or one clear line when the test set has no such segments."""
        segments = self.pair(src, tgt)
        if not segments:
            raise UserError(
                f"test set {self.name} has no {src}-{tgt} segments (languages: {', '.join(self.manifest.languages)})"
            )
        return segments


def check_name(name: str) -> str:
    """Names become directory names: no separators, no '..', nothing hidden."""
    if not _NAME.fullmatch(name) or ".." in name:
        raise UserError(f"invalid test-set name {name!r}: use letters, digits, '.', '_' or '-' (max 64)")
    return name


def segments_jsonl(segments: list[Segment]) -> str:
    return dumps_jsonl(s.record() for s in segments)


def content_version(segments: list[Segment]) -> str:
    """The version: sha256 over ids and texts only (canonical JSON), first 12 hex digits."""
    return _sha256(dumps_jsonl(s.identity() for s in segments))[:12]


def legacy_version(segments: list[Segment]) -> str:
    """Schema 1 hashed the whole segments file, confidences included."""
    return _sha256(segments_jsonl(segments))[:12]


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def identity_fields(segments: list[Segment]) -> dict[str, str]:
    """The manifest fields that pin its segments: version (identity) and file integrity."""
    return {"version": content_version(segments), "segments_sha256": _sha256(segments_jsonl(segments))}


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
        if not (base / LATEST_FILE).is_file():
            raise UserError(f"no test set named {name!r} (build or import it first)", root)
        version = latest_version(root, name) or ""
        if not re.fullmatch(r"[0-9a-f]{6,64}", version):
            raise UserError(
                "does not name a version (damaged? build or import the test set again)", base / LATEST_FILE
            )
    if not re.fullmatch(r"[0-9a-f]{6,64}", version):
        raise UserError(f"invalid test-set version {version!r}", base)
    folder = base / version
    if not (folder / MANIFEST_FILE).is_file():
        raise UserError(f"test set {name!r} has no version {version!r}", base)
    return folder


def _migrate_v1(raw: dict, segments: list[Segment], seg_path: Path) -> dict:
    """Schema 1 -> 2. The folder keeps its old name (runs refer to it); integrity is checked
    the old way, since schema 1 versions hashed the whole file."""
    if legacy_version(segments) != raw.get("version"):
        raise UserError("segments do not match the manifest's version (edited by hand?)", seg_path)
    return {**raw, "schema_version": 2, "segments_sha256": _sha256(segments_jsonl(segments)), "inputs": None}


def load_testset(root: Path, ref: str) -> TestSet:
    folder = resolve(root, ref)
    manifest_path = folder / MANIFEST_FILE
    try:
        raw = json.loads(read_regular(manifest_path, MAX_TESTSET_BYTES, "test-set manifest").decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"unreadable manifest ({exc})", manifest_path) from exc
    found = raw.get("schema_version") if isinstance(raw, dict) else None
    if found not in (1, TESTSET_SCHEMA_VERSION):
        raise UserError(
            f"test-set schema version {found!r} is not supported "
            f"(this evalharness reads versions 1 and {TESTSET_SCHEMA_VERSION})",
            manifest_path,
        )
    seg_path = folder / SEGMENTS_FILE
    try:
        text = read_regular(seg_path, MAX_TESTSET_BYTES, "test-set segments").decode("utf-8")
        # Only "\n" ends a record: str.splitlines() would also split inside a text at U+2028 etc.
        segments = [Segment.model_validate_json(line) for line in text.split("\n") if line.strip()]
        if found == 1:
            raw = _migrate_v1(raw, segments, seg_path)
        manifest = Manifest.model_validate(raw)
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"unreadable segments ({exc})", seg_path) from exc
    except ValidationError as exc:
        raise UserError(f"malformed test set ({exc.error_count()} errors)", folder) from exc
    if found == TESTSET_SCHEMA_VERSION and identity_fields(segments) != {
        "version": manifest.version,
        "segments_sha256": manifest.segments_sha256,
    }:
        raise UserError("segments do not match the manifest's version (edited by hand?)", seg_path)
    if manifest.version != folder.name:
        raise UserError(f"manifest version {manifest.version!r} does not match its folder name", folder)
    seen: set[str] = set()
    for segment in segments:  # ids name segments in reports, annotations and comparisons
        if segment.id in seen:
            raise UserError(f"segment id {segment.id!r} is used twice", seg_path)
        seen.add(segment.id)
    return TestSet(manifest=manifest, segments=segments)


def version_on_disk(root: Path, name: str, version: str) -> bool:
    return (root / check_name(name) / version / MANIFEST_FILE).is_file()


def latest_version(root: Path, name: str) -> str | None:
    latest = root / check_name(name) / LATEST_FILE
    try:
        return latest.read_text(encoding="utf-8").strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def list_testsets(root: Path) -> list[tuple[str, str]]:
    out = []
    if root.is_dir():
        for latest in sorted(root.glob(f"*/{LATEST_FILE}")):
            out.append((latest.parent.name, latest_version(root, latest.parent.name) or "(damaged LATEST)"))
    return out
