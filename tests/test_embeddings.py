"""lmf.embeddings on models lmf does not define, written here as a product team would: a plain
nn.EmbeddingBag classifier and a small nn.TransformerEncoder classifier (token and positional
embeddings, built from a config). Each is factorized at the eq. (5) rank, retrained a few steps
with lmf.schedules.CALR in a plain loop, saved (safetensors), loaded into a fresh model and must
predict identically. Also: the truncated SVD on a worked example, padding, the records, the
layers it refuses, rounded rows and GroupReduce."""
import copy
import io
import json
from dataclasses import asdict

import pytest
import torch
from safetensors import safe_open
from torch import nn

from lmf.compress import Infeasible
from lmf.embeddings import (Compressed, factorize_embeddings, groupreduce_embeddings, load_compressed,
                            quantize_embeddings, restore_embeddings, save_compressed)
from lmf.models import FactorizedEmbedding, FactorizedEmbeddingBag, GroupEmbedding, new_model
from lmf.schedules import CALR

PAD = 0


class BagClassifier(nn.Module):
    """fastText-style: the mean of a text's word vectors (nn.EmbeddingBag, offsets mark the texts),
    then a linear layer."""

    def __init__(self, vocab=60, dim=20, classes=2, mode="mean", sparse=False):
        super().__init__()
        self.embed = nn.EmbeddingBag(vocab, dim, mode=mode, padding_idx=PAD, sparse=sparse)
        self.out = nn.Linear(dim, classes)

    def forward(self, ids, offsets):
        return self.out(self.embed(ids, offsets))


CONFIG = {"vocab": 50, "max_len": 12, "dim": 16, "heads": 2, "layers": 1, "ff": 32, "classes": 2}


class TinyTransformer(nn.Module):
    """Token + positional embeddings, an nn.TransformerEncoder, the mean of the non-PAD outputs."""

    def __init__(self, config):
        super().__init__()
        self.tokens = nn.Embedding(config["vocab"], config["dim"], padding_idx=PAD)
        self.positions = nn.Embedding(config["max_len"], config["dim"])
        layer = nn.TransformerEncoderLayer(config["dim"], config["heads"], config["ff"], dropout=0.0,
                                           batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, config["layers"], enable_nested_tensor=False)
        self.out = nn.Linear(config["dim"], config["classes"])

    def forward(self, ids):
        pad = ids == PAD
        x = self.tokens(ids) + self.positions(torch.arange(ids.shape[1]))
        h = self.encoder(x, src_key_padding_mask=pad)
        keep = (~pad).unsqueeze(-1).float()
        return self.out((h * keep).sum(1) / keep.sum(1).clamp(min=1))


