"""Low-rank (SVD) compression of the embedding layer: the paper's online method and its baseline 2.

Online LMF (section 3.1): take a trained model's V x d embedding W, keep its k largest singular
values, W ~ U_k S_k V_k^T, and replace the embedding by W_a = U_k (the new lookup table) followed by
W_b = S_k V_k^T (the next layer). k comes from eq. (5) so that k(m + n) = p m n. The returned model
is ready to retrain; the original is never touched.

Offline SVD (baseline 2): the embedding is made small *before* training: the pretrained vectors
projected onto their top floor(p d) right singular vectors (LSTM), or a randomly initialised
floor(p d)-dimensional table (DAN-RAND). Either way the model trains from there as usual.

Large vocabularies: above RANDOMIZED_MIN_ENTRIES entries the truncated SVD (`factorize`, used by
every method here) is randomized, seeded and within a fraction of a percent of the optimum.

Same seed, same bytes on any thread count: LAPACK's SVD and the GEMMs split their float sums by the
intra-op thread count (SST-2's DAN embedding factorized under 1 and 2 threads gave different
W_a), so every SVD here runs on lmf.metrics.RESULT_THREADS threads. The singular vectors' signs
are left as LAPACK gives them: on one thread they are reproducible, and flipping them, harmless to
the float model, would move every int8 export's activation range (ONNX Runtime quantizes
activations asymmetrically) and so its numbers.

HMF (`hmf_compress_model`) and whole-model LMF (`compress_whole_model`) live here too; GroupReduce
is in groupreduce.py.

Deliberately not here: retraining (see train.py) and quantization (quantize.py).
"""
import copy
import math
import numbers

import torch

from torch import nn

from .errors import LmfError
from .metrics import torch_threads
from .models import FactorizedEmbedding, FactorizedLinear, HybridEmbedding, default_config, new_model
from .quantize import check_unquantized


class Infeasible(LmfError, ValueError):
    """A compression that cannot be made at this R for this shape (the budget is below rank 1):
    the sweep records such a cell as not run, with this message, rather than failing."""


def floor_exact(x):
    """floor(x) of a value computed in floating point, rounded first so that float noise cannot
    cost a whole unit (0.1 * 300 is 29.999999999999996, whose floor would be 29, not 30)."""
    return math.floor(round(x, 9))


def rank_for_fraction(p, m, n):
    """Eq. (5): k = floor(p m n / (m + n)), the rank whose factors hold a fraction p of m n weights."""
    if not 0 < p < 1:
        raise ValueError(f"fraction p must be strictly between 0 and 1 (got {p}); "
                         f"it is 1 - R for a reduction R")
    k = floor_exact(p * m * n / (m + n))
    if k < 1:
        raise Infeasible(f"fraction p={p} of a {m} x {n} matrix gives rank k={k} < 1; "
                         f"the smallest p with k >= 1 is {(m + n) / (m * n):.2g}")
    return k


def fraction_for_reduction(reduction_pct):
    """p = 1 - R, with R in percent; R must be a number, or text of one ("70", as a command line or
    a URL gives it), strictly between 0 and 100; never a bool (True would read as R = 1)."""
    if isinstance(reduction_pct, bool) or not isinstance(reduction_pct, (numbers.Real, str)):  # numpy's bool too
        raise ValueError(f"reduction must be a number of percent, got {reduction_pct!r}")
    try:
        reduction_pct = float(reduction_pct)
    except (TypeError, ValueError):
        raise ValueError(f"reduction must be a number of percent, got {reduction_pct!r}") from None
    if not 0 < reduction_pct < 100:
        raise ValueError(f"reduction must be strictly between 0 and 100 percent (got {reduction_pct})")
    return (100 - reduction_pct) / 100  # not 1 - R/100: 1 - 0.9 is 0.0999...


