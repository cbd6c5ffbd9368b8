"""Misspellings anywhere in a word: a SymSpell-style deletion index over the glossary's words.

Two words within k edits share a string obtained by deleting at most k characters from each
(a transposition "is"/"si" included: delete the "i" on both sides), so every term word is
filed under its deletions, and a hypothesis word finds its candidates by looking up its own.
Candidates are confirmed with the optimal-string-alignment distance (substitution,
insertion, deletion, adjacent transposition), against a threshold scaled by the term word's
length: no typos in words under 4 letters, 1 edit up to 7 letters, 2 from 8. Lookups are
memoised per distinct hypothesis word, so a run pays once per word of its vocabulary."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from rapidfuzz.distance import OSA

MAX_EDITS = 2


def allowed_edits(length: int) -> int:
    if length < 4:
        return 0
    return 1 if length < 8 else 2


def osa_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance, or limit + 1 when it is larger."""
    return OSA.distance(a, b, score_cutoff=limit)


def deletions(word: str, depth: int) -> set[str]:
    """`word` and every string made by deleting up to `depth` of its characters."""
    out = {word}
    frontier = {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))}
        out |= frontier
    return out


class DeletionIndex:
    def __init__(self, words: Iterable[str]) -> None:
        self.index: dict[str, set[str]] = defaultdict(set)
        words = set(words)
        # A token longer than every indexed word by more than MAX_EDITS is near none of them;
        # skipping it keeps a pathological token (a 3 MB "word") from costing length² work.
        self.longest = max((len(w) for w in words), default=0)
        for word in words:
            for variant in deletions(word, allowed_edits(len(word))):
                self.index[variant].add(word)
        self._memo: dict[str, tuple[tuple[str, int], ...]] = {}

    def near(self, token: str) -> tuple[tuple[str, int], ...]:
        """Indexed words within their allowed edits of `token` (not `token` itself)."""
        hit = self._memo.get(token)
        if hit is not None:
            return hit
        found: set[str] = set()
        if 3 <= len(token) <= self.longest + MAX_EDITS:
            for variant in deletions(token, min(MAX_EDITS, allowed_edits(len(token) + MAX_EDITS))):
                found |= self.index.get(variant, set())
        out = []
        for word in sorted(found - {token}):
            limit = allowed_edits(len(word))
            distance = osa_distance(token, word, limit)
            if 0 < distance <= limit:
                out.append((word, distance))
        hit = self._memo[token] = tuple(out)
        return hit
