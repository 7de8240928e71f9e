"""lmf.groupreduce: the rank allocation (worked by hand), the weighted block SVD, GroupEmbedding's
parameter count, and save/load (fp32 and int8) of the compressed model."""
import pytest
import torch

from lmf.artifacts import load_model, save_model
from lmf.compress import compress_model
from lmf.data import Vocab
from lmf.tokenize import PAD, UNK
from lmf.groupreduce import block_ranks, group_params, groupreduce, groupreduce_compress_model
from lmf.models import GroupEmbedding, build_model, default_config
from lmf.quantize import quantize_model


def test_block_ranks_worked_example():
    """d = 10, blocks of 10, 20, 30 words (m = 60) with mean frequencies 8, 4, 2 (ratios to
    f_min: 4, 2, 1). p = 0.3: budget 0.3 * 60 * 10 = 180. r_min = 1 gives ranks 4, 2, 1 costing
    4 * 20 + 2 * 30 + 1 * 40 = 180 <= 180; r_min = 2 gives 8, 4, 2 costing 360. So (4, 2, 1)."""
    assert block_ranks([10, 20, 30], [8, 4, 2], 10, 180) == ([4, 2, 1], 1)
    assert group_params([10, 20, 30], [4, 2, 1], 10) == 180


def test_block_ranks_fractional_scale():
    """Same blocks, p = 0.2: budget 120 < 180, so r_min = 1 does not fit. Scales s < 1 where a
    rank changes: s = j f_min / f_i = 0.25, 0.5, 0.75 (block 1), 0.5 (block 2). s = 0.75 gives
    ranks max(1, floor(3)), max(1, floor(1.5)), max(1, floor(.75)) = 3, 1, 1: 60 + 30 + 40 = 130 > 120;
    s = 0.5 gives 2, 1, 1: 40 + 30 + 40 = 110 <= 120."""
    assert block_ranks([10, 20, 30], [8, 4, 2], 10, 120) == ([2, 1, 1], 0.5)
    with pytest.raises(ValueError, match="budget"):
        block_ranks([10, 20, 30], [8, 4, 2], 10, 80)  # all ones cost 90


def test_groupreduce_exact_on_blockwise_low_rank_matrix():
    """Two blocks of 20 words (counts 100 and 1: frequencies 101 and 2, ratio 50), each an exact
    rank-1 matrix; with budget for ranks (3, 1) the reconstruction is exact up to float error, and
    the frequency-weighted SVD does not change an exactly representable block."""
    torch.manual_seed(0)
    d = 8
    W = torch.cat([torch.randn(20, 1) @ torch.randn(1, d), torch.randn(20, 1) @ torch.randn(1, d)])
    counts = [100] * 20 + [1] * 20
    # budget p m d - m with p = 0.5: 160 - 40 = 120 (the row map's 40 entries count); ranks
    # (min(20, 8, floor(50.5 s)), max(1, floor(s))): r_min = 1 gives (8, 1): 8 * 28 + 28 = 252 > 120,
    # so the largest scale s < 1 that fits: (3, 1) costs 3 * 28 + 28 = 112 <= 120, (4, 1) 140 does not
    fit = groupreduce(W, counts, 0.5, blocks=2, rounds=0)
    assert fit["params"] + 40 <= 0.5 * 40 * d
    approx = torch.zeros_like(W)
    for ids, W_a, W_b in zip(fit["blocks"], fit["W_a"], fit["W_b"]):
        approx[ids] = W_a @ W_b
    assert torch.allclose(approx, W, atol=1e-4)


VOCAB = Vocab([PAD, UNK] + [f"w{i}" for i in range(48)], [0, 0] + list(range(100, 52, -1)))


def test_groupreduce_model_params_and_roundtrip(tmp_path):
    """A DAN with a 50 x 16 embedding at R = 50 (budget 0.5 * 50 * 16 - 50 = 350, the row map's
    50 int32 entries counted): GroupEmbedding's parameters are sum r_i (n_i + 16) <= 350, so with
    the row map it stores no more than LMF's 400 at the same R; the word -> row buffer is int32 and survives save/load, and so does
    an 8-bit copy (integers on disk, the buffer kept exact)."""
    torch.manual_seed(0)
    model = build_model(default_config("dan", 50, 2, embed_dim=16)).eval()
    gr = groupreduce_compress_model(model, VOCAB.counts, 50).eval()
    assert isinstance(gr.embedding, GroupEmbedding)
    sizes, ranks = gr.config["group_sizes"], gr.config["group_ranks"]
    assert sum(sizes) == 50
    params = sum(p.numel() for p in gr.embedding.parameters())
    assert params == group_params(sizes, ranks, 16) <= 350
    assert gr.embedding.row.dtype == torch.int32 and sorted(gr.embedding.row.tolist()) == list(range(50))
    ids = torch.tensor([[2, 7, 49, 0], [1, 30, 0, 0]])
    assert torch.equal(gr.embedding(ids)[0, 3], torch.zeros(16))  # PAD
    for m in (gr, quantize_model(gr, 8)):
        save_model(tmp_path / "m", m, VOCAB, ["a", "b"])
        saved = load_model(tmp_path / "m")
        assert saved.config == m.config
        assert torch.equal(saved.model.embedding.row, gr.embedding.row)
        with torch.no_grad():
            assert torch.allclose(saved.model(ids), m(ids), atol=1e-6)


def test_groupreduce_of_an_lmf_model_drops_rank_and_refuses_a_quantized_one():
    """GroupReduce (R = 70, at most 0.3 * 800 = 240 parameters) of an LMF model (R = 50, rank 6, 396)
    drops the parent's `rank` (else build_model would rebuild a FactorizedEmbedding); of an 8-bit
    model it is refused (lmf.compress.with_embedding: the copy would be full precision)."""
    torch.manual_seed(0)
    parent = compress_model(build_model(default_config("dan", 50, 2, embed_dim=16)), 50)
    assert parent.config["rank"] == 6
    gr = groupreduce_compress_model(parent, VOCAB.counts, 70)
    assert not {"bits", "rank", "hmf_rank"} & set(gr.config) and "group_sizes" in gr.config
    with pytest.raises(ValueError, match="8-bit quantized"):
        groupreduce_compress_model(quantize_model(parent, 8), VOCAB.counts, 70)
