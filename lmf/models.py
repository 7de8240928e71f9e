"""The classifiers (DAN and LSTM) and the two embedding layers they can take.

An embedding is either a dense table (V x d) or a factorized one: W_a, a V x k lookup, followed by
W_b, a k x d linear map (the paper's eq. 3-4). Both expose `forward(ids)` (per-token vectors) and
`mean(ids)` (the masked average a DAN needs). The factorized `mean` averages in k dimensions and
projects once, which is exact because W_b is linear, and is why LMF makes a DAN faster.

Beyond plain LMF (all selected by optional config keys; a config without them builds exactly the
model it always did): `HybridEmbedding` (HMF: the most frequent rows dense, the rest low-rank;
keys `hmf_rank`, `hmf_dense_rows`), `GroupEmbedding` (GroupReduce: per-frequency-block low-rank
factors; keys `group_sizes`, `group_ranks`) and factorized DAN hidden layers (`hidden_ranks`).

For models lmf does not define (lmf.embeddings puts these in place of their nn.Embedding and
nn.EmbeddingBag layers): FactorizedEmbedding takes an nn.Embedding's padding, sparse and
scale_grad_by_freq options, and `FactorizedEmbeddingBag` is the factorized nn.EmbeddingBag.

A DAN may also read hashed word n-grams (config `ngrams` = n and `buckets` = B; model kind
"dan_ngram", `KINDS`): its table is B rows longer, rows vocab_size - B onwards being the n-grams'
(lmf.ngrams makes their ids), and nothing else changes. A new model's n-gram rows start at zero, so
an n-gram training never saw adds nothing to a text's average.

Every model is rebuilt from a plain JSON-able config (`build_model`), so artifacts store no code.
Deliberately not here: training, compression or quantization logic.
"""
import numbers
from typing import Optional

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import pack_padded_sequence

from .ngrams import DEFAULT_BUCKETS, DEFAULT_NGRAMS, check as check_ngrams
from .tokenize import PAD_ID


class DenseEmbedding(nn.Module):
    def __init__(self, vocab_size, dim):
        super().__init__()
        self.table = nn.Embedding(vocab_size, dim, padding_idx=PAD_ID)

    @property
    def dim(self):
        return self.table.embedding_dim

    def weight_matrix(self):
        return self.table.weight.detach()

    def forward(self, ids):
        return self.table(ids)

    def mean(self, ids):
        return _masked_mean(self.table(ids), ids)


class _LowRankTable(nn.Module):
    """What FactorizedEmbedding and FactorizedEmbeddingBag share: `table` holds W_a (V x k),
    `project` W_b (k -> d), and they answer to nn.Embedding's names, read by models that scale by
    embedding_dim ** 0.5 or size things by num_embeddings. There is no `weight`: the table is
    W_a W_b (FactorizedEmbedding.weight_matrix() computes it)."""

    @property
    def rank(self):
        return self.table.embedding_dim

    @property
    def embedding_dim(self):
        return self.project.out_features

    @property
    def num_embeddings(self):
        return self.table.num_embeddings

    @property
    def padding_idx(self):
        return self.table.padding_idx


class FactorizedEmbedding(_LowRankTable):
    """E = W_a W_b: `table` holds W_a (V x k), `project.weight` holds W_b transposed (d x k).

    `padding_idx` (None for none), `sparse` and `scale_grad_by_freq` are nn.Embedding's, applied
    to W_a; lmf's models keep the defaults, a factorized foreign nn.Embedding (lmf.embeddings)
    takes its own. With W_a's PAD row zero the PAD vector W_a[pad] W_b is exactly zero whatever
    W_b becomes, and gets no gradient, as in an nn.Embedding."""

    def __init__(self, vocab_size, rank, dim, padding_idx=PAD_ID, sparse=False, scale_grad_by_freq=False):
        super().__init__()
        self.table = nn.Embedding(vocab_size, rank, padding_idx=padding_idx, sparse=sparse,
                                  scale_grad_by_freq=scale_grad_by_freq)
        self.project = nn.Linear(rank, dim, bias=False)

    @property
    def dim(self):
        return self.project.out_features

    def weight_matrix(self):
        return (self.table.weight @ self.project.weight.T).detach()

    def forward(self, ids):
        return self.project(self.table(ids))

    def mean(self, ids):
        return self.project(_masked_mean(self.table(ids), ids))


