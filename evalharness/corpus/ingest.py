"""Read a document as clean, numbered lines, refusing input we cannot trust."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from evalharness.errors import UserError

# Zero-width and BOM characters: invisible, but they break matching and hashing.
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")


@dataclass(frozen=True)
class Line:
    number: int  # 1-based line number in the original file: provenance
    text: str


@dataclass(frozen=True)
class Document:
    path: Path
    lines: tuple[Line, ...]
    sha256: str

    @property
    def name(self) -> str:
        return self.path.name

    def nonblank(self) -> list[Line]:
        return [ln for ln in self.lines if ln.text.strip()]


def normalize_text(text: str) -> str:
    """NFC, no zero-width characters, no stray outer whitespace."""
    return _ZERO_WIDTH.sub("", unicodedata.normalize("NFC", text)).strip()


def decode_utf8(data: bytes, path: Path) -> str:
    if not data.strip():
        raise UserError("file is empty", path)
    if b"\x00" in data:
        raise UserError("looks binary (contains NUL bytes), expected UTF-8 text", path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad = data[exc.start : exc.start + 1].hex()
        raise UserError(f"not valid UTF-8 (byte 0x{bad} at offset {exc.start})", path) from exc
    if not text.strip():
        raise UserError("file is empty", path)
    return text


def split_lines(text: str) -> list[str]:
    """LF, CRLF or CR line ends (not str.splitlines, which also splits on U+2028 and
    friends); a final line end does not start another line."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def read_document(path: str | Path) -> Document:
    path = Path(path)
    if not path.exists():
        raise UserError("no such file", path)
    if not path.is_file():
        raise UserError("not a regular file", path)
    data = path.read_bytes()
    text = decode_utf8(data, path)
    lines = tuple(Line(i + 1, normalize_text(t)) for i, t in enumerate(split_lines(text)))
    if not any(ln.text for ln in lines):
        raise UserError("file has no text (only whitespace or invisible characters)", path)
    return Document(path=path, lines=lines, sha256=hashlib.sha256(data).hexdigest())
