"""lmf.compress: eq. (5), the truncated SVD, online compression of a model and offline SVD."""
import copy

import pytest
import torch

from lmf.compress import (compress_model, factorize, fraction_for_reduction, offline_dim,
                          offline_model, project_vectors, rank_for_fraction, singular_values)
from lmf.models import FactorizedEmbedding, build_model, default_config

# ---------------------------------------------------------------- eq. (5)


def test_rank_for_fraction_paper_example():
    """k = floor(p m n / (m + n)) = floor(0.1 * 14818 * 300 / 15118) = floor(444540 / 15118)
    = floor(29.40) = 29."""
    assert rank_for_fraction(0.1, 14818, 300) == 29


def test_rank_keeps_at_most_fraction_p():
    """k (m + n) <= p m n < (k + 1)(m + n): the largest rank within the budget. For p = 0.5,
    m = 1000, n = 300: p m n = 150,000; 150,000 / 1,300 = 115.38 -> k = 115, and
    115 * 1300 = 149,500 <= 150,000 < 116 * 1300 = 150,800."""
    k = rank_for_fraction(0.5, 1000, 300)
    assert k == 115
    assert k * 1300 <= 150_000 < (k + 1) * 1300


@pytest.mark.parametrize("p", [0, 1, -0.1, 1.5])
def test_rank_for_fraction_rejects_p_outside_open_interval(p):
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        rank_for_fraction(p, 100, 10)


def test_rank_for_fraction_rejects_rank_zero():
    """p = 0.001, m = n = 10: 0.001 * 100 / 20 = 0.005 -> k = 0 < 1. The message gives the smallest
    workable p, (m + n) / (m n) = 20 / 100 = 0.2."""
    with pytest.raises(ValueError, match=r"k=0 < 1.*0\.2"):
        rank_for_fraction(0.001, 10, 10)


@pytest.mark.parametrize("reduction, p", [(90, 0.1), (50, 0.5), (10, 0.9), ("70", 0.3), (99.5, 0.005)])
def test_fraction_for_reduction(reduction, p):
    """p = 1 - R / 100, exactly the decimal value (R = 90 gives 0.1, not 0.0999...)."""
    assert fraction_for_reduction(reduction) == p


@pytest.mark.parametrize("bad", [0, 100, -5, 120, "abc", None, True, float("nan"), __import__("numpy").bool_(True)])
def test_fraction_for_reduction_errors(bad):
    with pytest.raises(ValueError, match="reduction"):
        fraction_for_reduction(bad)


@pytest.mark.parametrize("reduction, d, dim", [(90, 300, 30), (90, 100, 10), (50, 300, 150),
                                               (70, 300, 90), (98, 300, 6), (99.9, 100, 1)])
def test_offline_dim(reduction, d, dim):
    """floor(p d): 0.1 * 300 = 30, 0.1 * 100 = 10, 0.5 * 300 = 150, 0.3 * 300 = 90,
    0.02 * 300 = 6, and at least 1 (0.001 * 100 = 0.1 -> 1)."""
    assert offline_dim(reduction, d) == dim


def test_rank_for_reduction_90_of_square_matrix():
    """R = 90 of a 300 x 300 matrix: 0.1 * 90,000 / 600 = 15 exactly, so no float noise may give 14."""
    assert rank_for_fraction(fraction_for_reduction(90), 300, 300) == 15


# ---------------------------------------------------------------- factorize


def test_factorize_is_best_rank_k_approximation():
    """Eckart-Young: ||W - W_a W_b||_F^2 = s_4^2 + ... + s_8^2 for k = 3 of a 12 x 8 matrix, and
    the product's singular values are s_1..s_3."""
    W = torch.randn(12, 8, dtype=torch.float64).float()
    s = torch.linalg.svdvals(W)
    W_a, W_b = factorize(W, 3)
    assert W_a.shape == (12, 3) and W_b.shape == (3, 8)
    error = ((W - W_a @ W_b) ** 2).sum()
    assert error.item() == pytest.approx((s[3:] ** 2).sum().item(), rel=1e-4)
    assert torch.allclose(torch.linalg.svdvals(W_a @ W_b)[:3], s[:3], atol=1e-4)


