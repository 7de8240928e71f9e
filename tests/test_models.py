"""lmf.models: the two embeddings, DAN and LSTM, and rebuilding from a config."""
import pytest
import torch

from lmf.models import (DAN, DenseEmbedding, FactorizedEmbedding, LSTMClassifier, build_model,
                        default_config, new_model)


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
