"""Find glossary terms in text, in any language: word by word with lemmas and misspellings
for spaced scripts, by substring for scripts without spaces.

Each term becomes a sequence of normalised words (`normalize`). A text is split into words
once. Candidate positions come from indexes over every term word: its surface form, its
lemma (`morphology`), its first letters (compounds), and its deletions (misspellings, only
in the text's own language). A candidate is then checked word by word, and the weakest word
decides: every word the same (equal, an inflected form, or a compound starting with it) is
an exact match; a word within its allowed edits that is not a real word of the language is
a typo; anything else is a different word. A whole-string fuzzy score would accept
"Skickad massmobilisering" for "Skicklig massmobilisering"; word by word it does not.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from dataclasses import dataclass

from evalharness.terminology.glossary import Glossary, Term
from evalharness.terminology.morphology import COMPOUND_LANGS, Morphology, fallback_reason
from evalharness.terminology.normalize import NOSPACE_CHAR, NOSPACE_LANGS, normalize, nospace_text, words_of
from evalharness.terminology.spelling import DeletionIndex, allowed_edits, osa_distance

SAME, TYPO, DIFFERENT = 100.0, 80.0, 0.0
PREFIX = 4  # compound index key: the first letters of a term word


@dataclass(frozen=True)
class Occurrence:
    term: Term
    kind: str  # "exact", "misspelled" or "variant" (all words but one match, that one differs)
    start: int  # character span in the (NFC) text
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
    """All terms of a glossary, indexed for fast lookup (one instance per run: it memoises
    lemmas and near-misses per distinct word it sees)."""

    def __init__(self, glossary: Glossary) -> None:
        self.glossary = glossary
        self.morph: dict[str, Morphology] = {lang: Morphology(lang) for lang in glossary.languages}
        self.terms: list[_Compiled] = []
        self.surface: dict[str, list[tuple[int, int]]] = defaultdict(list)  # word -> (term no, position)
        # Per language, built on first use (loading a lexicon takes ~0.5 s): lemma -> (term, position)
        self._lemmas: dict[str, dict[str, list[tuple[int, int]]]] = {}
        self._spelling: dict[str, DeletionIndex] = {}
        self._owners: dict[str, dict[str, set[str]]] = {}  # per language: form -> term words
        self._forms: dict[str, dict[str, set[str]]] = {}  # per language: term word -> its forms
        self.words_by_lang: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
        self.prefixes: dict[str, dict[str, list[tuple[int, int]]]] = defaultdict(lambda: defaultdict(list))
        self.nospace: dict[str, list[int]] = defaultdict(list)  # first character -> term numbers
        for term in glossary.terms:
            n = len(self.terms)
            if term.lang in NOSPACE_LANGS:
                text = "".join(normalize(term.text).split())
                if text:
                    self.terms.append(_Compiled(term, (text,)))
                    self.nospace[text[0]].append(n)
                continue
            words = tuple(w for w, _, _ in words_of(term.text))
            if not words:
                continue
            self.terms.append(_Compiled(term, words))
            morph = self.morph[term.lang]
            for pos, word in enumerate(words):
                self.surface[word].append((n, pos))
                if morph.supported:
                    self.words_by_lang[term.lang].append((word, n, pos))
                if term.lang in COMPOUND_LANGS and len(word) >= PREFIX:
                    self.prefixes[term.lang][word[:PREFIX]].append((n, pos))
        self._candidates: dict[
            tuple[frozenset[str], frozenset[str]], dict[str, tuple[tuple[int, int], ...]]
        ] = {}

    def lemma_index(self, lang: str) -> dict[str, list[tuple[int, int]]]:
        index = self._lemmas.get(lang)
        if index is None:
            index = self._lemmas[lang] = defaultdict(list)
            morph = self.morph[lang]
            for word, n, pos in self.words_by_lang[lang]:
                index[morph.lemma(word)].append((n, pos))
                if morph.lemma(word) != word:  # the term word as a lemma of its own forms
                    index[word].append((n, pos))
            morph.watch(set(index))
        return index

    def spelling(self, lang: str) -> DeletionIndex:
        """Deletion index over the language's term words and all their inflected forms, and
        for each form the term words it belongs to (`self._forms[lang]`)."""
        index = self._spelling.get(lang)
        if index is None:
            morph = self.morph[lang]
            words = {w for w, _, _ in self.words_by_lang[lang]}
            forms = morph.forms_of({morph.lemma(w) for w in words})
            owners: dict[str, set[str]] = defaultdict(set)
            forms_of_word: dict[str, set[str]] = defaultdict(set)  # both directions in one pass:
            for word in words:  # inverting `owners` per word was quadratic in the glossary's size
                for form in forms.get(morph.lemma(word), set()) | {word}:
                    owners[form].add(word)
                    forms_of_word[word].add(form)
            self._forms[lang] = dict(forms_of_word)
            self._owners[lang] = owners
            index = self._spelling[lang] = DeletionIndex(owners)
        return index

    def fallbacks(self) -> list[str]:
        """One line per glossary language without lemma matching, saying how it is matched."""
        return [r for lang in sorted(self.morph) if (r := fallback_reason(lang))]

    # ------------------------------------------------------------------ candidates

    def _candidates_for(
        self, token: str, fuzzy: frozenset[str], lemma_langs: frozenset[str]
    ) -> tuple[tuple[int, int], ...]:
        """(term, word position) pairs a token may be part of: same surface, same lemma (in
        `lemma_langs`), a compound head, or a near-miss (in `fuzzy`)."""
        found: list[tuple[int, int]] = list(self.surface.get(token, ()))
        for lang in lemma_langs:
            morph, index = self.morph[lang], self.lemma_index(lang)
            if morph.may_match(token):
                found += index.get(morph.lemma(token), ())
        for index in self.prefixes.values():
            found += index.get(token[:PREFIX], ())
        for lang in fuzzy:
            for form, _ in self.spelling(lang).near(token):
                for word in self._owners[lang][form]:
                    found += [c for c in self.surface.get(word, ()) if self.terms[c[0]].term.lang == lang]
        return tuple(dict.fromkeys(found))

    def word_score(self, token: str, word: str, lang: str, lemmas: bool = True) -> float:
        """SAME for the word or a form of it, TYPO for a misspelling, else DIFFERENT. Without
        `lemmas` only surface forms and compounds count (a language the caller did not ask
        to lemmatise)."""
        morph = self.morph.get(lang) or self.morph.setdefault(lang, Morphology(lang))
        if token == word or (lemmas and morph.same_word(token, word)):
            return SAME
        if not lemmas or not morph.supported or morph.known(token) or _has_digit(token + word):
            return DIFFERENT  # no lexicon to tell typos from words; a real, different word; a number
        if lang in self.words_by_lang:
            self.spelling(lang)  # makes sure the term words' forms are known
        for form in self._forms.get(lang, {}).get(word) or {word}:
            limit = allowed_edits(len(form))
            if limit and osa_distance(token, form, limit) <= limit:
                return TYPO
        return DIFFERENT

    # ------------------------------------------------------------------ search

    def find(
        self,
        text: str,
        langs: set[str] | None = None,
        fuzzy_langs: set[str] | None = None,
        lemma_langs: set[str] | None = None,
    ) -> list[Occurrence]:
        """Longest non-overlapping occurrences of terms (of `langs`, default all) in `text`.
        Near-misses (misspellings, one-word variants) are looked for only among terms of
        `fuzzy_langs` (the text's language), and only where a lexicon tells words from typos.
        Inflected forms are looked for in `lemma_langs` (default: every glossary language; a
        caller that knows the text's language saves the lemmatiser's time elsewhere)."""
        text = unicodedata.normalize("NFC", text)
        known = self.words_by_lang.keys()
        fuzzy = frozenset(fuzzy_langs or ()).intersection(known)
        lemmas = frozenset(known if lemma_langs is None else lemma_langs).intersection(known)
        memo = self._candidates.setdefault((fuzzy, lemmas), {})  # token -> candidates, per setting
        words = words_of(text)
        seen: set[tuple[int, int]] = set()
        found: list[Occurrence] = []
        for i, (token, _, _) in enumerate(words):
            candidates = memo.get(token)
            if candidates is None:
                candidates = memo[token] = self._candidates_for(token, fuzzy, lemmas)
            for n, pos in candidates:
                start = i - pos
                if start < 0 or (n, start) in seen:
                    continue
                seen.add((n, start))
                compiled = self.terms[n]
                if langs is not None and compiled.term.lang not in langs:
                    continue
                if start + len(compiled.words) > len(words):
                    continue
                lang = compiled.term.lang
                occ = self._verify(
                    text, words, compiled, start, lang in fuzzy and self.morph[lang].supported, lang in lemmas
                )
                if occ is not None:
                    found.append(occ)
        if self.nospace and NOSPACE_CHAR.search(text):
            found += self._find_nospace(text, langs)
        return _longest_non_overlapping(found)

    def _verify(
        self, text: str, words, compiled: _Compiled, start: int, fuzzy: bool, lemmas: bool
    ) -> Occurrence | None:
        lang = compiled.term.lang
        scores = [self.word_score(words[start + k][0], w, lang, lemmas) for k, w in enumerate(compiled.words)]
        weakest = min(scores)
        if weakest >= SAME:
            kind = "exact"
        elif not fuzzy:
            return None
        elif weakest >= TYPO:
            kind = "misspelled"
        elif (
            len(scores) >= 3
            and sum(s < SAME for s in scores) == 1
            and not _numbers_differ(words, compiled, start, scores)
        ):
            kind = "variant"
        else:
            return None
        last = start + len(compiled.words)
        s, e = words[start][1], words[last - 1][2]
        return Occurrence(compiled.term, kind, s, e, text[s:e])

    def _find_nospace(self, text: str, langs: set[str] | None) -> list[Occurrence]:
        flat, where = nospace_text(text)
        out = []
        for i, first in enumerate(flat):
            for n in self.nospace.get(first, ()):
                compiled = self.terms[n]
                if langs is not None and compiled.term.lang not in langs:
                    continue
                needle = compiled.words[0]
                if flat.startswith(needle, i):
                    s, e = where[i], where[i + len(needle) - 1] + 1
                    out.append(Occurrence(compiled.term, "exact", s, e, text[s:e]))
        return out


def _has_digit(text: str) -> bool:
    return any(ch.isdigit() for ch in text)


def _numbers_differ(words, compiled: _Compiled, start: int, scores: list[float]) -> bool:
    """A one-word variant may change a word, never a number ("COVID-19" is not "COVID-20");
    nor is a changed number a misspelling (see `word_score`)."""
    k = next(k for k, s in enumerate(scores) if s < SAME)
    return _has_digit(words[start + k][0] + compiled.words[k])


_KIND_RANK = {"exact": 0, "misspelled": 1, "variant": 2}


def _longest_non_overlapping(found: list[Occurrence]) -> list[Occurrence]:
    """Nested or overlapping matches count once: longest first, then the better kind."""
    chosen: list[Occurrence] = []
    taken: list[tuple[int, int]] = []
    for occ in sorted(found, key=lambda o: (-(o.end - o.start), _KIND_RANK[o.kind], o.start)):
        if any(occ.start < e and s < occ.end for s, e in taken):
            continue
        taken.append((occ.start, occ.end))
        chosen.append(occ)
    return sorted(chosen, key=lambda o: o.start)


def word_score(token: str, word: str, lang: str) -> float:
    """SAME / TYPO / DIFFERENT for two normalised words in `lang` (outside any glossary)."""
    return _STANDALONE.word_score(normalize(token), normalize(word), lang)


_STANDALONE = TermIndex(Glossary({}))
