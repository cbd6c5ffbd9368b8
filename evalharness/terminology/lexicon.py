"""simplemma's lexicon for one language, read from an on-disk index instead of decoded anew.

Decoding simplemma's compressed dictionary builds a Python dict of every form: 2.5 s and
~800 MB for Polish (3.7 million forms), on every `terms check`. The index built here once
per language holds the same form -> lemma table as sorted UTF-8 strings in numpy arrays,
plus what the matcher asks besides: the forms of each normalised lemma (inflected forms of a
term, for misspellings and for forms that do not start like their lemma: "wyżej" is a form
of "wysoko") and, for scripts our normalisation folds, normalised form -> normalised lemma.
Opening it reads ~100 MB of arrays (tenths of a second); a lookup is a binary search.

The file is a numpy `.npz` read with `allow_pickle=False` (nothing in it is ever
unpickled). Its name holds the language, simplemma's version and a digest of the code that
builds it (this module and `normalize`), so a new simplemma or a new normalisation gets a
new file. It is written atomically; a file that fails any check (zip CRC of every array,
the format and versions recorded inside, the shape of the arrays) is rebuilt, with one
warning line, never used. Where: `EVALHARNESS_LEXICON_CACHE`, else the user's cache folder
(`$XDG_CACHE_HOME` or `~/.cache`, then `evalharness/lexicons`); an empty value keeps the
index in memory only (built on every run)."""

from __future__ import annotations

import bisect
import hashlib
import io
import json
import os
import re
import sys
import zlib
from array import array
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path

import numpy as np

from evalharness.terminal import warn

FORMAT = 3
# Languages whose lexicon spellings our normalisation folds (see normalize._TABLE and
# normalize._NASAL): normalised forms must still be found in the lexicon.
FOLDING_LANGS = frozenset({"hi", "mr", "ne", "ar", "fa", "ur", "ru", "uk", "bg", "be", "mk"})
FOLDED_CHARS = re.compile(
    "[\u093c\u0901\u0958-\u095f\u200c\u200dيىكёЁ]|[\u0919\u091e\u0923\u0928\u092e]\u094d"
)
_ARRAYS = (
    "meta",
    "form_blob",
    "form_off",
    "form_lemma",
    "lemma_blob",
    "lemma_off",
    "norm_blob",
    "norm_off",
    "norm_ptr",
    "norm_forms",
    "fold_blob",
    "fold_off",
    "hash_sorted",
    "hash_form",
)


class DamagedIndex(ValueError):
    """A cached index file that fails a check (it is rebuilt, never used)."""


def cache_dir() -> Path | None:
    """Where lexicon indexes are kept (see the module docstring); None: in memory only."""
    configured = os.environ.get("EVALHARNESS_LEXICON_CACHE")
    if configured is not None:
        return Path(configured) if configured else None
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "evalharness" / "lexicons"


@cache
def simplemma_version() -> str:
    from simplemma.__metadata__ import __version__  # what importlib.metadata reads, 60 ms faster

    return str(__version__)


@cache
def code_digest() -> str:
    """What the index depends on besides simplemma: how it is built and how words are
    normalised. A change to either makes a new file name."""
    from evalharness.terminology import normalize

    digest = hashlib.sha256()
    for module in (sys.modules[__name__], normalize):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()[:16]


def index_path(directory: Path, lang: str) -> Path:
    return directory / f"{lang}-simplemma{simplemma_version()}-{code_digest()}.npz"


# ---------------------------------------------------------------- building


