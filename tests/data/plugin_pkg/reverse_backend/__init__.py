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
