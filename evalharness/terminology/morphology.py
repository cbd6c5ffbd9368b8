"""What a word is, per language: its lemma, and whether the language knows it as a word.

Lemmas come from `simplemma` (its dictionaries ship inside the package: sv, hi, pl, de and
about 50 more languages), read through an on-disk index (`lexicon`: decoding a dictionary
anew took seconds per command). A hypothesis word matches a term word when their normalised forms
are equal or their lemmas are ("karcynogenezy" is "karcynogeneza"; "nowotworu złośliwego" is
"nowotwór złośliwy"). A word the lexicon knows is a real word, so it is never taken for a
misspelling of a different term ("komórki" is not a typo of "komórkowy").

Languages simplemma does not cover fall back to exact matching of normalised forms, with
no inflection and no misspelling detection; `fallback_reason` says why, and the run reports
it once. Scripts without spaces are matched as substrings. Compounding languages also accept
a compound that starts with the term word ("massmobiliseringsarbete" holds
"massmobilisering"), and a term's first word ending a compound after a word of the
language ("skogsgrävsvin" holds "grävsvin")."""

from __future__ import annotations

import unicodedata
from functools import cache, lru_cache

from evalharness.terminology import lexicon as _lexicon
from evalharness.terminology.normalize import NOSPACE_LANGS, normalize

COMPOUND_LANGS = frozenset({"sv", "de", "nl", "da", "no", "nb", "nn", "is", "fi", "et", "af", "lb"})
MIN_COMPOUND_REST = 3  # letters after the term word for a compound (massmobilisering|sarbete)
MIN_HEAD, MIN_TAIL = 3, 5  # letters before a term word that ends a compound (vild|grävsvin), and its own
STEM = 3  # letters a word shares with its lemma (diacritics aside), for the cheap pre-test


@lru_cache(maxsize=1 << 17)
def stem(word: str) -> str:
    """The first letters of a word without combining marks (ä -> a; Devanagari vowel signs)."""
    bare = "".join(
        c
        for c in unicodedata.normalize("NFD", word)
        if not unicodedata.combining(c)
        and c not in "\u093e\u093f\u0940\u0941\u0942\u0943\u0947\u0948\u094b\u094c\u0902\u0903"
    )
    return bare[:STEM]


@cache
def lemma_languages() -> frozenset[str]:
    from simplemma.strategies.dictionaries.dictionary_factory import SUPPORTED_LANGUAGES

    return frozenset(SUPPORTED_LANGUAGES)


def fallback_reason(lang: str) -> str | None:
    """None when `lang` gets lemma matching; otherwise how it is matched, and why."""
    if lang in NOSPACE_LANGS:
        return f"{lang}: written without spaces, so terms are found as substrings of the normalised text (no lemmas)"
    if lang not in lemma_languages():
        return f"{lang}: simplemma has no lexicon for it, so terms match exactly (after normalisation), without inflections or misspellings"
    return None


