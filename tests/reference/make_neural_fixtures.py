"""Builds the neural-metric fixtures in tests/data/neural/ and their expected outputs.

Run from the repository root with the project's environment:

    .venv/bin/python tests/reference/make_neural_fixtures.py

This process trains the SentencePiece models and writes the inputs; the fixtures and the
expected outputs are made by the reference implementations themselves, each in its own
pinned virtual environment (see envs.py): comet_side.py runs in the COMET environment and
metricx_side.py in the MetricX one. The result is deterministic: running it again gives
the same bytes.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import sentencepiece as spm

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))

import envs  # noqa: E402

DEFAULT_OUT = REPO / "tests" / "data" / "neural"
SEEDS = REPO / "seeds"
NEWS_DEV = REPO / "benchmarks" / "data" / "news_dev"
CREATED_WITH = "tests/reference/make_neural_fixtures.py"

COMET_FIXTURES = ["xlmr-tokenizer", "comet-tiny", "cometkiwi-tiny", "xcomet-tiny"]
METRICX_FIXTURES = ["metricx-tiny"]

SPM_VOCAB_SIZE = 500
MAX_METRICX_INPUT = 1536  # --max_input_length of the MetricX-24 recipe

# Characters for the edge cases: neither occurs in the tokenizer's training text.
EMOJI = "\N{SLIGHTLY SMILING FACE}"
UNKNOWN_CHAR = "\N{CYRILLIC LETTER MULTIOCULAR O}"
PUNCTUATION_ONLY = '... ?! -- "!" ,'


def _lines(path: Path) -> list[str]:
    """The non-empty lines of a text file, stripped."""
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _seed(prefix: str) -> list[str]:
    (path,) = sorted(SEEDS.glob(f"{prefix}_*.txt"))
    return _lines(path)


def load_texts() -> dict[str, list[str]]:
    """The text sources: news_dev (line-parallel en/sv/hi) and the seed documents.

    seed_sv and seed_hi are one article in Swedish and Hindi (their non-empty lines are
    parallel); seed_en is a different article in English.
    """
    texts = {f"news_{lang}": _lines(NEWS_DEV / f"{lang}.txt") for lang in ("en", "sv", "hi")}
    texts["seed_sv"] = _seed("000")
    texts["seed_hi"] = _seed("001")
    texts["seed_en"] = _seed("004")
    return texts


def training_text(texts: dict[str, list[str]]) -> list[str]:
    """Every line of the seeds and of news_dev: what the tokenizers are trained on."""
    return [line for name in sorted(texts) for line in texts[name]]


# --- how the candidate translations are made from real text ---------------------------


def drop_every(text: str, k: int) -> str:
    """Drops every k-th word: an omission."""
    return " ".join(w for i, w in enumerate(text.split(), 1) if i % k)


def swap_pairs(text: str) -> str:
    """Swaps the 2nd and 3rd word and the last two words: word-order errors."""
    words = text.split()
    words[1], words[2] = words[2], words[1]
    words[-2], words[-1] = words[-1], words[-2]
    return " ".join(words)


def first_half(text: str) -> str:
    words = text.split()
    return " ".join(words[: len(words) // 2])


def first_words(text: str, n: int = 5) -> str:
    return " ".join(text.split()[:n])


def drop_last(text: str, n: int) -> str:
    return " ".join(text.split()[:-n])


def reverse_words(text: str) -> str:
    return " ".join(reversed(text.split()))


def change_numbers(text: str) -> str:
    """Replaces every digit d with (d + 3) mod 10: wrong numbers, same length."""
    return "".join(str((int(c) + 3) % 10) if c.isdigit() else c for c in text)


def with_unknown_characters(text: str) -> str:
    """Adds an emoji after the second word and an unknown character before the last word."""
    words = text.split()
    words.insert(2, EMOJI)
    words.insert(-1, UNKNOWN_CHAR + UNKNOWN_CHAR)
    return " ".join(words)


def messy_whitespace(text: str) -> str:
    """Two leading spaces, three spaces and a line break inside, a trailing space.

    Tokenizers differ here: the reference tokenizer.json files collapse and strip spaces in
    their normalizers, and a trailing space can become a token of its own.
    """
    words = text.split()
    third = len(words) // 3
    first, second, rest = (
        " ".join(part) for part in (words[:third], words[third : 2 * third], words[2 * third :])
    )
    return f"  {first}   {second}\n{rest} "


def build_inputs(texts: dict[str, list[str]]) -> list[dict[str, str]]:
    """The test segments: real text in several directions, damaged in known ways, plus edge cases."""
    en, sv, hi = texts["news_en"], texts["news_sv"], texts["news_hi"]
    seed_sv, seed_hi, seed_en = texts["seed_sv"], texts["seed_hi"], texts["seed_en"]
    # Fifteen lines joined: over 300 tokens for COMET, and over 1536 for MetricX with and
    # without the reference.
    long_en, long_hi = " ".join(en[9:24]), " ".join(hi[9:24])
    # Short pieces: the three texts of these fit in COMET's 64 positions even when joined.
    en15, sv15, en46, hi46 = (
        first_words(en[15]),
        first_words(sv[15]),
        first_words(en[46]),
        first_words(hi[46]),
    )
    sv31, hi31 = first_words(sv[31]), first_words(hi[31])

    def seg(src: str, mt: str, ref: str) -> dict[str, str]:
        return {"src": src, "mt": mt, "ref": ref}

    segments = [
        seg(seed_sv[0], seed_hi[0], seed_hi[0]),  # sv->hi, mt == ref
        seg(seed_hi[1], drop_every(seed_sv[1], 3), seed_sv[1]),  # hi->sv, omissions
        seg(en[0], swap_pairs(sv[0]), sv[0]),  # en->sv, word order
        seg(en[1], first_half(hi[1]), hi[1]),  # en->hi, half missing
        seg(sv[2], en[3], en[2]),  # sv->en, the wrong sentence
        seg(hi[4], hi[4], en[4]),  # hi->en, source copied (untranslated)
        seg(en[5], "", sv[5]),  # en->sv, empty candidate
        seg(sv[6], PUNCTUATION_ONLY, hi[6]),  # sv->hi, punctuation only
        seg(en[7], with_unknown_characters(sv[7]), sv[7]),  # en->sv, emoji + unknown character
        seg(en[0], swap_pairs(sv[0]), sv[0]),  # the third segment again, same triple
        seg(long_en, drop_every(long_hi, 7), long_hi),  # en->hi, long
        seg(sv[8], seed_en[5], en[8]),  # sv->en, unrelated text (another article)
        seg(hi[10], sv[10].lower(), sv[10]),  # hi->sv, lower-cased
        seg(sv[11], change_numbers(en[11]), en[11]),  # sv->en, wrong numbers
        seg(en[12], drop_last(hi[12], 3), hi[12]),  # en->hi, end missing
        seg(hi[13], en[13], en[13]),  # hi->en, mt == ref
        seg(seed_sv[2], seed_hi[3], seed_hi[2]),  # sv->hi, long lines, the wrong sentence
        seg(en[14], sv[14] + " " + sv[14], sv[14]),  # en->sv, repeated
        seg(seed_sv[10], seed_hi[10], seed_hi[10]),  # sv->hi, short (names), mt == ref
        seg(seed_hi[12], seed_sv[12], seed_sv[12]),  # hi->sv, short, mt == ref
        seg(seed_en[18], seed_sv[12], seed_sv[11]),  # en->sv, one word, the wrong line
        seg(en15, sv15.lower(), sv15),  # en->sv, short, lower-cased
        seg(en46, drop_last(hi46, 1), hi46),  # en->hi, short, last word missing
        seg(sv31, change_numbers(hi31), hi31),  # sv->hi, short, wrong number
        seg(hi[15], en15, en[15]),  # hi->en, medium: the candidate with one other text fits
        seg(sv[16], reverse_words(hi[16]), hi[16]),  # sv->hi, scrambled
        seg(en[24], messy_whitespace(sv[24]), sv[24]),  # en->sv, leading, repeated, trailing whitespace
    ]
    return segments


def check_edge_cases(segments: list[dict[str, str]], corpus: list[str]) -> None:
    """The characters meant to be unknown must not be in the training text."""
    seen = set("".join(corpus))
    for char in (EMOJI, UNKNOWN_CHAR):
        if char in seen:
            raise SystemExit(f"{char!r} occurs in the training text; pick another unknown character")
    if not any(s["mt"] == "" for s in segments):
        raise SystemExit("no empty candidate")


def train_sentencepiece(corpus: list[str], out: Path, **ids: int) -> None:
    """A unigram SentencePiece model over the corpus (deterministic: one thread, no sampling)."""
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus),
        model_writer=model,
        model_type="unigram",
        vocab_size=SPM_VOCAB_SIZE,
        character_coverage=1.0,
        num_threads=1,
        minloglevel=2,
        **ids,
    )
    out.write_bytes(model.getvalue())


def write_jsonl(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def _is_scalar(value) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def format_json(value, indent: int = 0) -> str:
    """JSON with one item per line, except that lists of scalars and objects whose values
    are all scalars stay on one line. Floats keep their full precision (repr)."""
    pad, inner = " " * indent, " " * (indent + 1)
    if isinstance(value, dict) and value and not all(_is_scalar(v) for v in value.values()):
        items = [f"{inner}{json.dumps(k)}: {format_json(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list) and value and not all(_is_scalar(v) for v in value):
        return "[\n" + ",\n".join(inner + format_json(v, indent + 1) for v in value) + "\n" + pad + "]"
    return json.dumps(value, ensure_ascii=False)


def write_json(path: Path, data: dict) -> None:
    path.write_text(format_json(data) + "\n", encoding="utf-8")


def write_reference_tokens(path: Path, tokens: dict) -> None:
    """The token ids the references computed, one JSON object per line.

    family "xlmr": COMET's tokenizer on each text of inputs.jsonl (ids with <s> and </s>,
    untruncated; for the MT also the offsets and each token decoded). family "mt5": what the
    MetricX model reads per mode and segment, the prompt's ids truncated to 1536 with the
    final </s> removed. Lines of a family that was not rebuilt (--only) are kept.
    """
    rows = []
    if path.exists():
        held = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        rows = [row for row in held if row["family"] not in tokens]
    for entry in tokens.get("xlmr", []):
        rows.append({"family": "xlmr", **entry})
    for mode, per_segment in tokens.get("mt5", {}).items():
        rows += [
            {"family": "mt5", "mode": mode, "segment": i, "ids": ids} for i, ids in enumerate(per_segment)
        ]
    write_jsonl(path, rows)


def reference_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of the reference processes: CPU only, one thread, no network."""
    env = dict(os.environ)
    for key in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"):
        env.pop(key, None)
    env.update(
        CUDA_VISIBLE_DEVICES="",
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        TOKENIZERS_PARALLELISM="false",
        PYTHONHASHSEED="0",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        WANDB_DISABLED="true",
    )
    env.update(extra or {})
    return env