def test_factorize_wa_has_orthonormal_columns():
    W_a, _ = factorize(torch.randn(20, 6), 4)
    assert torch.allclose(W_a.T @ W_a, torch.eye(4), atol=1e-5)


def test_factorize_full_rank_reconstructs():
    W = torch.randn(9, 5)
    W_a, W_b = factorize(W, 5)
    assert torch.allclose(W_a @ W_b, W, atol=1e-5)


@pytest.mark.parametrize("k", [0, 6])
def test_factorize_rank_out_of_range(k):
    with pytest.raises(ValueError, match="rank"):
        factorize(torch.randn(10, 5), k)


def test_singular_values():
    assert torch.allclose(singular_values(torch.diag(torch.tensor([3.0, -2.0]))), torch.tensor([3.0, 2.0]))


# ---------------------------------------------------------------- factorize: large vocabularies

import lmf.compress as compress  # noqa: E402


def decaying(m=2000, n=100):
    """An m x n float32 matrix U diag(s) V^T with orthonormal U, V (seeded) and s_i = i^-1/2, a
    slowly decaying spectrum like an embedding's (GloVe decays as i^-0.34): at rank k = 10 the
    best squared error is sum_{i=11}^{100} s_i^2 = H_100 - H_10 = 5.18738 - 2.92897 = 2.25841."""
    g = torch.Generator().manual_seed(0)
    U = torch.linalg.qr(torch.randn(m, n, generator=g, dtype=torch.float64)).Q
    V = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=torch.float64)).Q
    s = torch.arange(1, n + 1, dtype=torch.float64) ** -0.5
    return ((U * s) @ V.T).float()


def squared_error(W, W_a, W_b):
    return ((W.double() - W_a.double() @ W_b.double()) ** 2).sum().item()


@pytest.fixture
def randomized_calls(monkeypatch):
    """Lowers the threshold to 100,000 entries and records every call of the randomized path."""
    calls = []
    original = compress._randomized_svd

    def recorded(W, k, seed):
        calls.append(W.shape)
        return original(W, k, seed)

    monkeypatch.setattr(compress, "RANDOMIZED_MIN_ENTRIES", 100_000)
    monkeypatch.setattr(compress, "_randomized_svd", recorded)
    return calls


def test_paper_vocabularies_stay_exact():
    """SST-2's 14,818 x 300 embedding (4,445,400 entries) is below the threshold: the paper's
    results keep the exact SVD."""
    assert 14_818 * 300 <= compress.RANDOMIZED_MIN_ENTRIES


@pytest.mark.parametrize("transpose", [False, True])
def test_factorize_randomized_above_threshold(randomized_calls, transpose):
    """2000 x 100 (200,000 entries > 100,000) at k = 10: the sketch is k + 10 = 20 <= 100 / 5
    columns, so the randomized path runs. Its squared error is within 1 % of the optimum 2.25841
    (the docstring of `decaying`; without power iterations it is ~35 % above, with one ~2 %),
    W_a = U_k (2000 x 10, orthonormal columns), W_b = S_k V_k^T (10 x 100) with S_k descending.
    The wide 100 x 2000 transpose gives the transposed shapes and the same error."""
    W = decaying().T if transpose else decaying()
    W_a, W_b = factorize(W, 10)
    assert randomized_calls == [W.shape]
    assert W_a.shape == (W.shape[0], 10) and W_b.shape == (10, W.shape[1])
    assert torch.allclose(W_a.T @ W_a, torch.eye(10), atol=1e-5)
    norms = W_b.norm(dim=1)
    assert torch.all(norms[:-1] >= norms[1:])
    assert squared_error(W, W_a, W_b) == pytest.approx(2.25841, rel=0.01)