class Morphology:
    """Memoised lemmas and lexicon checks for one language (one instance per run)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.supported = fallback_reason(lang) is None
        self._lemma: dict[str, str] = {}
        self._known: dict[str, bool] = {}
        self._stems: set[str] = set()
        self._folds: dict[str, str] | None = None
        self._word_forms: dict[str, frozenset[str]] = {}
        self._forms: dict[str, frozenset[str]] = {}

    def lemma(self, word: str) -> str:
        """The normalised lemma of a normalised word (the word itself when unsupported): the
        lexicon's lemma, else simplemma's greedy analysis (compounds, unknown inflections)."""
        if not self.supported:
            return word
        hit = self._lemma.get(word)
        if hit is None:
            folded = self._folded().get(word)
            if folded is not None:
                hit = folded
            else:
                hit = normalize(_lexicon.lemmatize(word, self.lang))
            self._lemma[word] = hit
        return hit

    def _folded(self) -> dict[str, str]:
        """normalised form -> normalised lemma, for lexicon forms that our normalisation changes
        (a Hindi form with chandrabindu, nukta or a half nasal, Cyrillic yo, Arabic yeh): a
        normalised word must still be found in the lexicon. Kept in the lexicon index."""
        if self._folds is None:
            self._folds = _lexicon.lexicon(self.lang).folded if self.lang in _lexicon.FOLDING_LANGS else {}
        return self._folds

    def watch(self, lemmas: set[str]) -> None:
        """The term lemmas this language's words are compared with (for `may_match`)."""
        self._stems = {stem(lemma) for lemma in lemmas}

    def may_match(self, word: str) -> bool:
        """Cheap test before `lemma`: inflection and compounding keep a word's first letters
        (up to diacritics: Häuser/Haus), so a word that starts like no term lemma cannot
        share a lemma with a term word, and its lemma is not worth computing. (Forms that do
        not keep them, wyżej/wysoko, are found through `forms_of_word`.)"""
        return stem(word) in self._stems

    def known(self, word: str) -> bool:
        """Is this a word of the language (in the lexicon, as an inflected form or a lemma)?"""
        if not self.supported:
            return False
        hit = self._known.get(word)
        if hit is None:
            hit = self._known[word] = (
                _lexicon.is_known(word, self.lang)
                or word in self._folded()
                or _lexicon.lexicon(self.lang).is_lemma(word)
            )
        return hit

    def forms_of(self, lemmas: set[str]) -> dict[str, set[str]]:
        """lemma -> the inflected forms the lexicon lists for it (normalised), for `lemmas`:
        a misspelt inflected form ("dedicerngarna") is a typo of "dediceringarna", not of the
        lemma. Memoised per lemma."""
        if not self.supported or not lemmas:
            return {}
        lexicon = _lexicon.lexicon(self.lang)
        out = {}
        for lemma in lemmas:
            forms = self._forms.get(lemma)
            if forms is None:
                forms = self._forms[lemma] = frozenset({lemma, *map(normalize, lexicon.forms_of(lemma))})
            out[lemma] = set(forms)
        return out

    def forms_of_word(self, word: str) -> frozenset[str]:
        """The forms the lexicon lists for a term word and for its lemma (normalised): also
        those that do not start like it (wyżej/wysoko) and those whose lexicon lemma is the
        word while the lemmatiser goes a step further (strzelającej -> strzelająca, while
        strzelająca -> strzelający -> strzelać)."""
        hit = self._word_forms.get(word)
        if hit is None:
            hit = frozenset({word})
            if self.supported:
                hit = hit.union(*self.forms_of({word, self.lemma(word)}).values())
            self._word_forms[word] = hit
        return hit

    def same_word(self, token: str, word: str) -> bool:
        """`token` is `word`, an inflected form of it, or (compounding languages) a compound
        that starts with it."""
        if token == word:
            return True
        if self.supported and (
            token in self.forms_of_word(word) or self.lemma(token) in (word, self.lemma(word))
        ):
            return True  # a term is usually written as its lemma, whatever the lexicon calls that
        return self.compound(token, word)

    def compound_tail(self, token: str, word: str) -> bool:
        """`token` is a compound whose last part is a form of `word` (vild|grävsvin,
        skol|flickorna): in a compounding language with a lexicon, a word of at least
        MIN_TAIL letters after a first part of at least MIN_HEAD that is itself a word of the
        language (with or without a linking s), so that a word that merely ends like the
        term ("förslag" and "slag") is not taken for it."""
        if self.lang not in COMPOUND_LANGS or not self.supported or len(word) < MIN_TAIL:
            return False
        for k in range(MIN_HEAD, len(token) - MIN_TAIL + 1):
            tail = token[k:]
            if tail[:STEM] != word[:STEM]:
                continue
            first = token[:k]
            if not (
                self.known(first) or (first[-1] == "s" and len(first) > MIN_HEAD and self.known(first[:-1]))
            ):
                continue
            if tail in self.forms_of_word(word) or self.lemma(tail) in (word, self.lemma(word)):
                return True
        return False

    def compound(self, token: str, word: str) -> bool:
        """`token` is a compound whose first part is `word` (massmobilisering|s|arbete): in a
        compounding language, the rest (after a linking s) is itself a word of the language,
        so a typo after the term ("knätofsarnals") is not taken for a compound."""
        if self.lang not in COMPOUND_LANGS or len(word) < 4 or not token.startswith(word):
            return False
        rest = token[len(word) :]
        if len(rest) < MIN_COMPOUND_REST:
            return False
        if not self.supported:
            return True
        return self.known(rest) or (rest[0] in "s" and len(rest) > MIN_COMPOUND_REST and self.known(rest[1:]))
