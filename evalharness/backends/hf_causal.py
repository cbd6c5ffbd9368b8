"""`hf-causal`: a transformers causal language model (Llama, Qwen, Gemma, Tower, ...) asked
to translate through its chat template, with the prompt of a prompt file (`prompts.py`).
Left padding, batches of similar length bounded by tokens, greedy decoding by default, a
new-token limit derived from each source's length; the raw output is kept and the
translation extracted from it (`llm_output.py`). A model without a chat template gets the
prompt's messages as plain text, one after the other."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from evalharness.backends.base import Hypothesis, SourceItem, item_of
from evalharness.backends.hf_generate import (
    COMMON_OPTIONS,
    HFGenerateBackend,
    model_path_and_revision,
    source_token_counts,
)
from evalharness.backends.llm_output import extract
from evalharness.backends.prompts import load_prompt
from evalharness.backends.registry import register_backend
from evalharness.errors import UserError

CAUSAL_OPTIONS = {**COMMON_OPTIONS, "prompt": "", "terms": False, "context": 0}


@dataclass(frozen=True)
class Completion:
    """One generated reply: its text, tokens in and out, and why it stopped."""

    text: str
    tokens_in: int
    tokens_out: int
    finished: bool  # stopped by the model (end of turn), not by the token limit


class HFCausalBackend(HFGenerateBackend):
    kind = "hf-causal"
    OPTIONS = CAUSAL_OPTIONS
    code_modules = (
        "evalharness.backends.prompts",
        "evalharness.backends.llm_output",
        "evalharness.backends.languages",
        "evalharness.backends.hf_models",
    )

    def __init__(self, model: str, revision: str | None = None, **options) -> None:
        super().__init__(model, revision, options)
        self.prompt = load_prompt(self.options["prompt"] or None)
        self.reads = frozenset({"terms"} if self.options["terms"] else set()) | (
            {"context"} if self.options["context"] else set()
        )
        self.context_segments = self.options["context"]

    @cached_property
    def tokenizer(self):
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(self.path)
        tokenizer.padding_side = "left"  # generation continues at the right end of every row
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        return tokenizer

    @cached_property
    def model(self):
        from transformers import AutoModelForCausalLM

        return self.load(AutoModelForCausalLM)

    def describe_more(self) -> dict:
        return {
            "prompt": {
                "name": self.prompt.name,
                "version": self.prompt.version,
                "sha256": self.prompt.digest(),
                "system_in_first_user_turn": not self.system_role,
            }
        }

    def prepare(self, sources, src_lang: str, tgt_lang: str) -> None:
        if self.tokenizer.eos_token_id is None:
            raise UserError(f"model {self.model_id} has no end-of-sequence token to stop at", self.path)
        self.render(self.prompt.messages(SourceItem("."), src_lang, tgt_lang))  # a template error, now

    @cached_property
    def system_role(self) -> bool:
        """Whether the chat template takes a system message (Gemma's and older Mistral's
        refuse one: the system text then opens the first user turn, as their authors advise)."""
        if not self.tokenizer.chat_template:
            return True
        probe = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
        try:
            self.tokenizer.apply_chat_template(probe, add_generation_prompt=True, tokenize=False)
        except Exception:  # noqa: BLE001 - jinja's TemplateError from the template's raise_exception
            return False
        return True

    # -- generation ----------------------------------------------------------------------
    def render(self, messages: list[dict]) -> str:
        """The conversation as the model reads it: its chat template, or the texts in turn."""
        if not self.tokenizer.chat_template:
            return "\n\n".join(m["content"] for m in messages) + "\n\n"
        if messages and messages[0]["role"] == "system" and not self.system_role:
            system, first, *rest = messages
            messages = [{"role": "user", "content": f"{system['content']}\n\n{first['content']}"}, *rest]
        try:
            return self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        except Exception as exc:  # noqa: BLE001 - a template that refuses this conversation
            raise UserError(
                f"the chat template of model {self.model_id} refuses prompt {self.prompt.name!r}: {exc}"
            ) from None

    def complete(self, conversations: Sequence[list[dict]], limits: Sequence[int]) -> list[Completion]:
        """Replies to conversations (greedy or beam search), each within its token limit. A
        row's tokens depend on its own prompt only (left padding under the attention mask; on CPU
        a row's output is the same alone or in a batch, tested), its own limit applied."""
        import torch

        chat = bool(self.tokenizer.chat_template)
        prompts = [self.render(c) for c in conversations]
        encoded = self.tokenizer(prompts, add_special_tokens=not chat)["input_ids"]
        out: list[Completion | None] = [None] * len(prompts)
        eos = set(_ids(self.model.generation_config.eos_token_id) or [self.tokenizer.eos_token_id])
        for batch in self.batches([len(e) for e in encoded], list(limits)):
            inputs = self.tokenizer.pad({"input_ids": [encoded[i] for i in batch]}, return_tensors="pt")
            inputs = {k: v.to(self.device) for k, v in inputs.items()}
            width = inputs["input_ids"].shape[1]
            with torch.inference_mode():
                generated = self.model.generate(
                    **inputs,
                    max_new_tokens=max(limits[i] for i in batch),
                    do_sample=False,
                    num_beams=self.options["num_beams"],
                    pad_token_id=self.tokenizer.pad_token_id,
                )
            self.generate_calls += 1
            for row, i in enumerate(batch):
                new = generated[row, width:].tolist()[: limits[i]]
                stop = next((n for n, t in enumerate(new) if t in eos), None)
                tokens = new if stop is None else new[:stop]
                text = self.tokenizer.decode(tokens, skip_special_tokens=True)
                out[i] = Completion(text, len(encoded[i]), len(tokens), stop is not None)
        return out  # type: ignore[return-value]

    def translate(
        self, segments: Sequence[str | SourceItem], src_lang: str, tgt_lang: str
    ) -> list[Hypothesis]:
        items = [item_of(s) for s in segments]
        conversations = [self.prompt.messages(item, src_lang, tgt_lang) for item in items]
        limits = [
            self.new_token_limit(n) for n in source_token_counts(self.tokenizer, [i.text for i in items])
        ]
        out = []
        for item, reply in zip(items, self.complete(conversations, limits), strict=True):
            text, flags = extract(reply.text, item.text, tgt_lang)
            flags = self.flags() + flags + (() if reply.finished else ("truncated",))
            out.append(Hypothesis(text, flags, raw=reply.text))
        return out


def _ids(value) -> list[int]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [int(value)]


@register_backend("hf-causal", options=CAUSAL_OPTIONS)
def make_hf_causal(argument: str | None = None, **options) -> HFCausalBackend:
    model, revision = model_path_and_revision(argument, "hf-causal")
    return HFCausalBackend(model, revision, **options)
