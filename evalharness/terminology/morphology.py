"""What a word is, per language: its lemma, and whether the language knows it as a word.

Lemmas come from `simplemma` (its dictionaries ship inside the package: sv, hi, pl, de and
about 50 more languages). A hypothesis word matches a term word when their normalised forms
are equal or their lemmas are ("karcynogenezy" is "karcynogeneza"; "nowotworu złośliwego" is
"nowotwór złośliwy"). A word the lexicon knows is a real word, so it is never taken for a
misspelling of a different term ("komórki" is not a typo of "komórkowy").

Languages simplemma does not cover fall back to exact matching of normalised forms, with
no inflection and no misspelling detection; `fallback_reason` says why, and the run reports
it once. Scripts without spaces are matched as substrings. Compounding languages also accept
a compound that starts with the term word ("massmobiliseringsarbete" holds
"massmobilisering")."""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache

from evalharness.terminology.normalize import NOSPACE_LANGS, normalize

# Languages whose lexicon spellings our normalisation folds (see normalize._TABLE).
FOLDING_LANGS = frozenset({"hi", "mr", "ne", "ar", "fa", "ur", "ru", "uk", "bg", "be", "mk"})
FOLDED_CHARS = re.compile("[\u093c\u0901\u0958-\u095fيىكёЁ]")
COMPOUND_LANGS = frozenset({"sv", "de", "nl", "da", "no", "nb", "nn", "is", "fi", "et", "af", "lb"})
MIN_COMPOUND_REST = 3  # letters after the term word for a compound (massmobilisering|sarbete)
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


def lexicon(lang: str):
    """simplemma's lexicon for `lang` (form -> lemma), from the factory simplemma itself uses,
    so it is loaded once per process."""
    from simplemma.strategies import DEFAULT_DICTIONARY_FACTORY

    return DEFAULT_DICTIONARY_FACTORY.get_dictionary(lang)


@cache
def forms_by_head(lang: str) -> dict[str, list[str]]:
    """The lexicon's forms grouped by their normalised first letters: built with one scan per
    language and process, so finding a glossary's inflected forms costs only the groups of
    its lemmas (a glossary per command, or hundreds in the fuzz suite)."""
    groups: dict[str, list[str]] = {}
    heads: dict[str, str] = {}
    for form in lexicon(lang):
        raw = form[:STEM]
        head = heads.get(raw)
        if head is None:
            head = heads[raw] = normalize(raw)
        groups.setdefault(head, []).append(form)
    return groups


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

    def lemma(self, word: str) -> str:
        """The normalised lemma of a normalised word (the word itself when unsupported): the
        lexicon's lemma, else simplemma's greedy analysis (compounds, unknown inflections)."""
        if not self.supported:
            return word
        hit = self._lemma.get(word)
        if hit is None:
            import simplemma

            folded = self._folded().get(word)
            if folded is not None:
                hit = folded
            else:
                hit = normalize(simplemma.lemmatize(word, lang=self.lang, greedy=True))
            self._lemma[word] = hit
        return hit

    def _folded(self) -> dict[str, str]:
        """normalised form -> normalised lemma, for lexicon forms that our normalisation changes
        (a Hindi form with chandrabindu or nukta, Cyrillic yo, Arabic yeh): a normalised word
        must still be found in the lexicon. Built once, only for scripts that fold."""
        if self._folds is None:
            self._folds = {}
            if self.lang in FOLDING_LANGS:
                forms = lexicon(self.lang)
                for form in forms:
                    if FOLDED_CHARS.search(form):
                        self._folds[normalize(form)] = normalize(forms[form])
        return self._folds

    def watch(self, lemmas: set[str]) -> None:
        """The term lemmas this language's words are compared with (for `may_match`)."""
        self._stems = {stem(lemma) for lemma in lemmas}

    def may_match(self, word: str) -> bool:
        """Cheap test before `lemma`: inflection and compounding keep a word's first letters
        (up to diacritics: Häuser/Haus), so a word that starts like no term lemma cannot
        share a lemma with a term word, and its lemma is not worth computing."""
        return stem(word) in self._stems

    def known(self, word: str) -> bool:
        """Is this a word of the language (in the lexicon, as itself or as an inflected form)?"""
        if not self.supported:
            return False
        hit = self._known.get(word)
        if hit is None:
            import simplemma

            hit = self._known[word] = simplemma.is_known(word, lang=self.lang) or word in self._folded()
        return hit

    def forms_of(self, lemmas: set[str]) -> dict[str, set[str]]:
        """lemma -> the inflected forms the lexicon lists for it (normalised), for `lemmas`:
        a misspelt inflected form ("dedicerngarna") is a typo of "dediceringarna", not of the
        lemma. Only the lexicon forms that start like a lemma are looked at."""
        if not self.supported or not lemmas:
            return {}
        forms = lexicon(self.lang)
        groups = forms_by_head(self.lang)
        out: dict[str, set[str]] = {lemma: {lemma} for lemma in lemmas}
        for head in {lemma[:STEM] for lemma in lemmas}:
            for form in groups.get(head, ()):
                lemma = normalize(forms[form])
                if lemma in out:
                    out[lemma].add(normalize(form))
        return out

    def same_word(self, token: str, word: str) -> bool:
        """`token` is `word`, an inflected form of it, or (compounding languages) a compound
        that starts with it."""
        if token == word:
            return True
        if self.supported and self.lemma(token) in (word, self.lemma(word)):
            return True  # a term is usually written as its lemma, whatever the lexicon calls that
        return self.compound(token, word)

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