class FactorizedEmbeddingBag(_LowRankTable):
    """An nn.EmbeddingBag over E = W_a W_b, for a factorized foreign bag (lmf.embeddings): `table`
    is an nn.EmbeddingBag of W_a (V x k) with the original's mode, padding_idx, sparse,
    include_last_offset and scale_grad_by_freq; `project.weight` holds W_b transposed (d x k).

    Sum and mean (per_sample_weights included) are linear, so they bag in k dimensions and project
    once: exact, and cheaper than bagging d-dimensional rows (the reason FactorizedEmbedding.mean
    exists). Max does not commute with W_b, so it projects each distinct id of the batch to d
    dimensions first and takes the max there: the same bags, offsets and PAD rule as the original."""

    def __init__(self, vocab_size, rank, dim, mode="mean", padding_idx=None, sparse=False,
                 include_last_offset=False, scale_grad_by_freq=False):
        super().__init__()
        self.table = nn.EmbeddingBag(vocab_size, rank, mode=mode, padding_idx=padding_idx, sparse=sparse,
                                     include_last_offset=include_last_offset,
                                     scale_grad_by_freq=scale_grad_by_freq)
        self.project = nn.Linear(rank, dim, bias=False)

    @property
    def mode(self):
        return self.table.mode

    def forward(self, input: torch.Tensor, offsets: Optional[torch.Tensor] = None,
                per_sample_weights: Optional[torch.Tensor] = None):
        bag = self.table
        if bag.mode != "max":
            return self.project(bag(input, offsets, per_sample_weights))
        ids, inverse = torch.unique(input, return_inverse=True)
        rows = self.project(F.embedding(ids, bag.weight, sparse=bag.sparse))
        # PAD entries are left out of every bag: PAD's place among the distinct ids, if it is there.
        # (Typed, and no assignment expression: so that TorchScript compiles it, as nn.EmbeddingBag's.)
        pad: Optional[int] = None
        if bag.padding_idx is not None:
            found = (ids == bag.padding_idx).nonzero()
            if found.numel():
                pad = int(found[0, 0])
        return F.embedding_bag(inverse, rows, offsets, mode="max", per_sample_weights=per_sample_weights,
                               include_last_offset=bag.include_last_offset, padding_idx=pad)


class HybridEmbedding(nn.Module):
    """HMF (Thakker et al. 2020) for an embedding: rows 0..r_d-1 (the most frequent words, since
    lmf.data.Vocab orders ids by training count) are a dense r_d x d table, the other V - r_d rows
    are `low_table` ((V - r_d) x r) times `project` (r -> d). Parameters: r_d d + r (V - r_d + d).
    PAD (id 0) and UNK (id 1) sit among the dense rows: PAD's row is the fixed zero padding row,
    UNK's is the vector every unseen test word gets, so it is worth a dense row."""

    def __init__(self, vocab_size, rank, dim, dense_rows):
        super().__init__()
        if not 0 < dense_rows < vocab_size:
            raise ValueError(f"dense_rows={dense_rows} must be between 1 and vocab_size - 1 = {vocab_size - 1}")
        self.dense_rows = dense_rows
        self.dense = nn.Embedding(dense_rows, dim, padding_idx=PAD_ID)
        self.low_table = nn.Embedding(vocab_size - dense_rows, rank)
        self.project = nn.Linear(rank, dim, bias=False)

    @property
    def dim(self):
        return self.project.out_features

    @property
    def rank(self):
        return self.low_table.embedding_dim

    def weight_matrix(self):
        return torch.cat([self.dense.weight, self.low_table.weight @ self.project.weight.T]).detach()

    def forward(self, ids):
        is_dense = (ids < self.dense_rows).unsqueeze(-1)
        dense = self.dense(ids.clamp(max=self.dense_rows - 1))
        low = self.project(self.low_table((ids - self.dense_rows).clamp(min=0)))
        return torch.where(is_dense, dense, low)

    def mean(self, ids):
        return _masked_mean(self(ids), ids)


