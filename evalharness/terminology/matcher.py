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

Words joined by a hyphen are also read as one word ("Folk-mobiliseringen" is
"folkmobiliseringen"), and a hyphenated term also matches written closed ("e-post",
"epost"). In compounding languages a term's first word may also end a compound when what
comes before it is a word ("skogsgrävsvin"). Words listed as a term of two concepts are
matched once, as an occurrence of both (`Occurrence.shared`).
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from dataclasses import dataclass, replace

from evalharness.terminology.glossary import Glossary, Term
from evalharness.terminology.morphology import (
    COMPOUND_LANGS,
    MIN_HEAD,
    MIN_TAIL,
    Morphology,
    fallback_reason,
)
from evalharness.terminology.normalize import (
    NOSPACE_CHAR,
    NOSPACE_LANGS,
    join_hyphenated,
    normalize,
    nospace_text,
    words_of,
)
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
    shared: tuple[Term, ...] = ()  # the same words listed under other concepts (one each)

    @property
    def concept(self) -> str:
        return self.term.concept

    @property
    def concepts(self) -> tuple[str, ...]:
        """Every concept these words are a term of (the first one is `concept`)."""
        return (self.term.concept, *(t.concept for t in self.shared))


@dataclass(frozen=True)
class _Compiled:
    term: Term
    words: tuple[str, ...]
    shared: tuple[Term, ...] = ()  # the same words in the same language, in other concepts


