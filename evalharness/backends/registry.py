"""Backends by name. Built-ins register with a decorator; third parties add theirs through
the `evalharness.backends` entry-point group, e.g. in their pyproject.toml:

    [project.entry-points."evalharness.backends"]
    mybackend = "mypackage.module:MyBackend"

A spec is one string: `NAME` or `NAME:ARGUMENT` (`marian:Helsinki-NLP/opus-mt-sv-en`,
`file:hyps.txt`, `pivot:SPEC+SPEC`). The factory is called as `factory(argument, **options)`.

A built-in backend declares its options with their defaults (`register_backend(name,
options={...})`): options are then checked and typed before the factory runs, and a whole
configuration can be checked before any work (`check_options`), so that a misspelt
`num_beam` is an error and never a setting silently dropped and recorded as applied.
Plug-ins check their own options.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from importlib.metadata import entry_points
from typing import Any

from evalharness.backends.base import Backend
from evalharness.backends.options import checked
from evalharness.errors import UserError

ENTRY_POINT_GROUP = "evalharness.backends"
_NAME = re.compile(r"[a-z][a-z0-9_-]*")
_BUILTIN: dict[str, Callable[..., Backend]] = {}
_OPTIONS: dict[str, Mapping[str, Any]] = {}  # backend -> option -> default (its type is the default's)


def register_backend(name: str, options: Mapping[str, Any] | None = None) -> Callable:
    def decorator(factory: Callable[..., Backend]) -> Callable[..., Backend]:
        if name in _BUILTIN:
            raise ValueError(f"backend {name!r} registered twice")
        _BUILTIN[name] = factory
        _OPTIONS[name] = dict(options or {})
        return factory

    return decorator


def _load_builtins() -> None:
    # Importing the modules runs their @register_backend decorators.
    from evalharness.backends import (  # noqa: F401
        ct2,
        file,
        hf_causal,
        hf_seq2seq,
        marian,
        openai_api,
        passthrough,
        pivot,
        tiny_marian,
        vllm_engine,
    )


def available_backends() -> dict[str, Callable[..., Backend]]:
    _load_builtins()
    found = dict(_BUILTIN)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in found:
            found[ep.name] = ep  # loaded only when asked for
    return found


def parse_spec(spec: str) -> tuple[str, str | None]:
    name, sep, argument = spec.strip().partition(":")
    if not _NAME.fullmatch(name):
        raise UserError(f"malformed backend spec {spec!r}: expected NAME or NAME:ARGUMENT")
    if sep and not argument:
        raise UserError(f"malformed backend spec {spec!r}: nothing after ':'")
    return name, (argument if sep else None)


def check_spec(spec: str) -> str:
    """Fail before any work on a spec that names no known backend (also inside
    `pivot:A+B`): a typo must be an error at once, not a failed system after a long build."""
    name, argument = parse_spec(spec)
    backends = available_backends()
    if name not in backends:
        raise UserError(f"unknown backend {name!r} (available: {', '.join(sorted(backends))})")
    if name == "pivot" and argument:
        for part in argument.split("+"):
            check_spec(part)
    return spec


def check_options(spec: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """The options a backend is given, checked and typed (unset ones, None, are dropped): an
    option the backend does not take, or a value of the wrong type, is one line. A pivot
    takes `via` and passes each stage the options that stage takes; each option given must
    be taken by at least one stage. Plug-ins' options pass unchecked."""
    name, argument = parse_spec(check_spec(spec))
    given = {k: v for k, v in options.items() if v is not None}
    if name == "pivot" and argument:
        rest = {k: v for k, v in given.items() if k != "via"}
        stages = [parse_spec(part)[0] for part in argument.split("+")]
        declared = {k: d for stage in stages for k, d in _declared(stage).items()}
        if any(stage not in _BUILTIN for stage in stages):
            return given  # a plug-in stage: it checks its own
        checked("pivot", rest, declared | {"via": "en"})
        return given
    if name not in _BUILTIN:
        return given
    return {k: v for k, v in checked(name, given, _declared(name)).items() if k in given}


def _declared(name: str) -> Mapping[str, Any]:
    available_backends()
    return _OPTIONS.get(name, {})


def stage_options(spec: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """Of a pivot's options, those the stage `spec` takes (all, for a plug-in)."""
    name = parse_spec(spec)[0]
    if name not in _BUILTIN:
        return dict(options)
    return {k: v for k, v in options.items() if k in _declared(name)}


def create_backend(spec: str, **options) -> Backend:
    options = check_options(spec, options)
    name, argument = parse_spec(spec)
    factory = available_backends()[name]
    if hasattr(factory, "load"):  # an entry point
        try:
            factory = factory.load()
        except Exception as exc:  # a broken plug-in must not look like our bug
            raise UserError(f"backend plug-in {name!r} failed to load: {exc}") from exc
    backend = factory(argument, **options)
    if not isinstance(backend, Backend):
        raise UserError(f"backend plug-in {name!r} did not return an evalharness Backend")
    return backend
