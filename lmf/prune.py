"""Vocabulary pruning: keep the embedding rows of the most frequent words, read every other word as UNK.

A trained model's table holds a row for every word of its training split, most of them seen once
or twice; in an export those words are words.zlib, which for a small model is a large part of its
bytes (SST-2's whole-model LMF + int8 at R = 98: 62 kB of 165 kB; 173 kB of 275 kB before the
words were compressed, lmf.export). `prune_model` keeps
(1 - R) of the table's rows: the first K word ids, which are the K most frequent words because
lmf.data.Vocab numbers words by training count (PAD and UNK first). The pruned model's config says
`kept_words` = K, so it reads any text through its vocabulary's first K words (lmf.ngrams.model_vocab),
the others becoming UNK as unknown words always have; it saves and exports only those K words.

UNK's row, which training never reached (every training word has its own row), becomes the
count-weighted mean of the dropped rows: the one vector that stands in best, in squared error
weighted by how often each dropped word occurs, for the words it now replaces. Retraining
(lmf.methods: the method retrains, as LMF does) then fits it to them.

An n-gram DAN (lmf.ngrams) also folds its buckets: B' buckets, B' a divisor of B, row j the mean
of the old rows j, j + B', j + 2B', ..., since h mod B' = (h mod B) mod B' sends every n-gram of
old bucket b to new bucket b mod B'. B' is the largest divisor of B within (1 - R) B; the words
take the rest of the rows (a power-of-two B keeps a power of two).

Frequency rather than row norm (fastText's quantize -cutoff keeps rows by norm): a count keeps a
prefix of the vocabulary, so a pruned model is one config number, and it held up better where
pruning is deep. Measured on CR (DAN recipe, seed 0, both with UNK's mean row, then 300 steps of
retraining; dev accuracy): R = 50 count 79.1, norm 80.4; R = 80 both 79.8; R = 90 count 79.1,
norm 78.8; R = 95 count 78.8, norm 75.6.

`prune_lmf_model` stacks LMF on pruning at one R: it keeps (1 - R)^(1/3) of the rows (WORD_SHARE),
then factorizes the pruned table to (1 - R) of the original table's parameters, so the rank takes
the other (1 - R)^(2/3) (at R = 98: 27 % of the words, a rank for 7.4 % of their table); `whole=True`
factorizes the DAN's hidden layers to (1 - R) of theirs too, as whole-model LMF at R does, which a
small export needs: the DAN's two hidden layers are 831,000 weights, 0.83 MB even in int8.
The share, measured (DAN recipe, seed 0, pruning + whole-model LMF + int8 retrained with the
retraining recipe; words' share p^(1/2), p^(1/3), p^(1/4); deployable dev accuracy and bytes):
    SST-2 R = 98  79.4 / 81.1 / 81.4 %   138 / 158 / 177 kB   (no pruning, lmf_whole: 82.1 %, 276 kB)
    MPQA  R = 98  81.9 / 84.3 / 84.9 %    69 /  77 /  82 kB;   R = 95  82.6 / 84.8 / 85.4 %
    CR    R = 98  79.8 / 78.8 / 78.5 %    64 /  71 /  75 kB;   R = 95  79.3 / 79.1 / 79.1 %
Words matter more than rank on SST-2 and MPQA; on CR (377 dev sentences, a point is 3.8 of them)
the three are within noise. The cube root is the middle.

Deliberately not here: the SVD (lmf.compress), training, which ids a model reads (lmf.ngrams).
"""
import torch

from .compress import Infeasible, compress_model, factorize_hidden, floor_exact, fraction_for_reduction, with_embedding
from .models import DenseEmbedding
from .quantize import check_unquantized
from .tokenize import UNK_ID

MIN_WORDS = 3  # PAD, UNK and at least one word
WORD_SHARE = 1 / 3  # pruning + LMF: the rows keep (1 - R)^WORD_SHARE (module docstring)


