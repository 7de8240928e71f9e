"""lmf.models: the two embeddings, DAN and LSTM, and rebuilding from a config; the factorized
nn.Embedding options and nn.EmbeddingBag that lmf.embeddings gives foreign models; the DAN's
hashed n-gram rows."""
import pytest
import torch
from torch import nn

from lmf.models import (DAN, DenseEmbedding, FactorizedEmbedding, FactorizedEmbeddingBag, GroupEmbedding,
                        LSTMClassifier, build_model, default_config, kind_arch, new_model)


def test_dense_mean_ignores_padding():
    """Rows 2 and 3 of the table averaged; the two PAD positions (id 0) count for nothing."""
    emb = DenseEmbedding(5, 4)
    ids = torch.tensor([[2, 3, 0, 0]])
    expected = (emb.table.weight[2] + emb.table.weight[3]) / 2
    assert torch.allclose(emb.mean(ids)[0], expected)


def test_all_padding_row_averages_to_zero():
    emb = DenseEmbedding(5, 4)
    assert emb.mean(torch.zeros(1, 3, dtype=torch.long)).abs().sum() == 0


def test_factorized_mean_equals_mean_of_projected_vectors():
    """W_b is linear, so mean(x W_a) W_b == mean(x W_a W_b): the DAN can average in k dimensions."""
    emb = FactorizedEmbedding(10, 3, 8)
    ids = torch.tensor([[1, 2, 3, 0], [4, 0, 0, 0]])
    mask = (ids != 0).unsqueeze(-1).float()
    direct = (emb(ids) * mask).sum(1) / mask.sum(1)
    assert torch.allclose(emb.mean(ids), direct, atol=1e-6)
    assert (emb.rank, emb.dim) == (3, 8)
    assert torch.allclose(emb.weight_matrix(), emb.table.weight @ emb.project.weight.T)


def test_factorized_embedding_takes_nn_embedding_options():
    """padding_idx=None: id 0 is a word like any other; padding_idx=2: row 2 of W_a starts zero, so
    its vector is zero, and gets no gradient; sparse=True: W_a's gradient is sparse, W_b's dense."""
    assert FactorizedEmbedding(10, 3, 8, padding_idx=None)(torch.tensor([0])).abs().sum() > 0
    emb = FactorizedEmbedding(10, 3, 8, padding_idx=2, sparse=True)
    ids = torch.tensor([[2, 5, 2]])
    assert emb(ids)[0, 0].abs().sum() == 0
    emb(ids).sum().backward()
    assert emb.table.weight.grad.is_sparse and not emb.project.weight.grad.is_sparse
    assert emb.table.weight.grad.to_dense()[2].abs().sum() == 0


def small_bag():
    """W_a = [[0], [1], [2], [3]] (V = 4, k = 1) and W_b = [1, -1] (d = 2): row i of W_a W_b is
    [i, -i]."""
    bag = FactorizedEmbeddingBag(4, 1, 2, mode="max")
    with torch.no_grad():
        bag.table.weight.copy_(torch.arange(4.0)[:, None])
        bag.project.weight.copy_(torch.tensor([[1.0], [-1.0]]))
    return bag


def test_factorized_bag_max_projects_before_the_max():
    """Bag {2, 3} in max mode: the max of rows [2, -2] and [3, -3] is [3, -2] (each dimension on
    its own). Taking the max in k dimensions first would give max(2, 3) = 3, projected [3, -3]:
    wrong, which is why max mode projects first. Bag {1} alone: [1, -1]."""
    out = small_bag()(torch.tensor([2, 3, 1]), torch.tensor([0, 2]))
    assert out.tolist() == [[3.0, -2.0], [1.0, -1.0]]