def test_factorize_randomized_is_deterministic(randomized_calls):
    """The same W and seed give bit-identical factors; another seed another sketch (so different
    bits, the same error to 1 %). The global RNG is neither read nor advanced."""
    W = decaying()
    state = torch.get_rng_state()
    first, again, other = factorize(W, 10), factorize(W, 10), factorize(W, 10, seed=1)
    assert torch.equal(torch.get_rng_state(), state)
    assert len(randomized_calls) == 3
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])
    assert not torch.equal(first[0], other[0])
    assert squared_error(W, *other) == pytest.approx(2.25841, rel=0.01)


@pytest.mark.parametrize("shape, k", [((400, 250), 10),    # 100,000 entries: not above the threshold
                                      ((2000, 100), 11)])  # sketch 21 > 100 / 5 columns
def test_factorize_stays_exact(randomized_calls, shape, k):
    """At the threshold, or with a sketch wider than a fifth of the short side, the exact SVD runs
    (its error is the optimum itself: Eckart-Young)."""
    W = torch.randn(*shape, generator=torch.Generator().manual_seed(0))
    W_a, W_b = factorize(W, k)
    assert randomized_calls == []
    s = torch.linalg.svdvals(W.double())
    assert squared_error(W, W_a, W_b) == pytest.approx((s[k:] ** 2).sum().item(), rel=1e-4)


# ---------------------------------------------------------------- compress_model


def small(arch, vocab=50, dim=16):
    return build_model(default_config(arch, vocab, 3, embed_dim=dim)).eval()


IDS = torch.tensor([[2, 3, 4, 5], [6, 7, 0, 0], [9, 0, 0, 0]])


@pytest.mark.parametrize("arch", ["dan", "lstm"])
def test_full_rank_factorization_gives_same_logits(arch):
    """k = min(V, d) = 16 (eq. 5 cannot reach full rank, so built directly): W_a W_b = W up to
    rounding, so the factorized model's logits equal the original's."""
    model = small(arch)
    W = model.embedding.weight_matrix()
    W_a, W_b = factorize(W, min(W.shape))
    factorized = copy.deepcopy(model)
    factorized.embedding = FactorizedEmbedding(50, 16, 16)
    with torch.no_grad():
        factorized.embedding.table.weight.copy_(W_a)
        factorized.embedding.project.weight.copy_(W_b.T)
    with torch.no_grad():
        assert torch.allclose(factorized(IDS), model(IDS), atol=1e-5)


@pytest.mark.parametrize("arch", ["dan", "lstm"])
def test_compress_model_copy_semantics(arch):
    """R = 50 of a 50 x 16 embedding: p = 0.5, k = floor(0.5 * 800 / 66) = floor(6.06) = 6, so the
    factors hold 6 * 66 = 396 <= 400 weights. The original is untouched and every other weight
    is copied unchanged; the new embedding is the best rank-6 approximation of W."""
    model = small(arch)
    before = copy.deepcopy(model.state_dict())
    compressed = compress_model(model, 50)
    assert compressed.config["rank"] == 6 and model.config["rank"] is None
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert isinstance(model.embedding.table, torch.nn.Embedding) and not hasattr(model.embedding, "project")
    new = compressed.state_dict()
    others = [k for k in before if not k.startswith("embedding.")]
    assert others and all(torch.equal(before[k], new[k]) for k in others)
    emb = compressed.embedding
    assert emb.table.weight.numel() + emb.project.weight.numel() == 396
    W = before["embedding.table.weight"]
    best = torch.matmul(*factorize(W, 6))
    assert torch.allclose(emb.weight_matrix(), best, atol=1e-5)
    assert compressed(IDS).shape == (3, 3)


