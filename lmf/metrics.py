"""What we measure: predictions and accuracy, parameter counts, bytes on disk, FLOPs; and the
one thread-count pin (`torch_threads`) under which every kept result is computed.

Accuracy is computed here only: `fraction_correct` (any predicted labels against the true ones:
the torch model's ids, an export's label names, fastText's ids) and `accuracy` (a torch model on
a split). `majority_rate` is the accuracy of always answering the most frequent class, the chance
level a trained model must beat (lmf.train's divergence rule).

Same seed, same bytes: CPU kernels (MKL's GEMMs and LAPACK, the LSTM's) split their float sums by
the intra-op thread count, so 1 and 2 threads gave different SVDs, weights and, near a tie,
predictions. Training (lmf.train), every SVD (lmf.compress, lmf.groupreduce) and `predict` run
under `torch_threads(RESULT_THREADS)`; parallel work belongs to processes, one per run.

FLOPs follow section 4: a dense m x n layer costs F_Q = (2m - 1)n per input (eq. 9), the
factorized pair costs F_S = 2(m + n)k - (n + k) (eq. 10).

Deliberately not here: training, latency (lmf.latency, the one timing harness), and any judgement
of what counts as "fast enough".
"""
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import torch

from .data import pad_batch
from .ngrams import model_data, model_vocab
from .tokenize import check_texts, no_token

RESULT_THREADS = 1  # intra-op threads of every computation whose result is kept (see the docstring)


@contextmanager
def torch_threads(n=RESULT_THREADS):
    """torch's intra-op thread count set to `n` inside, the caller's restored after (also on an
    error). Usable as a decorator too (contextlib's context managers are)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@torch.no_grad()
@torch_threads()
def predict(model, ids, batch_size=1024):
    """Class probabilities [N, C] for padded ids [N, T], in eval mode, restoring the mode after;
    on RESULT_THREADS threads, so that a near tie is broken alike whatever the caller's count."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out = []
    for start in range(0, len(ids), batch_size):
        batch = ids[start:start + batch_size]
        width = int((batch != 0).sum(1).max().clamp(min=1))  # trim padding beyond the longest row
        out.append(torch.softmax(model(batch[:, :width].to(device)).float(), -1).cpu())
    model.train(was_training)
    return torch.cat(out) if out else torch.empty(0, 0)


def fraction_correct(predicted, expected):
    """The fraction of positions where `predicted` equals `expected` (labels of any kind: ids or
    names; a None prediction, a text that could not be classified, counts as wrong); 0.0 for no
    examples. Worked example: [1, 0, None, 1] against [1, 1, 0, 1] is 2 / 4 = 0.5."""
    predicted, expected = list(predicted), list(expected)
    if len(predicted) != len(expected):
        raise ValueError(f"{len(predicted)} predictions for {len(expected)} examples")
    return sum(p == y for p, y in zip(predicted, expected)) / max(1, len(expected))


def majority_rate(labels):
    """fraction_correct of always answering the most frequent of `labels` (0.0 for none): the
    chance level. Worked example: SST-2's dev set, 444 positive and 428 negative, 444 / 872 = 0.509."""
    counts = Counter(labels)
    return max(counts.values()) / len(labels) if counts else 0.0


def accuracy(model, data, split="test"):
    """Fraction of a TextDataset split that `model` labels correctly."""
    ids, _, labels = model_data(data, model).encoded(split)
    return fraction_correct(predict(model, ids).argmax(-1).tolist(), labels.tolist())


def classify(model, vocab, label_names, texts):
    """[(label name, probability)] for raw texts: a list or tuple of strings (TypeError otherwise,
    a bare string included), each with a token to classify (ValueError otherwise), as
    lmf.runtime.Predictor takes them."""
    check_texts(texts, "classify")
    vocab = model_vocab(vocab, getattr(model, "config", None) or {})
    encoded = [vocab.encode(t) for t in texts]
    for i, ids in enumerate(encoded):
        if not len(ids):
            raise no_token(i, texts[i])
    ids, _ = pad_batch(encoded)
    probs = predict(model, ids)
    best = probs.argmax(-1)
    return [(label_names[int(i)], float(probs[row, i])) for row, i in enumerate(best)]


def count_parameters(model):
    return sum(p.numel() for p in model.parameters())


def size_on_disk(path):
    """Bytes of a file, or of every file under a directory (a saved model is a directory)."""
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def flops_dense(m, n):
    """Eq. (9): FLOPs of x (1 x m) times W (m x n)."""
    return (2 * m - 1) * n


def flops_factorized(m, n, k):
    """Eq. (10): FLOPs of (x W_a) W_b with W_a m x k and W_b k x n."""
    return 2 * (m + n) * k - (n + k)
