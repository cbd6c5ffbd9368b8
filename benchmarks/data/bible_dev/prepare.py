"""Rebuild this folder's files from a checkout of github.com/scrollmapper/bible_databases:

    python benchmarks/data/bible_dev/prepare.py PATH/TO/bible_databases

Reads `formats/txt/{BSB,RusMakarij,ChiUn,ArmEastern}.txt`, keeps the chapters below, and
writes one verse per line (line n of every language file is the same verse). See README.md.
"""

from __future__ import annotations

import html
import re
import sys
import unicodedata
from pathlib import Path

VERSIONS = {"en": "BSB", "ru": "RusMakarij", "zh": "ChiUn", "hy": "ArmEastern"}
BOOK = "Genesis"
CHAPTERS = (37, 40, 42, 43, 44, 45)
_VERSE = re.compile(r"^\[(\d+):(\d+)\]\s*(.*)$")
_CJK = r"[\u2E80-\u9FFF\uF900-\uFAFF\uFF00-\uFFEF\u3000-\u303F\u2014\u2500]"
_CJK_SPACE = re.compile(rf"(?<={_CJK})\s+|\s+(?={_CJK})")


def verses(path: Path) -> dict[tuple[int, int], str]:
    out, book = {}, None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("### "):
            book = line[4:].strip()
        elif book == BOOK and (m := _VERSE.match(line)):
            out[int(m[1]), int(m[2])] = m[3]
    return out


def clean(text: str, lang: str) -> str:
    text = html.unescape(text)
    text = re.sub(r"<[^>]*>|\[[^\]]*\]|\{[^}]*\}|[†‡*¹²³⁴⁵⁶⁷⁸⁹⁰]", "", text)
    text = unicodedata.normalize("NFC", text)
    text = re.sub(r"\s+", " ", text).strip()
    if lang == "zh":  # the source separates words with spaces; written Chinese does not
        text = _CJK_SPACE.sub("", text)
    if lang == "ru":  # the source writes the pre-1918 letter yat (ѣ) as Cyrillic je (ј)
        text = text.replace("ј", "ѣ").replace("Ј", "Ѣ")
    return text


def main(repo: Path, out: Path) -> None:
    texts = {lang: verses(repo / "formats" / "txt" / f"{name}.txt") for lang, name in VERSIONS.items()}
    keys = sorted(k for k in texts["en"] if k[0] in CHAPTERS)
    rows = {lang: [] for lang in VERSIONS}
    docs = []
    for key in keys:
        cleaned = {lang: clean(texts[lang].get(key, ""), lang) for lang in VERSIONS}
        if all(cleaned.values()):
            for lang, text in cleaned.items():
                rows[lang].append(text)
            docs.append(f"gen-{key[0]}")
    for lang, lines in rows.items():
        (out / f"{lang}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out / "docs.txt").write_text("\n".join(docs) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(__file__).resolve().parent)