def test_compress_factorized_model_recompresses_product():
    """A rank-6 model compressed by R = 90: W_a W_b (50 x 16) gets k = floor(0.1 * 800 / 66) = 1."""
    once = compress_model(small("dan"), 50)
    twice = compress_model(once, 90)
    assert twice.config["rank"] == 1
    assert torch.allclose(twice.embedding.weight_matrix(),
                          torch.matmul(*factorize(once.embedding.weight_matrix(), 1)), atol=1e-5)


def test_compress_model_rejects_bad_reduction():
    with pytest.raises(ValueError):
        compress_model(small("dan"), 120)


# ---------------------------------------------------------------- offline SVD


def test_offline_dan_r90_is_30_dimensional():
    """DAN-RAND's 300 dimensions at R = 90: floor(0.1 * 300) = 30, a plain dense table."""
    model = offline_model("dan", 40, 2, 90)
    assert model.config["embed_dim"] == 30 and model.config["rank"] is None
    assert model.embedding.table.weight.shape == (40, 30)
    assert model.layers[0].in_features == 30


def test_offline_lstm_projects_vectors():
    """LSTM with 100-d vectors at R = 90: floor(0.1 * 100) = 10 dimensions, holding W V_10, whose
    singular values are W's ten largest (the projection keeps the top of the spectrum)."""
    vectors = torch.randn(60, 100)
    model = offline_model("lstm", 60, 2, 90, vectors=vectors)
    table = model.embedding.table.weight.detach()
    assert table.shape == (60, 10) and model.config["embed_dim"] == 10
    assert torch.allclose(torch.linalg.svdvals(table), torch.linalg.svdvals(vectors)[:10], atol=1e-3)
    assert torch.allclose(project_vectors(vectors, 10), table, atol=1e-5)


def test_offline_lstm_without_vectors_uses_default_width():
    """LSTM default 100 dimensions at R = 50: floor(0.5 * 100) = 50."""
    assert offline_model("lstm", 10, 2, 50).config["embed_dim"] == 50


# ---------------------------------------------------------------- HMF and whole-model LMF

from lmf.compress import compress_whole_model, hmf_compress_model, hmf_params, hmf_rank  # noqa: E402
from lmf.models import FactorizedLinear, HybridEmbedding  # noqa: E402


def test_hmf_rank_worked_example():
    """m = 1000, n = 100, p = 0.1: budget p m n = 10,000. With r_d = r the count is
    r n + r (m - r + n) = r (1200 - r): r = 8 gives 8 * 1192 = 9,536 <= 10,000, r = 9 gives
    9 * 1191 = 10,719 > 10,000, so r = 8 (LMF's eq. 5 would give floor(10,000 / 1,100) = 9)."""
    assert hmf_params(1000, 100, 8) == 9536 and hmf_params(1000, 100, 9) == 10719
    assert hmf_rank(0.1, 1000, 100) == 8
    assert rank_for_fraction(0.1, 1000, 100) == 9


def test_hmf_rank_with_fixed_dense_rows():
    """r_d = 20 fixed: 20 * 100 + r (980 + 100) <= 10,000 -> r <= 8000 / 1080 = 7.4 -> r = 7."""
    assert hmf_rank(0.1, 1000, 100, dense_rows=20) == 7


def test_hmf_compress_model_counts_and_dense_rows():
    """A DAN with a 1000 x 100 embedding at R = 90: r = r_d = 8, so 8 * 100 + 8 * (992 + 100) = 9,536
    embedding weights; rows 0..7 (PAD, UNK and the six most frequent words) are copied exactly,
    the other 992 are their best rank-8 approximation; the original is untouched."""
    model = build_model(default_config("dan", 1000, 2, embed_dim=100))
    W = model.embedding.weight_matrix().clone()
    hmf = hmf_compress_model(model, 90)
    assert isinstance(hmf.embedding, HybridEmbedding)
    assert hmf.config["hmf_rank"] == 8 and hmf.config["hmf_dense_rows"] == 8
    assert sum(p.numel() for p in hmf.embedding.parameters()) == 9536
    approx = hmf.embedding.weight_matrix()
    assert torch.equal(approx[:8], W[:8])
    W_a, W_b = factorize(W[8:], 8)
    assert torch.allclose(approx[8:], W_a @ W_b, atol=1e-5)
    assert torch.equal(model.embedding.weight_matrix(), W)
    ids = torch.tensor([[0, 3, 500, 999], [1, 2, 0, 0]])
    assert torch.allclose(hmf.embedding(ids), approx[ids], atol=1e-6)