def test_factorized_bag_mean_and_sum_bag_in_k_dimensions():
    """The same table: bag {2, 3} averages to [2.5, -2.5]; summed with weights 2 and 1 to
    2 [2, -2] + [3, -3] = [7, -7]."""
    bag = small_bag()
    bag.table.mode = "mean"
    assert bag(torch.tensor([[2, 3]])).tolist() == [[2.5, -2.5]]
    bag.table.mode = "sum"
    assert bag(torch.tensor([[2, 3]]), per_sample_weights=torch.tensor([[2.0, 1.0]])).tolist() == [[7.0, -7.0]]


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("include_last_offset", [False, True])
def test_factorized_bag_equals_a_bag_of_the_product(mode, include_last_offset):
    """Against nn.EmbeddingBag of the product W_a W_b with the same options, PAD = 1: bags of
    several ids with PAD among them, an empty bag and a bag of PAD alone (both zero); in sum mode
    with per_sample_weights. Also 2-D input (one bag per row, no offsets)."""
    torch.manual_seed(0)
    options = dict(mode=mode, padding_idx=1, include_last_offset=include_last_offset)
    bag = FactorizedEmbeddingBag(12, 3, 5, **options)
    plain = nn.EmbeddingBag(12, 5, **options)
    with torch.no_grad():
        plain.weight.copy_(bag.table.weight @ bag.project.weight.T)
    ids = torch.tensor([3, 1, 7, 7, 2, 1, 11, 5, 0, 1])
    offsets = torch.tensor([0, 3, 3, 6, 9] + ([10] if include_last_offset else []))  # bag 1 empty, bag 4 PAD
    weights = torch.rand(10) if mode == "sum" else None
    got = bag(ids, offsets, weights)
    assert torch.allclose(got, plain(ids, offsets, weights), atol=1e-6)
    assert got[1].abs().sum() == 0 and got[4].abs().sum() == 0
    grid = ids[:9].reshape(3, 3)
    assert torch.allclose(bag(grid), plain(grid), atol=1e-6)


def test_group_embedding_padding_idx():
    """padding_idx None: id 0's vector is its row (not zeroed); padding_idx 2: id 2's is zero."""
    torch.manual_seed(0)
    ids = torch.tensor([[0, 2]])
    free = GroupEmbedding(6, 4, [3, 3], [2, 2], padding_idx=None)(ids)
    assert free[0, 0].abs().sum() > 0 and free[0, 1].abs().sum() > 0
    padded = GroupEmbedding(6, 4, [3, 3], [2, 2], padding_idx=2)(ids)
    assert padded[0, 0].abs().sum() > 0 and padded[0, 1].abs().sum() == 0


@pytest.mark.parametrize("arch", ["dan", "lstm"])
def test_output_shape_and_empty_text(arch):
    model = build_model(default_config(arch, 20, 3, embed_dim=8)).eval()
    ids = torch.tensor([[2, 3, 4], [0, 0, 0]])  # second row: an empty text
    out = model(ids)
    assert out.shape == (2, 3) and torch.isfinite(out).all()


def test_lstm_ignores_trailing_padding():
    """Packed sequences: the same sentence with two extra PADs gives the same logits."""
    model = build_model(default_config("lstm", 20, 2, embed_dim=8)).eval()
    short = model(torch.tensor([[5, 6, 7]]))
    padded = model(torch.tensor([[5, 6, 7, 0, 0]]))
    assert torch.allclose(short, padded, atol=1e-6)


def test_dan_parameter_count():
    """DAN, V = 100, d = 300, 2 classes: embedding 100*300 = 30,000; FC 300x1024 + 1024 = 308,224;
    FC 1024x512 + 512 = 524,800; softmax 512x2 + 2 = 1,026. Total 864,050."""
    model = build_model(default_config("dan", 100, 2))
    assert isinstance(model, DAN)
    assert sum(p.numel() for p in model.parameters()) == 864_050


def test_rank_in_config_builds_factorized_embedding():
    model = build_model({**default_config("lstm", 50, 2), "rank": 7})
    assert isinstance(model, LSTMClassifier)
    assert isinstance(model.embedding, FactorizedEmbedding)
    assert model.embedding.table.weight.shape == (50, 7)
    assert model.embedding.project.weight.shape == (100, 7)
    assert model.config["rank"] == 7


def test_unknown_arch():
    with pytest.raises(ValueError, match="unknown model"):
        default_config("cnn", 10, 2)
    with pytest.raises(ValueError, match="unknown model"):
        build_model({**default_config("dan", 10, 2), "arch": "cnn"})


