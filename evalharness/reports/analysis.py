"""compare-mt's analyses (Neubig et al., 2019) with this harness's statistics, for `compare`.

A corpus score says which system is better; these say where. Each follows compare-mt's
definition, so its numbers read the same, and adds what the harness knows:

- Word accuracy by frequency bucket: a word of the output matches a word of the (first)
  reference at most as often as the reference has it (compare-mt's greedy match, which is
  the clipped bag-of-words intersection). Each word falls in the bucket of its frequency,
  counted over the test set's references or over a training corpus (`--freq-corpus`);
  precision, recall and F-measure per bucket, with compare-mt's cut-offs and labels.
- Characteristic n-grams: 1- to 4-grams each system matches in the reference (clipped per
  segment), scored (m_sys + 1) / (m_sys + m_base + 2) as compare-mt's "match" comparison
  with alpha 1, the most characteristic of each side listed.
- Buckets by segment attribute (document, source length, share of rare reference words,
  alignment confidence, and any tag from `--tags FILE`): not compare-mt's mean sentence
  score, but the corpus score of the bucket's segments from their stored sufficient
  statistics (rows summed and scored as the metric scores a corpus: BLEU of a bucket is
  sacrebleu's BLEU of those segments), with a 95% interval and a paired bootstrap p-value
  against the baseline drawn over the bucket's segments (sacrebleu's draws, as
  `significance.compare_many` makes them). Buckets under 30 segments are marked small:
  their intervals are wide and unreliable.
- Length difference: hypothesis minus reference length in words, per segment, binned.

Words are whitespace tokens, case-folded, without surrounding punctuation (as the rare-word
buckets of `buckets.py` count them); compare-mt expects tokenised text, and this is its
nearest equivalent that works for any script without a tokenizer."""

from __future__ import annotations

import json
import os
import re
import stat
from collections import Counter
from collections.abc import Mapping, Sequence
from itertools import chain

import numpy as np
from pydantic import BaseModel, ConfigDict

from evalharness.errors import UserError
from evalharness.metrics.scoring import BOOTSTRAP_SEED, interval_from
from evalharness.metrics.significance import bootstrap_p, resampled_scores_many, same_score
from evalharness.metrics.stats import MetricStats
from evalharness.reports import buckets
from evalharness.reports.schema import RunReport, SegmentRecord

# compare-mt's frequency cut-offs and labels (FreqWordBucketer): bucket k holds counts in
# [edges[k-1], edges[k]).
FREQ_EDGES = (1, 2, 3, 4, 5, 10, 100, 1000)
FREQ_LABELS = ("<1", "1", "2", "3", "4", "[5,10)", "[10,100)", "[100,1000)", ">=1000")
NGRAM_MAX = 4  # compare-mt: 1- to 4-grams
NGRAM_ALPHA = 1.0  # compare-mt's smoothing
NGRAM_TOP = 10  # per side and system (compare-mt reports 50; a page shows the head)
SMALL_BUCKET = 30  # segments: below this a bucket's interval is not to be relied on
MAX_BUCKETS = (
    60  # per attribute; the smallest beyond are pooled (bootstraps of 1-segment documents say nothing)
)
# hypothesis minus reference length, in words: bucket k holds edges[k-1] <= d < edges[k]
LENGTH_EDGES = (-9, -4, -1, 0, 1, 2, 5, 10)
LENGTH_LABELS = ("≤ -10", "-9…-5", "-4…-2", "-1", "0", "+1", "+2…+4", "+5…+9", "≥ +10")
MAX_TAGS_BYTES = 256 * 1024 * 1024


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def words(text: str) -> list[str]:
    """The words the analyses count (see the module docstring)."""
    return [w for w in map(buckets._word, text.casefold().split()) if w]


def _word_counts(texts) -> Counter[str]:
    """Word frequencies: raw tokens counted in C, each distinct token cleaned once."""
    tokens: Counter[str] = Counter()
    for text in texts:
        tokens.update(text.casefold().split())
    out: Counter[str] = Counter()
    for token, n in tokens.items():
        word = buckets._word(token)
        if word:
            out[word] += n
    return out


# ---------------------------------------------------------------- inputs


