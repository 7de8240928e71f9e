"""GroupReduce (Chen et al. 2018): block-wise, frequency-weighted low-rank compression of the embedding.

1. Sort the vocabulary by training count (lmf.data.Vocab.counts) and split it into c blocks of
   (nearly) equal word counts (np.array_split of the sorted order; the default c = 5).
2. Block i (n_i words, mean frequency f_i, frequencies counted as count + 1 so that PAD, UNK and
   any zero-count row still weigh something) gets rank r_i = min(n_i, d, floor(r_min f_i / f_min)),
   r_min the largest integer whose total sum_i r_i (n_i + d) fits the budget p m d - m (the
   per-word row map, m int32 entries, is part of what the model stores: it counts as m of the
   budget's 4-byte parameters, so GroupReduce at R takes the bytes LMF takes at R). If even r_min = 1
   does not fit (a steep frequency profile at a high R: SST-2 at R = 98), r_min / f_min is replaced
   by a scale s < 1, the largest that fits, with every rank at least 1: ranks stay proportional to
   frequency, and the rarest blocks get rank 1.
3. Each block is approximated by a frequency-weighted SVD: its rows scaled by sqrt(f) before the
   SVD, unscaled after. That equals projecting every row of the block onto the top r_i right
   singular vectors V_i of the scaled block: W_a = W_block V_i^T', W_b = V_i.
4. Refinement, at most `rounds` times: every word moves to the block whose subspace V_i
   reconstructs it best (least ||w - w V_i^T V_i||^2), empty blocks are dropped, the ranks are
   recomputed by step 2 (so the budget still holds) and the blocks refactorized. A round is kept
   only if it lowers the total frequency-weighted reconstruction error; otherwise refinement stops.
5. Then retrain (lmf.train.train with retrain_recipe), as for LMF.

Deliberately not here: retraining, the embedding module itself (models.GroupEmbedding).
"""

import numpy as np
import torch

from .compress import Infeasible, floor_exact, fraction_for_reduction, with_embedding
from .metrics import torch_threads
from .models import GroupEmbedding
from .tokenize import PAD_ID


def group_params(sizes, ranks, d):
    """sum_i r_i (n_i + d)."""
    return sum(r * (n + d) for n, r in zip(sizes, ranks))


def block_ranks(sizes, freqs, d, budget):
    """(ranks, scale) by step 2 of the module docstring; scale is r_min (an integer >= 1) or the
    fractional s < 1 used when r_min = 1 does not fit. ValueError when all-ones does not fit."""
    f_min = min(freqs)

    def ranks(s):
        return [max(1, min(n, d, floor_exact(s * f / f_min))) for n, f in zip(sizes, freqs)]

    if group_params(sizes, ranks(1), d) <= budget:
        s = 1
        while s < d and ranks(s + 1) != ranks(s) and group_params(sizes, ranks(s + 1), d) <= budget:
            s += 1
        return ranks(s), s
    candidates = sorted({j * f_min / f for n, f in zip(sizes, freqs) for j in range(1, min(n, d) + 1)
                         if j * f_min / f < 1}, reverse=True)
    for s in candidates:
        if group_params(sizes, ranks(s), d) <= budget:
            return ranks(s), s
    if group_params(sizes, [1] * len(sizes), d) <= budget:
        return [1] * len(sizes), 0.0
    raise Infeasible(f"budget {budget:.0f} is below rank 1 in every block ({group_params(sizes, [1] * len(sizes), d)})")


def weighted_basis(W, weights, rank):
    """Top `rank` right singular vectors (rank x d) of diag(sqrt(weights)) W."""
    scaled = W * weights.sqrt()[:, None]
    _, _, Vh = torch.linalg.svd(scaled, full_matrices=False)
    return Vh[:rank]


def _fit(W, weights, assign, d, budget):
    """Blocks (lists of word ids, ascending), ranks, scale and bases for an assignment (word -> block)."""
    blocks = [np.flatnonzero(assign == b) for b in np.unique(assign)]
    sizes = [len(b) for b in blocks]
    freqs = [float(weights[b].mean()) for b in blocks]
    ranks, scale = block_ranks(sizes, freqs, d, budget)
    bases = [weighted_basis(W[b], weights[b], r) for b, r in zip(blocks, ranks)]
    return blocks, ranks, scale, bases