class GroupEmbedding(nn.Module):
    """GroupReduce (Chen et al. 2018): the vocabulary split into c blocks, block i a low-rank
    n_i x d matrix `tables[i]` (n_i x r_i) times `projects[i]` (r_i -> d). Parameters:
    sum_i r_i (n_i + d). The buffer `row` (int32, saved with the weights) holds each word's row in
    the blocks laid end to end: block i owns rows offsets[i] .. offsets[i] + n_i - 1. PAD's output
    (id `padding_idx`; None for a foreign table without one) is forced to zero (it is masked out of
    every average and LSTM step anyway), so it gets no gradient, as in an nn.Embedding."""

    def __init__(self, vocab_size, dim, block_sizes, block_ranks, padding_idx=PAD_ID):
        super().__init__()
        if sum(block_sizes) != vocab_size or len(block_sizes) != len(block_ranks):
            raise ValueError(f"block sizes {block_sizes} must sum to vocab_size={vocab_size}, one rank each")
        self.padding_idx = padding_idx
        self.block_sizes, self.block_ranks = list(block_sizes), list(block_ranks)
        self.tables = nn.ModuleList(nn.Embedding(n, r) for n, r in zip(block_sizes, block_ranks))
        self.projects = nn.ModuleList(nn.Linear(r, dim, bias=False) for r in block_ranks)
        self.register_buffer("row", torch.arange(vocab_size, dtype=torch.int32))
        starts = torch.tensor([0] + list(block_sizes[:-1])).cumsum(0)
        self.register_buffer("starts", starts, persistent=False)

    @property
    def dim(self):
        return self.projects[0].out_features

    def weight_matrix(self):
        with torch.no_grad():
            return self(torch.arange(len(self.row), device=self.row.device).unsqueeze(0))[0].clone()

    def forward(self, ids):
        flat = ids.reshape(-1)
        rows = self.row[flat].long()
        block = torch.bucketize(rows, self.starts, right=True) - 1
        out = None
        for i, (table, project) in enumerate(zip(self.tables, self.projects)):
            sel = (block == i).nonzero().squeeze(1)
            if sel.numel() == 0:
                continue
            vectors = project(table(rows[sel] - self.starts[i]))
            if out is None:
                out = vectors.new_zeros(len(flat), self.dim)
            out = out.index_copy(0, sel, vectors)
        if out is None:
            out = self.projects[0].weight.new_zeros(len(flat), self.dim)
        if self.padding_idx is not None:
            out = out * (flat != self.padding_idx).unsqueeze(-1).to(out.dtype)
        return out.reshape(*ids.shape, self.dim)

    def mean(self, ids):
        return _masked_mean(self(ids), ids)


class FactorizedLinear(nn.Module):
    """A dense layer a -> b as two: `first` (a -> k, no bias) then `second` (k -> b, with bias)."""

    def __init__(self, in_features, out_features, rank):
        super().__init__()
        self.first = nn.Linear(in_features, rank, bias=False)
        self.second = nn.Linear(rank, out_features)

    def forward(self, x):
        return self.second(self.first(x))


def _masked_mean(vectors, ids):
    mask = (ids != PAD_ID).unsqueeze(-1).to(vectors.dtype)
    return (vectors * mask).sum(1) / mask.sum(1).clamp(min=1.0)


def make_embedding(vocab_size, dim, rank=None, config=None):
    config = config or {}
    if config.get("group_sizes"):
        return GroupEmbedding(vocab_size, dim, config["group_sizes"], config["group_ranks"])
    if config.get("hmf_rank"):
        return HybridEmbedding(vocab_size, config["hmf_rank"], dim, config["hmf_dense_rows"])
    return DenseEmbedding(vocab_size, dim) if rank is None else FactorizedEmbedding(vocab_size, rank, dim)


