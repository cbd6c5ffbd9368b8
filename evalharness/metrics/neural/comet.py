"""COMET, CometKiwi and xCOMET (Unbabel's `unbabel-comet`) on our own stack: transformers'
XLM-R encoders, COMET's layer-wise mix, pooling and estimator heads, and xCOMET's error-span
decoding, reimplemented to give the reference implementation's numbers.

`unbabel-comet` cannot be installed beside our stack (it pins numpy<2, transformers<5 and
a torchmetrics that needs pkg_resources), so its checkpoints are read by us
(`comet_checkpoint.py`) and run here.

Model classes, as COMET defines them:
- regression_metric (COMET, wmt22-comet-da): source, hypothesis and reference are encoded
  separately; sentence embeddings are the mean (or max, or first token) of a mix of all
  encoder layers; an estimator reads [h; r; h*r; |h-r|; h*s; |h-s|].
- referenceless_regression_metric: the same without a reference ([h; s; h*s; |h-s|]).
- unified_metric (CometKiwi, wmt22-cometkiwi-da): hypothesis and source (and reference) are
  encoded together as one sequence; the estimator reads the first token. With source and
  reference, three sequences ([h,s], [h,r], [h,s,r]) and their mean.
- xcomet_metric (XCOMET-XL): a unified model that also tags every hypothesis token as no
  error or a minor, major or critical error; spans of tagged tokens become error spans, an
  MQM-like score is computed from them, and the final score mixes the regression scores
  (capped at 1) with it.

Every sequence depends only on its own segment, so segments are batched by length, bounded
by tokens, in any order (COMET batches 16 segments sorted by source length, which pads the
hypothesis and reference side); results are the same to float rounding (tested against
scores computed with unbabel-comet itself, `tests/reference/`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from evalharness.errors import UserError
from evalharness.metrics.neural.base import (
    EmbeddingMemo,
    ErrorSpan,
    Inference,
    ModelScorer,
    Segment,
    SegmentScore,
    quantized,
    text_key,
    token_batches,
)
from evalharness.metrics.neural.comet_checkpoint import ENCODERS, CometCheckpoint
from evalharness.metrics.neural.tokenizer import clean_up_spaces, load_tokenizer

# xCOMET's fixed weights (XCOMETMetric.__init__): spans from [h,s], [h,r], [h,s,r]; final score
# from the three regression scores and the MQM score of the spans.
SPAN_INPUT_WEIGHTS = (0.1667, 0.3333, 0.5)
XCOMET_SCORE_WEIGHTS = (0.12, 0.33, 0.33, 0.22)
MQM_PENALTY = {"minor": 1, "major": 5, "critical": 10}


class EncoderTokenizer:
    """The encoder's tokenizer as unbabel-comet runs it (see `tokenizer.py`)."""

    def __init__(self, folder: Path) -> None:
        self.backend = load_tokenizer(folder, "xlmr")
        self.clean_up = clean_up_spaces(folder)
        ids = {name: self.backend.token_to_id(name) for name in ("<s>", "</s>", "<pad>")}
        if None in ids.values():
            raise UserError("the COMET encoder's tokenizer lacks <s>, </s> or <pad>", folder)
        self.cls_token_id, self.sep_token_id, self.pad_token_id = ids["<s>"], ids["</s>"], ids["<pad>"]

    def encode(self, texts: Sequence[str], max_length: int) -> list:
        """Encodings (ids, offsets) with special tokens, cut to `max_length` tokens as
        `tokenizer(texts, truncation=True, max_length=...)` cuts them."""
        self.backend.enable_truncation(max_length)
        try:
            return self.backend.encode_batch(list(texts))
        finally:
            self.backend.no_truncation()

    def decode(self, ids: Sequence[int]) -> str:
        """transformers 4.x's `decode`: special tokens kept, clean-up as the tokenizer says."""
        text = self.backend.decode(list(ids), skip_special_tokens=False)
        if self.clean_up:
            for before, after in _CLEAN_UP:
                text = text.replace(before, after)
        return text


