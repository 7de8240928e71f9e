"""What we measure: predictions and accuracy, parameter counts, bytes on disk, FLOPs, latency.

FLOPs follow section 4: a dense m x n layer costs F_Q = (2m - 1)n per input (eq. 9), the
factorized pair costs F_S = 2(m + n)k - (n + k) (eq. 10). Latency is measured, never estimated:
warm-up calls first, a fixed thread count, several repeats with every model measured in turn
within each repeat (interleaved, so that a noisy neighbour slows all of them alike), and the median.

Deliberately not here: training, and any judgement of what counts as "fast enough".
"""
import statistics
import time
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


def _time(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure_latency(models, ids, n_single=200, batch_size=64, repeats=5, warmup=20, threads=1):
    """Interleaved CPU latency of several models on the same inputs.

    `models` maps name -> model; `ids` are padded test ids [N, T]. Returns name ->
    {"latency_ms_b1": median ms per sentence at batch size 1 over the first `n_single` sentences,
     "test_set_seconds": median seconds to classify all N in batches of `batch_size`}.
    """
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    # The callers' models may be cached (the app): put each in eval mode for timing and give it back
    # in the mode it came in.
    was_training = {name: m.training for name, m in models.items()}
    try:
        for model in models.values():
            model.eval()
        lengths = (ids != 0).sum(1).clamp(min=1)
        singles = [ids[i:i + 1, :int(lengths[i])] for i in range(min(n_single, len(ids)))]
        batches = [ids[s:s + batch_size, :int(lengths[s:s + batch_size].max())]
                   for s in range(0, len(ids), batch_size)]
        with torch.no_grad():
            for model in models.values():
                for x in singles[:warmup]:
                    model(x)
                for b in batches[:2]:
                    model(b)
            per_sentence = {name: [] for name in models}
            whole_set = {name: [] for name in models}
            names = list(models)
            for repeat in range(repeats):
                # Rotate who goes first, so that no model always runs on a cold (or warm) cache.
                shift = repeat % len(names)
                for name in names[shift:] + names[:shift]:
                    model = models[name]
                    per_sentence[name].extend(_time(lambda: model(x)) for x in singles)
                    whole_set[name].append(_time(lambda: [model(b) for b in batches]))
        return {name: {"latency_ms_b1": 1000 * statistics.median(per_sentence[name]),
                       "test_set_seconds": statistics.median(whole_set[name])} for name in models}
    finally:
        for name, model in models.items():
            model.train(was_training[name])
        torch.set_num_threads(previous_threads)