class DAN(nn.Module):
    """Deep averaging network (Iyyer et al. 2015): mean of word vectors, FC 1024, FC 512, softmax.
    `word_dropout` drops whole tokens from the average while training, as Iyyer et al. do."""

    def __init__(self, embedding, num_classes, hidden=(1024, 512), dropout=0.4, word_dropout=0.0,
                 hidden_ranks=None):
        super().__init__()
        self.embedding = embedding
        self.word_dropout = word_dropout
        sizes = [embedding.dim, *hidden]
        ranks = hidden_ranks or [None] * len(hidden)
        # `hidden_ranks` (one per hidden layer, None = dense) factorizes them: whole-model LMF.
        self.layers = nn.ModuleList(nn.Linear(a, b) if k is None else FactorizedLinear(a, b, k)
                                    for a, b, k in zip(sizes, sizes[1:], ranks))
        self.out = nn.Linear(sizes[-1], num_classes)
        self.dropout = nn.Dropout(dropout)

    def forward(self, ids):
        if self.training and self.word_dropout > 0:
            dropped = torch.rand(ids.shape, device=ids.device) < self.word_dropout
            ids = ids.masked_fill(dropped, PAD_ID)
        x = self.dropout(self.embedding.mean(ids))
        for layer in self.layers:
            x = self.dropout(torch.relu(layer(x)))
        return self.out(x)


class LSTMClassifier(nn.Module):
    """One-layer LSTM; the hidden state after the last real token goes to a softmax layer."""

    def __init__(self, embedding, num_classes, hidden=256, dropout=0.4):
        super().__init__()
        self.embedding = embedding
        self.lstm = nn.LSTM(embedding.dim, hidden, batch_first=True)
        self.out = nn.Linear(hidden, num_classes)
        self.dropout = nn.Dropout(dropout)

    def forward(self, ids):
        # An empty text still runs one step (on PAD) so that every row gets a prediction.
        lengths = (ids != PAD_ID).sum(1).clamp(min=1).cpu()
        vectors = self.dropout(self.embedding(ids))
        packed = pack_padded_sequence(vectors, lengths, batch_first=True, enforce_sorted=False)
        _, (hidden, _) = self.lstm(packed)
        return self.out(self.dropout(hidden[-1]))


# Model kinds beyond the two architectures: kind -> (architecture, config keys it adds).
KINDS = {"dan": ("dan", {}), "lstm": ("lstm", {}),
         "dan_ngram": ("dan", {"ngrams": DEFAULT_NGRAMS, "buckets": DEFAULT_BUCKETS})}


def kind_of(config):
    """The model kind (KINDS) a saved config is: the kind whose architecture it has and whose added
    keys it sets ("dan_ngram" for a DAN with n-grams), else its architecture; kind_arch's inverse."""
    return next((kind for kind, (arch, extra) in KINDS.items()
                 if arch == config["arch"] and extra and all(config.get(key) is not None for key in extra)),
                config["arch"])


def kind_arch(kind):
    """The architecture of model kind `kind` ("dan_ngram" is a DAN): what recipes are keyed by."""
    if kind not in KINDS:
        raise ValueError(f"unknown model {kind!r}: choose {', '.join(KINDS)}")
    return KINDS[kind][0]


def with_ngrams(config, n, buckets):
    """A DAN `config` that also reads hashed n-grams of 2..n tokens into `buckets` more rows."""
    check_ngrams(n, buckets)
    if config["arch"] != "dan":
        raise ValueError(f"n-grams are an option of the DAN, not of the {config['arch']}")
    return {**config, "vocab_size": config["vocab_size"] + buckets, "ngrams": n, "buckets": buckets}