def texts(vocab, n=64, length=8, seed=0):
    """n texts of 3..length ids from 1..vocab-1, PAD-padded to `length`; the label says whether
    most of a text's ids are in the lower half of the vocabulary (learnable from bags of words)."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, vocab, (n, length), generator=g)
    lengths = torch.randint(3, length + 1, (n,), generator=g)
    ids[torch.arange(length)[None, :] >= lengths[:, None]] = PAD
    low = ((ids > PAD) & (ids < vocab // 2)).sum(1)
    return ids, (2 * low > lengths).long()


def as_bags(ids):
    """The padded rows as one flat id list with offsets (PAD kept: the bag leaves it out)."""
    return ids.reshape(-1), torch.arange(0, ids.numel(), ids.shape[1])


def retrain(model, inputs, labels, steps=12):
    """A team's own loop: Adam, lmf's CALR stepped after every optimizer step (8 steps an epoch).
    Returns the losses, the first before any update."""
    optimizer = torch.optim.Adam(model.parameters())
    scheduler = CALR(optimizer, steps_per_epoch=8, step_size=4, lr_lb=1e-3, lr_ub=2e-2)
    losses = []
    model.train()
    for _ in range(steps):
        loss = nn.functional.cross_entropy(model(*inputs), labels)
        losses.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
    model.eval()
    return losses


# ---------------------------------------------------------------- the rank and its SVD


def diagonal_table():
    """A 6 x 4 table whose rows are PAD's zero row, 4 e_1, 3 e_2, 2 e_3, 1 e_4 and a zero row:
    singular values 4, 3, 2, 1, so its best rank-k approximation keeps the k largest rows."""
    layer = nn.Embedding(6, 4, padding_idx=PAD)
    with torch.no_grad():
        layer.weight.zero_()
        layer.weight[1:5] = torch.diag(torch.tensor([4.0, 3.0, 2.0, 1.0]))
    return nn.Sequential(layer)


@pytest.mark.parametrize("reduction, rank, kept", [(10, 2, [4.0, 3.0, 0, 0]), (50, 1, [4.0, 0, 0, 0])])
def test_rank_from_eq5_and_the_truncated_svd(reduction, rank, kept):
    """Eq. (5) on V = 6, d = 4 (V d = 24, V + d = 10): R = 10 % gives k = floor(0.9 * 24 / 10) =
    floor(2.16) = 2, keeping 2 * 10 = 20 <= 21.6 parameters; R = 50 % gives floor(1.2) = 1 (10).
    By Eckart-Young W_a W_b keeps the k largest rows (4 e_1, then 3 e_2) and zeroes the others."""
    model = diagonal_table()
    record, = factorize_embeddings(model, reduction)
    assert (record.rank, record.params_before, record.params_after) == (rank, 24, rank * 10)
    product = model[0].table.weight @ model[0].project.weight.T
    expected = torch.zeros(6, 4)
    expected[1:5] = torch.diag(torch.tensor(kept))
    assert torch.allclose(product, expected, atol=1e-6)
    assert model[0].table.weight[PAD].abs().sum() == 0  # exactly zero, not SVD's ~1e-8


# ---------------------------------------------------------------- the EmbeddingBag classifier


def test_bag_classifier_parameters_follow_eq5():
    """V = 60, d = 20, R = 80 %: p = 0.2, k = floor(0.2 * 60 * 20 / 80) = floor(3) = 3, so the
    table's 1,200 parameters become 3 (60 + 20) = 240 = p V d exactly; the linear layer's 21 * 2 =
    42 are untouched. The bag keeps its mode and PAD."""
    torch.manual_seed(0)
    model = BagClassifier()
    records = factorize_embeddings(model, 80)
    assert records == [Compressed("embed", "EmbeddingBag", "lmf", [60, 20], 3, 1200, 240)]
    assert isinstance(model.embed, FactorizedEmbeddingBag)
    assert sum(p.numel() for p in model.parameters()) == 240 + 42
    assert (model.embed.table.mode, model.embed.table.padding_idx) == ("mean", PAD)


def test_bag_classifier_retrains_saves_and_reloads(tmp_path):
    """Factorized at R = 80 %, retrained 12 CALR steps (the loss falls, so both factors learn),
    saved, loaded into a BagClassifier built with another seed: the same logits, bit for bit."""
    torch.manual_seed(0)
    ids, labels = texts(60)
    model = BagClassifier()
    records = factorize_embeddings(model, 80)
    losses = retrain(model, as_bags(ids), labels)
    assert losses[-1] < losses[0]
    save_compressed(model, records, tmp_path / "bag.safetensors")
    torch.manual_seed(1)
    fresh = BagClassifier()
    assert load_compressed(fresh, tmp_path / "bag.safetensors") == records
    fresh.eval()
    assert torch.equal(fresh(*as_bags(ids)), model(*as_bags(ids)))


def test_bag_classifier_sparse_and_max_mode():
    """A sparse max-mode bag stays both: W_a's gradient is sparse, and the factorized bag equals
    a max bag of the product W_a W_b (PAD left out)."""
    torch.manual_seed(0)
    model = BagClassifier(mode="max", sparse=True)
    factorize_embeddings(model, 50)
    bag = model.embed
    assert bag.table.sparse and bag.table.mode == "max"
    plain = nn.EmbeddingBag(60, 20, mode="max", padding_idx=PAD)
    with torch.no_grad():
        plain.weight.copy_(bag.table.weight @ bag.project.weight.T)
    ids, _ = texts(60, n=8)
    assert torch.allclose(bag(*as_bags(ids)), plain(*as_bags(ids)), atol=1e-6)
    model(*as_bags(ids)).sum().backward()
    assert bag.table.weight.grad.is_sparse


# ---------------------------------------------------------------- the Transformer classifier


def test_transformer_parameters_follow_eq5_per_table():
    """R = 50 %, p = 0.5, each table at its own rank. Tokens 50 x 16: k = floor(0.5 * 800 / 66) =
    floor(6.06) = 6, 800 -> 6 * 66 = 396. Positions 12 x 16: k = floor(0.5 * 192 / 28) =
    floor(3.43) = 3, 192 -> 3 * 28 = 84. The model shrinks by (800 - 396) + (192 - 84) = 512."""
    torch.manual_seed(0)
    model = TinyTransformer(CONFIG)
    before = sum(p.numel() for p in model.parameters())
    records = factorize_embeddings(model, 50)
    assert [(r.name, r.kind, r.rank, r.params_before, r.params_after) for r in records] == [
        ("tokens", "Embedding", 6, 800, 396), ("positions", "Embedding", 3, 192, 84)]
    assert sum(p.numel() for p in model.parameters()) == before - 512
    assert isinstance(model.tokens, FactorizedEmbedding) and model.positions.table.padding_idx is None


def test_transformer_retrains_saves_and_reloads(tmp_path):
    """Factorized at R = 50 %, retrained 12 CALR steps, then reloaded two ways into a model built
    from the same CONFIG with another seed: load_compressed (safetensors, records in its metadata),
    and restore_embeddings from JSON records plus torch.load(weights_only=True). Same logits."""
    torch.manual_seed(0)
    ids, labels = texts(CONFIG["vocab"])
    model = TinyTransformer(CONFIG)
    records = factorize_embeddings(model, 50)
    losses = retrain(model, (ids,), labels)
    assert losses[-1] < losses[0]
    expected = model(ids)

    save_compressed(model, records, tmp_path / "model.safetensors")
    torch.manual_seed(1)
    fresh = TinyTransformer(CONFIG)
    load_compressed(fresh, tmp_path / "model.safetensors")
    assert torch.equal(fresh.eval()(ids), expected)

    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    stored = json.loads(json.dumps([asdict(r) for r in records]))
    torch.manual_seed(2)
    fresh = TinyTransformer(CONFIG)
    restore_embeddings(fresh, stored)
    fresh.load_state_dict(torch.load(buffer, weights_only=True))
    assert torch.equal(fresh.eval()(ids), expected)


def test_padding_stays_zero_through_retraining():
    """PAD's row of W_a is exactly zero after factorizing and after retraining (it gets no
    gradient), so PAD's vector W_a[0] W_b is zero whatever W_b learned."""
    torch.manual_seed(0)
    ids, labels = texts(CONFIG["vocab"])
    model = TinyTransformer(CONFIG)
    factorize_embeddings(model, 50)
    start = model.tokens.project.weight.detach().clone()
    retrain(model, (ids,), labels)
    assert not torch.equal(model.tokens.project.weight, start)
    assert model.tokens.table.weight[PAD].abs().sum() == 0
    assert model.tokens(torch.tensor([[PAD]])).abs().sum() == 0


