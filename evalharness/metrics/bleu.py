"""BLEU with sacrebleu's statistics, counted for a whole corpus at once.

sacrebleu tokenises each line, builds a `Counter` of its word n-grams and clips them against
the references' in Python. Here lines are tokenised exactly as sacrebleu does (its own
tokenizers; for `13a` the first rule, spaces around every ASCII symbol, is a `str.translate`
table built from sacrebleu's own regular expression instead of per-match template expansion)
and n-grams are counted corpus-wide (`metrics.ngrams`): hypothesis n-grams, matches clipped
by the largest count in any one reference, the hypothesis length and the closest reference
length (the shorter of equally close ones). Statistics and signatures are identical (tested)."""

from __future__ import annotations

import logging
from functools import lru_cache

import numpy as np
from sacrebleu.metrics import BLEU
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

from evalharness.metrics.ngrams import CorpusExtraction, clipped_counts, word_symbols

# sacrebleu's first 13a rule: one ASCII character class, each match replaced by " \1 ".
FIRST_RULE = (r"([\{-\~\[-\` -\&\(-\+\:-\@\/])", r" \1 ")


class Fast13a(Tokenizer13a):
    """sacrebleu's 13a tokenizer (same signature, same output)."""

    def __init__(self) -> None:
        super().__init__()
        rules = self._post_tokenizer._re
        first = rules[0][0]
        self._spaced = str.maketrans({chr(c): f" {chr(c)} " for c in range(128) if first.fullmatch(chr(c))})
        self._rest = rules[1:]

    @staticmethod
    def applies() -> bool:
        """Only while sacrebleu's first rule is the one this replaces (an ASCII class)."""
        first, template = Tokenizer13a()._post_tokenizer._re[0]
        return (first.pattern, template) == FIRST_RULE

    @lru_cache(maxsize=2**16)  # noqa: B019  (as sacrebleu's; one tokenizer lives as long as its metric)
    def __call__(self, line: str) -> str:
        line = line.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
        if "&" in line:
            line = line.replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
        line = f" {line} ".translate(self._spaced)
        for regex, template in self._rest:
            line = regex.sub(template, line)
        return " ".join(line.split())


class FastBLEU(CorpusExtraction, BLEU):
    """sacrebleu's BLEU (same options, signature and scores), corpus-wide statistics."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if type(self.tokenizer) is Tokenizer13a and Fast13a.applies():
            self.tokenizer = Fast13a()

    def extract_systems(self, systems: list[list[str]], references: list[list[str]]) -> list[list]:
        """Statistics of several systems against the same references, which are counted once."""
        n, order, k = len(references[0]), self.max_ngram_order, len(systems)
        self.num_refs = len(references)  # what sacrebleu's reference cache records for the signature
        for hyps in systems:
            if not self._force and sum(h.endswith(" .") for h in hyps) >= 100:
                logging.getLogger("sacrebleu").warning(
                    "That's 100 lines that end in a tokenized period ('.')"
                )
        lines = [h for hyps in systems for h in hyps] + [r for stream in references for r in stream]
        seq, lengths, vocab = word_symbols([self._preprocess_segment(x).split() for x in lines])
        counts = clipped_counts(seq, lengths, vocab, n, k, order)
        hyp_len = lengths[: n * k].reshape(k, 1, n)
        ref_lens = lengths[n * k :].reshape(1, len(references), n)
        distance = np.abs(ref_lens - hyp_len)  # (systems, streams, segments)
        nearest = distance == distance.min(axis=1, keepdims=True)
        closest = np.where(nearest, ref_lens, np.iinfo(np.int64).max).min(axis=1)  # the shorter on ties
        stats = np.zeros((k, n, 2 + 2 * order), dtype=np.int64)
        stats[:, :, 0] = hyp_len[:, 0, :]
        stats[:, :, 1] = closest
        for j, c in enumerate(counts):
            stats[:, :, 2 + j] = c.match
            stats[:, :, 2 + order + j] = c.hyp_total
        return [s.tolist() for s in stats]
