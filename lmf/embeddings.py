"""Compress the embedding layers of any PyTorch model, not only lmf's DAN and LSTM.

Every nn.Embedding and nn.EmbeddingBag of a model (or the ones named, by their names in
model.named_modules()) is compressed in place, and the caller gets back one record per layer
saying what was done (`Compressed`: name, rank, parameters before and after):

- `factorize_embeddings`: the paper's online LMF. A trained V x d table W becomes W_a W_b at the
  eq. (5) rank k = floor(p V d / (V + d)), p = 1 - R, from W's truncated SVD (compress.factorize,
  as compress_model does for lmf's models): a FactorizedEmbedding or FactorizedEmbeddingBag
  (models.py) with the original's padding_idx, sparse, scale_grad_by_freq, and a bag's mode and
  include_last_offset. Then retrain in the team's own loop (lmf.schedules.CALR drops into it).
- `groupreduce_embeddings`: GroupReduce (groupreduce.py) of the tables whose word counts are
  given; nn.Embedding only.
- `quantize_embeddings`: the rows rounded to 8 (or 16) bit fixed point with a scale per row
  (quantize.fake_quantize, baseline 1); the layer itself is kept, so nothing about its behaviour
  changes, and `save_compressed` stores those rows as integers plus their scales.

A compressed model is saved with `save_compressed` (safetensors; the records travel in the file's
metadata) and loaded into a freshly built model with `load_compressed`, which first gives it the
recorded structure (`restore_embeddings`: the same ranks, no SVD) and then loads the weights.
Nothing is pickled.

Deliberately not here: training; lmf's own models (compress.py: they are rebuilt from a config,
so they keep their own route, and the embeddings inside lmf's embedding modules are never
targets here); HMF, whose dense rows are the first r_d ids, which are the most frequent words only
in a vocabulary ordered by frequency (lmf.data.Vocab's), and a foreign model's ids need not be
(GroupReduce takes the counts and any order); offline SVD, which trains a small table from
scratch rather than compressing a trained one; tied weights (an embedding shared with an output
layer would be untied) and nn.Embedding's max_norm (it renormalizes W's rows, not W_a's), both
refused.
"""
import json
from dataclasses import asdict, dataclass

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from .compress import Infeasible, factorize, fraction_for_reduction, rank_for_fraction
from .groupreduce import group_embedding, groupreduce
from .models import (DenseEmbedding, FactorizedEmbedding, FactorizedEmbeddingBag, GroupEmbedding,
                     HybridEmbedding)
from .quantize import dequantize_state_dict, fake_quantize, quantize_state_dict

KINDS = (nn.Embedding, nn.EmbeddingBag)
# lmf's own embedding modules: the tables inside them are lmf's (compressed already, or part of a
# DAN or LSTM, whose compression is compress.py's), so they are never compressed again here.
LMF_EMBEDDINGS = (DenseEmbedding, FactorizedEmbedding, FactorizedEmbeddingBag, GroupEmbedding, HybridEmbedding)
METADATA_KEY = "lmf.embeddings"


@dataclass
class Compressed:
    """What was done to one layer. `shape` is the original table's [V, d]; `rank` is LMF's k, the
    list of GroupReduce's block ranks (with `block_sizes`), or None for rounded rows; `bits` is the
    width of the stored numbers (32 for float weights). params_after counts what the layer stores:
    GroupReduce's V-entry row map is included, as its budget counts it."""
    name: str
    kind: str  # "Embedding" or "EmbeddingBag"
    method: str  # "lmf", "groupreduce", "int8" or "int16"
    shape: list
    rank: int | list | None
    params_before: int
    params_after: int
    bits: int = 32
    block_sizes: list = None


def find_embeddings(model, names=None):
    """[(name, layer)] for every nn.Embedding and nn.EmbeddingBag of `model`, or for `names`.
    Exact types only: a subclass may look up differently, so it is not replaced unasked, and
    ValueError when it is named (or when a name is no such layer)."""
    inside_lmf = {f"{name}.{child}" if name else child
                  for name, module in model.named_modules() if isinstance(module, LMF_EMBEDDINGS)
                  for child, _ in module.named_modules() if child}
    found = [(name, m) for name, m in model.named_modules()
             if type(m) in KINDS and name not in inside_lmf]
    if names is None:
        if not found:
            raise ValueError("the model has no nn.Embedding or nn.EmbeddingBag to compress (lmf's own "
                             "embedding modules are compressed already, or compressed by lmf.compress)")
        return found
    if isinstance(names, str):  # a string would be read one character at a time
        raise ValueError(f"names must be a list of module names, not the string {names!r}: names=[{names!r}]")
    names = list(names)
    if len(set(names)) < len(names):  # a layer compressed twice would record two layers in one place
        raise ValueError(f"names lists a layer more than once: {names}")
    layers = dict(model.named_modules())
    available = ", ".join(name for name, _ in found) or "none"
    for name in names:
        if type(layers.get(name)) not in KINDS or name in inside_lmf:
            raise ValueError(f"{name!r} is not an nn.Embedding or nn.EmbeddingBag of this model "
                             f"(those it has: {available})")
    return [(name, layers[name]) for name in names]


