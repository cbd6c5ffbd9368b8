"""A plug-in backend as a third party would write it: no evalharness internals touched."""

import os
import time

from evalharness.backends.base import Backend


class Reverse(Backend):
    kind = "reverse"

    def translate(self, segments, src_lang, tgt_lang):
        return [s[::-1] for s in segments]

    def describe(self):
        return {"plugin": "reverse", "version": 1}


def make_reverse(argument=None, **options):
    return Reverse()


class Crashy(Reverse):
    """Reverses too, slowly; the first process to translate anything dies on the spot
    (os._exit, as a killed worker would), leaving MARKER behind so the next one lives.
    The tests use it to kill one Ray actor mid-run."""

    kind = "crashy"

    def __init__(self, marker):
        self.marker = marker

    def translate(self, segments, src_lang, tgt_lang):
        if not os.path.exists(self.marker):
            with open(self.marker, "w") as fh:
                fh.write(str(os.getpid()))
            os._exit(1)
        time.sleep(0.02 * len(segments))
        return super().translate(segments, src_lang, tgt_lang)

    def describe(self):
        return {"plugin": "crashy", "version": 1}


def make_crashy(argument=None, **options):
    return Crashy(argument)


# A plug-in model metric: what a third party writes to add a metric (here without a model:
# the share of the reference's length the hypothesis has, capped at 1).
from evalharness.metrics.neural.base import ModelScorer, SegmentScore  # noqa: E402
from evalharness.metrics.neural.metric import ModelMetric  # noqa: E402


class _Builtin:
    """The 'checkpoint' of a metric without weights: a name and a fixed digest."""

    name = "builtin"
    digest = "0" * 64
    native_modes = ("ref",)
    native_dtype = "float32"


class LengthShare(ModelScorer):
    def score(self, segments, memo=None):
        return [SegmentScore(min(1.0, len(s.hypothesis) / max(1, len(s.references[0])))) for s in segments]


LENGTH_SHARE = ModelMetric(
    id="lengthshare",
    display="LengthShare",
    higher_is_better=True,
    default_model="builtin",
    resolve=lambda model, options: _Builtin(),
    load=lambda checkpoint, inference, use_reference: LengthShare(),
    scale=100,
    modes=("ref",),
    description="share of the reference's length the hypothesis has (a test plug-in)",
)
