"""`evalharness align`: two files in, beads out. Presegmented input aligns lines as units;
otherwise each line is split into sentences first."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from evalharness.corpus.align import AlignSettings, Bead, align_sentences
from evalharness.corpus.embed import Encoder, default_encoder
from evalharness.corpus.ingest import read_document
from evalharness.corpus.segment import split_sentences


def _units(path: Path, lang: str, presegmented: bool) -> tuple[list[str], list[int], int]:
    """(unit texts, line index of each unit, number of input lines); blank lines hold no unit."""
    doc = read_document(path)
    texts, owners = [], []
    for idx, line in enumerate(doc.lines):
        parts = [line.text] if presegmented else split_sentences(line.text, lang)
        for part in parts:
            if part:
                texts.append(part)
                owners.append(idx)
    return texts, owners, len(doc.lines)


def _with_blank_lines(
    beads: list[Bead], n_src: int, n_tgt: int, src_used: set[int], tgt_used: set[int]
) -> Iterator[tuple[list[int], list[int], float]]:
    """Cover blank lines too: one inside a bead's span joins that bead; any other becomes a
    1-0 / 0-1 bead in its place, so the output covers every line once, in order."""
    src_blank = sorted(set(range(n_src)) - src_used)
    tgt_blank = sorted(set(range(n_tgt)) - tgt_used)
    for bead in beads:
        src, tgt = list(bead.src), list(bead.tgt)
        while src and src_blank and src_blank[0] < src[0]:
            yield [src_blank.pop(0)], [], 0.0
        while tgt and tgt_blank and tgt_blank[0] < tgt[0]:
            yield [], [tgt_blank.pop(0)], 0.0
        while src and src_blank and src_blank[0] < src[-1]:
            src.append(src_blank.pop(0))
        while tgt and tgt_blank and tgt_blank[0] < tgt[-1]:
            tgt.append(tgt_blank.pop(0))
        yield sorted(src), sorted(tgt), bead.confidence
    for i in src_blank:
        yield [i], [], 0.0
    for j in tgt_blank:
        yield [], [j], 0.0


def align_files(
    src: Path,
    tgt: Path,
    src_lang: str,
    tgt_lang: str,
    presegmented: bool,
    encoder: Encoder | None = None,
    settings: AlignSettings | None = None,
) -> list[dict]:
    s_text, s_owner, s_lines = _units(src, src_lang, presegmented)
    t_text, t_owner, t_lines = _units(tgt, tgt_lang, presegmented)
    beads = align_sentences(s_text, t_text, encoder or default_encoder(), settings)
    if presegmented:
        line_beads = [
            Bead(tuple(s_owner[i] for i in b.src), tuple(t_owner[j] for j in b.tgt), b.confidence)
            for b in beads
        ]
        return [
            {"src": a, "tgt": b, "score": c}
            for a, b, c in _with_blank_lines(line_beads, s_lines, t_lines, set(s_owner), set(t_owner))
        ]
    return [
        {
            "src": " ".join(s_text[i] for i in b.src),
            "tgt": " ".join(t_text[j] for j in b.tgt),
            "score": b.confidence,
            "src_lines": sorted({s_owner[i] for i in b.src}),
            "tgt_lines": sorted({t_owner[j] for j in b.tgt}),
        }
        for b in beads
    ]