# transformers' `clean_up_tokenization`, in its order
_CLEAN_UP = (
    (" .", "."),
    (" ?", "?"),
    (" !", "!"),
    (" ,", ","),
    (" ' ", "'"),
    (" n't", "n't"),
    (" 'm", "'m"),
    (" 's", "'s"),
    (" 've", "'ve"),
    (" 're", "'re"),
)


def sparsemax(weights):
    """Sparsemax over a vector (entmax's algorithm, as COMET's layer-wise mix uses it):
    the Euclidean projection onto the simplex, which sets small weights to exactly zero."""
    import torch

    x = weights - weights.max()
    ranked, _ = torch.sort(x, descending=True)
    cumulative = ranked.cumsum(0) - 1
    rho = torch.arange(1, len(x) + 1, dtype=x.dtype)
    support = int((rho * ranked > cumulative).sum())
    tau = cumulative[support - 1] / support
    return torch.clamp(x - tau, min=0)


class _Head:
    """COMET's FeedForward estimator: Linear, activation (and dropout, a no-op in inference),
    repeated, then a final Linear and optional activation. Built from the checkpoint's keys."""

    def __init__(self, state: dict, prefix: str, activation: str, final: str | None) -> None:
        import torch

        linears = sorted(
            {int(k[len(prefix) :].split(".")[0]) for k in state if k.startswith(prefix)},
        )
        layers: list[torch.nn.Module] = []
        for n, index in enumerate(linears):
            weight, bias = state[f"{prefix}{index}.weight"], state[f"{prefix}{index}.bias"]
            linear = torch.nn.Linear(weight.shape[1], weight.shape[0])
            linear.weight.data, linear.bias.data = weight.float().clone(), bias.float().clone()
            layers.append(linear)
            if n < len(linears) - 1:
                layers.append(_activation(activation))
        if final:
            layers.append(_activation(final))
        if not layers:
            raise UserError(f"checkpoint has no {prefix.rstrip('.')} layers")
        self.module = torch.nn.Sequential(*layers)


def _activation(name: str):
    import torch

    cls = getattr(torch.nn, name.title(), None)
    if cls is None:
        raise UserError(f"unknown COMET activation {name!r}")
    return cls()