class WordFrequencies(_Model):
    """Word counts the frequency buckets use, and where they came from (shown on the page)."""

    source: str
    counts: dict[str, int]


def read_frequencies(path: os.PathLike | str) -> WordFrequencies:
    """A training corpus, any plain UTF-8 text (one sentence a line is usual), read in
    pieces so that a large corpus is never held whole."""
    path = os.fspath(path)
    _regular_file(path, "frequency corpus (--freq-corpus)")
    tokens: Counter[str] = Counter()
    try:
        with open(path, encoding="utf-8") as fh:
            while lines := fh.readlines(8 << 20):
                tokens.update(" ".join(lines).casefold().split())
    except UnicodeDecodeError as exc:
        raise UserError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", path) from exc
    except OSError as exc:
        raise UserError(f"cannot read the frequency corpus ({exc.strerror or exc})", path) from exc
    counts: Counter[str] = Counter()
    for token, n in tokens.items():
        if word := buckets._word(token):
            counts[word] += n
    if not counts:
        raise UserError("the frequency corpus has no words", path)
    return WordFrequencies(source=f"{path} ({sum(counts.values()):,} words)", counts=dict(counts))


def _regular_file(path: str, what: str) -> None:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise UserError(f"no {what}", path) from None
    except OSError as exc:
        raise UserError(f"cannot read {what} ({exc.strerror or exc})", path) from exc
    if not stat.S_ISREG(info.st_mode):
        raise UserError(f"not a regular file (expected {what})", path)


class SegmentTags(_Model):
    """User tags per segment id, from a JSONL file (`--tags`): `{"id": "s0001", "domain": "news"}`."""

    source: str
    by_id: dict[str, dict[str, str]]