# Above this many entries (m n) factorize() takes the randomized path. Measured on the 2-core
# CPU machine (rank 30, d = 300, spectrum s_i = i^-0.35 as in GloVe; scripts/bench_svd.py and
# the same table at other heights): the exact SVD takes ~0.1 s up to 20,000 x 300 but ~1 s from
# 33,000 to 100,000 x 300 and 18 s of CPU at 1,000,000 x 300, and peaks at 3.3-4x the table's
# bytes (table included); the randomized path takes 7 s of CPU and 1.4x at 1,000,000 x 300.
# Below 10M entries (33,000 x 300, a 40 MB table) exactness costs under a second and a little
# memory, and the paper's vocabularies (SST-2 14,818 x 300, CLINC150 smaller) keep the exact
# SVD their results were computed with.
RANDOMIZED_MIN_ENTRIES = 10_000_000
# The sketch has k + RANDOMIZED_OVERSAMPLE columns and RANDOMIZED_POWER_ITERATIONS steps of
# subspace iteration. On that slowly decaying spectrum (the hard case: the randomized error
# grows as the decay flattens) 200,000 x 300 at rank 30 measured excess error over the optimum
# of 5.4 / 1.4 / 0.50 / 0.20 / 0.04 % for 1 / 2 / 3 / 4 / 6 iterations at oversample 10; 4 keeps
# a 5x margin below 1 % for 10 passes over W. At rank 50 (the widest factorize sends here for
# d = 300) it measured 0.60 %.
RANDOMIZED_OVERSAMPLE = 10
RANDOMIZED_POWER_ITERATIONS = 4


@torch_threads()
def factorize(W, k, seed=0):
    """(W_a, W_b) with W_a = U_k (m x k, orthonormal columns) and W_b = S_k V_k^T (k x n),
    singular values descending, so W_a W_b is the best rank-k approximation of W (Eckart-Young).
    Computed on lmf.metrics.RESULT_THREADS threads: the same W gives the same bytes whatever the
    caller's thread count.

    Up to RANDOMIZED_MIN_ENTRIES entries (every classifier in the paper) this is the exact SVD.
    Above it, when k + RANDOMIZED_OVERSAMPLE is at most a fifth of min(m, n), it is the
    randomized SVD of `_randomized_svd`: same shapes and conventions, squared error within
    a fraction of a percent of the optimum, deterministic for a given W and `seed`."""
    W = W.detach()
    W = W if W.dtype == torch.float64 else W.float()  # a float64 table keeps its precision
    if not 1 <= k <= min(W.shape):
        raise ValueError(f"rank k={k} must be between 1 and min{tuple(W.shape)}")
    # A sketch wider than a fifth of the short side saves little time over the exact SVD (10
    # passes over W, each as wide as the sketch) and its excess error nears 1 % (0.84 % measured
    # at rank 60 of 300), so wide ranks stay exact.
    if W.numel() > RANDOMIZED_MIN_ENTRIES and 5 * (k + RANDOMIZED_OVERSAMPLE) <= min(W.shape):
        return _randomized_svd(W, k, seed)
    U, S, Vh = torch.linalg.svd(W, full_matrices=False)
    return U[:, :k].contiguous(), (S[:k, None] * Vh[:k]).contiguous()


def _randomized_svd(W, k, seed):
    """factorize's randomized path (Halko, Martinsson & Tropp 2011, sections 4.5 and 5.1): an
    orthonormal basis Q (long side x l, l = k + oversample) of W's dominant subspace, from W times
    a seeded Gaussian matrix refined by subspace iteration, then the exact SVD of the small
    l x n matrix Q^T W. Not torch.svd_lowrank: it draws from (and so changes) the global RNG, and
    orthonormalizes the long side at every step.

    Memory: nothing of W's size is copied (W.T is a view; matmul reads it transposed); the
    largest temporaries are a few (long side x l) blocks, 40 / 300 = 0.13 of W each at k = 30."""
    tall = W.shape[0] >= W.shape[1]
    A = W if tall else W.T  # sketch the long side, so that the sketch is narrow
    l = k + RANDOMIZED_OVERSAMPLE
    # A local generator on the CPU: one draw per seed on any device; the global RNG is untouched.
    Q = torch.randn(A.shape[1], l, generator=torch.Generator().manual_seed(seed)).to(A.device, A.dtype)
    for _ in range(RANDOMIZED_POWER_ITERATIONS):
        # Subspace iteration on A^T A, never formed. Re-orthonormalizing after each step keeps the
        # smaller directions from drowning in float32 rounding (HMT section 4.5); doing it on the
        # short side (n x l) is cheap, where a QR of the long side costs about two passes over A.
        Q = torch.linalg.qr(A.T @ (A @ Q)).Q
    Q = torch.linalg.qr(A @ Q).Q  # the long side's basis, orthonormalized once
    U, S, Vh = torch.linalg.svd(Q.T @ A, full_matrices=False)
    U, S, Vh = Q @ U[:, :k], S[:k], Vh[:k]  # A ~ U diag(S) Vh
    if tall:
        return U.contiguous(), (S[:, None] * Vh).contiguous()
    return Vh.T.contiguous(), (S[:, None] * U.T).contiguous()  # W = A^T ~ Vh^T diag(S) U^T


