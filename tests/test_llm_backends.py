"""hf-causal and hf-seq2seq on tiny untrained models with real tokenizers, through the real
transformers paths: chat template, left padding (a segment's output does not depend on its
batch), token-bounded batches and new-token limits, NLLB language codes, prompts in the
fingerprint and terms in the cache key; and vllm, unavailable with one line without a GPU."""

from __future__ import annotations

import pytest
from conftest import ROOT

from evalharness.backends.base import SourceItem
from evalharness.backends.cache import TranslationCache
from evalharness.backends.registry import create_backend
from evalharness.backends.runner import translate_segments
from evalharness.errors import ModelUnavailable, UserError

SOURCES = [
    "Hoa Lu-distriktet har arbetat med skicklig massmobilisering sedan 2021.",
    "Kort.",
    "Rörelsen har gett många goda modeller i byarna och i staden, enligt distriktets kommitté.",
    "Tack.",
]


@pytest.fixture(scope="module")
def causal(llm_models):
    backend = create_backend(f"hf-causal:{llm_models['causal']}", max_new_tokens=12)
    yield backend
    backend.close()


def test_hf_causal_uses_the_chat_template_and_keeps_the_raw_output(causal):
    rendered = causal.render(causal.prompt.messages(SourceItem("Hej."), "sv", "en"))
    assert rendered.startswith("<|bos|><|system|>\n") and rendered.endswith("<|assistant|>\n")
    assert "Translate the following Swedish text into English." in rendered
    hyps = causal.translate(SOURCES, "sv", "en")
    assert len(hyps) == len(SOURCES)
    assert all(h.raw is not None and "untrained-fixture" in h.flags for h in hyps)
    assert len({h.raw for h in hyps}) > 1  # the fixture's output depends on its input


def test_hf_causal_output_does_not_depend_on_the_batch(causal):
    """Left padding: a row's tokens depend on its own prompt only (right padding would put pad
    tokens between a short prompt and its reply and change it)."""
    together = causal.translate(SOURCES, "sv", "en")
    calls = causal.generate_calls
    alone = [causal.translate([s], "sv", "en")[0] for s in SOURCES]
    assert [h.raw for h in alone] == [h.raw for h in together]
    assert causal.generate_calls == calls + len(SOURCES)


def test_hf_causal_batches_are_bounded_by_tokens_and_new_tokens_by_the_source(llm_models):
    backend = create_backend(f"hf-causal:{llm_models['causal']}", batch_tokens=200, length_ratio=0.5)
    lengths, limits = [100, 30, 90, 10, 20, 150], [40, 20, 40, 10, 150, 10]
    batches = backend.batches(lengths, limits)
    assert sorted(i for b in batches for i in b) == [0, 1, 2, 3, 4, 5]
    for batch in batches:  # padded to the longest prompt, run to the highest limit
        width = max(lengths[i] for i in batch) + max(limits[i] for i in batch)
        assert len(batch) == 1 or width * len(batch) <= 200
    assert backend.batches([100, 10], [10, 100]) == [[0], [1]]  # 2 x (100 + 100) > 200
    assert backend.new_token_limit(10) == 21 and backend.new_token_limit(10_000) == 512
    replies = backend.complete([[{"role": "user", "content": "Hej."}]], [5])
    assert replies[0].tokens_out <= 5 and not replies[0].finished  # noise never says end-of-turn


