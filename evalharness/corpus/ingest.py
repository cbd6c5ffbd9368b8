"""Read a document as clean, numbered lines, refusing input we cannot trust."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from evalharness.errors import UserError, env_positive_int

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


# Inside a line, control characters (C0 and C1: tab, vertical tab, form feed, NEL U+0085,
# escape, ...) and the Unicode line and paragraph separators (U+2028, U+2029) become one
# space: other tools split lines on them, and terminals act on them.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def normalize_text(text: str) -> str:
    """NFC, no zero-width characters, control characters and line separators as a space, no
    stray outer whitespace. A segment is one line in every file we write."""
    return _CONTROL.sub(" ", _ZERO_WIDTH.sub("", unicodedata.normalize("NFC", text))).strip()


DEFAULT_MAX_LINE_BYTES = 1_000_000
DEFAULT_MAX_SEGMENTS = 100_000


def max_line_bytes() -> int:
    """The longest input line we read (EVALHARNESS_MAX_LINE_BYTES, default 1 MB): far above
    any sentence or paragraph, far below what makes matching and alignment blow up."""
    return env_positive_int("EVALHARNESS_MAX_LINE_BYTES", DEFAULT_MAX_LINE_BYTES)


def max_segments() -> int:
    """The most lines a document or an imported test set may have (EVALHARNESS_MAX_SEGMENTS,
    default 100,000): thirty times the largest standard test set, and about 0.5 GB of memory
    to import. A million-line file took 4 GB and a minute before it was refused."""
    return env_positive_int("EVALHARNESS_MAX_SEGMENTS", DEFAULT_MAX_SEGMENTS, "segments")


def read_input(path: Path, max_lines: int | None = None) -> bytes:
    """A text input's bytes, read line by line so that one enormous line is refused before it
    is held in memory (a 200 MB line once cost 8 GB downstream), and a file of more than
    `max_lines` lines before its text is built into segments."""
    path = Path(path)
    if not path.exists():
        raise UserError("no such file", path)
    if not path.is_file():
        raise UserError("not a regular file", path)
    cap = max_line_bytes()
    chunks = []
    try:
        with path.open("rb") as fh:
            for n, line in enumerate(iter(lambda: fh.readline(cap + 2), b""), start=1):
                if len(line.rstrip(b"\r\n")) > cap:
                    raise UserError(
                        f"line {n} is longer than {cap:,} bytes (EVALHARNESS_MAX_LINE_BYTES raises the limit)",
                        path,
                    )
                if max_lines is not None and n > max_lines:
                    raise UserError(
                        f"has more than {max_lines:,} lines, the most a test set holds "
                        "(EVALHARNESS_MAX_SEGMENTS raises the limit)",
                        path,
                    )
                chunks.append(line)
    except OSError as exc:
        raise UserError(f"cannot read ({exc.strerror or exc})", path) from exc
    return b"".join(chunks)


def read_text_input(path: Path) -> str:
    """read_input, then decode_utf8."""
    return decode_utf8(read_input(path), Path(path))


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
    data = read_input(path, max_segments())
    text = decode_utf8(data, path)
    lines = tuple(Line(i + 1, normalize_text(t)) for i, t in enumerate(split_lines(text)))
    if not any(ln.text for ln in lines):
        raise UserError("file has no text (only whitespace or invisible characters)", path)
    return Document(path=path, lines=lines, sha256=hashlib.sha256(data).hexdigest())