def _pack(items: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """Strings as one byte array and n+1 offsets."""
    blob = b"".join(items)
    if len(blob) >= 1 << 32:
        raise ValueError("lexicon too large for 32-bit offsets")
    off = np.zeros(len(items) + 1, dtype=np.uint32)
    off[1:] = np.cumsum(np.fromiter(map(len, items), dtype=np.uint64, count=len(items)))
    return np.frombuffer(blob, dtype=np.uint8), off


def build_arrays(lang: str) -> dict[str, np.ndarray]:
    """The index of `lang` from simplemma's shipped dictionary (seconds for a big language)."""
    from simplemma.strategies.dictionaries.dictionary_factory import DefaultDictionaryFactory

    from evalharness.terminology.normalize import normalize

    mapping = DefaultDictionaryFactory(cache_max_size=0).get_dictionary(lang)
    raw = getattr(mapping, "_dict", None)  # simplemma's bytes -> bytes dict, when it has one
    if isinstance(raw, dict) and isinstance(next(iter(raw), b""), bytes):
        pairs = sorted(raw.items())
    else:
        pairs = sorted((form.encode(), mapping[form].encode()) for form in mapping)
    del mapping, raw
    lemmas = sorted({lemma for _, lemma in pairs})
    lemma_id = {lemma: i for i, lemma in enumerate(lemmas)}
    form_lemma = np.fromiter((lemma_id[lemma] for _, lemma in pairs), dtype=np.uint32, count=len(pairs))
    form_blob, form_off = _pack([form for form, _ in pairs])
    lemma_blob, lemma_off = _pack(lemmas)
    # normalised lemma -> the forms of every lexicon lemma with that normal form
    norm_of = [normalize(lemma.decode()).encode() for lemma in lemmas]
    norms = sorted(set(norm_of))
    norm_id = {n: i for i, n in enumerate(norms)}
    lemma_norm = np.fromiter((norm_id[n] for n in norm_of), dtype=np.uint32, count=len(norm_of))
    form_norm = lemma_norm[form_lemma] if len(pairs) else np.zeros(0, dtype=np.uint32)
    norm_forms = np.argsort(form_norm, kind="stable").astype(np.uint32)
    norm_ptr = np.searchsorted(form_norm[norm_forms], np.arange(len(norms) + 1)).astype(np.uint32)
    norm_blob, norm_off = _pack(norms)
    # forms our normalisation changes beyond what simplemma's own lookup undoes (case)
    folded: dict[bytes, bytes] = {}
    if lang in FOLDING_LANGS:
        for (form, _), lemma_no in zip(pairs, form_lemma.tolist(), strict=True):
            text = form.decode()
            if FOLDED_CHARS.search(text):
                folded[normalize(text).encode()] = norm_of[lemma_no]
    fold_items = [item for pair in sorted(folded.items()) for item in pair]
    fold_blob, fold_off = _pack(fold_items)
    # CRC-32 of each form, sorted, with the form it belongs to: a lookup is a C bisect and
    # one comparison (a binary search over the strings took 8 µs in Python)
    hashes = np.fromiter((zlib.crc32(form) for form, _ in pairs), dtype=np.uint32, count=len(pairs))
    hash_form = np.argsort(hashes, kind="stable").astype(np.uint32)
    hash_sorted = hashes[hash_form]
    meta = {
        "format": FORMAT,
        "lang": lang,
        "simplemma": simplemma_version(),
        "code": code_digest(),
        "forms": len(pairs),
        "lemmas": len(lemmas),
        "norms": len(norms),
        "folded": len(folded),
    }
    return {
        "meta": np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8),
        "form_blob": form_blob,
        "form_off": form_off,
        "form_lemma": form_lemma,
        "lemma_blob": lemma_blob,
        "lemma_off": lemma_off,
        "norm_blob": norm_blob,
        "norm_off": norm_off,
        "norm_ptr": norm_ptr,
        "norm_forms": norm_forms,
        "fold_blob": fold_blob,
        "fold_off": fold_off,
        "hash_sorted": hash_sorted,
        "hash_form": hash_form,
    }


# ---------------------------------------------------------------- reading