# ---------------------------------------------------------------- which layers, and refusals


def test_names_choose_the_layers():
    """names=["tokens"]: the positional table stays a dense nn.Embedding."""
    model = TinyTransformer(CONFIG)
    records = factorize_embeddings(model, 50, names=["tokens"])
    assert [r.name for r in records] == ["tokens"] and type(model.positions) is nn.Embedding
    with pytest.raises(ValueError, match=r"'out' is not an nn.Embedding.*positions"):
        factorize_embeddings(model, 50, names=["out"])


def test_a_table_too_small_for_rank_1_is_named_and_nothing_changes():
    """R = 98 %: positions 12 x 16 give k = floor(0.02 * 192 / 28) = floor(0.137) = 0 < 1.
    The error names the layer, and the tokens table (k = floor(0.02 * 800 / 66) = 0 too) is not
    replaced either: every layer is checked before any is."""
    model = TinyTransformer(CONFIG)
    with pytest.raises(Infeasible, match="tokens: .*names="):
        factorize_embeddings(model, 98)
    assert type(model.tokens) is nn.Embedding and type(model.positions) is nn.Embedding


def test_refuses_tied_weights_max_norm_and_lmf_models():
    tied = nn.Sequential(nn.Embedding(10, 4), nn.Linear(4, 10, bias=False))
    tied[1].weight = tied[0].weight
    with pytest.raises(ValueError, match="tied"):
        factorize_embeddings(tied, 50)
    with pytest.raises(ValueError, match="max_norm"):
        factorize_embeddings(nn.Sequential(nn.Embedding(10, 4, max_norm=1.0)), 50)
    # lmf's DAN has its own route (lmf.compress); a factorized model is not factorized again.
    with pytest.raises(ValueError, match="no nn.Embedding"):
        factorize_embeddings(new_model("dan", 30, 2, embed_dim=8), 50)
    model = TinyTransformer(CONFIG)
    factorize_embeddings(model, 50)
    with pytest.raises(ValueError, match="no nn.Embedding"):
        factorize_embeddings(model, 50)