def run_side(python: Path, script: str, args: list[str], env: dict[str, str]) -> None:
    command = [str(python), str(HERE / script), *args]
    print(f"[fixtures] running {script} with {python}", file=sys.stderr, flush=True)
    subprocess.run(command, check=True, env=env, cwd=REPO)


def expected_record(side: dict, fixture: str) -> dict:
    return {
        "reference": side["reference"],
        "environment": side["environment"],
        "created_with": CREATED_WITH,
        "tokenizer_training": {
            "sentencepiece": spm.__version__,
            "model_type": "unigram",
            "vocab_size": SPM_VOCAB_SIZE,
            "character_coverage": 1.0,
        },
        "facts": side["fixtures"][fixture]["facts"],
        "modes": side["fixtures"][fixture]["modes"],
    }


def _xlmr_differences(tokenizer, entries: list[dict], segments: list[dict]) -> tuple[int, int, int]:
    """Texts whose ids differ, MT texts whose offsets differ, MT texts whose decoded tokens differ."""
    from tokenizers import Tokenizer

    ids = offsets = decoded = 0
    for entry in entries:
        text = segments[entry["segment"]][entry["field"]]
        if isinstance(tokenizer, Tokenizer):
            encoding = tokenizer.encode(text)
            got_ids, got_offsets = encoding.ids, [list(o) for o in encoding.offsets]
            got_decoded = [tokenizer.decode([t], skip_special_tokens=False) for t in got_ids]
        else:
            encoding = tokenizer(text, return_offsets_mapping=True)
            got_ids, got_offsets = encoding.input_ids, [list(o) for o in encoding.offset_mapping]
            got_decoded = [tokenizer.decode([t]) for t in got_ids]
        ids += got_ids != entry["ids"]
        if "offsets" in entry:
            offsets += got_offsets != entry["offsets"]
            decoded += got_decoded != entry["decoded_tokens"]
    return ids, offsets, decoded


