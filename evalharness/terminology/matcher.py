"""Find glossary terms in text: normalised, word by word, inflection-aware, with near-misses.

Each term becomes a sequence of normalised words. A text is split into words once; an
index from the first letters of every term word proposes candidate positions, which are
then checked word by word. The weakest word decides (rapidfuzz Indel similarity): 100
(the word or a known inflection of it) the same word, 75-100 a typo, lower a different
word. (A looser ">= 90 is the same word" would wave through a one-letter typo in a long
Swedish compound.) A whole-string fuzzy score would accept
"Skickad massmobilisering" for "Skicklig massmobilisering"; word by word it does not.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass

from rapidfuzz.distance import Indel

from evalharness.terminology.glossary import Glossary, Term

WORD = re.compile(r"[\w\u0300-\u036f\u0900-\u0dff]+(?:['’][\w\u0300-\u036f\u0900-\u0dff]+)*")
_TABLE = str.maketrans(
    {
        "\u093c": None,  # Devanagari nukta
        "\u0901": "\u0902",  # chandrabindu -> anusvara
        "\u200b": None,
        "\u200c": None,
        "\u200d": None,
        "\u2060": None,
        "\ufeff": None,
        "’": "'",
    }
)
SAME, TYPO = 100.0, 75.0
PREFIX = 4  # index key: the first letters of a word (inflection only adds endings)

# Endings that keep a word the same term (definite, plural, genitive); Swedish compounds too.
SUFFIXES = {
    # fmt: off
    "sv": (
        "",
        "n",
        "en",
        "et",
        "t",
        "na",
        "s",
        "ns",
        "ens",
        "ets",
        "nas",
        "ts",
        "ar",
        "er",
        "or",
        "arna",
        "erna",
        "orna",
        "arnas",
        "ernas",
        "ornas",
        "a",
        "e",
        "are",
        "ast",
        "aste",
    ),
    # fmt: on
    "en": ("", "s", "es", "'s", "s'"),
    "hi": ("", "ों", "ें", "ीय", "ी", "े", "ा", "ो"),
    "de": ("", "s", "es", "n", "en", "e", "er"),
}
COMPOUND_LANGS = ("sv", "de", "nl", "da", "no")


def normalize_word(word: str) -> str:
    return unicodedata.normalize("NFC", word).translate(_TABLE).casefold()


def words_of(text: str) -> list[tuple[str, int, int]]:
    """(normalised word, start, end) for each word; hyphens and spaces both separate words."""
    text = unicodedata.normalize("NFC", text)
    return [(normalize_word(m.group()), m.start(), m.end()) for m in WORD.finditer(text)]


def word_score(token: str, word: str, lang: str) -> float:
    """100 when `token` is `word` or an inflected form of it; otherwise a similarity."""
    if token == word:
        return 100.0
    if token.startswith(word):
        rest = token[len(word) :]
        if rest in SUFFIXES.get(lang, ("", "s")):
            return 100.0
        if lang in COMPOUND_LANGS and len(rest) >= 3:  # massmobilisering|s|arbete
            return 100.0
    return Indel.normalized_similarity(token, word) * 100.0


@dataclass(frozen=True)
class Occurrence:
    term: Term
    kind: str  # "exact", "misspelled" or "variant" (all words but one match, that one differs)
    first: int  # word index span [first, last)
    last: int
    start: int  # character span in the text
    end: int
    found: str

    @property
    def concept(self) -> str:
        return self.term.concept


@dataclass(frozen=True)
class _Compiled:
    term: Term
    words: tuple[str, ...]


class TermIndex:
    """All terms of a glossary, indexed for fast lookup."""

    def __init__(self, glossary: Glossary) -> None:
        self.glossary = glossary
        self.terms: list[_Compiled] = []
        self.index: dict[str, list[tuple[int, int]]] = defaultdict(list)  # key -> (term no, word position)
        for term in glossary.terms:
            words = tuple(w for w, _, _ in words_of(term.text))
            if not words:
                continue
            n = len(self.terms)
            self.terms.append(_Compiled(term, words))
            for pos, word in enumerate(words):
                self.index[word[:PREFIX]].append((n, pos))

    def find(
        self, text: str, langs: set[str] | None = None, fuzzy_langs: set[str] | None = None
    ) -> list[Occurrence]:
        """Longest non-overlapping occurrences of terms (of `langs`, default all) in `text`.
        Near-misses are looked for only among terms of `fuzzy_langs` (the text's language)."""
        words = words_of(text)
        seen: set[tuple[int, int]] = set()
        found: list[Occurrence] = []
        for i, (token, _, _) in enumerate(words):
            for n, pos in self.index.get(token[:PREFIX], ()):
                start = i - pos
                if (n, start) in seen or start < 0:
                    continue
                seen.add((n, start))
                compiled = self.terms[n]
                term = compiled.term
                if langs is not None and term.lang not in langs:
                    continue
                if start + len(compiled.words) > len(words):
                    continue
                occ = self._verify(
                    text, words, compiled, start, fuzzy=fuzzy_langs is not None and term.lang in fuzzy_langs
                )
                if occ is not None:
                    found.append(occ)
        return _longest_non_overlapping(found)

    @staticmethod
    def _verify(text: str, words, compiled: _Compiled, start: int, fuzzy: bool) -> Occurrence | None:
        lang = compiled.term.lang
        scores = [word_score(words[start + k][0], w, lang) for k, w in enumerate(compiled.words)]
        weakest = min(scores)
        if weakest >= SAME:
            kind = "exact"
        elif not fuzzy:
            return None
        elif weakest >= TYPO:
            kind = "misspelled"
        elif len(scores) >= 3 and sum(s < SAME for s in scores) == 1:
            kind = "variant"
        else:
            return None
        last = start + len(compiled.words)
        s, e = words[start][1], words[last - 1][2]
        return Occurrence(compiled.term, kind, start, last, s, e, unicodedata.normalize("NFC", text)[s:e])


_KIND_RANK = {"exact": 0, "misspelled": 1, "variant": 2}


def _longest_non_overlapping(found: list[Occurrence]) -> list[Occurrence]:
    """Nested or overlapping matches count once: longest first, then the better kind."""
    chosen: list[Occurrence] = []
    taken: set[int] = set()
    for occ in sorted(found, key=lambda o: (-(o.last - o.first), _KIND_RANK[o.kind], o.first)):
        span = set(range(occ.first, occ.last))
        if span & taken:
            continue
        taken |= span
        chosen.append(occ)
    return sorted(chosen, key=lambda o: o.first)