def kept_rows(words, buckets, p):
    """(K, B'): the words and n-gram buckets kept when a fraction `p` of a table of `words` word
    rows (PAD and UNK included) and `buckets` bucket rows stays: B' the largest divisor of B with
    B' <= p B (0 without n-grams), K = floor(p (words + buckets)) - B' at most `words`.
    Infeasible when fewer than MIN_WORDS rows are left for the words.
    Worked example: 6 words, no buckets, p = 0.5: K = floor(0.5 x 6) = 3."""
    kept_buckets = max((d for d in range(1, buckets + 1) if buckets % d == 0 and d <= p * buckets + 1e-9),
                       default=1) if buckets else 0
    kept = min(words, floor_exact(p * (words + buckets)) - kept_buckets)
    if kept < MIN_WORDS:
        raise Infeasible(f"keeping {p:.3g} of a table of {words:,} words and {buckets:,} n-gram buckets leaves "
                         f"{max(kept, 0)} rows for words, fewer than {MIN_WORDS} (PAD, UNK and one word)")
    return kept, kept_buckets


def prune_model(model, counts, reduction_pct):
    """A copy of `model` (a dense embedding: prune the uncompressed model) keeping (1 - R) of its
    embedding rows, as the module docstring says; `counts` are its vocabulary's training counts
    (lmf.data.Vocab.counts, most frequent first)."""
    check_unquantized(model, "prune the unquantized model, then quantize the result")
    if not isinstance(model.embedding, DenseEmbedding):
        raise ValueError("pruning keeps rows of a dense embedding: prune the uncompressed model "
                         "(a factorized or grouped table is compressed already)")
    table = model.embedding.weight_matrix()
    buckets = model.config.get("buckets") or 0
    words = len(table) - buckets
    if len(counts) < words:
        raise ValueError(f"{len(counts):,} word counts for a table of {words:,} word rows")
    kept, kept_buckets = kept_rows(words, buckets, fraction_for_reduction(reduction_pct))
    rows = table[:kept].clone()
    dropped = table[kept:words]
    if len(dropped):
        weights = torch.tensor(counts[kept:words], dtype=table.dtype)
        weights = weights if weights.sum() > 0 else torch.ones_like(weights)
        rows[UNK_ID] = weights @ dropped / weights.sum()
    parts = [rows]
    if buckets:
        parts.append(table[words:].reshape(buckets // kept_buckets, kept_buckets, -1).mean(0))
    embedding = DenseEmbedding(kept + kept_buckets, table.shape[1])
    with torch.no_grad():
        embedding.table.weight.copy_(torch.cat(parts))
    config = {"vocab_size": kept + kept_buckets, "kept_words": kept}
    if buckets:
        config["buckets"] = kept_buckets
    return with_embedding(model, embedding, reduction_pct, **config)


def prune_lmf_model(model, counts, reduction_pct, whole=False):
    """Pruning then LMF at one R (module docstring): (1 - R)^WORD_SHARE of the rows kept by
    prune_model, then the pruned table factorized to (1 - R) of the original table's parameters; with `whole`,
    the DAN's hidden layers factorized to (1 - R) of theirs too, as whole-model LMF at R does."""
    if whole and model.config["arch"] != "dan":
        raise ValueError("whole-model LMF is implemented for the DAN only")
    p = fraction_for_reduction(reduction_pct)
    m = model.embedding.weight_matrix().shape[0]
    pruned = prune_model(model, counts, 100 * (1 - p ** WORD_SHARE))
    rows = pruned.config["vocab_size"]
    f = p * m / rows  # of the pruned table's parameters, to keep p of the original's
    if not f < 1:
        raise Infeasible(f"R = {reduction_pct:g} % is reached by pruning alone ({rows:,} of {m:,} rows)")
    compressed = compress_model(pruned, 100 * (1 - f))
    return factorize_hidden(compressed, p) if whole else compressed
