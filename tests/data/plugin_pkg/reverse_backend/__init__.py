"""A plug-in backend as a third party would write it: no evalharness internals touched."""

from evalharness.backends.base import Backend


class Reverse(Backend):
    kind = "reverse"

    def translate(self, segments, src_lang, tgt_lang):
        return [s[::-1] for s in segments]

    def describe(self):
        return {"plugin": "reverse", "version": 1}


def make_reverse(argument=None, **options):
    return Reverse()