@torch_threads()
def singular_values(W):
    return torch.linalg.svdvals(W.detach().float())


def embedding_spectrum(model):
    """Singular values of the model's V x d embedding matrix (descending) as a float tensor."""
    return singular_values(model.embedding.weight_matrix())


# Config keys that say how the parent's embedding is built or how its weights are stored. A new
# embedding replaces all of them: a stale `hmf_rank` or `group_sizes` would make build_model rebuild
# the parent's embedding class when the copy is loaded, and a stale `bits` (from a quantized
# parent; the copy's weights are plain floats after the SVD) would make saving quantize it.
EMBEDDING_KEYS = ("bits", "rank", "hmf_rank", "hmf_dense_rows", "group_sizes", "group_ranks")


def child_config(config, **embedding):
    """`config` without the parent's embedding and storage keys (EMBEDDING_KEYS), plus the new
    embedding's; everything else (arch, sizes, hidden layers, `hidden_ranks`) carries over."""
    return {**{k: v for k, v in config.items() if k not in EMBEDDING_KEYS}, **embedding}


def with_embedding(model, embedding, reduction_pct, **config):
    """A copy of `model` with `embedding` in place of its own, every other weight copied, and its
    config from child_config(model.config, **config): what every compression method returns.

    ValueError instead when this would not compress `model`: for a quantized model (its copy
    would be a full-precision model of the rounded weights, about 4x bigger on disk than the 8-bit
    one: compress the float parent, then quantize), and for an embedding bigger than the model's
    own. R always counts from the full V x d table (the model's weight_matrix), so R = 50 of a
    model compressed at R = 90 would grow it (4.40 -> 8.31 MB on SST-2's DAN); R = 98 of it
    shrinks it further, and is allowed."""
    check_unquantized(model, "compressing it would give a full-precision copy of its rounded weights: compress "
                             "the unquantized model, then quantize the result")
    old = sum(p.numel() for p in model.embedding.parameters())
    new = sum(p.numel() for p in embedding.parameters())
    if new > old:
        m, n = model.embedding.weight_matrix().shape
        raise ValueError(f"R = {reduction_pct:g} % of the full {m:,} x {n:,} embedding keeps {new:,} parameters, "
                         f"more than the {old:,} this model's embedding already has (it is compressed "
                         f"already): choose a larger R, or compress the uncompressed model")
    compressed = copy.deepcopy(model)
    compressed.embedding = embedding.to(model.embedding.weight_matrix().device)
    compressed.config = child_config(model.config, **config)
    return compressed


def compress_model(model, reduction_pct):
    """The online method: a copy of `model` with its embedding factorized to keep (1 - R) of its
    parameters, every other weight copied. Compressing an already factorized model recompresses
    its product W_a W_b (see with_embedding for what it refuses)."""
    W = model.embedding.weight_matrix()
    m, n = W.shape
    k = rank_for_fraction(fraction_for_reduction(reduction_pct), m, n)
    W_a, W_b = factorize(W, k)
    embedding = FactorizedEmbedding(m, k, n)
    with torch.no_grad():
        embedding.table.weight.copy_(W_a)
        embedding.project.weight.copy_(W_b.T)
    return with_embedding(model, embedding, reduction_pct, rank=k)


def offline_dim(reduction_pct, embed_dim):
    """Baseline 2's embedding width: floor(p d), e.g. 30 for R = 90 % of 300 dimensions."""
    return max(1, floor_exact(fraction_for_reduction(reduction_pct) * embed_dim))


@torch_threads()
def project_vectors(vectors, dim):
    """Pretrained vectors (V x d) projected onto their top `dim` right singular vectors: W V_k."""
    _, _, Vh = torch.linalg.svd(vectors.float(), full_matrices=False)
    return vectors.float() @ Vh[:dim].T


def offline_model(arch, vocab_size, num_classes, reduction_pct, vectors=None, seed=0):
    """Baseline 2, ready to train: the embedding is floor(p d) wide from the start, holding the
    projected pretrained vectors when given (LSTM), else random (DAN-RAND)."""
    full_dim = vectors.shape[1] if vectors is not None else default_config(arch, 1, 1)["embed_dim"]
    dim = offline_dim(reduction_pct, full_dim)
    if vectors is not None:
        return new_model(arch, vocab_size, num_classes, vectors=project_vectors(vectors, dim), seed=seed)
    return new_model(arch, vocab_size, num_classes, embed_dim=dim, seed=seed)