def _mt5_differences(tokenizer, reference: dict[str, list], segments: list[dict]) -> dict[str, list[int]]:
    """Per mode, the segments whose MetricX model input differs (prompt, truncation, EOS removed)."""
    from tokenizers import Tokenizer

    wrong: dict[str, list[int]] = {}
    for mode, model_inputs in reference.items():
        wrong[mode] = []
        for i, segment in enumerate(segments):
            prompt = f"source: {segment['src']} candidate: {segment['mt']}"
            prompt += f" reference: {segment['ref']}" if mode == "ref" else ""
            if isinstance(tokenizer, Tokenizer):
                ids = tokenizer.encode(prompt).ids
                if len(ids) > MAX_METRICX_INPUT:  # truncation keeps the final </s>
                    ids = ids[: MAX_METRICX_INPUT - 1] + ids[-1:]
            else:
                ids = tokenizer(prompt, max_length=MAX_METRICX_INPUT, truncation=True).input_ids
            if ids[:-1] != model_inputs[i]:
                wrong[mode].append(i)
    return wrong


def compare_tokenizers(out: Path, tokens: dict) -> list[str]:
    """Tokenizes the inputs again in this (the project's) environment and compares with what
    the references computed; one line per way of loading. Offsets matter for xCOMET's spans.

    Two ways each: the transformers class one would reach for, and the tokenizer.json file
    itself through the tokenizers library.
    """
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer, XLMRobertaTokenizerFast
    from transformers import __version__ as version

    segments = [json.loads(line) for line in (out / "inputs.jsonl").read_text(encoding="utf-8").splitlines()]
    lines = []
    if "xlmr" in tokens:
        folder = out / "comet-tiny" / "encoder"
        loaders = {
            f"transformers {version} XLMRobertaTokenizerFast": XLMRobertaTokenizerFast.from_pretrained(
                folder
            ),
            "tokenizers.Tokenizer(tokenizer.json)": Tokenizer.from_file(str(folder / "tokenizer.json")),
        }
        for name, tokenizer in loaders.items():
            ids, offsets, decoded = _xlmr_differences(tokenizer, tokens["xlmr"], segments)
            lines.append(
                f"xlmr, {name}: ids differ in {ids}/{len(tokens['xlmr'])} texts, "
                f"MT offsets in {offsets}/{len(segments)}, decoded MT tokens in {decoded}/{len(segments)}"
            )
    if "mt5" in tokens:
        folder = out / "metricx-tiny" / "tokenizer"
        loaders = {
            f"transformers {version} AutoTokenizer": AutoTokenizer.from_pretrained(folder),
            "tokenizers.Tokenizer(tokenizer.json)": Tokenizer.from_file(str(folder / "tokenizer.json")),
        }
        for name, tokenizer in loaders.items():
            wrong = _mt5_differences(tokenizer, tokens["mt5"], segments)
            lines.append(f"mt5, {name}: MetricX model inputs differ in segments {wrong}")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the fixtures go")
    parser.add_argument(
        "--refenvs",
        type=Path,
        default=None,
        help="folder of the reference environments (or $EVALHARNESS_REFENVS)",
    )
    parser.add_argument("--metricx-src", type=Path, default=None, help="an existing checkout of MetricX")
    parser.add_argument("--only", choices=["comet", "metricx"], default=None, help="build one family only")
    args = parser.parse_args(argv)

    refenvs = envs.ensure_all(args.refenvs, args.metricx_src)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)

    texts = load_texts()
    corpus = training_text(texts)
    segments = build_inputs(texts)
    check_edge_cases(segments, corpus)
    inputs = out / "inputs.jsonl"
    write_jsonl(inputs, segments)

    tokens: dict = {}
    with tempfile.TemporaryDirectory(prefix="evalharness-fixtures-") as tmp_name:
        tmp = Path(tmp_name)
        env = reference_env({"HF_HOME": str(tmp / "hf-home")})
        if args.only in (None, "comet"):
            # XLM-R's SentencePiece layout: <unk>=0, <s>=1, </s>=2 (the tokenizer adds the fairseq offset).
            train_sentencepiece(corpus, tmp / "xlmr.model")
            for name in COMET_FIXTURES:
                shutil.rmtree(out / name, ignore_errors=True)
            side_args = ["--inputs", str(inputs), "--spm", str(tmp / "xlmr.model"), "--out", str(out)]
            run_side(
                refenvs.comet_python, "comet_side.py", [*side_args, "--results", str(tmp / "comet.json")], env
            )
            side = json.loads((tmp / "comet.json").read_text(encoding="utf-8"))
            for name in COMET_FIXTURES[1:]:
                write_json(out / name / "expected.json", expected_record(side, name))
            tokens["xlmr"] = side["tokens"]
        if args.only in (None, "metricx"):
            # T5's SentencePiece layout: <pad>=0, </s>=1, <unk>=2, no <s>.
            train_sentencepiece(corpus, tmp / "t5.model", pad_id=0, eos_id=1, unk_id=2, bos_id=-1)
            for name in METRICX_FIXTURES:
                shutil.rmtree(out / name, ignore_errors=True)
            side_args = ["--inputs", str(inputs), "--spm", str(tmp / "t5.model"), "--out", str(out)]
            side_args += ["--metricx-src", str(refenvs.metricx_src), "--work", str(tmp / "metricx")]
            run_side(
                refenvs.metricx_python,
                "metricx_side.py",
                [*side_args, "--results", str(tmp / "mx.json")],
                env,
            )
            side = json.loads((tmp / "mx.json").read_text(encoding="utf-8"))
            for name in METRICX_FIXTURES:
                write_json(out / name / "expected.json", expected_record(side, name))
            tokens["mt5"] = side["tokens"]
    write_reference_tokens(out / "reference_tokens.jsonl", tokens)
    for line in compare_tokenizers(out, tokens):
        print(f"[tokenizers] {line}", file=sys.stderr)
    print(f"[fixtures] done: {out.relative_to(REPO) if out.is_relative_to(REPO) else out}", file=sys.stderr)


if __name__ == "__main__":
    main()