class TermIndex:
    """All terms of a glossary, indexed for fast lookup (one instance per run: it memoises
    lemmas and near-misses per distinct word it sees)."""

    def __init__(self, glossary: Glossary) -> None:
        self.glossary = glossary
        self.morph: dict[str, Morphology] = {lang: Morphology(lang) for lang in glossary.languages}
        self.terms: list[_Compiled] = []
        self.surface: dict[str, list[tuple[int, int]]] = defaultdict(list)  # word -> (term no, position)
        # Per language, built on first use (it reads the lexicon index): lemma -> (term, position)
        self._lemmas: dict[str, dict[str, list[tuple[int, int]]]] = {}
        self._form_index: dict[str, dict[str, list[tuple[int, int]]]] = {}  # with _lemmas
        self._spelling: dict[str, DeletionIndex] = {}
        self._owners: dict[str, dict[str, set[str]]] = {}  # per language: form -> term words
        self._forms: dict[str, dict[str, set[str]]] = {}  # per language: term word -> its forms
        self.words_by_lang: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
        self.prefixes: dict[str, dict[str, list[tuple[int, int]]]] = defaultdict(lambda: defaultdict(list))
        self.nospace: dict[str, list[int]] = defaultdict(list)  # first character -> term numbers
        spellings: dict[tuple[str, tuple[str, ...]], int] = {}  # (language, words) -> term number
        closed: list[tuple[Term, tuple[str, ...]]] = []
        for term in glossary.terms:
            if term.lang in NOSPACE_LANGS:
                text = "".join(normalize(term.text).split())
                if text:
                    self._compile(term, (text,), spellings)
                continue
            spans = words_of(term.text)
            if spans:
                self._compile(term, tuple(w for w, _, _ in spans), spellings)
                joined = join_hyphenated(unicodedata.normalize("NFC", term.text), spans)
                if joined is not None:
                    closed.append((term, tuple(w for w, _, _ in joined)))
        for term, words in closed:  # "e-post" also as "epost", unless a term is written so
            self._compile(term, words, spellings)
        self._candidates: dict[
            tuple[frozenset[str], frozenset[str]], dict[str, tuple[tuple[int, int], ...]]
        ] = {}

    def _compile(self, term: Term, words: tuple[str, ...], spellings: dict) -> None:
        """Index one spelling of a term. The same words in the same language again (a term
        listed twice, or the closed spelling of a hyphenated term that is also listed): under
        another concept they become an alternative of the first (`shared`: one occurrence,
        which `checks` counts for the concept its source calls for); in the same concept,
        nothing new (the spelling listed first, and listed spellings before closed ones)."""
        key = (term.lang, words)
        n = spellings.get(key)
        if n is not None:
            first = self.terms[n]
            if term.concept not in (first.term.concept, *(t.concept for t in first.shared)):
                self.terms[n] = replace(first, shared=(*first.shared, term))
            return
        n = spellings[key] = len(self.terms)
        self.terms.append(_Compiled(term, words))
        if term.lang in NOSPACE_LANGS:
            self.nospace[words[0][0]].append(n)
            return
        morph = self.morph[term.lang]
        for pos, word in enumerate(words):
            self.surface[word].append((n, pos))
            if morph.supported:
                self.words_by_lang[term.lang].append((word, n, pos))
            if term.lang in COMPOUND_LANGS and len(word) >= PREFIX:
                self.prefixes[term.lang][word[:PREFIX]].append((n, pos))

    def lemma_index(self, lang: str) -> dict[str, list[tuple[int, int]]]:
        """lemma -> (term, position) for the language's term words (their lemma, and the word
        itself as the lemma of its own forms); built with `form_index` (listed form -> the
        same), which finds the forms that do not start like their lemma."""
        index = self._lemmas.get(lang)
        if index is None:
            index = self._lemmas[lang] = defaultdict(list)
            forms = self._form_index[lang] = defaultdict(list)
            morph = self.morph[lang]
            for word, n, pos in self.words_by_lang[lang]:
                index[morph.lemma(word)].append((n, pos))
                if morph.lemma(word) != word:  # the term word as a lemma of its own forms
                    index[word].append((n, pos))
                for form in morph.forms_of_word(word):
                    forms[form].append((n, pos))
            morph.watch(set(index))
        return index

    def spelling(self, lang: str) -> DeletionIndex:
        """Deletion index over the language's term words and all their inflected forms, and
        for each form the term words it belongs to (`self._forms[lang]`)."""
        index = self._spelling.get(lang)
        if index is None:
            morph = self.morph[lang]
            words = {w for w, _, _ in self.words_by_lang[lang]}
            owners: dict[str, set[str]] = defaultdict(set)
            forms_of_word: dict[str, set[str]] = defaultdict(set)  # both directions in one pass:
            for word in words:  # inverting `owners` per word was quadratic in the glossary's size
                for form in morph.forms_of_word(word):
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
            found += self._form_index[lang].get(token, ())
            if morph.may_match(token):
                found += index.get(morph.lemma(token), ())
        for lang, index in self.prefixes.items():
            found += index.get(token[:PREFIX], ())
            if lang in lemma_langs:  # the term's first word ending a compound (vild|grävsvin)
                for k in range(MIN_HEAD, len(token) - MIN_TAIL + 1):
                    found += [c for c in index.get(token[k : k + PREFIX], ()) if c[1] == 0]
        for lang in fuzzy:
            for form, _ in self.spelling(lang).near(token):
                for word in self._owners[lang][form]:
                    found += [c for c in self.surface.get(word, ()) if self.terms[c[0]].term.lang == lang]
        return tuple(dict.fromkeys(found))

    def word_score(self, token: str, word: str, lang: str, lemmas: bool = True, head: bool = False) -> float:
        """SAME for the word or a form of it, TYPO for a misspelling, else DIFFERENT. Without
        `lemmas` only surface forms and compounds count (a language the caller did not ask
        to lemmatise). `head`: the term's first word, which may also end a compound
        ("vildgrävsvin" holds "grävsvin"; in compounding languages, with a lexicon)."""
        morph = self.morph.get(lang) or self.morph.setdefault(lang, Morphology(lang))
        if token == word or (lemmas and morph.same_word(token, word)):
            return SAME
        if head and lemmas and morph.compound_tail(token, word):
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
        found = self._scan(text, words, memo, langs, fuzzy, lemmas)
        joined = join_hyphenated(text, words)
        if joined is not None:  # "Folk-mobiliseringen" is also "folkmobiliseringen"
            found += self._scan(text, joined, memo, langs, fuzzy, lemmas)
        if self.nospace and NOSPACE_CHAR.search(text):
            found += self._find_nospace(text, langs)
        return _longest_non_overlapping(found)

    def _scan(self, text: str, words, memo: dict, langs, fuzzy, lemmas) -> list[Occurrence]:
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
        return found

    def _verify(
        self, text: str, words, compiled: _Compiled, start: int, fuzzy: bool, lemmas: bool
    ) -> Occurrence | None:
        lang = compiled.term.lang
        scores = [
            self.word_score(words[start + k][0], w, lang, lemmas, head=k == 0)
            for k, w in enumerate(compiled.words)
        ]
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
        return Occurrence(compiled.term, kind, s, e, text[s:e], compiled.shared)

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
                    out.append(Occurrence(compiled.term, "exact", s, e, text[s:e], compiled.shared))
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