def test_new_model_uses_vectors_and_seed():
    vectors = torch.randn(30, 12)
    model = new_model("lstm", 30, 2, vectors=vectors)
    assert model.config["embed_dim"] == 12
    assert torch.equal(model.embedding.table.weight, vectors)
    a, b, c = (new_model("dan", 30, 2, seed=s).out.weight for s in (1, 1, 2))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_ngram_dan_config_and_start():
    """The n-gram DAN (kind dan_ngram, or --ngrams/--buckets on a DAN): 20 words and 16 buckets make
    a 36-row table, the last 16 rows zero at the start (an n-gram training never saw adds nothing);
    the config is the plain DAN's with the rows and the two settings added."""
    kind = new_model("dan_ngram", 20, 2, embed_dim=8, seed=3, buckets=16)
    option = new_model("dan", 20, 2, embed_dim=8, seed=3, ngrams=2, buckets=16)
    plain = new_model("dan", 20, 2, embed_dim=8, seed=3)
    assert kind.config == option.config == {**plain.config, "vocab_size": 36, "ngrams": 2, "buckets": 16}
    table = kind.embedding.table.weight
    assert table.shape == (36, 8) and table[20:].abs().sum() == 0
    assert torch.equal(kind.out.weight, option.out.weight)  # one seed, one model, whichever way it is asked for
    assert new_model("dan_ngram", 20, 2).config["buckets"] == 2 ** 14 and kind_arch("dan_ngram") == "dan"
    # A bigram row read beside the words moves the average: ids 2, 3 and bucket row 20 + 5.
    with torch.no_grad():
        table[25] = 1.0
    assert not torch.allclose(kind.eval()(torch.tensor([[2, 3, 25]])), kind(torch.tensor([[2, 3]])))


def test_kinds_are_the_names_every_layer_reads():
    from lmf.models import KINDS
    from lmf.names import MODEL_KINDS
    assert tuple(KINDS) == MODEL_KINDS


def test_ngram_settings_are_refused_where_they_cannot_apply():
    with pytest.raises(ValueError, match="n-grams are an option of the DAN, not of the lstm"):
        new_model("lstm", 20, 2, ngrams=2)
    for bad in ({"ngrams": 1}, {"buckets": 0}, {"ngrams": 2.5}):
        with pytest.raises(ValueError, match="must be an integer"):
            new_model("dan", 20, 2, **bad)
    with pytest.raises(ValueError, match="words before its 30 bucket rows"):
        build_model({**default_config("dan", 20, 2), "ngrams": 2, "buckets": 30})
    with pytest.raises(ValueError, match="unknown model 'cnn'"):
        kind_arch("cnn")


@pytest.mark.parametrize("vocab_size, num_classes, bad", [(0, 2, "vocab_size"), (1, 2, "vocab_size"),
                                                          (5, 0, "num_classes"), (5.0, 2, "vocab_size")])
def test_too_small_a_model_is_a_value_error(vocab_size, num_classes, bad):
    """Fewer than the 2 rows PAD and UNK take, no class, or a float size: a ValueError naming the
    field (an empty vocabulary raised an IndexError from torch's initialisation)."""
    with pytest.raises(ValueError, match=rf"{bad} must be an integer of at least"):
        new_model("dan", vocab_size, num_classes)


@pytest.mark.parametrize("key, value", [("dropout", 1.0), ("dropout", float("nan")), ("word_dropout", 1.5)])
def test_a_dropout_that_is_no_probability_is_refused_when_built(key, value):
    """Checked where the model is made (so a training never runs to be refused at save_model): 1
    would drop every unit or token, NaN compares false with everything."""
    config = {**default_config("dan", 5, 2, embed_dim=8), key: value}
    with pytest.raises(ValueError, match=f"'{key}' is .*not a probability"):
        build_model(config)


def test_kind_of_is_kind_arch_inverse():
    """A DAN config with n-grams is a dan_ngram; plain DAN and LSTM configs are their architecture."""
    from lmf.models import kind_of
    for kind in ("dan", "lstm", "dan_ngram"):
        assert kind_of(new_model(kind, 20, 2).config) == kind