def _checked(arrays: dict[str, np.ndarray], lang: str) -> dict[str, np.ndarray]:
    """The arrays, when they are what `build_arrays` writes for `lang` now; else DamagedIndex."""
    try:
        meta = json.loads(bytes(arrays["meta"]).decode())
    except (ValueError, UnicodeDecodeError) as exc:
        raise DamagedIndex(f"unreadable metadata ({exc})") from exc
    want = {"format": FORMAT, "lang": lang, "simplemma": simplemma_version(), "code": code_digest()}
    if not isinstance(meta, dict) or any(meta.get(k) != v for k, v in want.items()):
        raise DamagedIndex("made for another language, format or version")
    sizes = [meta.get(k) for k in ("forms", "lemmas", "norms")]
    if not all(type(n) is int and n >= 0 for n in sizes):
        raise DamagedIndex("unreadable table sizes")
    n_forms, n_lemmas, n_norms = sizes
    expected = {
        "form_blob": (np.uint8, None),
        "form_off": (np.uint32, n_forms + 1),
        "form_lemma": (np.uint32, n_forms),
        "lemma_blob": (np.uint8, None),
        "lemma_off": (np.uint32, n_lemmas + 1),
        "norm_blob": (np.uint8, None),
        "norm_off": (np.uint32, n_norms + 1),
        "norm_ptr": (np.uint32, n_norms + 1),
        "norm_forms": (np.uint32, n_forms),
        "fold_blob": (np.uint8, None),
        "fold_off": (np.uint32, None),
        "hash_sorted": (np.uint32, n_forms),
        "hash_form": (np.uint32, n_forms),
    }
    for name, (dtype, length) in expected.items():
        arr = arrays[name]
        if arr.dtype != dtype or arr.ndim != 1 or (length is not None and len(arr) != length):
            raise DamagedIndex(f"array {name} has the wrong type or length")
    for blob, off in (("form_blob", "form_off"), ("lemma_blob", "lemma_off"), ("norm_blob", "norm_off")):
        _check_offsets(arrays[off], len(arrays[blob]), off)
    _check_offsets(arrays["fold_off"], len(arrays["fold_blob"]), "fold_off")
    if len(arrays["fold_off"]) % 2 != 1:
        raise DamagedIndex("fold_off does not hold pairs")
    _check_offsets(arrays["norm_ptr"], n_forms, "norm_ptr")
    if n_forms and (
        int(arrays["form_lemma"].max()) >= n_lemmas
        or int(arrays["norm_forms"].max()) >= n_forms
        or int(arrays["hash_form"].max()) >= n_forms
        or bool((arrays["hash_sorted"][1:] < arrays["hash_sorted"][:-1]).any())
    ):
        raise DamagedIndex("an index points past its table")
    return arrays


def _check_offsets(off: np.ndarray, end: int, name: str) -> None:
    if len(off) == 0 or off[0] != 0 or off[-1] != end or bool((off[1:] < off[:-1]).any()):
        raise DamagedIndex(f"{name} offsets are not increasing")


def read_arrays(path: Path, lang: str) -> dict[str, np.ndarray]:
    """The arrays of an index file, checked; DamagedIndex for anything else."""
    import zipfile

    try:
        with np.load(path, allow_pickle=False) as data:
            if sorted(data.files) != sorted(_ARRAYS):
                raise DamagedIndex("not a lexicon index")
            arrays = {name: data[name] for name in _ARRAYS}  # reading to the end checks each CRC
    except DamagedIndex:
        raise
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, RuntimeError) as exc:
        raise DamagedIndex(str(exc) or type(exc).__name__) from exc
    return _checked(arrays, lang)


def write_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    from evalharness.fileio import write_bytes_atomic

    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    write_bytes_atomic(path, buffer.getvalue())


def load_arrays(lang: str, directory: Path | None) -> dict[str, np.ndarray]:
    """The index of `lang`: from `directory` when a sound file is there, else built (and
    written there, when a directory is given and writable)."""
    if directory is None:
        return build_arrays(lang)
    path = index_path(directory, lang)
    if path.is_file():
        try:
            return read_arrays(path, lang)
        except DamagedIndex as exc:
            warn(f"{path}: damaged lexicon index ({exc}); rebuilding it")
    arrays = build_arrays(lang)
    try:
        write_arrays(path, arrays)
    except Exception as exc:  # noqa: BLE001 - a cache we cannot write only costs time
        warn(f"{path}: cannot keep the lexicon index ({exc}); it is built on every run")
    return arrays


def _uint32_array(values: np.ndarray) -> array:
    """A uint32 numpy array as an array.array, which `bisect` searches in C."""
    code = next(c for c in "IL" if array(c).itemsize == 4)
    out = array(code)
    out.frombytes(np.ascontiguousarray(values, dtype=np.uint32).tobytes())
    return out


