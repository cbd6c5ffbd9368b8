"""Injected terminology errors with known answers, in Swedish, Hindi and Polish.

Concepts are words of each language's simplemma lexicon (a preferred and a deprecated term;
an English source term), so every term has real inflected forms. Each segment is a
hypothesis of lexicon words with the concept's term in a random inflected form, and an
English source that holds the concept. One of four errors is injected into most segments:

- deprecated: the deprecated term (inflected) instead of the preferred one;
- misspelled: one edit (substitution, deletion, insertion or transposition) in the first,
  middle or last letter of the term, never giving a word the lexicon knows;
- untranslated: the English term left in the hypothesis;
- missing: no term at all.

The rest are correct. Precision and recall are computed over the four kinds. The inflected
forms and filler words come from simplemma's own lexicons (the benchmark reads them through
simplemma's dictionary factory), so no data is downloaded and nothing is tuned on it.
Filler words are never a form of a term after the matcher's normalisation either (the
Hindi lexicon spells फ़्रांस and फ्रांस, one word once nukta is set aside), nor, in
compounding languages, a compound ending with one ("rundsticka" holds "sticka").

`variants=True` writes the terms as running text does besides: the hypothesis term (the
deprecated one, or the preferred one in a correct segment) at the start of the sentence,
in capitals, after a hyphen, or, in compounding languages, as the last part of a compound
(skol|flickan) or the first (grävsvin|s|jakten); the English source term in any of its
inflected forms, at the start, in capitals or hyphenated with the next word."""

from __future__ import annotations

import random
import unicodedata
from collections import defaultdict
from dataclasses import dataclass

KINDS = ("deprecated", "misspelled", "untranslated", "missing")
COMPOUNDING = frozenset({"sv", "de", "nl", "da", "nb", "nn", "is", "fi", "et"})


@dataclass
class InjectedSet:
    lang: str
    glossary_tsv: str
    sources: list[str]
    hypotheses: list[str]
    expected: set[tuple[int, str, str]]  # (segment, concept, kind)


def _wordlike(text: str) -> bool:
    """Letters and their combining marks only (Devanagari vowel signs are marks, not letters)."""
    return bool(text) and all(c.isalpha() or unicodedata.category(c).startswith("M") for c in text)


def lexicon(lang: str) -> dict[str, list[str]]:
    """lemma -> its lowercase inflected forms (lemma included), letters only."""
    from simplemma.strategies import DEFAULT_DICTIONARY_FACTORY

    forms: dict[str, list[str]] = defaultdict(list)
    for form, lemma in DEFAULT_DICTIONARY_FACTORY.get_dictionary(lang).items():
        if _wordlike(form) and _wordlike(lemma) and form == form.lower() and lemma == lemma.lower():
            forms[lemma].append(form)
    for lemma, items in forms.items():
        if lemma not in items:
            items.append(lemma)
    return forms