class CometScorer(ModelScorer):
    """A COMET-family checkpoint ready to score."""

    def __init__(self, ckpt: CometCheckpoint, inference: Inference, use_reference: bool) -> None:
        import torch
        import transformers
        from transformers import AutoConfig

        self.ckpt, self.hp = ckpt, ckpt.hparams
        self.use_reference = use_reference
        self.device = inference.torch_device()
        self.dtype = inference.torch_dtype(self.native_dtype)
        self.batch_tokens = inference.tokens_per_batch(self.device)
        if inference.threads:
            torch.set_num_threads(inference.threads)
        state = ckpt.state_dict()
        config = AutoConfig.from_pretrained(ckpt.encoder_folder)
        model_class = getattr(transformers, ENCODERS[self.hp["encoder_model"]])
        prefix = "encoder.model."
        encoder_state = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()  # no "Loading weights" bars or notes
        self.encoder, info = model_class.from_pretrained(
            None,
            config=config,
            state_dict=encoder_state,
            add_pooling_layer=False,
            output_loading_info=True,
            dtype=torch.float32,
        )
        absent = [k for k in info["missing_keys"] if not k.endswith(("position_ids", "token_type_ids"))]
        if absent:
            raise UserError(f"COMET checkpoint lacks encoder weights ({', '.join(absent[:3])}, ...)")
        self.tokenizer = EncoderTokenizer(ckpt.encoder_folder)
        self.max_positions = config.max_position_embeddings - 2  # COMET's BERTEncoder.max_positions
        self.layers = config.num_hidden_layers + 1  # embeddings, then every layer
        try:
            self._mixing(state)
            self.estimator = _Head(
                state, "estimator.ff.", self.hp["activations"], self.hp["final_activation"]
            )
            self.tagger = None
            if self._word_level:
                self.tagger = torch.nn.Linear(*reversed(state["hidden2tag.weight"].shape))
                self.tagger.weight.data = state["hidden2tag.weight"].float().clone()
                self.tagger.bias.data = state["hidden2tag.bias"].float().clone()
        except KeyError as exc:
            raise UserError(
                f"the checkpoint's weights lack {exc.args[0]!r}, which its hparams.yaml "
                f"({ckpt.kind}) needs: the weights and hparams.yaml do not belong together",
                ckpt.folder,
            ) from None
        width = {"regression_metric": 6, "referenceless_regression_metric": 4}.get(ckpt.kind, 1)
        if self.estimator.module[0].in_features != width * config.hidden_size:
            raise UserError(
                f"the checkpoint's estimator reads {self.estimator.module[0].in_features} features, "
                f"a {ckpt.kind} on this encoder gives {width * config.hidden_size}: the weights, "
                "hparams.yaml and the encoder's config do not belong together",
                ckpt.folder,
            )
        self._keep_needed_layers()
        self.modules = [self.encoder, self.estimator.module] + ([self.tagger] if self.tagger else [])
        for module in self.modules:
            module.eval()
            module.to(self.device, self.dtype)
        if inference.quantize:
            self.encoder = quantized(self.encoder, self.device)

    # ------------------------------------------------------------ structure

    @property
    def _unified(self) -> bool:
        return self.ckpt.kind in ("unified_metric", "xcomet_metric")

    @property
    def _word_level(self) -> bool:
        return self._unified and bool(self.hp["word_level_training"])

    @property
    def _layer(self):
        return self.hp["sent_layer"] if self._unified else self.hp["layer"]

    def _mixing(self, state: dict) -> None:
        """The layer-wise mix's normalised weights and scale (or the one layer used)."""
        import torch

        self.weights = self.gamma = None
        if self._layer != "mix":
            if not isinstance(self._layer, int) or not 0 <= self._layer < self.layers:
                raise UserError(f"invalid COMET layer {self._layer!r}")
            return
        scalars = torch.cat([state[f"layerwise_attention.scalar_parameters.{i}"] for i in range(self.layers)])
        scalars = scalars.float()
        transform = self.hp["layer_transformation"]
        self.weights = sparsemax(scalars) if transform == "sparsemax" else torch.softmax(scalars, dim=0)
        self.gamma = state["layerwise_attention.gamma"].float()

    def _keep_needed_layers(self) -> None:
        """Drop encoder layers nothing reads: above the last layer with a non-zero mix weight
        (sparsemax zeroes many), the chosen layer and the word layer. Exact: a layer with
        weight 0 adds exactly 0 to the mix."""
        needed = [self.layers - 1] if self.hp["pool"] == "default" and not self._unified else []
        if self.weights is None:
            needed.append(int(self._layer))
        else:
            needed += [k for k in range(self.layers) if float(self.weights[k]) != 0.0]
        if self._word_level:
            needed.append(int(self.hp["word_layer"]))
        top = max(needed)
        # XLM-R XL normalises the last layer's output, so its layers can only all run
        if top < self.layers - 1 and not hasattr(self.encoder.encoder, "LayerNorm"):
            self.encoder.encoder.layer = self.encoder.encoder.layer[:top]

    # ------------------------------------------------------------ encoding

    def _tokenize(self, texts: Sequence[str]) -> list:
        return self.tokenizer.encode(texts, self.max_positions - 2)

    def _run(self, sequences: Sequence[Sequence[int]], take) -> list:
        """Encode token sequences in length-sorted batches; `take(batch_index, input_ids,
        mask, hidden_states)` returns one result per sequence of the batch."""
        import torch

        pad = self.tokenizer.pad_token_id
        out: list = [None] * len(sequences)
        with torch.inference_mode():
            for batch in token_batches([len(s) for s in sequences], self.batch_tokens):
                width = max(len(sequences[i]) for i in batch)
                ids = torch.full((len(batch), width), pad, dtype=torch.long)
                mask = torch.zeros((len(batch), width), dtype=torch.long)
                for row, i in enumerate(batch):
                    ids[row, : len(sequences[i])] = torch.tensor(sequences[i])
                    mask[row, : len(sequences[i])] = 1
                ids, mask = ids.to(self.device), mask.to(self.device)
                hidden = self.encoder(input_ids=ids, attention_mask=mask, output_hidden_states=True)
                results = take(batch, ids, mask, hidden.hidden_states)
                for i, result in zip(batch, results, strict=True):
                    out[i] = result
        return out

    def _mixed(self, hidden, mask):
        """COMET's LayerwiseAttention (or the chosen layer): gamma * sum_k w_k * layer_k, each
        layer first normalised over the sequence's unmasked positions when layer_norm is on."""
        import torch

        if self.weights is None:
            return hidden[int(self._layer)]
        weights = self.weights.to(hidden[0].device, hidden[0].dtype)
        norm = None
        if self.hp["layer_norm"]:
            mask_float = mask.float()
            norm = (mask_float.unsqueeze(-1), mask_float)
        total = None
        for k in range(self.layers):
            if float(self.weights[k]) == 0.0:
                continue  # adds exactly zero
            tensor = hidden[k] if norm is None else _masked_layer_norm(hidden[k], *norm)
            piece = weights[k : k + 1] * tensor
            total = piece if total is None else total + piece
        if total is None:
            total = torch.zeros_like(hidden[0])
        return self.gamma.to(total.device, total.dtype) * total

    def _pooled(self, ids, mask, hidden):
        """Sentence embeddings as COMET's compute_sentence_embedding makes them."""
        import torch

        embeddings = self._mixed(hidden, mask)
        pool, pad = self.hp["pool"], self.tokenizer.pad_token_id
        if pool == "default":
            return hidden[-1][:, 0, :]
        if pool == "cls":
            return embeddings[:, 0, :]
        padding = ids.eq(pad).unsqueeze(-1)
        if pool == "max":
            return embeddings.float().masked_fill_(padding, float("-inf")).type_as(embeddings).max(dim=1)[0]
        if pool != "avg":
            raise UserError(f"unknown COMET pooling {pool!r}")
        summed = torch.sum(embeddings.float().masked_fill_(padding, 0.0).type_as(embeddings), 1)
        return summed / mask.unsqueeze(-1).expand(embeddings.size()).float().sum(1)

    # ------------------------------------------------------------ scoring

    def score(self, segments: Sequence[Segment], memo: EmbeddingMemo | None = None) -> list[SegmentScore]:
        if not segments:
            return []
        if self.use_reference and any(not s.references for s in segments):
            raise UserError("COMET with a reference needs one for every segment")
        if self._unified:
            return self._score_unified(segments)
        return self._score_regression(segments, memo)

    def _embeddings(self, texts: list[str], memo: EmbeddingMemo | None, keep: set[str]):
        """Sentence embeddings of `texts` (distinct): from the memo where it has them, the
        rest encoded together in length-sorted batches; those in `keep` (sources and
        references, which every system of a test set shares) are remembered."""
        import numpy as np
        import torch

        keys = [text_key(t) for t in texts]
        width = self.encoder.config.hidden_size
        known = memo.get_many(keys) if memo is not None else {}
        known = {k: v for k, v in known.items() if len(v) == 4 * width}  # a damaged row is a miss
        todo = [n for n, k in enumerate(keys) if k not in known]
        out = torch.empty((len(texts), width), dtype=torch.float32)
        for n, k in enumerate(keys):
            if k in known:
                out[n] = torch.from_numpy(np.frombuffer(known[k], dtype=np.float32).copy())
        if todo:
            tokens = [e.ids for e in self._tokenize([texts[n] for n in todo])]
            pooled = self._run(tokens, lambda batch, ids, mask, hidden: list(self._pooled(ids, mask, hidden)))
            fresh = torch.stack(pooled).float().cpu()
            out[todo] = fresh
            if memo is not None:
                memo.put_many(
                    [(keys[n], fresh[i].numpy().tobytes()) for i, n in enumerate(todo) if texts[n] in keep]
                )
        self.embedded, self.recalled = len(todo), len(texts) - len(todo)
        return out.to(self.device, self.dtype)

    def _score_regression(
        self, segments: Sequence[Segment], memo: EmbeddingMemo | None
    ) -> list[SegmentScore]:
        """Sentence embeddings of every distinct text (sources, hypotheses and references
        share batches; a text that appears twice is encoded once; one embedded in an earlier
        run comes from the memo), then the estimator."""
        import torch

        roles = [[s.hypothesis for s in segments], [s.source for s in segments]]
        if self.ckpt.kind == "regression_metric":
            roles.append([s.references[0] for s in segments])
        texts = list(dict.fromkeys(t for role in roles for t in role))
        index = {t: n for n, t in enumerate(texts)}
        table = self._embeddings(texts, memo, {t for role in roles[1:] for t in role})
        mt, src = (table[[index[t] for t in role]] for role in roles[:2])
        if len(roles) == 3:
            ref = table[[index[t] for t in roles[2]]]
            features = torch.cat(
                (mt, ref, mt * ref, torch.abs(mt - ref), mt * src, torch.abs(mt - src)), dim=1
            )
        else:
            features = torch.cat((mt, src, mt * src, torch.abs(mt - src)), dim=1)
        with torch.inference_mode():
            scores = self.estimator.module(features).view(-1).float().cpu()
        return [SegmentScore(float(x)) for x in scores]

    def _inputs(self) -> list[tuple[str, ...]]:
        """Which concatenations a segment is scored with (COMET's prepare_sample)."""
        segments = self.hp["input_segments"]
        src = "src" in segments
        ref = self.use_reference and "ref" in segments
        if src and ref:
            return [("mt", "src"), ("mt", "ref"), ("mt", "src", "ref")]
        return [("mt",) + (("src",) if src else ()) + (("ref",) if ref else ())]

    def _concat(self, parts: Sequence[Sequence[int]]) -> list[int]:
        """COMET's Encoder.concat_sequences for one segment: <s> a </s></s> b </s> ..., cut to
        the encoder's positions when the parts are too long together."""
        cls, sep = self.tokenizer.cls_token_id, self.tokenizer.sep_token_id
        sequence = list(parts[0])
        for other in parts[1:]:
            sequence = [cls, *sequence[1:-1], sep, sep, *other[1:-1], sep]
        special = 1 + len(parts) * 2
        if sum(len(p) - 2 for p in parts) > self.max_positions - special:
            sequence = sequence[: self.max_positions]
        return sequence

    def _score_unified(self, segments: Sequence[Segment]) -> list[SegmentScore]:
        import torch

        inputs = self._inputs()
        mt = self._tokenize([s.hypothesis for s in segments])
        tokens = {"mt": [e.ids for e in mt]}
        if any("src" in i for i in inputs):
            tokens["src"] = [e.ids for e in self._tokenize([s.source for s in segments])]
        if any("ref" in i for i in inputs):
            tokens["ref"] = [e.ids for e in self._tokenize([s.references[0] for s in segments])]
        sequences = [
            self._concat([tokens[role][n] for role in combo])
            for n in range(len(segments))
            for combo in inputs
        ]
        mt_lengths = [len(tokens["mt"][n]) for n in range(len(segments)) for _ in inputs]

        def take(batch, ids, mask, hidden):
            embeddings = self._mixed(hidden, mask)
            scores = self.estimator.module(embeddings[:, 0, :]).view(-1).float()
            if self.tagger is None:
                return [(s, None) for s in scores]
            probs = torch.softmax(self.tagger(hidden[int(self.hp["word_layer"])]).float(), dim=2)
            return [(scores[row], probs[row, : mt_lengths[i]]) for row, i in enumerate(batch)]

        results = self._run(sequences, take)
        k = len(inputs)
        out = []
        for n in range(len(segments)):
            per_input = results[n * k : (n + 1) * k]
            scores = torch.stack([s for s, _ in per_input]).cpu()
            spans = None
            if self.tagger is not None:
                spans = self._spans(per_input, mt[n].ids, mt[n].offsets)
            out.append(self._final(scores, spans))
        return out

    def _spans(self, per_input, ids: list[int], offsets: list) -> tuple[ErrorSpan, ...]:
        """UnifiedMetric.decode: per hypothesis token the most probable label (probabilities
        averaged over the inputs with fixed weights); runs of error tokens become spans. A
        span still open at the last token is dropped, as COMET drops it."""
        import torch

        probs = [p.cpu() for _, p in per_input]
        if len(probs) == 3:
            weights = torch.tensor(SPAN_INPUT_WEIGHTS)
            probs = torch.sum(torch.stack([p * w for p, w in zip(probs, weights, strict=True)]), dim=0)
        else:
            probs = probs[0]
        labels = ["O"] + [f"I-{label}" for label in self.hp["error_labels"]]
        spans, current = [], None
        for token, p, offset in zip(ids, probs, offsets, strict=False):
            confidence, label = torch.topk(p, 1)
            name = labels[int(label[0])]
            if name.startswith("I"):
                if current is None:
                    current = {"tokens": [token], "severity": name[2:], "start": offset[0], "conf": []}
                else:
                    current["tokens"].append(token)
                current["end"] = offset[1]
                current["conf"].append(confidence)
            elif current is not None:
                spans.append(current)
                current = None
        return tuple(
            ErrorSpan(
                start=int(s["start"]),
                end=int(s["end"]),
                text=self.tokenizer.decode(s["tokens"]),
                severity=s["severity"],
                confidence=torch.concat(s["conf"]).mean().item(),
            )
            for s in spans
        )

    def _final(self, scores, spans) -> SegmentScore:
        """The segment's score from the per-input scores (and spans), as COMET's predict_step
        combines them."""
        import torch

        if self.ckpt.kind != "xcomet_metric":
            score = scores.mean(dim=0) if len(scores) == 3 else scores[0]
            return SegmentScore(float(score), spans)
        penalty = min(25, sum(MQM_PENALTY.get(s.severity, 0) for s in spans or ()))
        mqm = (torch.tensor([penalty]) * -1 + 25) / 25
        capped = torch.where(scores > 1.0, 1.0, scores)
        if len(scores) == 3:
            regression = torch.stack(
                [capped[i : i + 1] * w for i, w in enumerate(XCOMET_SCORE_WEIGHTS[:3])], dim=0
            ).sum(dim=0)
        else:
            regression = capped[0:1] * sum(XCOMET_SCORE_WEIGHTS[:3])
        final = regression + mqm * XCOMET_SCORE_WEIGHTS[3]
        return SegmentScore(float(final[0]), spans)

    def close(self) -> None:
        self.modules = []
        self.encoder = None


def _masked_layer_norm(tensor, broadcast_mask, mask):
    """LayerwiseAttention's `_layer_norm`: normalise a layer over a sequence's unmasked
    positions and features together."""
    import torch

    batch, _, width = tensor.size()
    masked = tensor * broadcast_mask
    count = mask.sum(1) * width
    mean = (masked.view(batch, -1).sum(1) / count).view(batch, 1, 1)
    variance = (((masked - mean) * broadcast_mask) ** 2).view(batch, -1).sum(1) / count
    return (tensor - mean) / torch.sqrt(variance + 1e-12).view(batch, 1, 1)