def default_config(arch, vocab_size, num_classes, embed_dim=None):
    """Section 5.2's models: DAN-RAND with 300-d embeddings; LSTM with 100-d (GloVe 6B here).
    `arch` may be any model kind of KINDS; `vocab_size` counts the words (an n-gram kind's config
    adds its buckets)."""
    if KINDS.get(arch, (None, {}))[1]:
        extra = KINDS[arch][1]
        return with_ngrams(default_config(KINDS[arch][0], vocab_size, num_classes, embed_dim),
                           extra["ngrams"], extra["buckets"])
    if arch == "dan":
        return {"arch": "dan", "vocab_size": vocab_size, "num_classes": num_classes,
                "embed_dim": embed_dim or 300, "rank": None, "hidden": [1024, 512], "dropout": 0.4,
                "word_dropout": 0.0}
    if arch == "lstm":
        return {"arch": "lstm", "vocab_size": vocab_size, "num_classes": num_classes,
                "embed_dim": embed_dim or 100, "rank": None, "hidden": 256, "dropout": 0.4}
    raise ValueError(f"unknown model {arch!r}: choose 'dan' or 'lstm'")


def check_dropout(config):
    """ValueError unless the config's dropout and word_dropout (when given) are probabilities in
    [0, 1): NaN (JSON allows it) fails the comparison too, and 1 would drop everything."""
    for key in ("dropout", "word_dropout"):
        if key in config and not 0 <= config[key] < 1:
            raise ValueError(f"config '{key}' is {config[key]}, not a probability in [0, 1)")


def build_model(config):
    """A freshly initialised model for `config` (see `default_config`); `rank` makes it factorized.
    ValueError for fewer than 2 embedding rows (PAD and UNK come first), no class, or a dropout
    that is no probability (check_dropout)."""
    for key, least in (("vocab_size", 2), ("num_classes", 1)):
        if isinstance(config[key], bool) or not isinstance(config[key], numbers.Integral) or config[key] < least:
            raise ValueError(f"{key} must be an integer of at least {least} (got {config[key]!r})")
    check_dropout(config)
    if config.get("ngrams") or config.get("buckets"):
        check_ngrams(config.get("ngrams"), config.get("buckets"))
        if config["arch"] != "dan" or not config["vocab_size"] - config["buckets"] >= 2:
            raise ValueError(f"n-grams need a DAN with PAD, UNK and words before its {config['buckets']} "
                             f"bucket rows (arch {config['arch']!r}, vocab_size {config['vocab_size']})")
    embedding = make_embedding(config["vocab_size"], config["embed_dim"], config.get("rank"), config)
    if config["arch"] == "dan":
        model = DAN(embedding, config["num_classes"], tuple(config["hidden"]), config["dropout"],
                    config.get("word_dropout", 0.0), config.get("hidden_ranks"))
    elif config["arch"] == "lstm":
        model = LSTMClassifier(embedding, config["num_classes"], config["hidden"], config["dropout"])
    else:
        raise ValueError(f"unknown model {config['arch']!r}: choose 'dan' or 'lstm'")
    model.config = dict(config)  # travels with the model so that it can be saved and rebuilt
    return model


def new_model(arch, vocab_size, num_classes, vectors=None, embed_dim=None, seed=0, ngrams=None, buckets=None,
              hidden=None):
    """A fresh model of kind `arch` (KINDS) for `vocab_size` words; `vectors` (V x d, e.g. GloVe
    from data.load_vectors) initialise its embedding; `ngrams` and `buckets` add hashed n-grams to
    a DAN (both, or neither: the kind's own); `hidden` replaces default_config's hidden sizes (a
    list for the DAN, an int for the LSTM: autotune tunes the width)."""
    torch.manual_seed(seed)
    if vectors is not None:
        embed_dim = vectors.shape[1]
    config = default_config(arch, vocab_size, num_classes, embed_dim)
    if hidden is not None:
        config["hidden"] = hidden
    if ngrams is not None or buckets is not None:
        words = config["vocab_size"] - config.get("buckets", 0)
        config = with_ngrams({**config, "vocab_size": words},
                             config.get("ngrams", DEFAULT_NGRAMS) if ngrams is None else ngrams,
                             config.get("buckets", DEFAULT_BUCKETS) if buckets is None else buckets)
    model = build_model(config)
    with torch.no_grad():
        if vectors is not None:
            model.embedding.table.weight.copy_(vectors)
        if config.get("buckets"):
            model.embedding.table.weight[-config["buckets"]:] = 0.0
    return model