def factorize_embeddings(model, reduction, names=None):
    """The paper's online LMF on `model`'s embeddings, in place (deep-copy first to keep the
    original): each V x d table replaced by W_a W_b at its eq. (5) rank for R = `reduction` percent,
    initialised from its truncated SVD. Returns the records (see Compressed).

    Infeasible (a ValueError) when a table is too small for rank 1 at this R (a short positional
    table at a high R, say), naming it so it can be left out with `names`; every layer is checked,
    and every factorized layer made, before any is replaced: a failure leaves the model as it was."""
    p = fraction_for_reduction(reduction)
    plan = []
    for name, layer in find_embeddings(model, names):
        _check_replaceable(model, name, layer)
        try:
            plan.append((name, layer, rank_for_fraction(p, *layer.weight.shape)))
        except Infeasible as e:
            raise Infeasible(f"{name}: {e}; leave it out with names=") from None
    made, records = [], []
    for name, layer, k in plan:
        new = _factorized(layer, k)
        W_a, W_b = factorize(layer.weight, k)
        pad = layer.padding_idx
        # A zero PAD row (nn.Embedding's own) is kept exactly zero, so that PAD's vector stays zero
        # whatever W_b learns. A bag leaves PAD out of every bag, so its row is never read. A
        # non-zero PAD row of an nn.Embedding keeps its rank-k approximation, fixed in W_a.
        if pad is not None and (isinstance(layer, nn.EmbeddingBag) or not layer.weight[pad].any()):
            W_a[pad] = 0
        with torch.no_grad():
            new.table.weight.copy_(W_a)
            new.project.weight.copy_(W_b.T)
        made.append((name, new))
        V, d = layer.weight.shape
        records.append(Compressed(name, type(layer).__name__, "lmf", [V, d], k, V * d, k * (V + d)))
    for name, new in made:
        _replace(model, name, new)
    return records


def groupreduce_embeddings(model, reduction, counts, blocks=5, rounds=2):
    """GroupReduce (groupreduce.py) in place on the tables named by `counts`, a dict
    {layer name: training count of each id}; at R = `reduction` percent, with the row map counted.

    nn.Embedding only (a GroupEmbedding has no bag form), without sparse gradients or
    scale_grad_by_freq (its block tables have neither). The GroupEmbedding zeroes PAD's output.
    Every table is fitted before any is replaced."""
    p = fraction_for_reduction(reduction)
    plan = []
    for name, layer in find_embeddings(model, list(counts)):
        _check_replaceable(model, name, layer)
        if type(layer) is not nn.Embedding or layer.sparse or layer.scale_grad_by_freq:
            raise ValueError(f"{name}: GroupReduce takes a plain nn.Embedding (no bag, sparse gradients "
                             "or scale_grad_by_freq); use factorize_embeddings for this layer")
        if len(counts[name]) != layer.num_embeddings:
            raise ValueError(f"{name}: {len(counts[name])} counts for a {layer.num_embeddings}-row table")
        try:
            plan.append((name, layer, groupreduce(layer.weight, counts[name], p, blocks, rounds)))
        except Infeasible as e:
            raise Infeasible(f"{name}: {e}") from None
    records = []
    for name, layer, fit in plan:
        V, d = layer.weight.shape
        new = group_embedding(fit, V, d, layer.padding_idx).to(layer.weight.device, layer.weight.dtype)
        new.requires_grad_(layer.weight.requires_grad)
        _replace(model, name, new)
        records.append(Compressed(name, "Embedding", "groupreduce", [V, d], fit["ranks"], V * d,
                                  fit["params"] + V, block_sizes=[len(b) for b in fit["blocks"]]))
    return records


