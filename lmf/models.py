"""The classifiers (DAN and LSTM) and the two embedding layers they can take.

An embedding is either a dense table (V x d) or a factorized one: W_a, a V x k lookup, followed by
W_b, a k x d linear map (the paper's eq. 3-4). Both expose `forward(ids)` (per-token vectors) and
`mean(ids)` (the masked average a DAN needs). The factorized `mean` averages in k dimensions and
projects once, which is exact because W_b is linear, and is why LMF makes a DAN faster.

Every model is rebuilt from a plain JSON-able config (`build_model`), so artifacts store no code.
Deliberately not here: training, compression or quantization logic.
"""
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from .data import PAD_ID


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


class FactorizedEmbedding(nn.Module):
    """E = W_a W_b: `table` holds W_a (V x k), `project.weight` holds W_b transposed (d x k)."""

    def __init__(self, vocab_size, rank, dim):
        super().__init__()
        self.table = nn.Embedding(vocab_size, rank, padding_idx=PAD_ID)
        self.project = nn.Linear(rank, dim, bias=False)

    @property
    def dim(self):
        return self.project.out_features

    @property
    def rank(self):
        return self.table.embedding_dim

    def weight_matrix(self):
        return (self.table.weight @ self.project.weight.T).detach()

    def forward(self, ids):
        return self.project(self.table(ids))

    def mean(self, ids):
        return self.project(_masked_mean(self.table(ids), ids))


def _masked_mean(vectors, ids):
    mask = (ids != PAD_ID).unsqueeze(-1).to(vectors.dtype)
    return (vectors * mask).sum(1) / mask.sum(1).clamp(min=1.0)


def make_embedding(vocab_size, dim, rank=None):
    return DenseEmbedding(vocab_size, dim) if rank is None else FactorizedEmbedding(vocab_size, rank, dim)


class DAN(nn.Module):
    """Deep averaging network (Iyyer et al. 2015): mean of word vectors, FC 1024, FC 512, softmax.
    `word_dropout` drops whole tokens from the average while training, as Iyyer et al. do."""

    def __init__(self, embedding, num_classes, hidden=(1024, 512), dropout=0.4, word_dropout=0.0):
        super().__init__()
        self.embedding = embedding
        self.word_dropout = word_dropout
        sizes = [embedding.dim, *hidden]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes, sizes[1:]))
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


def default_config(arch, vocab_size, num_classes, embed_dim=None):
    """Section 5.2's models: DAN-RAND with 300-d embeddings; LSTM with 100-d (GloVe 6B here)."""
    if arch == "dan":
        return {"arch": "dan", "vocab_size": vocab_size, "num_classes": num_classes,
                "embed_dim": embed_dim or 300, "rank": None, "hidden": [1024, 512], "dropout": 0.4,
                "word_dropout": 0.0}
    if arch == "lstm":
        return {"arch": "lstm", "vocab_size": vocab_size, "num_classes": num_classes,
                "embed_dim": embed_dim or 100, "rank": None, "hidden": 256, "dropout": 0.4}
    raise ValueError(f"unknown model {arch!r}: choose 'dan' or 'lstm'")


def build_model(config):
    """A freshly initialised model for `config` (see `default_config`); `rank` makes it factorized."""
    embedding = make_embedding(config["vocab_size"], config["embed_dim"], config.get("rank"))
    if config["arch"] == "dan":
        model = DAN(embedding, config["num_classes"], tuple(config["hidden"]), config["dropout"],
                    config.get("word_dropout", 0.0))
    elif config["arch"] == "lstm":
        model = LSTMClassifier(embedding, config["num_classes"], config["hidden"], config["dropout"])
    else:
        raise ValueError(f"unknown model {config['arch']!r}: choose 'dan' or 'lstm'")
    model.config = dict(config)  # travels with the model so that it can be saved and rebuilt
    return model


def new_model(arch, vocab_size, num_classes, vectors=None, embed_dim=None, seed=0):
    """A fresh model; `vectors` (V x d, e.g. GloVe from data.load_vectors) initialise its embedding."""
    torch.manual_seed(seed)
    if vectors is not None:
        embed_dim = vectors.shape[1]
    model = build_model(default_config(arch, vocab_size, num_classes, embed_dim))
    if vectors is not None:
        with torch.no_grad():
            model.embedding.table.weight.copy_(vectors)
    return model
