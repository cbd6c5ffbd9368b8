"""`vllm`: a causal LM on vLLM's offline engine, on a GPU (`pip install 'evalharness[vllm]'`).
It is `hf-causal` with another engine: the same model files (hashed the same way), the same
prompt files rendered by the same chat template into the same token ids, the same limits on
new tokens and the same extraction of the translation; only `complete` differs. vLLM
schedules all prompts at once (continuous batching), so there is no batching here.

Without a CUDA GPU, or without vLLM installed, the backend is unavailable with one line that
says so: `eval` lists the system as skipped, `run` and `translate` stop before any work. To
use a vLLM server instead, start `vllm serve` and use the `openai` backend."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

from evalharness.backends.hf_causal import CAUSAL_OPTIONS, Completion, HFCausalBackend
from evalharness.backends.hf_generate import model_path_and_revision
from evalharness.backends.registry import register_backend
from evalharness.errors import ModelUnavailable, UserError

VLLM_OPTIONS = {
    **CAUSAL_OPTIONS,
    "dtype": "bfloat16",
    "gpu_memory_utilization": 0.9,
    "tensor_parallel_size": 1,
    "max_model_len": 0,  # 0: the model's own
}
NO_GPU = "the vllm backend needs a CUDA GPU and torch sees none here; use hf-causal (any device) or serve the model with `vllm serve` and use the openai backend"


def vllm_available() -> str | None:
    """Why the vllm backend cannot run here, or None when it can."""
    import importlib.util

    import torch

    if not torch.cuda.is_available():
        return NO_GPU
    if importlib.util.find_spec("vllm") is None:
        return "the vllm backend needs vLLM: pip install 'evalharness[vllm]' (Linux with CUDA)"
    return None


class VLLMBackend(HFCausalBackend):
    kind = "vllm"
    OPTIONS = VLLM_OPTIONS

    def __init__(self, model: str, revision: str | None = None, **options) -> None:
        why = vllm_available()
        if why:
            raise ModelUnavailable(why)
        super().__init__(model, revision, **options)
        if self.options["device"] not in ("auto", "cuda"):
            raise UserError("backend vllm runs on cuda only (device=auto or cuda)")
        if self.options["num_beams"] != 1:
            raise UserError("backend vllm decodes greedily: num_beams must be 1 (beam search: hf-causal)")

    @cached_property
    def device(self) -> str:
        return "cuda"

    @cached_property
    def model(self):
        """vLLM's engine, seeded; prompts arrive as token ids from our own chat rendering."""
        from vllm import LLM

        o = self.options
        self.torch_settings = {"seed": 0, "do_sample": False, "device": "cuda", "engine": "vllm"}
        return LLM(
            model=str(self.path),
            tokenizer=str(self.path),
            dtype=o["dtype"],
            seed=0,
            gpu_memory_utilization=o["gpu_memory_utilization"],
            tensor_parallel_size=o["tensor_parallel_size"],
            **({"max_model_len": o["max_model_len"]} if o["max_model_len"] else {}),
        )

    def libraries(self) -> tuple[str, ...]:
        return ("vllm", "torch", "transformers", "tokenizers")

    def complete(self, conversations: Sequence[list[dict]], limits: Sequence[int]) -> list[Completion]:
        from vllm import SamplingParams

        chat = bool(self.tokenizer.chat_template)
        prompts = [self.render(c) for c in conversations]
        encoded = self.tokenizer(prompts, add_special_tokens=not chat)["input_ids"]
        params = [SamplingParams(temperature=0.0, max_tokens=limit, seed=0, n=1) for limit in limits]
        outputs = self.model.generate([{"prompt_token_ids": ids} for ids in encoded], params, use_tqdm=False)
        self.generate_calls += 1
        return [
            Completion(
                out.outputs[0].text,
                len(ids),
                len(out.outputs[0].token_ids),
                out.outputs[0].finish_reason == "stop",
            )
            for ids, out in zip(encoded, outputs, strict=True)
        ]


@register_backend("vllm", options=VLLM_OPTIONS)
def make_vllm(argument: str | None = None, **options) -> VLLMBackend:
    model, revision = model_path_and_revision(argument, "vllm")
    return VLLMBackend(model, revision, **options)