class Lexicon(Mapping[str, str]):
    """simplemma's form -> lemma table for one language, as a read-only mapping over the
    index (what simplemma's lemmatiser asks through `get`), with the inverse per normalised
    lemma (`forms_of`) and the folded forms (`folded`)."""

    def __init__(self, lang: str, arrays: dict[str, np.ndarray]) -> None:
        self.lang = lang
        self._forms = bytes(arrays["form_blob"])
        self._form_off = memoryview(np.ascontiguousarray(arrays["form_off"]))
        self._form_lemma = memoryview(np.ascontiguousarray(arrays["form_lemma"]))
        self._lemmas = bytes(arrays["lemma_blob"])
        self._lemma_off = memoryview(np.ascontiguousarray(arrays["lemma_off"]))
        self._norms = bytes(arrays["norm_blob"])
        self._norm_off = memoryview(np.ascontiguousarray(arrays["norm_off"]))
        self._norm_ptr = memoryview(np.ascontiguousarray(arrays["norm_ptr"]))
        self._norm_forms = memoryview(np.ascontiguousarray(arrays["norm_forms"]))
        self._n = len(self._form_off) - 1
        self._hashes = _uint32_array(arrays["hash_sorted"])
        self._hash_form = memoryview(np.ascontiguousarray(arrays["hash_form"]))
        self._memo: dict[str, str | None] = {}
        fold_blob, fold_off = bytes(arrays["fold_blob"]), arrays["fold_off"].tolist()
        items = [fold_blob[fold_off[i] : fold_off[i + 1]].decode() for i in range(len(fold_off) - 1)]
        self.folded: dict[str, str] = dict(zip(items[::2], items[1::2], strict=True))

    @staticmethod
    def _search(blob: bytes, off: memoryview, n: int, key: bytes, lo: int = 0) -> int:
        """The position of `key` among the sorted strings lo..n-1 of `blob`, or -1."""
        hi = n
        while lo < hi:
            mid = (lo + hi) >> 1
            if blob[off[mid] : off[mid + 1]] < key:
                lo = mid + 1
            else:
                hi = mid
        return lo if lo < n and blob[off[lo] : off[lo + 1]] == key else -1

    def _form(self, i: int) -> str:
        return self._forms[self._form_off[i] : self._form_off[i + 1]].decode()

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        if key in self._memo:
            value = self._memo[key]
            return default if value is None else value
        value = None
        encoded = key.encode("utf-8", "surrogatepass")
        crc = zlib.crc32(encoded)
        hashes, forms, off = self._hashes, self._forms, self._form_off
        i = bisect.bisect_left(hashes, crc)
        while i < self._n and hashes[i] == crc:
            form = self._hash_form[i]
            if forms[off[form] : off[form + 1]] == encoded:
                lemma = self._form_lemma[form]
                value = self._lemmas[self._lemma_off[lemma] : self._lemma_off[lemma + 1]].decode()
                break
            i += 1
        if len(self._memo) < 1 << 20:  # simplemma asks the same pieces of words again and again
            self._memo[key] = value
        return default if value is None else value

    def __getitem__(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __iter__(self) -> Iterator[str]:
        return (self._form(i) for i in range(self._n))

    def __len__(self) -> int:
        return self._n

    def is_lemma(self, norm_word: str) -> bool:
        """Is this normalised word the normal form of a lemma of the lexicon? (simplemma's
        tables leave out many base forms as forms of themselves: "svanskapad" is a lemma,
        never a key, so `is_known` says no.)"""
        return self._search(self._norms, self._norm_off, len(self._norm_off) - 1, norm_word.encode()) >= 0

    def forms_of(self, norm_lemma: str) -> list[str]:
        """The lexicon forms (as written there) of every lemma whose normal form is `norm_lemma`."""
        j = self._search(self._norms, self._norm_off, len(self._norm_off) - 1, norm_lemma.encode())
        if j < 0:
            return []
        return [self._form(self._norm_forms[k]) for k in range(self._norm_ptr[j], self._norm_ptr[j + 1])]


@cache
def lexicon(lang: str) -> Lexicon:
    """The lexicon of `lang`, once per process (from the on-disk index where there is one)."""
    return Lexicon(lang, load_arrays(lang, cache_dir()))


class _Factory:
    """A simplemma dictionary factory serving our indexes (simplemma's strategies ask only
    `get_dictionary(lang).get(token)`)."""

    def get_dictionary(self, lang: str) -> Mapping[str, str]:
        return lexicon(lang)


@cache
def _lemmatizer():
    from simplemma import Lemmatizer
    from simplemma.strategies import DefaultStrategy

    return Lemmatizer(lemmatization_strategy=DefaultStrategy(greedy=True, dictionary_factory=_Factory()))


@cache
def _lookup():
    from simplemma.strategies import DictionaryLookupStrategy

    return DictionaryLookupStrategy(_Factory())


def lemmatize(word: str, lang: str) -> str:
    """simplemma.lemmatize(word, lang, greedy=True), over the index."""
    return _lemmatizer().lemmatize(word, lang)


def is_known(word: str, lang: str) -> bool:
    """simplemma.is_known(word, lang), over the index."""
    import unicodedata

    return _lookup().get_lemma(unicodedata.normalize("NFC", word), lang) is not None
