"""The CTranslate2 backend on the offline fixture model (converted in the test): identical
greedy float32 output to the transformers backend, one conversion per model, a fingerprint
that follows the compute type, and the fidelity check."""

from __future__ import annotations

import json
import tomllib

import pytest
from conftest import ROOT, SV, cli_main, content_lines

from evalharness.backends.registry import create_backend
from evalharness.errors import UserError

ctranslate2 = pytest.importorskip(
    "ctranslate2", reason="CTranslate2 not installed: pip install -e '.[ct2]' (the dev install has it)"
)


@pytest.fixture(autouse=True)
def _ct2_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("EVALHARNESS_CT2_CACHE", str(tmp_path_factory.getbasetemp() / "ct2-cache"))


@pytest.fixture(scope="module")
def sources():
    lines = content_lines(SV)
    return [*lines, "", "Hej!", " ".join(lines)]  # an empty one and one longer than the model takes


def _texts(backend, sources):
    backend.prepare(sources, "sv", "hi")
    return [h.text for h in backend.translate(sources, "sv", "hi")], [
        h.flags for h in backend.translate(sources, "sv", "hi")
    ]


def test_greedy_float32_output_equals_transformers(fixture_models, sources):
    model = fixture_models["sv-hi"]
    hf, hf_flags = _texts(create_backend(f"marian:{model}", num_beams=1, max_new_tokens=48), sources)
    ct2 = create_backend(f"ct2:{model}", num_beams=1, max_new_tokens=48, compute_type="float32")
    out, flags = _texts(ct2, sources)
    assert out == hf and flags == hf_flags
    assert (
        out[len(sources) - 3] == "" and "truncated" in flags[-1]
    )  # empty stays empty; long is cut, and said


def test_conversion_happens_once(fixture_models, monkeypatch):
    model = fixture_models["sv-hi"]
    first = create_backend(f"ct2:{model}", compute_type="float32").converted
    assert (first / "model.bin").is_file()

    import ctranslate2.converters

    def no_second_conversion(*args, **kwargs):
        raise AssertionError("converted twice")

    monkeypatch.setattr(ctranslate2.converters, "TransformersConverter", no_second_conversion)
    again = create_backend(f"ct2:{model}", compute_type="int8")
    assert again.converted == first  # one conversion serves every compute type


def test_fingerprint_follows_compute_type_and_engine(fixture_models, sources):
    model = fixture_models["sv-hi"]
    prints = {}
    for spec, options in (
        (f"ct2:{model}", {"compute_type": "float32"}),
        (f"ct2:{model}", {"compute_type": "int8"}),
        (f"ct2:{model}", {"compute_type": "int8", "num_beams": 2}),
        (f"marian:{model}", {}),
    ):
        backend = create_backend(spec, **options)
        backend.prepare(sources, "sv", "hi")
        fp = backend.fingerprint()
        prints[(spec.split(":")[0], options.get("compute_type"), options.get("num_beams"))] = fp.digest
        if spec.startswith("ct2"):
            assert fp.fields["compute_type"] == options["compute_type"]
            assert len(fp.fields["converted_sha256"]) == 64
    assert len(set(prints.values())) == 4


@pytest.mark.parametrize(
    "options, needle",
    [
        ({"compute_type": "int3"}, "unknown compute_type 'int3'"),
        ({"threads": -1}, "threads=-1: expected a whole number, 0 or more"),
    ],
)
def test_bad_options_are_user_errors(fixture_models, options, needle):
    with pytest.raises(UserError, match=needle):
        create_backend(f"ct2:{fixture_models['sv-hi']}", **options)


def test_fidelity_check_cli(fixture_models, tmp_path, monkeypatch, capsys):
    # In process, through cli.main as the script calls it (torch and CTranslate2 load once).
    model = fixture_models["sv-hi"]
    monkeypatch.setenv("EVALHARNESS_CT2_CACHE", str(tmp_path / "ct2"))
    check = [
        "backends",
        "check-fidelity",
        model,
        "--references",
        ROOT / "references",
        "--max-new-tokens",
        "32",
    ]
    rc, out, err = cli_main(monkeypatch, capsys, *check, "--format", "json")
    assert rc == 0, err
    report = json.loads(out)
    assert (
        report["ok"]
        and report["identical"] == report["segments"] == 10
        and report["bleu"] == pytest.approx(100.0)
    )
    rc, out, _ = cli_main(monkeypatch, capsys, *check, "--compute-type", "int8", "--beams", "2")
    assert rc in (0, 1) and "(int8, beams 2)" in out and "BLEU" in out


def test_the_base_install_stays_lean():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    base = " ".join(project["dependencies"])
    assert "ctranslate2" not in base and "ray" not in base
    extras = project["optional-dependencies"]
    assert any("ctranslate2" in d for d in extras["ct2"]) and any(d.startswith("ray") for d in extras["ray"])
    assert {"ctranslate2", "ray[data]"} <= {d.split(">")[0] for d in extras["dev"]}


def test_a_missing_extra_is_one_line_saying_how_to_install_it(fixture_models, monkeypatch):
    import sys

    from evalharness.backends.ray_runner import RaySettings, start

    monkeypatch.setitem(sys.modules, "ctranslate2", None)  # as if the extra were not installed
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(UserError, match=r"pip install 'evalharness\[ct2\]'"):
        create_backend(f"ct2:{fixture_models['sv-hi']}")
    with pytest.raises(UserError, match=r"pip install 'evalharness\[ray\]'"):
        start(RaySettings())