def test_compress_whole_model_ranks_and_params():
    """R = 90 on the default DAN (300-d embedding, hidden 1024 and 512): eq. (5) per layer gives
    floor(0.1 * 300 * 1024 / 1324) = floor(23.2) = 23 and floor(0.1 * 1024 * 512 / 1536) = 34, so
    the hidden layers hold 23 * 1324 + 1024 + 34 * 1536 + 512 = 30,452 + 1,024 + 52,224 + 512 =
    84,212 weights instead of 307,200 + 1,024 + 524,288 + 512 = 833,024."""
    torch.manual_seed(0)
    model = build_model(default_config("dan", 50, 2))
    whole = compress_whole_model(model, 90)
    assert whole.config["hidden_ranks"] == [23, 34]
    assert all(isinstance(layer, FactorizedLinear) for layer in whole.layers)
    count = lambda layers: sum(p.numel() for p in layers.parameters())
    assert count(model.layers) == 833_024 and count(whole.layers) == 84_212
    rebuilt = build_model(whole.config)
    rebuilt.load_state_dict(whole.state_dict())
    ids = torch.tensor([[2, 3, 4, 0]])
    assert torch.allclose(rebuilt.eval()(ids), whole.eval()(ids))
    assert "hidden_ranks" not in model.config and isinstance(model.layers[0], torch.nn.Linear)


# ---------------------------------------------------------------- what a compressed config carries

from lmf.compress import child_config  # noqa: E402
from lmf.quantize import quantize_model  # noqa: E402


def rebuilds(model):
    """True when build_model(model.config) takes model's weights and gives its logits: the config
    describes the model that will be saved, so that loading it gives this model back."""
    rebuilt = build_model(model.config)
    rebuilt.load_state_dict(model.state_dict())
    return torch.allclose(rebuilt.eval()(IDS), model.eval()(IDS), atol=1e-6)


def test_child_config_drops_parent_embedding_and_storage_keys():
    """From {arch, rank: 6, bits: 8, hmf_rank: 3, hmf_dense_rows: 3, group_sizes, group_ranks,
    hidden_ranks: [4, 5]} with rank=2: only arch, hidden_ranks and the new rank are left."""
    parent = {"arch": "dan", "rank": 6, "bits": 8, "hmf_rank": 3, "hmf_dense_rows": 3,
              "group_sizes": [10, 40], "group_ranks": [4, 2], "hidden_ranks": [4, 5]}
    assert child_config(parent, rank=2) == {"arch": "dan", "hidden_ranks": [4, 5], "rank": 2}


@pytest.mark.parametrize("compress", [lambda m: compress_model(m, 50), lambda m: hmf_compress_model(m, 50),
                                      lambda m: compress_whole_model(m, 90)])
def test_compressing_a_quantized_model_is_refused(compress):
    """Issue 10: `compress` of an 8-bit model silently gave a full-precision one. LMF, HMF and
    whole-model LMF of an 8-bit DAN (config bits = 8) now raise ValueError saying why and what to
    do instead; the quantized parent is untouched."""
    quantized = quantize_model(small("dan"), 8)
    with pytest.raises(ValueError, match="8-bit quantized.*compress the unquantized model, then quantize"):
        compress(quantized)
    assert quantized.config["bits"] == 8


