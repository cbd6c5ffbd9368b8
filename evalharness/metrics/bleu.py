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

from evalharness.metrics.ngrams import clipped_counts, word_symbols

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


class FastBLEU(BLEU):
    """sacrebleu's BLEU (same options, signature and scores), corpus-wide statistics."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if type(self.tokenizer) is Tokenizer13a and Fast13a.applies():
            self.tokenizer = Fast13a()

    def _extract_corpus_statistics(self, hypotheses, references):
        if not references or any(r is None for stream in references for r in stream):
            return super()._extract_corpus_statistics(
                hypotheses, references
            )  # reference cache / missing refs
        n, order = len(hypotheses), self.max_ngram_order
        self.num_refs = len(references)  # what sacrebleu's reference cache records for the signature
        if not self._force and sum(h.endswith(" .") for h in hypotheses) >= 100:
            logging.getLogger("sacrebleu").warning("That's 100 lines that end in a tokenized period ('.')")
        lines = [
            self._preprocess_segment(x).split() for x in [*hypotheses, *(r for s in references for r in s)]
        ]
        seq, lengths, vocab = word_symbols(lines)
        counts = clipped_counts(seq, lengths, vocab, n, order)
        hyp_len = lengths[:n]
        ref_lens = lengths[n:].reshape(len(references), n)
        distance = np.abs(ref_lens - hyp_len)
        closest = np.where(distance == distance.min(axis=0), ref_lens, np.iinfo(np.int64).max).min(axis=0)
        stats = np.zeros((n, 2 + 2 * order), dtype=np.int64)
        stats[:, 0] = hyp_len
        stats[:, 1] = closest  # the closest reference length, the shorter of equally close ones
        for k, c in enumerate(counts):
            stats[:, 2 + k] = c.match
            stats[:, 2 + order + k] = c.hyp_total
        return stats.tolist()