# ---------------------------------------------------------------- the other methods


def test_int8_rows_keep_the_layer_and_store_as_integers(tmp_path):
    """8-bit rows: each row is q s with |q| <= 127 and s = max |row| / 127 (quantize.py), so
    row / s is a whole number; PAD's zero row stays zero; the layer is still the bag. Saved, the
    table is int8 (1 byte a weight, plus a float32 scale per row: 60 * 20 + 60 * 4 = 1,440 bytes
    against 4,800) and the reloaded model predicts the same."""
    torch.manual_seed(0)
    model = BagClassifier()
    records = quantize_embeddings(model)
    assert records == [Compressed("embed", "EmbeddingBag", "int8", [60, 20], None, 1200, 1200, 8)]
    W = model.embed.weight.detach()
    scale = W.abs().amax(1, keepdim=True) / 127
    steps = W[1:] / scale[1:]
    assert torch.allclose(steps, steps.round(), atol=1e-3) and W[PAD].abs().sum() == 0
    save_compressed(model, records, tmp_path / "int8.safetensors")
    with safe_open(str(tmp_path / "int8.safetensors"), "pt") as f:
        table, scales = f.get_tensor("embed.weight"), f.get_tensor("embed.weight.__scale__")
    assert table.dtype == torch.int8 and table.nbytes + scales.nbytes == 1440
    fresh = BagClassifier()
    load_compressed(fresh, tmp_path / "int8.safetensors")
    ids, _ = texts(60)
    assert torch.equal(fresh(*as_bags(ids)), model(*as_bags(ids)))


def test_groupreduce_on_the_token_table(tmp_path):
    """GroupReduce of tokens (50 x 16) at R = 50 %, from the ids' counts in the training texts:
    its budget is p V d = 400 with the 50-entry row map counted, so the blocks hold at most 350.
    PAD's vector is zero; retrained, saved and reloaded, it predicts the same."""
    torch.manual_seed(0)
    ids, labels = texts(CONFIG["vocab"])
    model = TinyTransformer(CONFIG)
    counts = torch.bincount(ids.reshape(-1), minlength=CONFIG["vocab"]).tolist()
    record, = groupreduce_embeddings(model, 50, {"tokens": counts})
    assert isinstance(model.tokens, GroupEmbedding)
    stored = sum(p.numel() for p in model.tokens.parameters())
    assert record.params_after == stored + 50 <= 400 and sum(record.block_sizes) == 50
    assert model.tokens(torch.tensor([[PAD]])).abs().sum() == 0
    retrain(model, (ids,), labels, steps=4)
    save_compressed(model, [record], tmp_path / "gr.safetensors")
    fresh = TinyTransformer(CONFIG)
    load_compressed(fresh, tmp_path / "gr.safetensors")
    assert torch.equal(fresh.eval()(ids), model(ids))
    with pytest.raises(ValueError, match="plain nn.Embedding"):
        groupreduce_embeddings(BagClassifier(), 50, {"embed": [1] * 60})


