"""Text normalisation and words for term matching, in any script.

A word and a term word are compared after: NFKC (full-width letters, ligatures and other
compatibility forms become their plain letters; Devanagari nukta letters are decomposed),
removal of zero-width characters and Devanagari nukta, chandrabindu as anusvara, a half
nasal consonant before a consonant as anusvara (हिन्दी and हिंदी, जीन्स and जींस are one
spelling each way), one apostrophe, Arabic-script yeh and kaf in one form, Cyrillic yo as ye, and case folding.
Hyphens separate words like spaces do.

Scripts written without spaces between words (Chinese, Japanese, Thai, Lao, Khmer,
Myanmar) have no words to split: their terms are found as substrings of the normalised
text (`nospace_text`), and their characters never glue onto a neighbouring Latin word."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_NOSPACE = (
    "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
)
NOSPACE_CHAR = re.compile(f"[{_NOSPACE}]")
# A word: letters and digits of spaced scripts (with their combining marks), apostrophes inside;
# invisible characters (soft hyphen, zero-width) belong to the word they sit in and are dropped.
_INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
_LETTER = rf"(?:[^\W{_NOSPACE}]|[\u0300-\u036f\u0900-\u0dff{_INVISIBLE}])"
WORD = re.compile(rf"{_LETTER}+(?:['’]{_LETTER}+)*")
ASCII_WORD = re.compile(r"[A-Za-z0-9_]+(?:'[A-Za-z0-9_]+)*")  # the same words, for ASCII text
# Languages whose words are not separated by spaces.
NOSPACE_LANGS = frozenset({"zh", "ja", "th", "lo", "km", "my", "yue", "wuu"})

_TABLE = str.maketrans(
    {
        "\u093c": None,  # Devanagari nukta (NFKC decomposes the precomposed nukta letters)
        "\u0901": "\u0902",  # chandrabindu -> anusvara
        "\u200b": None,  # zero-width space, non-joiner, joiner, word joiner, BOM
        "\u200c": None,
        "\u200d": None,
        "\u2060": None,
        "\ufeff": None,
        "\u00ad": None,  # soft hyphen
        "’": "'",
        "‘": "'",
        "ʼ": "'",
        "ي": "ی",  # Arabic yeh -> Farsi yeh
        "ى": "ی",
        "ك": "ک",  # Arabic kaf -> keheh
        "ё": "е",
        "Ё": "Е",
    }
)


# A Devanagari nasal consonant with virama before a consonant: written as anusvara just as often.
_NASAL = re.compile("[\u0919\u091e\u0923\u0928\u092e]\u094d(?=[\u0915-\u0939])")


@lru_cache(maxsize=1 << 17)
def normalize(text: str) -> str:
    """The comparable form of a word or term (see the module docstring). Memoised: a
    corpus's vocabulary repeats, its words are normalised once."""
    if text.isascii():
        return text.lower()  # NFKC, the table and case folding do nothing else to ASCII
    folded = unicodedata.normalize("NFKC", text).translate(_TABLE).casefold()
    if "\u094d" in folded:
        folded = _NASAL.sub("\u0902", folded)
    return unicodedata.normalize("NFC", folded)


def words_of(text: str) -> list[tuple[str, int, int]]:
    """(normalised word, start, end) for each word of a spaced script; spans index the NFC text."""
    if text.isascii():  # most text in many corpora: a simple pattern, and lower() is the normal form
        return [(m.group().lower(), m.start(), m.end()) for m in ASCII_WORD.finditer(text)]
    text = unicodedata.normalize("NFC", text)
    out = []
    for m in WORD.finditer(text):
        word = normalize(m.group())
        if word:
            out.append((word, m.start(), m.end()))
    return out


def key(text: str) -> str:
    """A term's identity for counting renditions: its normalised words, or for a script
    without spaces its normalised characters."""
    words = [w for w, _, _ in words_of(text)]
    if NOSPACE_CHAR.search(text):
        return "".join(normalize(text).split())
    return " ".join(words)


def nospace_text(text: str) -> tuple[str, list[int]]:
    """The NFC text normalised character by character with whitespace removed, and for each
    character of the result its position in the NFC text (for reporting where a term was)."""
    text = unicodedata.normalize("NFC", text)
    chars, where = [], []
    for i, ch in enumerate(text):
        if ch.isspace():
            continue
        for out in normalize(ch):
            chars.append(out)
            where.append(i)
    return "".join(chars), where


_HYPHENS = frozenset("-\u2010\u2011")
_HYPHEN_CHAR = re.compile("[-\u2010\u2011]")


def join_hyphenated(text: str, words: list[tuple[str, int, int]]) -> list[tuple[str, int, int]] | None:
    """`words` of the NFC `text` with every run of words joined by single hyphens made one
    word ("Folk-mobiliseringen" -> "folkmobiliseringen", spanning both): a closed compound is
    often written hyphenated, and a hyphenated term closed ("e-post", "epost"). None when
    no two words are joined by a hyphen."""
    if not _HYPHEN_CHAR.search(text):
        return None
    out: list[tuple[str, int, int]] = []
    joined = False
    for word, start, end in words:
        if out and start - out[-1][2] == 1 and text[start - 1] in _HYPHENS:
            prev, prev_start, _ = out[-1]
            out[-1] = (prev + word, prev_start, end)
            joined = True
        else:
            out.append((word, start, end))
    return out if joined else None