def test_compressing_further_counts_r_from_the_full_embedding():
    """Issue 10: R = 50 of a model compressed at R = 90 made it bigger (4.40 -> 8.31 MB). R counts
    from the full 50 x 16 embedding (800 weights): R = 90 keeps k = floor(80 / 66) = 1, 66
    parameters; R = 50 of that would be k = floor(400 / 66) = 6, 396 > 66: refused. R = 90 again
    (66, not more) and R = 98 of an R = 50 model (k = floor(16 / 66) = 0 < 1: eq. 5 refuses) show
    the edges; R = 90 of the R = 50 model (66 < 396) shrinks it and is allowed."""
    r90 = compress_model(small("dan"), 90)
    with pytest.raises(ValueError, match="R = 50 % of the full 50 x 16 embedding keeps 396 parameters, "
                                         "more than the 66 this model's embedding already has"):
        compress_model(r90, 50)
    assert compress_model(r90, 90).config["rank"] == 1
    with pytest.raises(ValueError, match="rank k=0"):
        compress_model(compress_model(small("dan"), 50), 98)
    assert compress_model(compress_model(small("dan"), 50), 90).config["rank"] == 1


def test_lmf_of_an_hmf_model_is_plain_lmf():
    """compress_model (R = 90) of an HMF model (R = 50; config hmf_rank, hmf_dense_rows) recompresses
    its weight matrix to a FactorizedEmbedding of rank k = floor(0.1 * 50 * 16 / 66) = 1; a leftover
    hmf_rank would make build_model rebuild a HybridEmbedding, which cannot take these weights."""
    hmf = hmf_compress_model(small("dan"), 50)
    lmf = compress_model(hmf, 90)
    assert lmf.config["rank"] == 1
    assert not {"hmf_rank", "hmf_dense_rows"} & set(lmf.config)
    assert rebuilds(lmf)


def test_hmf_of_an_lmf_model_has_no_rank():
    """hmf_compress_model of an LMF model (rank 6): rank is None, hmf_* are set, and it rebuilds."""
    hmf = hmf_compress_model(compress_model(small("dan"), 50), 50)
    assert hmf.config["rank"] is None and hmf.config["hmf_rank"] >= 1
    assert rebuilds(hmf)


# ---------------------------------------------------------------- issue 23: one SVD, whatever the thread count

COMPRESS_ON = ("import sys, torch; torch.set_num_threads(int(sys.argv[1])); from lmf.cli import main; "
               "sys.exit(main(sys.argv[2:]))")


def test_compress_gives_the_same_bytes_on_1_or_2_threads(tiny_dir, tmp_path):
    """Issue 23: `compress --no-retrain` under OMP_NUM_THREADS=1 and 2 wrote different weights:
    LAPACK's SVD splits its sums by thread count (a 2,000 x 300 table already differs). A DAN
    with a 2,000-word vocabulary compressed at R = 90 in two processes, one with 1 thread
    (environment and torch.set_num_threads), one with 2: the saved files are byte for byte equal."""
    import os
    import subprocess
    import sys
    from lmf.artifacts import save_model
    from lmf.data import Vocab
    words = [f"w{i}" for i in range(1998)]
    torch.manual_seed(0)
    model = build_model(default_config("dan", 2000, 2))
    save_model(tmp_path / "model", model, Vocab(["<pad>", "<unk>"] + words, [0, 0] + [1] * 1998), ["0", "1"])
    saved = {}
    for threads in (1, 2):
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
        out = tmp_path / f"r90-{threads}"
        proc = subprocess.run([sys.executable, "-c", COMPRESS_ON, str(threads), "compress", str(tmp_path / "model"),
                               "--data", str(tiny_dir), "--reduction", "90", "--no-retrain", "--out", str(out)],
                              env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        saved[threads] = {f.name: f.read_bytes() for f in sorted(out.iterdir())}
    assert sorted(saved[1]) == ["manifest.json", "meta.json", "model.safetensors"]
    assert [name for name in saved[1] if saved[1][name] != saved[2][name]] == []