def read_tags(path: os.PathLike | str) -> SegmentTags:
    """One JSON object a line with a string `id` and scalar tags; blank lines skipped. Every
    problem is one line naming the file and the line."""
    from evalharness.fileio import read_regular

    path = os.fspath(path)
    data = read_regular(path, MAX_TAGS_BYTES, "tags file (--tags)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", path) from exc
    by_id: dict[str, dict[str, str]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(f"line {number}: not JSON ({exc.msg})", path) from exc
        if not isinstance(row, dict) or not isinstance(row.get("id"), str) or not row["id"]:
            raise UserError(f'line {number}: expected an object with a string "id"', path)
        seg = row.pop("id")
        if seg in by_id:
            raise UserError(f"line {number}: segment {seg!r} is tagged twice", path)
        tags = {}
        for key, value in row.items():
            if isinstance(value, bool):
                value = "yes" if value else "no"
            elif isinstance(value, int | float) and not isinstance(value, bool):
                value = f"{value:g}"
            elif value is None:
                continue
            elif not isinstance(value, str):
                raise UserError(f"line {number}: tag {key!r} is not a string, number or true/false", path)
            tags[key] = value
        by_id[seg] = tags
    if not by_id:
        raise UserError("no tagged segments", path)
    return SegmentTags(source=path, by_id=by_id)


# ---------------------------------------------------------------- word accuracy


class WordMatch(_Model):
    """compare-mt's counts for one bucket: words in both, in the reference, in the output."""

    matched: int
    reference: int
    output: int

    @property
    def precision(self) -> float:
        return self.matched / self.output if self.matched else 0.0

    @property
    def recall(self) -> float:
        return self.matched / self.reference if self.matched else 0.0

    @property
    def f_measure(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


class WordAccuracy(_Model):
    source: str  # where the frequencies came from
    labels: list[str]
    runs: list[list[WordMatch]]  # per run (baseline first), per bucket


class _Texts:
    """Every text the word analyses read, as one array of word ids: side 0 is the (first)
    reference of each segment, side k the hypotheses of run k-1. n-grams are numbered once
    over all sides, order by order (an n-gram is its (n-1)-gram prefix and a last word), so
    that clipped matches are counted with numpy (sorting and merging int64 keys) instead
    of a Counter per segment and system."""

    def __init__(self, sides: Sequence[Sequence[str]]):
        vocab: dict[str, int] = {}

        class TokenIds(dict):  # casefolded token -> its word's id, -1: no word (punctuation)
            def __missing__(self, token: str) -> int:
                word = buckets._word(token)
                got = self[token] = vocab.setdefault(word, len(vocab)) if word else -1
                return got

        token_ids = TokenIds()
        self.n_segments = len(sides[0])
        ids, seg, self.bounds = [], [], [0]
        for k, side in enumerate(sides):
            if len(side) != self.n_segments:
                raise ValueError(f"{len(side)} texts for {self.n_segments} segments")
            # per token, only C: split, look up, collect (a Python loop per text, none per token)
            tokens = list(map(str.split, map(str.casefold, side)))
            lengths = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
            found = np.fromiter(map(token_ids.__getitem__, chain.from_iterable(tokens)), dtype=np.int64)
            keep = found >= 0
            ids.append(found[keep])
            seg.append(np.repeat(np.arange(len(side), dtype=np.int64) + k * self.n_segments, lengths)[keep])
            self.bounds.append(self.bounds[-1] + int(keep.sum()))
        self.vocab = list(vocab)
        self.ids = np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64)
        self.seg = np.concatenate(seg) if seg else np.zeros(0, dtype=np.int64)
        self.grams: list[np.ndarray] = [self.ids]  # per order: each position's n-gram id, -1: none
        # per order: each n-gram's prefix id * V + last word id
        self.keys: list[np.ndarray] = [np.arange(len(vocab), dtype=np.int64)]
        for n in range(2, NGRAM_MAX + 1):
            gram = np.full(len(self.ids), -1, dtype=np.int64)
            start = np.arange(max(len(self.ids) - n + 1, 0))
            start = start[self.seg[start] == self.seg[start + n - 1]]
            keys, gram[start] = np.unique(
                self.grams[-1][start] * len(vocab) + self.ids[start + n - 1], return_inverse=True
            )
            self.grams.append(gram)
            self.keys.append(keys)

    def side(self, k: int) -> slice:
        return slice(self.bounds[k], self.bounds[k + 1])

    def text(self, n: int, gram: int) -> str:
        out = []
        for order in range(n, 0, -1):
            key = int(self.keys[order - 1][gram])
            if order == 1:
                out.append(self.vocab[key])
            else:
                gram, last = divmod(key, len(self.vocab))
                out.append(self.vocab[last])
        return " ".join(reversed(out))

    def _counts(self, k: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Side k's (segment, n-gram) keys and how often each occurs."""
        gram, seg = self.grams[n - 1][self.side(k)], self.seg[self.side(k)] % max(self.n_segments, 1)
        present = gram >= 0
        return np.unique(seg[present] * len(self.keys[n - 1]) + gram[present], return_counts=True)

    def matched(self, k: int, n: int) -> np.ndarray:
        """Per n-gram of order n: how often side k has it in a segment whose reference has it
        too, at most as often as the reference (clipped per segment), summed over segments."""
        size = len(self.keys[n - 1])
        hyp_keys, hyp_counts = self._counts(k, n)
        ref_keys, ref_counts = self._counts(0, n)
        common, h, r = np.intersect1d(hyp_keys, ref_keys, assume_unique=True, return_indices=True)
        clipped = np.minimum(hyp_counts[h], ref_counts[r])
        return np.bincount(common % max(size, 1), weights=clipped, minlength=size).astype(np.int64)

    def lengths(self, k: int) -> np.ndarray:
        """Words per segment on side k."""
        return np.bincount(self.seg[self.side(k)] - k * self.n_segments, minlength=self.n_segments)


def _word_matches(texts: _Texts, k: int, bucket_of_word: np.ndarray) -> list[WordMatch]:
    """compare-mt's `calc_bucketed_matches` for side k: per frequency bucket, the output's
    words that match the reference (at most as often as it has them), the reference's words
    and the output's words."""
    size = len(FREQ_LABELS)
    vocab = len(texts.vocab)
    both = np.bincount(bucket_of_word, weights=texts.matched(k, 1), minlength=size)
    ref = np.bincount(
        bucket_of_word, weights=np.bincount(texts.ids[texts.side(0)], minlength=vocab), minlength=size
    )
    out = np.bincount(
        bucket_of_word, weights=np.bincount(texts.ids[texts.side(k)], minlength=vocab), minlength=size
    )
    return [
        WordMatch(matched=int(m), reference=int(r), output=int(o))
        for m, r, o in zip(both, ref, out, strict=True)
    ]


def _word_accuracy(texts: _Texts, counts: Mapping[str, int], source: str) -> WordAccuracy:
    freq = np.array([counts.get(w, 0) for w in texts.vocab], dtype=np.int64)
    bucket_of_word = np.searchsorted(FREQ_EDGES, freq, side="right")
    runs = [_word_matches(texts, k, bucket_of_word) for k in range(1, len(texts.bounds) - 1)]
    return WordAccuracy(source=source, labels=list(FREQ_LABELS), runs=runs)


def word_accuracy(
    references: Sequence[str],
    systems: Sequence[Sequence[str]],
    frequencies: WordFrequencies | None = None,
    all_references: Sequence[str] | None = None,
) -> WordAccuracy:
    """Word accuracy of each system against `references`; word frequencies from
    `frequencies` (a training corpus), else counted over `all_references` (every reference
    of the test set; by default `references`), as compare-mt counts its reference."""
    if frequencies is None:
        counts, source = _word_counts(all_references or references), "the test set's references"
    else:
        counts, source = frequencies.counts, frequencies.source
    return _word_accuracy(_Texts([references, *systems]), counts, source)


# ---------------------------------------------------------------- n-grams


class NgramCount(_Model):
    ngram: str
    system: int  # times the system's output matched it in the reference
    baseline: int
    score: float  # (system + alpha) / (system + baseline + 2 alpha)


class NgramDiff(_Model):
    run_id: str
    system_better: list[NgramCount]  # most characteristic of the system first
    baseline_better: list[NgramCount]


def _ngram_diff(
    texts: _Texts, k: int, run_id: str, top: int = NGRAM_TOP, alpha: float = NGRAM_ALPHA
) -> NgramDiff:
    """Side k against side 1 (the baseline): the `top` n-grams most characteristic of each,
    by compare-mt's smoothed share of the matches, then by how often; ties by the n-gram's
    text, so the lists are stable."""
    ours: list[tuple[float, int, str, int, int]] = []
    theirs: list[tuple[float, int, str, int, int]] = []
    for n in range(1, NGRAM_MAX + 1):
        s, b = texts.matched(k, n), texts.matched(1, n)
        score = (s + alpha) / (s + b + 2 * alpha)
        for side, sign, mask, often in ((ours, -1.0, s > b, s), (theirs, 1.0, b > s, b)):
            picked = np.flatnonzero(mask)
            # the head of this order by (score, count); lexsort's last key sorts first
            picked = picked[np.lexsort((-often[picked], sign * score[picked]))][: top * 4]
            side += [
                (sign * score[g], -int(often[g]), texts.text(n, int(g)), int(s[g]), int(b[g])) for g in picked
            ]

    def record(row: tuple[float, int, str, int, int]) -> NgramCount:
        _, _, text, s, b = row
        return NgramCount(ngram=text, system=s, baseline=b, score=(s + alpha) / (s + b + 2 * alpha))

    return NgramDiff(
        run_id=run_id,
        system_better=[record(r) for r in sorted(ours)[:top]],
        baseline_better=[record(r) for r in sorted(theirs)[:top]],
    )


def ngram_differences(
    references: Sequence[str],
    baseline: Sequence[str],
    system: Sequence[str],
    run_id: str = "",
    top: int = NGRAM_TOP,
) -> NgramDiff:
    """compare-mt's n-gram difference analysis of one system against the baseline."""
    return _ngram_diff(_Texts([references, baseline, system]), 2, run_id, top)


# ---------------------------------------------------------------- attribute buckets


class BucketScore(_Model):
    score: float
    low: float  # 95% bootstrap interval over the bucket's segments
    high: float
    delta: float | None = None  # minus the baseline's (None for the baseline)
    p_bootstrap: float | None = None  # paired bootstrap; None: the baseline, or nothing to test


class AttributeBucket(_Model):
    label: str
    segments: int
    small: bool
    scores: dict[str, list[BucketScore]]  # metric -> per run (baseline first)


class AttributeBuckets(_Model):
    id: str
    title: str
    note: str
    buckets: list[AttributeBucket]


def _numeric(values: Sequence[float | None], b: buckets.Bucketing) -> list[str | None]:
    """Each segment's bucket label (None: no value), with the bucketing's edges."""
    out: list[str | None] = []
    for v in values:
        out.append(None if v is None else b.labels[int(np.searchsorted(b.edges, v, side="right"))])
    return out


def attributes(
    segments: Sequence[SegmentRecord], tags: SegmentTags | None
) -> list[tuple[str, str, str, list[str | None], list[str]]]:
    """(id, title, note, label per segment, label order) for every attribute the segments
    have: documents (two or more), source length, rare reference words, alignment confidence
    (when known) and each user tag."""
    out = []
    docs = [s.doc for s in segments]
    if len({d for d in docs if d}) > 1:
        out.append(
            (
                "document",
                "Scores by document",
                "Each document's segments scored as a corpus.",
                docs,
                list(dict.fromkeys(d for d in docs if d)),
            )
        )
    for bucketing, value_of, attr in (
        (buckets.LENGTH, buckets.source_length, "length"),
        (buckets.RARITY, buckets.rare_word_share, "rarity"),
        (buckets.CONFIDENCE, buckets.confidence, "confidence"),
    ):
        values = value_of(segments)
        if all(v is None for v in values):
            continue
        title = bucketing.title.replace("Sentence score", "Scores")
        out.append((attr, title, bucketing.note, _numeric(values, bucketing), list(bucketing.labels)))
    if tags is not None:
        known = {s.id for s in segments}
        unknown = sorted(set(tags.by_id) - known)
        if unknown:
            more = f" and {len(unknown) - 1} more" if len(unknown) > 1 else ""
            raise UserError(
                f"segment {unknown[0]!r}{more} is not a segment of the runs compared", tags.source
            )
        keys = list(dict.fromkeys(k for t in tags.by_id.values() for k in t))
        for n, key in enumerate(keys):
            labels = [tags.by_id.get(s.id, {}).get(key) for s in segments]
            order = sorted({v for v in labels if v is not None})
            # a section id whatever the key is, and one of its own
            slug = key if re.fullmatch(r"[A-Za-z0-9_-]{1,40}", key) else str(n)
            if any(a[0] == f"tag-{slug}" for a in out):
                slug = f"{slug}-{n}"
            out.append(
                (f"tag-{slug}", f"Scores by tag: {key}", f"User tags from {tags.source}.", labels, order)
            )
    return out


def _groups(labels: Sequence[str | None], order: Sequence[str]) -> list[tuple[str, np.ndarray]]:
    """Segment indices per bucket in the attribute's order, 'unknown' last; beyond
    MAX_BUCKETS the smallest are pooled as 'other'."""
    index: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        index.setdefault("unknown" if label is None else label, []).append(i)
    ordered = [k for k in order if k in index] + (["unknown"] if "unknown" in index else [])
    ordered += [k for k in index if k not in ordered]
    if len(ordered) > MAX_BUCKETS:
        keep = set(sorted(ordered, key=lambda k: -len(index[k]))[: MAX_BUCKETS - 1])
        pooled = [i for k in ordered if k not in keep for i in index[k]]
        n_pooled = len(ordered) - len(keep)
        ordered = [k for k in ordered if k in keep]
        index[f"other ({n_pooled} smaller)"] = sorted(pooled)
        ordered.append(f"other ({n_pooled} smaller)")
    return [(k, np.asarray(index[k], dtype=np.intp)) for k in ordered]


def bucket_scores(
    stats: Mapping[str, Sequence[MetricStats]],
    members: np.ndarray,
    identical: Sequence[bool],
    n_bootstrap: int,
    seed: int = BOOTSTRAP_SEED,
) -> dict[str, list[BucketScore]]:
    """Every run's corpus score on the segments `members`, with its interval and the paired
    bootstrap p-value against the first run: sacrebleu's draws over these segments, the
    same resampled scores `compare_many` judges pairs from (one draw for every metric).
    `identical[k]`: run k's output equals the baseline's on these segments (not tested)."""
    sub = {
        m: [MetricStats(s.metric_id, s.metric, s.array[members], stored_key=s.stored_key) for s in systems]
        for m, systems in stats.items()
    }
    resampled = resampled_scores_many(sub, n_bootstrap, seed)
    out: dict[str, list[BucketScore]] = {}
    for metric, systems in sub.items():
        rows = []
        for k, s in enumerate(systems):
            iv = interval_from(resampled[metric][k], seed)
            delta = None if k == 0 else s.score - systems[0].score
            tested = k > 0 and not identical[k] and not same_score(delta)
            rows.append(
                BucketScore(
                    score=s.score,
                    low=iv.low,
                    high=iv.high,
                    delta=delta,
                    p_bootstrap=bootstrap_p(resampled[metric], 0, k, abs(delta)) if tested else None,
                )
            )
        out[metric] = rows
    return out


def attribute_buckets(
    reports: Sequence[RunReport],
    stats: Mapping[str, Sequence[MetricStats]],
    tags: SegmentTags | None = None,
    n_bootstrap: int = 1000,
) -> list[AttributeBuckets]:
    base = reports[0]
    hyps = [np.array([s.hypothesis for s in r.segments], dtype=object) for r in reports]
    out = []
    for attr, title, note, labels, order in attributes(base.segments, tags):
        groups = _groups(labels, order)
        if len(groups) < 2:  # one bucket is the whole test set again
            continue
        rows = []
        for label, members in groups:
            identical = [bool(np.all(h[members] == hyps[0][members])) for h in hyps]
            rows.append(
                AttributeBucket(
                    label=label,
                    segments=len(members),
                    small=len(members) < SMALL_BUCKET,
                    scores=bucket_scores(stats, members, identical, n_bootstrap),
                )
            )
        out.append(AttributeBuckets(id=f"buckets-{attr}", title=title, note=note, buckets=rows))
    return out


# ---------------------------------------------------------------- length difference


class LengthDifference(_Model):
    labels: list[str]
    counts: list[list[int]]  # per run, per bin
    mean: list[float | None]  # per run: mean hypothesis minus reference length, in words


def _length_difference(texts: _Texts) -> LengthDifference:
    ref = texts.lengths(0)
    counts, means = [], []
    for k in range(1, len(texts.bounds) - 1):
        diff = texts.lengths(k) - ref
        bins = np.bincount(np.searchsorted(LENGTH_EDGES, diff, side="right"), minlength=len(LENGTH_LABELS))
        counts.append(bins.tolist())
        means.append(float(diff.mean()) if len(diff) else None)
    return LengthDifference(labels=list(LENGTH_LABELS), counts=counts, mean=means)


# ---------------------------------------------------------------- all of it


class Analysis(_Model):
    word_accuracy: WordAccuracy
    ngrams: list[NgramDiff]  # one per run after the baseline
    buckets: list[AttributeBuckets]
    length: LengthDifference


def analyse(
    reports: Sequence[RunReport],
    stats: Mapping[str, Sequence[MetricStats]],
    frequencies: WordFrequencies | None = None,
    tags: SegmentTags | None = None,
    n_bootstrap: int = 1000,
) -> Analysis:
    """Every analysis for runs on the same segments (the baseline first); `stats`: each
    metric's per-segment statistics, one per run, in the same order. The texts are split
    into words once (a hypothesis two runs share, once)."""
    base = reports[0]
    refs = [s.references[0] if s.references else "" for s in base.segments]
    texts = _Texts([refs, *([s.hypothesis for s in r.segments] for r in reports)])
    if frequencies is None:
        counts = _word_counts(chain.from_iterable(s.references for s in base.segments))
        source = "the test set's references"
    else:
        counts, source = frequencies.counts, frequencies.source
    return Analysis(
        word_accuracy=_word_accuracy(texts, counts, source),
        ngrams=[_ngram_diff(texts, k + 1, r.run_id) for k, r in enumerate(reports[1:], start=1)],
        buckets=attribute_buckets(reports, stats, tags, n_bootstrap),
        length=_length_difference(texts),
    )
