"""Re-segmentation: a system that translated whole paragraphs or documents is scored against
segment references by putting its output back onto the reference segments.

Two ways, both over one unit (a paragraph or a document) at a time:

* `resegment` (ours, the default): split the output into sentences and align them to the
  reference segments with the test-set aligner (`corpus.align`: embeddings, a monotone dynamic
  program with 1-n and n-1 beads, a confidence per bead). Each reference segment gets the
  sentences of its bead; where the system merged sentences (one output sentence for several
  references) or the aligner found no anchor (a run of unaligned sentences on both sides),
  the words are divided by edit distance inside that stretch only. Every output word lands in
  exactly one segment, in order, and each segment carries the confidence of its bead.
* `split_by_edit_distance` (the baseline, what mwerSegmenter does): one minimum-edit-distance
  alignment of the output's tokens to the concatenated reference tokens, and the reference
  segment boundaries projected through it (Matusov et al., 2005, without its search over
  per-segment WER). No model; it cannot tell a reordered or paraphrased sentence from noise.

`benchmarks/bench_resegment.py` measures both against the segment-level scores.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein
from sacrebleu.metrics import CHRF

from evalharness.corpus.align import AlignSettings, align_sentences
from evalharness.corpus.embed import Encoder
from evalharness.corpus.segment import split_sentences

_CHRF = CHRF()
_SENTENCE_END = re.compile(r"[.!?।॥。！？][\"'”’»)]*$")


@dataclass(frozen=True)
class Placed:
    """The output text that re-segmentation gave one reference segment."""

    text: str
    confidence: float  # the aligner's confidence in the bead this text came from (0: no anchor)


def _spaced(texts: Sequence[str]) -> bool:
    """Whitespace tokens for languages written with spaces, characters for the others."""
    joined = "".join(texts)
    return not joined or sum(c.isspace() for c in joined) / len(joined) > 0.04


def _tokens(text: str, spaced: bool) -> list[str]:
    return text.split() if spaced else [c for c in text if not c.isspace()]


def _join(tokens: Sequence[str], spaced: bool) -> str:
    return (" " if spaced else "").join(tokens)


def _normal(tokens: Sequence[str]) -> list[str]:
    """Tokens as edit distance compares them: case and punctuation do not decide a boundary."""
    return [re.sub(r"[^\w]", "", t.casefold()) or t for t in tokens]


def _boundary_positions(ref_lengths: Sequence[int], ref: list[str], hyp: list[str]) -> list[int]:
    """Where each reference boundary falls in `hyp` under a minimum-edit-distance alignment."""
    pos = [0] * (len(ref) + 1)
    inserted_at: dict[int, tuple[int, int]] = {}
    for op in Levenshtein.opcodes(_normal(ref), _normal(hyp)):
        i1, i2, j1, j2 = op.src_start, op.src_end, op.dest_start, op.dest_end
        if op.tag == "insert":
            inserted_at[i1] = (j1, j2)
            continue
        for b in range(i1 + 1, i2 + 1):
            pos[b] = j1 if op.tag == "delete" else j1 + round((b - i1) * (j2 - j1) / (i2 - i1))
    pos[len(ref)] = len(hyp)
    out, end = [], 0
    for length in ref_lengths[:-1]:
        end += length
        at = pos[end]
        if end in inserted_at:  # words the reference lacks, at the boundary: after a sentence end,
            j1, j2 = inserted_at[end]  # the boundary follows it; else they open the next segment
            ends = [j for j in range(j1, j2) if _SENTENCE_END.search(hyp[j])]
            at = ends[-1] + 1 if ends else j1
        out.append(max(at, out[-1] if out else 0))
    return out


def split_by_edit_distance(refs: Sequence[str], hypothesis: str) -> list[str]:
    """The baseline: `hypothesis` cut into len(refs) pieces at the reference boundaries as a
    minimum-edit-distance alignment of tokens places them."""
    if not refs:
        return []
    spaced = _spaced([*refs, hypothesis])
    ref_tokens = [_tokens(r, spaced) for r in refs]
    hyp = _tokens(hypothesis, spaced)
    flat = [t for toks in ref_tokens for t in toks]
    cuts = [0, *_boundary_positions([len(t) for t in ref_tokens], flat, hyp), len(hyp)]
    return [_join(hyp[a:b], spaced) for a, b in zip(cuts, cuts[1:], strict=False)]


def output_sentences(hypothesis: str, lang: str) -> list[str]:
    """The output's sentences: its lines (paragraphs), each split as the test set's text is."""
    return [s for line in hypothesis.splitlines() for s in split_sentences(line, lang)]


def resegment(
    refs: Sequence[str],
    hypothesis: str,
    lang: str,
    encoder: Encoder,
    settings: AlignSettings | None = None,
) -> list[Placed]:
    """`hypothesis` (one unit's output) placed on the unit's reference segments `refs`."""
    if not refs:
        return []
    sentences = output_sentences(hypothesis, lang)
    if not sentences:
        return [Placed("", 0.0) for _ in refs]
    beads = align_sentences(list(refs), sentences, encoder, settings)
    # A bead with one side empty (a reference with no output of its own, or output with no
    # reference) is not trusted: it joins the anchored beads beside it, and edit distance
    # divides that stretch. A sentence the system dropped then gets nothing, an added one
    # stays with its neighbour (dropping words would flatter the system), and a sentence
    # translated too badly for the aligner still lands where its words fit best.
    groups: list[tuple[list[int], list[int], float, bool]] = []  # refs, sentences, confidence, ends anchored
    for bead in beads:
        anchored = bool(bead.src and bead.tgt)
        if groups and not (anchored and groups[-1][3]):
            refs_, hyps_, conf, _ = groups.pop()
            bead_conf = bead.confidence if anchored else 1.0
            groups.append((refs_ + list(bead.src), hyps_ + list(bead.tgt), min(conf, bead_conf), anchored))
        else:
            groups.append((list(bead.src), list(bead.tgt), bead.confidence if anchored else 0.0, anchored))
    closeness = _Closeness(refs, sentences, encoder)
    groups = _refine_boundaries(groups, closeness)
    placed: list[Placed] = []
    for ref_ids, hyp_ids, confidence, _ in groups:
        text = " ".join(sentences[j] for j in hyp_ids)
        pieces = [text] if len(ref_ids) == 1 else split_by_edit_distance([refs[i] for i in ref_ids], text)
        placed += [Placed(piece, confidence if piece else 0.0) for piece in pieces]
    return _with_edit_distance_cuts(placed, refs, " ".join(sentences), closeness)


def _with_edit_distance_cuts(
    placed: list[Placed], refs: Sequence[str], text: str, closeness: _Closeness
) -> list[Placed]:
    """Each boundary where the aligner put it or where edit distance puts it, whichever makes
    the two pieces beside it read closer to their references (a Viterbi pass over the
    boundaries). The aligner moves whole sentences and knows meaning; edit distance cuts
    inside a sentence that runs across two references, where the aligner cannot."""
    spaced = _spaced([*refs, text])
    tokens = _tokens(text, spaced)
    ours = list(itertools.accumulate(len(_tokens(p.text, spaced)) for p in placed))
    if len(refs) < 2 or not tokens or ours[-1] != len(tokens):
        return placed
    ref_tokens = [_tokens(r, spaced) for r in refs]
    theirs = _boundary_positions([len(t) for t in ref_tokens], [t for ts in ref_tokens for t in ts], tokens)
    candidates = [sorted({a, b}) for a, b in zip(ours[:-1], theirs, strict=True)]

    def piece(i: int, start: int, end: int) -> float:
        return -math.inf if start > end else closeness.of_text(i, _join(tokens[start:end], spaced))

    best = [(piece(0, 0, c), [c]) for c in candidates[0]]
    for i in range(1, len(refs) - 1):
        best = [
            max(((score + piece(i, path[-1], c), [*path, c]) for score, path in best), key=lambda o: o[0])
            for c in candidates[i]
        ]
    _, cuts = max(((score + piece(len(refs) - 1, path[-1], len(tokens)), path) for score, path in best))
    bounds = [0, *cuts, len(tokens)]
    return [
        Placed(_join(tokens[a:b], spaced), p.confidence if b > a else 0.0)
        for p, a, b in zip(placed, bounds, bounds[1:], strict=False)
    ]


class _Closeness:
    """How well some output sentences read as one reference: the cosine of their embeddings
    plus their chrF (0..1), so that both meaning and shared words count."""

    def __init__(self, refs: Sequence[str], sentences: Sequence[str], encoder: Encoder) -> None:
        self.refs, self.sentences, self.encoder = refs, sentences, encoder

        self._memo: dict[tuple[int, str], float] = {}

    def __call__(self, ref: int, hyp_ids: Sequence[int]) -> float:
        return self.of_text(ref, " ".join(self.sentences[j] for j in hyp_ids))

    def of_text(self, ref: int, text: str) -> float:
        key = (ref, text)
        if key not in self._memo:
            if not text:
                self._memo[key] = 0.0
            else:
                u, v = self.encoder.encode([self.refs[ref], text])
                self._memo[key] = float(u @ v) + _CHRF.sentence_score(text, [self.refs[ref]]).score / 100
        return self._memo[key]


def _refine_boundaries(groups, closeness: _Closeness):
    """Move one output sentence across the boundary of two neighbouring single-reference beads
    when the pair then reads closer to its references. The alignment's search favours 1-1
    beads; a translator who ends a sentence one clause later (a quote split off, a clause
    moved to the next verse) leaves a short sentence on the wrong side."""
    groups = [list(g) for g in groups]
    for n in range(len(groups) - 1):
        left, right = groups[n], groups[n + 1]
        if len(left[0]) != 1 or len(right[0]) != 1 or not left[1] or not right[1]:
            continue
        a, b = left[0][0], right[0][0]
        options = [(left[1], right[1])]
        if len(left[1]) > 1:
            options.append((left[1][:-1], [left[1][-1], *right[1]]))
        if len(right[1]) > 1:
            options.append(([*left[1], right[1][0]], right[1][1:]))
        best = max(options, key=lambda o: closeness(a, o[0]) + closeness(b, o[1]))
        left[1], right[1] = list(best[0]), list(best[1])
    return [tuple(g) for g in groups]