def test_a_template_without_a_system_role_gets_the_system_text_in_the_first_turn(llm_models, tmp_path):
    import json
    import shutil

    model = tmp_path / "no-system"
    shutil.copytree(llm_models["causal"], model)
    config = json.loads((model / "tokenizer_config.json").read_text(encoding="utf-8"))
    template = config.get("chat_template") or (model / "chat_template.jinja").read_text(encoding="utf-8")
    refusing = (
        "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
        + template
    )
    (model / "chat_template.jinja").unlink(missing_ok=True)
    config["chat_template"] = refusing
    (model / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    backend = create_backend(f"hf-causal:{model}", max_new_tokens=4)
    assert backend.tokenizer.chat_template == refusing
    backend.prepare(SOURCES, "sv", "en")  # no template error
    rendered = backend.render(backend.prompt.messages(SourceItem("Hej."), "sv", "en"))
    assert "<|system|>" not in rendered and rendered.startswith(
        "<|bos|><|user|>\nYou are a professional translator."
    )
    assert backend.describe()["prompt"]["system_in_first_user_turn"] is True
    assert len(backend.translate(SOURCES[:1], "sv", "en")) == 1
    assert (
        create_backend(f"hf-causal:{llm_models['causal']}").describe()["prompt"]["system_in_first_user_turn"]
        is False
    )


def test_prompt_changes_the_fingerprint_and_misses_the_cache(llm_models, tmp_path):
    custom = tmp_path / "prompt.toml"
    custom.write_text(
        (ROOT / "evalharness/backends/prompt_files/chat.toml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    spec = f"hf-causal:{llm_models['causal']}"
    cache = TranslationCache(tmp_path / "cache.sqlite")
    try:
        first = create_backend(spec, prompt=str(custom), max_new_tokens=6)
        _, stats = translate_segments(first, SOURCES, "sv", "en", cache)
        assert stats.translated == len(SOURCES)
        same = create_backend(spec, prompt=str(custom), max_new_tokens=6)
        _, stats = translate_segments(same, SOURCES, "sv", "en", cache)
        assert stats.from_cache == len(SOURCES) and same.generate_calls == 0
        assert same.fingerprint().digest == first.fingerprint().digest
        custom.write_text(
            custom.read_text(encoding="utf-8").replace("professional translator", "careful translator"),
            encoding="utf-8",
        )
        changed = create_backend(spec, prompt=str(custom), max_new_tokens=6)
        assert changed.fingerprint().digest != first.fingerprint().digest
        _, stats = translate_segments(changed, SOURCES, "sv", "en", cache)
        assert stats.from_cache == 0 and stats.translated == len(SOURCES)
        # required terms are part of a segment's key: the same text with terms is asked anew
        termed = create_backend(spec, prompt=str(custom), max_new_tokens=6, terms=True)
        items = [SourceItem(SOURCES[0], (("skicklig massmobilisering", "Skilled Mass Mobilization"),))]
        _, stats = translate_segments(termed, items, "sv", "en", cache)
        assert stats.translated == 1
    finally:
        cache.close()


def test_hf_seq2seq_nllb_sets_the_language_codes(llm_models):
    backend = create_backend(f"hf-seq2seq:{llm_models['nllb']}", num_beams=1, max_new_tokens=10)
    assert backend.family == "nllb"
    backend.prepare(SOURCES, "sv", "hi")
    assert backend.codes == ("swe_Latn", "hin_Deva")
    ids = backend.encode(["Hej."])[0]
    tokens = backend.tokenizer.convert_ids_to_tokens(ids)
    assert tokens[0] == "swe_Latn" and tokens[-1] == "</s>"
    to_hi = backend.translate(SOURCES, "sv", "hi")
    assert len(to_hi) == 4 and all("untrained-fixture" in h.flags for h in to_hi)
    alone = [backend.translate([s], "sv", "hi")[0] for s in SOURCES]
    assert [h.text for h in alone] == [h.text for h in to_hi]  # padding does not change a row
    backend.prepare(SOURCES, "sv", "en")
    to_en = backend.translate(SOURCES, "sv", "en")
    assert [h.text for h in to_en] != [h.text for h in to_hi]  # the target code reaches the decoder


def test_hf_seq2seq_m2m100_takes_plain_codes_and_forces_its_language_token(llm_models):
    backend = create_backend(f"hf-seq2seq:{llm_models['m2m100']}", num_beams=1, max_new_tokens=6)
    assert backend.family == "m2m100"
    backend.prepare(SOURCES, "sv", "hi")
    assert backend.codes == ("__sv__", "__hi__")
    assert backend.tokenizer.convert_ids_to_tokens(backend.encode(["Hej."])[0])[0] == "__sv__"
    to_hi = [h.text for h in backend.translate(SOURCES, "sv", "hi")]
    backend.prepare(SOURCES, "sv", "en")
    assert [h.text for h in backend.translate(SOURCES, "sv", "en")] != to_hi


def test_hf_seq2seq_language_errors_are_one_line(llm_models):
    backend = create_backend(f"hf-seq2seq:{llm_models['nllb']}", num_beams=1)
    with pytest.raises(UserError, match=r"no language token 'xx_Latn' for 'hi'"):
        create_backend(f"hf-seq2seq:{llm_models['nllb']}", tgt_code="xx_Latn").prepare([], "sv", "hi")
    with pytest.raises(UserError, match="no nllb language code is known for 'tlh'"):
        backend.prepare([], "sv", "tlh")
    assert (
        create_backend(f"hf-seq2seq:{llm_models['nllb']}", tgt_code="fra_Latn").code("hi", "fra_Latn")
        == "fra_Latn"
    )
    with pytest.raises(UserError, match="unknown family"):
        create_backend(f"hf-seq2seq:{llm_models['nllb']}", family="t9")


def test_generation_backends_refuse_bad_options_and_pickles(llm_models, tmp_path):
    with pytest.raises(UserError, match="has no option 'max_new_token'"):
        create_backend(f"hf-causal:{llm_models['causal']}", max_new_token=5)
    with pytest.raises(UserError, match="unknown dtype"):
        create_backend(f"hf-seq2seq:{llm_models['nllb']}", dtype="int3")
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    (pickled / "config.json").write_text("{}", encoding="utf-8")
    (pickled / "pytorch_model.bin").write_bytes(b"\x80\x04")
    with pytest.raises(UserError, match="only pickled weights"):
        create_backend(f"hf-causal:{pickled}")
    with pytest.raises(UserError, match="needs a model"):
        create_backend("hf-seq2seq")


def test_vllm_without_a_gpu_is_unavailable_with_one_line(llm_models):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a GPU is here: the vllm backend is exercised by benchmarks/bench_llm.py")
    with pytest.raises(ModelUnavailable) as err:
        create_backend(f"vllm:{llm_models['causal']}")
    assert "needs a CUDA GPU" in str(err.value) and "\n" not in str(err.value)
