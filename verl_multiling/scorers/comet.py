r"""Official COMET checkpoints loaded on transformers 5, without unbabel-comet.

``unbabel-comet`` 2.2.7 pins transformers<5 and numpy<2, so it cannot live beside verl 0.9.1. Its
checkpoints are plain PyTorch: an XLM-R encoder, a layer mix and a feed-forward head. This module
re-implements exactly the inference path of the two families TAPO needs and loads their files
(``hparams.yaml`` + ``checkpoints/model.ckpt``, the layout ``comet.load_from_checkpoint`` reads):

* ``regression_metric`` (wmt22-comet-da, reference-based). Each of src, mt, ref is encoded alone;
  the hidden states of all L+1 layers are mixed, ``E = γ Σ_l softmax/sparsemax(w)_l H_l`` (an
  optional masked layer norm per layer first), then averaged over non-pad tokens (``pool: avg``);
  the head sees ``[m; r; m⊙r; |m−r|; m⊙s; |m−s|]`` and outputs the score.
* ``unified_metric`` (wmt22-cometkiwi-da, reference-free with ``input_segments: [mt, src]``).
  ``<s> mt </s></s> src </s>`` is encoded as one sequence; the head sees the mixed CLS state. With
  three segments the score is the mean of the [mt, src], [mt, ref] and [mt, src, ref] scores.

Inference details copied from unbabel-comet 2.2.7: segments are truncated to
``max_position_embeddings − 4`` tokens (a concatenation to ``max_position_embeddings − 2``),
``layer_transformation: sparsemax_patch`` means softmax, dropout is off. Our additions: length-
bucketed batches (sorted by token count, so padding is minimal), de-duplicated segments (the G
rollouts of one prompt share the source and the reference: each is encoded once), bf16 on GPU
with the head in fp32. Parity with unbabel-comet run in its own environment is tested on a random
checkpoint with the same architecture (:func:`build_random_checkpoint`;
``tests/test_translation_scorers.py``).

The encoder's ``config.json`` and ``tokenizer.json`` are looked up in ``<checkpoint dir>/encoder``,
then at ``hparams.pretrained_model`` as a local directory, then in the Hugging Face cache under
that name (``xlm-roberta-large``, ``microsoft/infoxlm-large``), offline.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from verl_multiling.scorers.translation_base import TranslationScorer

SUPPORTED = ("regression_metric", "unified_metric")
ENCODERS = ("XLM-RoBERTa",)


# ---- pure building blocks ----------------------------------------------------------------------------

def sparsemax(z: torch.Tensor, dim: int = 0) -> torch.Tensor:
    """Sparsemax (Martins & Astudillo 2016): the Euclidean projection of z onto the simplex.

    >>> sparsemax(torch.tensor([1.0, 0.0, -1.0])).tolist()
    [1.0, 0.0, 0.0]
    >>> [round(x, 4) for x in sparsemax(torch.tensor([0.5, 0.3, 0.1])).tolist()]
    [0.5333, 0.3333, 0.1333]
    """
    z = z.transpose(0, dim)
    sorted_z, _ = torch.sort(z, dim=0, descending=True)
    k = torch.arange(1, z.shape[0] + 1, device=z.device, dtype=z.dtype).view(-1, *([1] * (z.dim() - 1)))
    cumsum = sorted_z.cumsum(dim=0) - 1.0
    support = (k * sorted_z) > cumsum
    k_z = support.to(z.dtype).sum(dim=0, keepdim=True)
    tau = cumsum.gather(0, k_z.long() - 1) / k_z
    return torch.clamp(z - tau, min=0.0).transpose(0, dim)


class LayerMix(nn.Module):
    """COMET's ``LayerwiseAttention`` at inference: γ Σ_l t(w)_l H_l (H_l layer-normed over the
    non-pad tokens when ``layer_norm``); parameter names match the checkpoint's."""

    def __init__(self, num_layers: int, transformation: str = "softmax", layer_norm: bool = False):
        super().__init__()
        self.scalar_parameters = nn.ParameterList([nn.Parameter(torch.zeros(1)) for _ in range(num_layers)])
        self.gamma = nn.Parameter(torch.ones(1))
        if transformation not in ("softmax", "sparsemax", "sparsemax_patch"):
            raise ValueError(f"hparams.layer_transformation={transformation!r}: softmax | sparsemax")
        self.transform = sparsemax if transformation == "sparsemax" else torch.softmax
        self.layer_norm = layer_norm

    def forward(self, layers: Sequence[torch.Tensor], mask: torch.Tensor) -> torch.Tensor:
        weights = self.transform(torch.cat(list(self.scalar_parameters)), dim=0)
        mask_f = mask.to(layers[0].dtype)
        out = None
        for weight, hidden in zip(weights, layers):
            if self.layer_norm:
                hidden = _masked_layer_norm(hidden, mask_f)
            piece = weight.to(hidden.dtype) * hidden
            out = piece if out is None else out + piece
        return self.gamma.to(out.dtype) * out


