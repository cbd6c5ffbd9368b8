"""chrF and chrF++ with sacrebleu's statistics, counted for a whole corpus at once.

sacrebleu builds a `Counter` of character n-grams for every order of every hypothesis and
reference and intersects them in Python; on news-length text that is ~0.45 ms a segment,
most of a comparison's time. Here every line is preprocessed exactly as sacrebleu does it
(lowercasing, whitespace removal, chrF++'s punctuation splitting) and counted corpus-wide
(`metrics.ngrams`). With several references the one with the best segment chrF wins, the
first on ties, as in sacrebleu. The statistics are identical to sacrebleu's (tested on
random and real text, chrF and chrF++, with and without lowercasing and whitespace)."""

from __future__ import annotations

import numpy as np
from sacrebleu.metrics import CHRF

from evalharness.metrics.ngrams import CorpusExtraction, char_symbols, clipped_counts, word_symbols


def stream_statistics(
    seq: np.ndarray, lengths: np.ndarray, alphabet: int, segments: int, systems: int, orders: int
) -> np.ndarray:
    """(systems, segments, 3 * orders) chrF statistics against one reference stream:
    hypothesis count (0 when the reference has no n-gram of that order, as sacrebleu counts
    it), reference count, clipped matches."""
    out = np.zeros((systems, segments, 3 * orders), dtype=np.int64)
    for k, c in enumerate(clipped_counts(seq, lengths, alphabet, segments, systems, orders)):
        out[:, :, 3 * k] = np.where(c.ref_total[0] > 0, c.hyp_total, 0)
        out[:, :, 3 * k + 1] = c.ref_total[0]
        out[:, :, 3 * k + 2] = c.match
    return out


class FastCHRF(CorpusExtraction, CHRF):
    """sacrebleu's chrF/chrF++ (same options, signature and scores), corpus-wide statistics."""

    def _char_lines(self, lines: list[str]) -> list[str]:
        return lines if self.whitespace else ["".join(line.split()) for line in lines]

    def _stream_statistics(self, systems: list[list[str]], refs: list[str]) -> np.ndarray:
        n, k = len(refs), len(systems)
        lines = [line for hyps in systems for line in hyps] + refs
        parts = [stream_statistics(*char_symbols(self._char_lines(lines)), n, k, self.char_order)]
        if self.word_order > 0:
            words = word_symbols([self._remove_punctuation(x) for x in lines])
            parts.append(stream_statistics(*words, n, k, self.word_order))
        return np.concatenate(parts, axis=2)

    def extract_systems(self, systems: list[list[str]], references: list[list[str]]) -> list[list]:
        """Statistics of several systems against the same references, which are counted once."""
        self.num_refs = len(references)  # what sacrebleu's reference cache records for the signature
        hyps = [[self._preprocess_segment(h) for h in hyps] for hyps in systems]
        streams = [
            self._stream_statistics(hyps, [self._preprocess_segment(r) for r in s]) for s in references
        ]
        best = streams[0]
        if len(streams) > 1:
            from evalharness.metrics.vectorised import chrf_scores

            width = best.shape[2]
            f_scores = np.stack([chrf_scores(self, s.reshape(-1, width).astype(np.float64)) for s in streams])
            choice = np.argmax(f_scores, axis=0)  # first best reference on ties, as sacrebleu
            flat = np.stack([s.reshape(-1, width) for s in streams])
            best = flat[choice, np.arange(flat.shape[1])].reshape(best.shape)
        return [b.tolist() for b in best]