def quantize_embeddings(model, bits=8, names=None):
    """Every embedding's rows rounded in place to `bits`-bit fixed point, one scale per row
    (quantize.fake_quantize: the values an integer table holds). The layers are kept, so every
    option and behaviour is the original's; a zero PAD row stays zero. Post-training, as the
    paper's baseline 1: retraining would move the rows off the grid."""
    records = []
    for name, layer in find_embeddings(model, names):
        with torch.no_grad():
            layer.weight.copy_(fake_quantize(layer.weight, bits))
        V, d = layer.weight.shape
        records.append(Compressed(name, type(layer).__name__, f"int{bits}", [V, d], None, V * d, V * d, bits))
    return records


def restore_embeddings(model, records):
    """A freshly built `model` given, in place, the structure `records` describe (the same ranks and
    blocks, untrained: no SVD), so that the compressed model's state_dict loads into it. `records`
    are Compressed or their dicts (as stored by save_compressed). Returns them as Compressed."""
    records = [r if isinstance(r, Compressed) else Compressed(**r) for r in records]
    for r in records:
        (name, layer), = find_embeddings(model, [r.name])
        if type(layer).__name__ != r.kind or list(layer.weight.shape) != list(r.shape):
            raise ValueError(f"{r.name} is a {type(layer).__name__} of {list(layer.weight.shape)}; "
                             f"the record is of a {r.kind} of {list(r.shape)}")
        if r.method == "lmf":
            _replace(model, r.name, _factorized(layer, r.rank))
        elif r.method == "groupreduce":
            new = GroupEmbedding(*r.shape, r.block_sizes, r.rank, layer.padding_idx)
            _replace(model, r.name, new.to(layer.weight.device, layer.weight.dtype))
        # Rounded rows keep the layer: load_state_dict puts the rounded values back.
    return records


def save_compressed(model, records, path):
    """`model`'s weights as safetensors, with `records` in the metadata; rounded rows are stored as
    integers plus scales (quantize.quantize_state_dict). Tensors shared between layers are not
    supported (safetensors refuses them)."""
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    for r in records:
        if r.bits < 32:
            key = f"{r.name}.weight"
            state.update(quantize_state_dict({key: state.pop(key)}, r.bits))
    save_file(state, str(path), metadata={METADATA_KEY: json.dumps([asdict(r) for r in records])})


def load_compressed(model, path):
    """Load a save_compressed file into a freshly built `model` (the team's own constructor, same
    config): restore_embeddings from the stored records, then load_state_dict (strict). Returns
    the records."""
    with safe_open(str(path), "pt") as f:
        metadata = f.metadata() or {}
    if METADATA_KEY not in metadata:
        raise ValueError(f"{path} holds no lmf.embeddings records: it was not written by save_compressed")
    records = restore_embeddings(model, json.loads(metadata[METADATA_KEY]))
    model.load_state_dict(dequantize_state_dict(load_file(str(path))))
    return records


def _factorized(layer, rank):
    """An untrained factorized layer of `rank` with `layer`'s options, device and dtype."""
    V, d = layer.weight.shape
    if isinstance(layer, nn.EmbeddingBag):
        new = FactorizedEmbeddingBag(V, rank, d, layer.mode, layer.padding_idx, layer.sparse,
                                     layer.include_last_offset, layer.scale_grad_by_freq)
    else:
        new = FactorizedEmbedding(V, rank, d, layer.padding_idx, layer.sparse, layer.scale_grad_by_freq)
    # A frozen table (from_pretrained's default) stays frozen: the caller chose not to train it; and
    # a model in eval mode stays in eval mode.
    new = new.to(layer.weight.device, layer.weight.dtype).requires_grad_(layer.weight.requires_grad)
    return new.train(layer.training)


def _check_replaceable(model, name, layer):
    if not torch.isfinite(layer.weight).all():  # the SVD would fail with an error naming no layer
        raise ValueError(f"{name}: its table holds NaN or infinite values; there is nothing to factorize")
    if layer.max_norm is not None:
        raise ValueError(f"{name}: max_norm renormalizes the table's rows at lookup; a factorized table "
                         "cannot do the same to W_a W_b's rows")
    shared = [n for n, p in model.named_parameters(remove_duplicate=False) if p is layer.weight]
    if len(shared) > 1:
        raise ValueError(f"{name}: its weight is tied to {[n for n in shared if n != f'{name}.weight']}; "
                         "replacing the table would untie them")
    if not name:
        raise ValueError("the model is itself the embedding: wrap it in a module to compress it")


def _replace(model, name, new):
    parent, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent), child, new)
