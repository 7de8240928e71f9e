"""What we measure: predictions and accuracy, parameter counts, bytes on disk, FLOPs, latency.

FLOPs follow section 4: a dense m x n layer costs F_Q = (2m - 1)n per input (eq. 9), the
factorized pair costs F_S = 2(m + n)k - (n + k) (eq. 10).

Deliberately not here: training, latency (lmf.latency, the one timing harness), and any judgement
of what counts as "fast enough".
"""
from pathlib import Path

import torch

from .data import pad_batch


@torch.no_grad()
def predict(model, ids, batch_size=1024):
    """Class probabilities [N, C] for padded ids [N, T], in eval mode, restoring the mode after."""
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


def accuracy(model, data, split="test"):
    """Fraction of a TextDataset split that `model` labels correctly."""
    ids, _, labels = data.encoded(split)
    return (predict(model, ids).argmax(-1) == labels).float().mean().item()


def classify(model, vocab, label_names, texts):
    """[(label name, probability)] for raw texts."""
    ids, _ = pad_batch([vocab.encode(t) for t in texts])
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