def _masked_layer_norm(tensor: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    broadcast = mask.unsqueeze(-1)
    batch, _, dim = tensor.shape
    count = mask.sum(1) * dim
    masked = tensor * broadcast
    mean = (masked.view(batch, -1).sum(1) / count).view(batch, 1, 1)
    var = (((masked - mean) * broadcast) ** 2).view(batch, -1).sum(1) / count
    return (tensor - mean) / torch.sqrt(var + 1e-12).view(batch, 1, 1)


class FeedForward(nn.Module):
    """COMET's estimator head: Linear-act-Dropout blocks then Linear (keys ``ff.N.*``)."""

    def __init__(self, in_dim: int, hidden_sizes: Sequence[int], activations: str = "Tanh",
                 final_activation: str | None = None):
        super().__init__()
        modules: list[nn.Module] = []
        dims = [in_dim, *hidden_sizes]
        for a, b in zip(dims[:-1], dims[1:]):
            modules += [nn.Linear(a, b), _activation(activations), nn.Dropout(0.0)]
        modules.append(nn.Linear(dims[-1], 1))
        if final_activation:
            modules.append(_activation(final_activation))
        self.ff = nn.Sequential(*modules)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ff(x)


def _activation(name: str) -> nn.Module:
    cls = getattr(nn, name.title(), None)
    if cls is None:
        raise ValueError(f"hparams activation {name!r} is not a torch.nn activation")
    return cls()


def length_buckets(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices sorted by length (longest first), cut into batches of ``batch_size``.

    >>> length_buckets([3, 9, 1, 7, 5], 2)
    [[1, 3], [4, 0], [2]]
    """
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    return [order[i: i + batch_size] for i in range(0, len(order), batch_size)]


# ---- the model ---------------------------------------------------------------------------------------

class CometModel(nn.Module):
    def __init__(self, hparams: dict[str, Any], encoder_config):
        from transformers import XLMRobertaModel

        super().__init__()
        self.hparams = hparams
        self.kind = hparams["class_identifier"]
        self.encoder = XLMRobertaModel(encoder_config, add_pooling_layer=False)
        n_layers = encoder_config.num_hidden_layers + 1
        layer_key = "layer" if self.kind == "regression_metric" else "sent_layer"
        self.layer = hparams.get(layer_key, "mix")
        self.layerwise_attention = (
            LayerMix(n_layers, hparams.get("layer_transformation", "softmax"), bool(hparams.get("layer_norm", False)))
            if self.layer == "mix" else None
        )
        if self.layer != "mix" and not (isinstance(self.layer, int) and 0 <= self.layer < n_layers):
            raise ValueError(f"hparams.{layer_key}={self.layer!r}: 'mix' or a layer in [0, {n_layers})")
        hidden = encoder_config.hidden_size
        in_dim = hidden * 6 if self.kind == "regression_metric" else hidden
        self.estimator = FeedForward(in_dim, hparams.get("hidden_sizes", [3072, 1024]),
                                     hparams.get("activations", "Tanh"), hparams.get("final_activation"))
        self.pool = hparams.get("pool", "avg")
        if self.kind == "regression_metric" and self.pool not in ("avg", "max", "cls", "default"):
            raise ValueError(f"hparams.pool={self.pool!r}: avg | max | cls | default")

    def mixed(self, input_ids: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.encoder(input_ids=input_ids, attention_mask=mask, output_hidden_states=True, return_dict=True)
        layers = out.hidden_states
        emb = self.layerwise_attention(layers, mask) if self.layerwise_attention is not None else layers[self.layer]
        return emb, out.last_hidden_state

    def sentence_embedding(self, input_ids: torch.Tensor, mask: torch.Tensor, pad_id: int) -> torch.Tensor:
        emb, last = self.mixed(input_ids, mask)
        if self.pool == "default":
            return last[:, 0]
        if self.pool == "cls":
            return emb[:, 0]
        pad = input_ids.eq(pad_id).unsqueeze(-1)
        if self.pool == "max":
            return emb.float().masked_fill(pad, float("-inf")).max(dim=1)[0]
        summed = emb.float().masked_fill(pad, 0.0).sum(1)
        return summed / mask.float().sum(1, keepdim=True)

    def head(self, features: torch.Tensor) -> torch.Tensor:
        return self.estimator(features.float()).view(-1)


class CometScorer(TranslationScorer):
    """A COMET / CometKiwi checkpoint as a :class:`TranslationScorer` (scores clipped to [0, 1];
    :meth:`raw_scores` gives the model's outputs)."""

    def __init__(self, checkpoint: str | Path, device: str = "auto", dtype: str = "auto", batch_size: int = 64,
                 encoder_dir: str | Path | None = None, trust_checkpoint: bool = False):
        ckpt_file, root = _checkpoint_paths(Path(checkpoint))
        ckpt = _load_checkpoint(ckpt_file, trust_checkpoint)
        # as comet.load_from_checkpoint: the checkpoint's hyper_parameters, hparams.yaml only as a fallback
        hparams = dict(ckpt.get("hyper_parameters") or _read_hparams(root / "hparams.yaml"))
        kind = hparams.get("class_identifier")
        if kind not in SUPPORTED:
            raise ValueError(f"{root}/hparams.yaml: class_identifier={kind!r} is not supported (supported: "
                             f"{', '.join(SUPPORTED)})")
        if hparams.get("encoder_model", "XLM-RoBERTa") not in ENCODERS:
            raise ValueError(f"{root}/hparams.yaml: encoder_model={hparams.get('encoder_model')!r}; supported: "
                             f"{', '.join(ENCODERS)}")
        if hparams.get("word_level_training"):
            raise ValueError(f"{root}/hparams.yaml: word-level (XCOMET) models are not supported")
        self.segments = list(hparams.get("input_segments", ["mt", "src", "ref"])) if kind == "unified_metric" else \
            ["mt", "src", "ref"]
        self.reference_free = kind == "unified_metric" and "ref" not in self.segments
        self.name = "cometkiwi" if self.reference_free else "comet"
        self.needs_reference = "ref" in self.segments
        self.needs_source = "src" in self.segments
        self.checkpoint, self.batch_size = ckpt_file, batch_size
        enc = _encoder_files(root, hparams, encoder_dir)
        from tokenizers import Tokenizer
        from transformers import XLMRobertaConfig

        self.tokenizer = Tokenizer.from_file(str(enc["tokenizer.json"]))
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        config = XLMRobertaConfig.from_json_file(str(enc["config.json"]))
        self.max_positions = config.max_position_embeddings - 2  # COMET's encoder.max_positions
        self.pad_id = _special_id(self.tokenizer, "<pad>", config.pad_token_id)
        self.cls_id = _special_id(self.tokenizer, "<s>", config.bos_token_id)
        self.sep_id = _special_id(self.tokenizer, "</s>", config.eos_token_id)
        self.model = CometModel(hparams, config)
        state = ckpt.get("state_dict", ckpt)
        encoder_state = {k[len("encoder.model."):]: v for k, v in state.items() if k.startswith("encoder.model.")}
        missing, unexpected = self.model.encoder.load_state_dict(encoder_state, strict=False)
        missing = [k for k in missing if "position_ids" not in k]
        unexpected = [k for k in unexpected if "position_ids" not in k and not k.startswith("pooler.")]
        heads = {k: v for k, v in state.items() if k.startswith(("layerwise_attention.", "estimator."))}
        h_missing, h_unexpected = self.model.load_state_dict(
            {**{f"encoder.{k}": v for k, v in self.model.encoder.state_dict().items()}, **heads}, strict=False)
        if missing or unexpected or h_missing or h_unexpected:
            raise ValueError(f"{ckpt_file}: the checkpoint does not match the {kind} architecture "
                             f"(missing {missing + h_missing[:5]}, unexpected {unexpected + h_unexpected[:5]})")
        self.device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device)
        if dtype == "auto":
            dtype = "bfloat16" if self.device.type == "cuda" else "float32"
        self.dtype = getattr(torch, dtype)
        self.model.eval().to(self.device)
        self.model.encoder.to(self.dtype)
        if self.model.layerwise_attention is not None:
            self.model.layerwise_attention.to(self.dtype)

    def describe(self) -> str:
        cfg = self.model.encoder.config
        return f"{self.model.kind}, {cfg.num_hidden_layers} layers x {cfg.hidden_size}, {self.dtype}".replace(
            "torch.", "")

    # ---- tokenisation, as unbabel-comet does it -----------------------------------------------------
    def _ids(self, texts: Sequence[str]) -> list[list[int]]:
        limit = self.max_positions - 2
        out = []
        for enc in self.tokenizer.encode_batch([str(t) for t in texts]):
            ids = enc.ids
            if len(ids) > limit:  # HF truncation keeps the special tokens: <s> ... </s>
                ids = ids[: limit - 1] + [ids[-1]]
            out.append(ids)
        return out

    def _concat(self, parts: Sequence[list[int]]) -> list[int]:
        seq = parts[0]
        for other in parts[1:]:
            seq = [self.cls_id, *seq[1:-1], self.sep_id, self.sep_id, *other[1:-1], self.sep_id]
        special = 1 + len(parts) * 2
        if sum(len(p) - 2 for p in parts) > self.max_positions - special:
            seq = seq[: self.max_positions]
        return seq

    def _batches(self, sequences: list[list[int]]):
        for idx in length_buckets([len(s) for s in sequences], self.batch_size):
            width = len(sequences[idx[0]])
            ids = torch.full((len(idx), width), self.pad_id, dtype=torch.long)
            mask = torch.zeros((len(idx), width), dtype=torch.long)
            for row, i in enumerate(idx):
                ids[row, : len(sequences[i])] = torch.tensor(sequences[i])
                mask[row, : len(sequences[i])] = 1
            yield idx, ids.to(self.device), mask.to(self.device)

    @torch.inference_mode()
    def _sentence_embeddings(self, texts: Sequence[str]) -> torch.Tensor:
        unique = list(dict.fromkeys(texts))  # shared sources/references are encoded once
        seqs = self._ids(unique)
        out = torch.empty((len(unique), self.model.encoder.config.hidden_size), dtype=torch.float32,
                          device=self.device)
        for idx, ids, mask in self._batches(seqs):
            out[torch.tensor(idx, device=self.device)] = self.model.sentence_embedding(ids, mask, self.pad_id).float()
        where = {t: i for i, t in enumerate(unique)}
        return out[torch.tensor([where[t] for t in texts], device=self.device)]

    @torch.inference_mode()
    def _unified(self, parts: Sequence[Sequence[str]]) -> torch.Tensor:
        tokenised = [self._ids(p) for p in parts]
        seqs = [self._concat([t[i] for t in tokenised]) for i in range(len(parts[0]))]
        scores = torch.empty(len(seqs), dtype=torch.float32, device=self.device)
        for idx, ids, mask in self._batches(seqs):
            emb, _ = self.model.mixed(ids, mask)
            scores[torch.tensor(idx, device=self.device)] = self.model.head(emb[:, 0])
        return scores

    def raw_scores(self, hypotheses: Sequence[str], references: Sequence[str] | None = None,
                   sources: Sequence[str] | None = None) -> list[float]:
        """The model's outputs, as ``comet.predict(...).scores`` gives them."""
        self.check_inputs(hypotheses, references, sources)
        if not hypotheses:
            return []
        if self.model.kind == "regression_metric":
            m = self._sentence_embeddings(hypotheses)
            r = self._sentence_embeddings(references)
            s = self._sentence_embeddings(sources)
            features = torch.cat((m, r, m * r, (m - r).abs(), m * s, (m - s).abs()), dim=1)
            with torch.inference_mode():
                return self.model.head(features).tolist()
        named = {"mt": hypotheses, "src": sources, "ref": references}
        if len(self.segments) == 3:  # mean of [mt, src], [mt, ref] and [mt, src, ref]
            combos = (["mt", "src"], ["mt", "ref"], ["mt", "src", "ref"])
            return torch.stack([self._unified([named[k] for k in c]) for c in combos]).mean(0).tolist()
        return self._unified([named[k] for k in self.segments]).tolist()

    def score(self, hypotheses, references=None, sources=None) -> list[float]:
        return [min(max(x, 0.0), 1.0) if math.isfinite(x) else 0.0
                for x in self.raw_scores(hypotheses, references, sources)]


# ---- files ----------------------------------------------------------------------------------------------

def _checkpoint_paths(path: Path) -> tuple[Path, Path]:
    if path.is_dir():
        ckpt = path / "checkpoints" / "model.ckpt"
        root = path
    else:
        ckpt, root = path, path.parent.parent
    if not ckpt.is_file():
        raise FileNotFoundError(f"multiling.tapo.translation.comet.checkpoint: no {ckpt} (expected "
                                "<dir>/checkpoints/model.ckpt next to <dir>/hparams.yaml)")
    if not (root / "hparams.yaml").is_file():
        raise FileNotFoundError(f"multiling.tapo.translation.comet.checkpoint: no {root / 'hparams.yaml'}")
    return ckpt, root


def _read_hparams(path: Path) -> dict[str, Any]:
    import yaml

    with path.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def _encoder_files(root: Path, hparams: dict[str, Any], encoder_dir: str | Path | None) -> dict[str, Path]:
    names = ("config.json", "tokenizer.json")
    candidates = [Path(encoder_dir)] if encoder_dir else []
    candidates += [root / "encoder"]
    pretrained = str(hparams.get("pretrained_model", ""))
    if pretrained and Path(pretrained).is_dir():
        candidates.append(Path(pretrained))
    for directory in candidates:
        if all((directory / n).is_file() for n in names):
            return {n: directory / n for n in names}
    if pretrained:
        found = _from_hub_cache(pretrained, names)
        if found is not None:
            return found
    raise FileNotFoundError(
        f"COMET encoder files {names} for pretrained_model={pretrained!r} not found in {[str(c) for c in candidates]} "
        "or the Hugging Face cache; put them in <checkpoint dir>/encoder/ (e.g. from xlm-roberta-large)"
    )


def _special_id(tokenizer, token: str, fallback: int | None) -> int:
    value = tokenizer.token_to_id(token)
    if value is None:
        if fallback is None:
            raise ValueError(f"the COMET tokenizer has no {token} token")
        return int(fallback)
    return int(value)


def _from_hub_cache(pretrained: str, names: Sequence[str]) -> dict[str, Path] | None:
    """The files of hub model ``pretrained`` from the local Hugging Face cache, or None when they are not all
    there (or ``pretrained`` is no hub name, or huggingface_hub is not installed). A cache that cannot be read
    is an error saying so, not "not found"."""
    try:
        from huggingface_hub import try_to_load_from_cache
        from huggingface_hub.errors import HFValidationError
    except ImportError:
        return None
    try:
        found = {n: try_to_load_from_cache(pretrained, n) for n in names}
    except HFValidationError:  # a local path or a name the hub refuses: nothing to find in the cache
        return None
    except OSError as exc:
        raise OSError(f"COMET encoder files for pretrained_model={pretrained!r}: the Hugging Face cache could not be "
                      f"read ({type(exc).__name__}: {exc}); fix its permissions or HF_HUB_CACHE, or put the files in "
                      "<checkpoint dir>/encoder/") from exc
    if all(isinstance(p, str) for p in found.values()):
        return {n: Path(p) for n, p in found.items()}
    return None


def _load_checkpoint(path: Path, trust: bool) -> dict[str, Any]:
    """torch.load with ``weights_only=True``; a checkpoint that pickles other objects needs ``trust``.

    Only torch's "Unsupported global" refusal asks for ``trust``; a truncated or corrupt file is named as such
    (trusting it would not help)."""
    import pickle

    try:
        return torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "Unsupported global" not in str(exc):
            raise ValueError(_corrupt_checkpoint(path, exc)) from exc
        if not trust:
            raise ValueError(f"{path}: pickles objects beyond tensors (torch's weights_only=True refused it); if you "
                             "trust the file set multiling.tapo.translation.comet.trust_checkpoint=true") from exc
    except (RuntimeError, EOFError, ValueError) as exc:  # a broken zip archive, an empty or cut file
        raise ValueError(_corrupt_checkpoint(path, exc)) from exc
    return torch.load(str(path), map_location="cpu", weights_only=False)


def _corrupt_checkpoint(path: Path, exc: BaseException) -> str:
    first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else "empty file"
    return (f"{path}: not a readable torch checkpoint, truncated or corrupt ({type(exc).__name__}: {first}); "
            "download or copy it again")


# ---- a random checkpoint with the real architecture, built offline ----------------------------------------

def build_random_checkpoint(path: str | Path, class_identifier: str = "regression_metric", seed: int = 0,
                            hidden_size: int = 32, num_layers: int = 2, heads: int = 2, vocab_size: int = 600,
                            hidden_sizes: Sequence[int] = (64, 32), intermediate_size: int | None = None) -> Path:
    """Write a COMET checkpoint directory with random weights and an XLM-R-style Unigram tokenizer
    trained on the bundled sample texts: ``hparams.yaml``, ``checkpoints/model.ckpt`` and
    ``encoder/`` (config.json, tokenizer.json, tokenizer_config.json). Loadable by unbabel-comet's
    ``load_from_checkpoint(..., local_files_only=True)`` and by :class:`CometScorer`; scores are
    meaningless (untrained), which is all a parity test needs. ``hidden_size=1024, num_layers=24,
    heads=16, hidden_sizes=(3072, 1024)`` gives wmt22-comet-da's compute (XLM-R large; only the
    vocabulary is small) for throughput measurements. ``intermediate_size`` defaults to 4 x hidden."""
    import yaml
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import XLMRobertaConfig

    if class_identifier not in SUPPORTED:
        raise ValueError(f"class_identifier={class_identifier!r}: one of {SUPPORTED}")
    root = Path(path)
    enc_dir = root / "encoder"
    (root / "checkpoints").mkdir(parents=True, exist_ok=True)
    enc_dir.mkdir(parents=True, exist_ok=True)
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]  # XLM-R's ids 0..4 order (<mask> last in XLM-R)
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    trainer = trainers.UnigramTrainer(vocab_size=vocab_size, special_tokens=specials, unk_token="<unk>",
                                      show_progress=False)
    tok.train_from_iterator(_corpus(), trainer=trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", tok.token_to_id("<s>")), ("</s>", tok.token_to_id("</s>"))])
    tok.save(str(enc_dir / "tokenizer.json"))
    (enc_dir / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "XLMRobertaTokenizer", "model_max_length": 512, "bos_token": "<s>", "eos_token": "</s>",
        "sep_token": "</s>", "cls_token": "<s>", "unk_token": "<unk>", "pad_token": "<pad>", "mask_token": "<mask>",
    }), encoding="utf-8")
    (enc_dir / "special_tokens_map.json").write_text(json.dumps({
        "bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>", "unk_token": "<unk>",
        "pad_token": "<pad>", "mask_token": "<mask>"}), encoding="utf-8")
    config = XLMRobertaConfig(vocab_size=tok.get_vocab_size(), hidden_size=hidden_size, num_hidden_layers=num_layers,
                              num_attention_heads=heads, intermediate_size=intermediate_size or 4 * hidden_size,
                              max_position_embeddings=514, type_vocab_size=1, pad_token_id=tok.token_to_id("<pad>"),
                              bos_token_id=tok.token_to_id("<s>"), eos_token_id=tok.token_to_id("</s>"))
    config.save_pretrained(str(enc_dir))
    common = dict(
        class_identifier=class_identifier, encoder_model="XLM-RoBERTa", pretrained_model=str(enc_dir.resolve()),
        nr_frozen_epochs=0.3, keep_embeddings_frozen=True, optimizer="AdamW", warmup_steps=0,
        encoder_learning_rate=1.0e-06, learning_rate=1.5e-05, layerwise_decay=0.95, loss="mse", dropout=0.1,
        batch_size=16, train_data=[], validation_data=[], hidden_sizes=list(hidden_sizes), activations="Tanh",
        final_activation=None, load_pretrained_weights=False, local_files_only=True,
    )
    if class_identifier == "regression_metric":  # wmt22-comet-da's choices
        hparams = dict(common, pool="avg", layer="mix", layer_transformation="sparsemax", layer_norm=False)
    else:  # wmt22-cometkiwi-da's choices
        hparams = dict(common, sent_layer="mix", layer_transformation="sparsemax", layer_norm=True, word_layer=24,
                       word_level_training=False, loss_lambda=0.65, error_labels=["minor", "major"],
                       cross_entropy_weights=None, input_segments=["mt", "src"])
    with (root / "hparams.yaml").open("w", encoding="utf-8") as f:
        yaml.safe_dump(hparams, f)
    torch.manual_seed(seed)
    model = CometModel(hparams, config)
    with torch.no_grad():  # non-uniform layer weights (sparsemax keeps a few) and a non-trivial gamma
        for p in model.layerwise_attention.scalar_parameters:
            p.copy_(torch.randn(1) * 0.5)
        model.layerwise_attention.gamma.fill_(1.3)
        model.estimator.ff[-1].bias.fill_(0.5)  # scores around 0.5, so that clipping to [0, 1] is visible
    state = {f"encoder.model.{k}": v for k, v in model.encoder.state_dict().items()}
    state.update({k: v for k, v in model.state_dict().items() if not k.startswith("encoder.")})
    torch.save({"state_dict": state, "hyper_parameters": hparams, "pytorch-lightning_version": "2.6.6", "epoch": 0,
                "global_step": 0},
               str(root / "checkpoints" / "model.ckpt"))
    return root


def _corpus() -> list[str]:
    from verl_multiling.plumbing.paths import DATA_DIR

    lines = []
    for name in ("sample_tapo_rollouts.jsonl", "sample_rollouts.jsonl"):
        with (DATA_DIR / name).open(encoding="utf-8") as f:
            for line in f:
                row = json.loads(line)
                lines += [row.get("question", ""), row.get("question_en", ""), row.get("response", "")]
    return [x for x in lines if x]