def _typo(word: str, where: str, rng: random.Random, alphabet: str) -> str:
    i = {"first": 0, "middle": len(word) // 2, "last": len(word) - 1}[where]
    op = rng.choice(("sub", "del", "ins", "swap"))
    if op == "sub":
        return word[:i] + rng.choice([c for c in alphabet if c != word[i]]) + word[i + 1 :]
    if op == "del":
        return word[:i] + word[i + 1 :]
    if op == "ins":
        return word[:i] + rng.choice(alphabet) + word[i:]
    j = i if i < len(word) - 1 else i - 1  # swap with the next letter (the last with its neighbour)
    return word[:j] + word[j + 1] + word[j] + word[j + 2 :]


def _styled(term: str, style: str, head: str, tail: str, base: str = "") -> tuple[str, bool]:
    """The term (an inflected form of `base`) written in `style`, and whether it opens the
    sentence. A compound's first part is the base form (grävsvin|s|jakten), its last part
    any form (skol|flickorna)."""
    if style == "start":
        return term[:1].upper() + term[1:], True
    if style == "upper":
        return term.upper(), False
    if style == "hyphen-after":  # filler-term
        return f"{head}-{term}", False
    if style == "hyphen-before":  # term-filler
        return f"{term}-{tail}", False
    if style == "compound-tail":  # skol|flickan
        return head + term, False
    if style == "compound-head":  # grävsvin|s|jakten
        return (base or term) + "s" + tail, False
    return term, False


def build(
    lang: str, per_kind: int = 30, correct: int = 60, seed: int = 0, variants: bool = False
) -> InjectedSet:
    import simplemma

    from evalharness.terminology.normalize import normalize

    rng = random.Random(seed)
    words = lexicon(lang)
    english = lexicon("en")
    rich = sorted(lemma for lemma, forms in words.items() if 5 <= len(lemma) <= 12 and len(forms) >= 2)
    n_concepts = (per_kind * len(KINDS) + correct) // 3
    picked = rng.sample(rich, 2 * n_concepts)
    preferred, deprecated = picked[:n_concepts], picked[n_concepts:]
    sources = rng.sample(sorted(w for w in english if 6 <= len(w) <= 10), n_concepts)
    taken = set(picked)
    lemma_of = {form: lemma for lemma, forms in words.items() for form in forms}
    term_forms = {normalize(form) for lemma in taken for form in words[lemma]}

    def holds_a_term(w: str) -> bool:
        """A form of a term after normalisation, or (compounding languages) a compound
        ending with one (rund|sticka holds sticka)."""
        w = normalize(w)
        tails = range(3, len(w) - 4) if lang in COMPOUNDING else ()
        return w in term_forms or any(w[k:] in term_forms for k in tails)

    filler = [  # lexicon words that hold no term (by the lexicon, simplemma's analysis or normalisation)
        w
        for w in rng.sample(sorted(words), 4000)
        if 3 <= len(w) <= 10
        and w not in taken
        and lemma_of.get(w) not in taken
        and simplemma.lemmatize(w, lang=lang, greedy=True) not in taken
        and not holds_a_term(w)
    ]
    en_filler = rng.sample(sorted(w for w in english if 3 <= len(w) <= 9 and w not in sources), 2000)
    alphabet = "".join(sorted({c for w in picked for c in w}))
    rows = ["concept\tlang\tstatus\tterm"]
    for k in range(n_concepts):
        rows += [f"c{k}\ten\tpreferred\t{sources[k]}", f"c{k}\t{lang}\tpreferred\t{preferred[k]}"]
        rows.append(f"c{k}\t{lang}\tdeprecated\t{deprecated[k]}")
    plan = [kind for kind in KINDS for _ in range(per_kind)] + ["correct"] * correct
    rng.shuffle(plan)
    out = InjectedSet(lang, "\n".join(rows) + "\n", [], [], set())
    for n, kind in enumerate(plan):
        k = rng.randrange(n_concepts)
        term = rng.choice(words[preferred[k]])
        if kind == "deprecated":
            term = rng.choice(words[deprecated[k]])
        elif kind == "misspelled":
            where = ("first", "middle", "last")[n % 3]
            for _ in range(50):
                typo = _typo(term, where, rng, alphabet)
                if typo != term and not simplemma.is_known(typo, lang=lang) and len(typo) >= 5:
                    break
            term = typo
        elif kind == "untranslated":
            term = sources[k]
        hyp = rng.sample(filler, rng.randint(8, 14))
        source_term, first, src_first = sources[k], False, False
        if variants:
            styles = ["plain", "start", "upper", "hyphen-after"]
            styles += ["compound-tail", "compound-head"] if lang in COMPOUNDING else []
            if kind in ("deprecated", "correct"):
                base = deprecated[k] if kind == "deprecated" else preferred[k]
                term, first = _styled(term, rng.choice(styles), rng.choice(filler), rng.choice(filler), base)
            source_term = rng.choice(english[sources[k]])
            source_term, src_first = _styled(
                source_term,
                rng.choice(["plain", "start", "upper", "hyphen-before"]),
                "",
                rng.choice(en_filler),
            )
        if kind != "missing":
            hyp.insert(0 if first else rng.randrange(len(hyp) + 1), term)
        src = rng.sample(en_filler, rng.randint(8, 14))
        src.insert(0 if src_first else rng.randrange(len(src) + 1), source_term)
        out.sources.append(" ".join(src) + ".")
        out.hypotheses.append(" ".join(hyp) + ".")
        if kind != "correct":
            out.expected.add((n, f"c{k}", kind))
    return out


def score(found: set[tuple[int, str, str]], expected: set[tuple[int, str, str]]) -> tuple[float, float]:
    """(precision, recall) of the flags of the four kinds against the injected errors."""
    hits = len(found & expected)
    return (hits / len(found) if found else 1.0), (hits / len(expected) if expected else 1.0)