# ---------------------------------------------------------------- HMF (Thakker et al. 2020)

def hmf_params(m, n, r, dense_rows=None):
    """Parameters of HMF on an m x n matrix: r_d n dense + r (m - r_d + n) low-rank (r_d = r by default)."""
    r_d = r if dense_rows is None else dense_rows
    return r_d * n + r * (m - r_d + n)


def hmf_rank(p, m, n, dense_rows=None):
    """The largest rank r with r_d n + r (m - r_d + n) <= p m n (r_d = r unless `dense_rows` is given).

    With r_d = r the count r (m + 2n - r) grows with r up to (m + 2n) / 2, so the search walks r up
    from 1 (at most min(m - 1, n)). Example: m = 1000, n = 100, p = 0.1: budget 10,000;
    r (1200 - r) is 8 * 1192 = 9,536 at r = 8 and 9 * 1191 = 10,719 at r = 9, so r = 8
    (plain LMF at the same p: k = floor(10,000 / 1,100) = 9)."""
    if not 0 < p < 1:
        raise ValueError(f"fraction p must be strictly between 0 and 1 (got {p})")
    budget = round(p * m * n, 9)
    best = 0
    for r in range(1, min(m - 1, n) + 1):
        if hmf_params(m, n, r, dense_rows) > budget:
            break
        best = r
    if best < 1:
        raise ValueError(f"fraction p={p} of a {m} x {n} matrix leaves no HMF rank r >= 1")
    return best


def hmf_compress_model(model, reduction_pct, dense_rows=None):
    """A copy of `model` whose embedding is HMF at (1 - R) of its parameters: the first r_d rows
    (the most frequent words, lmf.data.Vocab's order, plus PAD and UNK at ids 0 and 1) copied
    dense, the rest replaced by their best rank-r approximation (truncated SVD), r from `hmf_rank`."""
    W = model.embedding.weight_matrix()
    m, n = W.shape
    r = hmf_rank(fraction_for_reduction(reduction_pct), m, n, dense_rows)
    r_d = r if dense_rows is None else dense_rows
    W_a, W_b = factorize(W[r_d:], r)
    embedding = HybridEmbedding(m, r, n, r_d)
    with torch.no_grad():
        embedding.dense.weight.copy_(W[:r_d])
        embedding.low_table.weight.copy_(W_a)
        embedding.project.weight.copy_(W_b.T)
    return with_embedding(model, embedding, reduction_pct, rank=None, hmf_rank=r, hmf_dense_rows=r_d)


# ---------------------------------------------------------------- whole-model LMF

def factorize_linear(layer, k):
    """A FactorizedLinear equal to the best rank-k approximation of nn.Linear `layer` (bias kept)."""
    W_a, W_b = factorize(layer.weight.detach().T, k)  # (in x k), (k x out)
    out = FactorizedLinear(layer.in_features, layer.out_features, k)
    with torch.no_grad():
        out.first.weight.copy_(W_a.T)
        out.second.weight.copy_(W_b.T)
        out.second.bias.copy_(layer.bias.detach())
    return out.to(layer.weight.device)


def compress_whole_model(model, reduction_pct):
    """LMF of the embedding (as compress_model) and of every DAN hidden layer, each at its own
    eq. (5) rank k = rank_for_fraction(p, in, out): R = 90 keeps 23 of a 300 x 1024 layer
    (0.1 * 307,200 / 1,324 = 23.2) and 34 of a 1024 x 512 one
    (0.1 * 524,288 / 1,536 = 34.1). The small softmax layer (512 x classes) stays dense."""
    if model.config["arch"] != "dan":
        raise ValueError("whole-model LMF is implemented for the DAN only")
    return factorize_hidden(compress_model(model, reduction_pct), fraction_for_reduction(reduction_pct))


def factorize_hidden(model, p):
    """`model`, a DAN (a copy already: changed in place and returned), with every hidden layer
    factorized at eq. (5)'s rank for a fraction p of its weights: whole-model LMF's second half
    (lmf.prune's pruning + whole-model LMF factorizes its embedding otherwise)."""
    ranks = []
    for i, layer in enumerate(model.layers):
        if not isinstance(layer, nn.Linear):
            raise ValueError("the model's hidden layers are already factorized")
        k = rank_for_fraction(p, layer.in_features, layer.out_features)
        model.layers[i] = factorize_linear(layer, k)
        ranks.append(k)
    model.config = {**model.config, "hidden_ranks": ranks}
    return model