def test_a_frozen_table_stays_frozen():
    """nn.Embedding.from_pretrained freezes by default: both factors come out frozen too (the
    caller chose not to train the table); the model is changed in place."""
    model = nn.Sequential(nn.Embedding.from_pretrained(torch.randn(10, 4)))
    factorize_embeddings(model, 50)
    assert [p.requires_grad for p in model[0].parameters()] == [False, False]


def test_a_table_that_cannot_be_factorized_leaves_the_model_as_it_was():
    """Two tables, the second with a NaN: a ValueError naming `b`, and `a` is not replaced either
    (the SVDs run before any layer is swapped)."""
    model = nn.ModuleDict({"a": nn.Embedding(40, 8), "b": nn.Embedding(40, 8)})
    with torch.no_grad():
        model["b"].weight[5, 3] = float("nan")
    with pytest.raises(ValueError, match="b: its table holds NaN or infinite values"):
        factorize_embeddings(model, 50)
    assert [type(m) for m in model.values()] == [nn.Embedding, nn.Embedding]


def test_names_is_a_list_of_distinct_layers():
    """A string would be read one character at a time; a name twice would record two layers in one
    place, and save_compressed would write a file load_compressed refuses."""
    model = nn.Sequential(nn.Embedding(40, 8))
    with pytest.raises(ValueError, match=r"names must be a list .*names=\['0'\]"):
        factorize_embeddings(model, 50, names="0")
    with pytest.raises(ValueError, match="more than once"):
        factorize_embeddings(model, 50, names=["0", "0"])
    assert type(model[0]) is nn.Embedding


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")  # still used by teams
def test_the_factorized_layers_read_like_the_originals():
    """What a foreign model's own code reads of its embedding (embedding_dim for a sqrt(d) scale,
    num_embeddings, padding_idx, a bag's mode) is there; the training mode is the original's
    (eval stays eval); TorchScript compiles them, and the scripted bag answers as the module does."""
    model = nn.Sequential(nn.Embedding(40, 8, padding_idx=PAD), nn.EmbeddingBag(40, 8, mode="max", padding_idx=PAD))
    model.eval()
    factorize_embeddings(model, 50)
    emb, bag = model
    assert (emb.embedding_dim, emb.num_embeddings, emb.padding_idx) == (8, 40, PAD)
    assert (bag.embedding_dim, bag.num_embeddings, bag.padding_idx, bag.mode) == (8, 40, PAD, "max")
    assert not any(m.training for m in model.modules())
    ids = torch.tensor([[1, 2, PAD], [3, PAD, PAD]])
    assert torch.equal(torch.jit.script(bag)(ids), bag(ids))
    assert torch.equal(torch.jit.script(emb)(ids), emb(ids))


def test_a_float64_table_is_factorized_in_float64():
    """A 60 x 20 table of rank 3 in float64, at R = 50 (rank k = floor(0.5 * 60 * 20 / 80) = 7 >= 3):
    the factorization is exact to float64 rounding (1e-12), not float32's (about 1e-6)."""
    torch.manual_seed(0)
    W = torch.randn(60, 3, dtype=torch.float64) @ torch.randn(3, 20, dtype=torch.float64)
    model = nn.Sequential(nn.Embedding.from_pretrained(W, freeze=False))
    ids = torch.arange(60)[None]
    before = model(ids).clone()
    (record,) = factorize_embeddings(model, 50)
    assert record.rank == 7 and model[0].table.weight.dtype == torch.float64
    assert (model(ids) - before).abs().max().item() < 1e-12