def _errors(W, bases):
    """Squared reconstruction error of every row of W (V x d) by every block's basis: V x c."""
    norms = (W ** 2).sum(1, keepdim=True)
    return torch.cat([norms - ((W @ B.T) ** 2).sum(1, keepdim=True) for B in bases], 1).clamp(min=0)


@torch_threads()  # its SVDs and products on one thread count: the same fit whatever the caller's
def groupreduce(W, counts, p, blocks=5, rounds=2):
    """Fit GroupReduce to an embedding W (V x d) with training `counts`, at fraction p of V d.
    Returns a dict: blocks (word ids per block), ranks, W_a and W_b per block, scale, rounds_kept,
    weighted_error (before and after refinement), params."""
    W = W.detach().float().cpu()
    m, d = W.shape
    weights = torch.as_tensor(np.asarray(counts, dtype=np.float64) + 1.0, dtype=torch.float32)
    budget = round(p * m * d, 9) - m  # the row map's m int32 entries count against the budget
    order = np.argsort(-np.asarray(counts), kind="stable")  # most frequent first, ties by id
    assign = np.empty(m, dtype=np.int64)
    for b, ids in enumerate(np.array_split(order, min(blocks, m))):
        assign[ids] = b
    fit = _fit(W, weights, assign, d, budget)

    def weighted_error(fit_, assign_):
        errors = _errors(W, fit_[3])
        column = torch.as_tensor(np.searchsorted(np.unique(assign_), assign_))
        return float((weights * errors[torch.arange(m), column]).sum())

    error = first_error = weighted_error(fit, assign)
    kept = 0
    for _ in range(rounds):
        new_assign = np.unique(assign)[_errors(W, fit[3]).argmin(1).numpy()]
        if np.array_equal(new_assign, assign):
            break
        try:
            new_fit = _fit(W, weights, new_assign, d, budget)
        except ValueError:
            break
        new_error = weighted_error(new_fit, new_assign)
        if new_error >= error:
            break
        assign, fit, error, kept = new_assign, new_fit, new_error, kept + 1
    members, ranks, scale, bases = fit
    return {"blocks": [list(map(int, b)) for b in members], "ranks": ranks, "scale": scale,
            "W_a": [W[b] @ B.T for b, B in zip(members, bases)], "W_b": bases,
            "rounds_kept": kept, "weighted_error": [first_error, error],
            "params": group_params([len(b) for b in members], ranks, d)}


def group_embedding(fit, m, d, padding_idx=PAD_ID):
    """The GroupEmbedding holding a `groupreduce` fit of an m x d table: each block's factors, and
    the row map that sends every word to its row in its block."""
    embedding = GroupEmbedding(m, d, [len(b) for b in fit["blocks"]], fit["ranks"], padding_idx)
    row = torch.empty(m, dtype=torch.int32)
    start = 0
    with torch.no_grad():
        for i, ids in enumerate(fit["blocks"]):
            row[ids] = torch.arange(start, start + len(ids), dtype=torch.int32)
            start += len(ids)
            embedding.tables[i].weight.copy_(fit["W_a"][i])
            embedding.projects[i].weight.copy_(fit["W_b"][i].T)
        embedding.row.copy_(row)
    return embedding


def groupreduce_compress_model(model, counts, reduction_pct, blocks=5, rounds=2):
    """A copy of `model` whose embedding is a GroupEmbedding fitted by `groupreduce` at (1 - R) of
    its parameters; `counts` are the vocabulary's training counts (lmf.data.Vocab.counts). The
    fit's summary (ranks, scale, rounds kept, errors) is left on the copy as `groupreduce_info`."""
    W = model.embedding.weight_matrix()
    m, d = W.shape
    if len(counts) != m:
        raise ValueError(f"{len(counts)} counts for a {m}-word embedding")
    fit = groupreduce(W, counts, fraction_for_reduction(reduction_pct), blocks, rounds)
    sizes = [len(b) for b in fit["blocks"]]
    embedding = group_embedding(fit, m, d)
    compressed = with_embedding(model, embedding, reduction_pct, group_sizes=sizes, group_ranks=fit["ranks"])
    compressed.groupreduce_info = {k: fit[k] for k in ("ranks", "scale", "rounds_kept", "weighted_error", "params")}
    compressed.groupreduce_info["sizes"] = sizes
    return compressed
