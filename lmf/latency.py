"""The one end-to-end latency harness: raw text in, prediction out, tokenization included for
every contestant, so a model that needs less preprocessing is not flattered or penalised.

    measure({name: fn(list_of_texts) -> predictions}, texts) ->
        {name: {"latency_ms_b1": median ms of fn([text]) over the first n_single texts,
                "test_set_seconds": median over `repeats` of the time for all texts in batches
                                    (None with repeats=0: batch 1 only),
                "throughput_b256": texts per second with fn called on lists of 256 texts, the
                                   median over every list of every repeat (None with repeats=0)}}

Batch 1 is interleaved sentence by sentence: for each text every contestant runs once, and the
order rotates by one each text, so a noisy neighbour or a cache warmed by the previous call
falls on all of them alike. Batch 256 (throughput) is interleaved the same way, list by list: the
consecutive lists of 256 texts (a set of fewer texts is repeated to make one list), and for
each list every contestant runs once, the order rotating by one each list; a contestant's
throughput is the median over its lists of 256 over the list's time (a median, as at batch 1, so
that a moment the machine is busy elsewhere does not weigh on one contestant's number). A warm-up (the first
`warmup` texts, one batch and, unless batch 1 only, one list of 256 each) goes first.
One thread: contestants are built with one thread (`onnx_contestant(threads=1)`, fastText is
single-threaded at predict) and torch, when loaded, is held at one thread for the measurement by
`torch_threads`, which restores the caller's setting. Timing is time.perf_counter_ns around each
call: torch.utils.benchmark's Timer times one statement over many runs and fits neither the
sentence-by-sentence interleaving nor callables that are not torch.

Adapters (each loads its model once, then maps a list of raw texts to predictions):
`model_contestant` / `torch_contestant` (a model in memory / a saved lmf model, eager, through
lmf.metrics.classify and our tokenizer),
`onnx_contestant` (an export, lmf.runtime.Predictor: fp32 or int8; `predictor_contestant` for
a Predictor already loaded); the sweep adds
`sweep.fasttext_baseline.fasttext_contestant` (a fastText .bin or .ftz model, raw text in).

Used by the sweep (sweep.runner's latency cells) and scripts/bench_latency.py. (The Playground times
one text through every variant with studio.playground.predict_all, which calls `measure` too.)
Deliberately not here: exporting, accuracy, or tables (scripts/bench_latency.py).
"""
import statistics
import sys
import time
from contextlib import nullcontext


def torch_threads(n):
    """lmf.metrics.torch_threads(n) (the one thread pin) when torch is loaded; nothing when it is
    not (an ONNX-only measurement never imports torch, and this keeps it so)."""
    if "torch" not in sys.modules:
        return nullcontext()
    from .metrics import torch_threads as pin
    return pin(n)


def _ns(fn, arg):
    start = time.perf_counter_ns()
    fn(arg)
    return time.perf_counter_ns() - start


THROUGHPUT_BATCH = 256  # the batch size of throughput_b256


def throughput_lists(texts, size=THROUGHPUT_BATCH):
    """The consecutive lists of `size` texts of `texts` (a shorter rest is left out); `texts`
    repeated to make one list when there are fewer. E.g. 600 texts give texts[0:256] and
    texts[256:512]; 100 texts give one list of 256: the 100 twice, then the first 56."""
    texts = list(texts)
    if len(texts) < size:
        return [(texts * -(-size // len(texts)))[:size]] if texts else []
    return [texts[s:s + size] for s in range(0, len(texts) - size + 1, size)]


def _rotated(names, i):
    shift = i % len(names)
    return names[shift:] + names[:shift]


def measure(contestants, texts, n_single=200, batch_size=64, repeats=3, warmup=20):
    """Median batch-1 latency (ms), whole-set time (s) and batch-256 throughput (texts/s) of each
    contestant on the same `texts` ({} for no contestant)."""
    names = list(contestants)
    if not names:
        return {}
    singles = list(texts[:n_single])
    batches = [list(texts[s:s + batch_size]) for s in range(0, len(texts), batch_size)]
    lists = throughput_lists(texts) if repeats else []
    per_text = {name: [] for name in names}
    whole = {name: [] for name in names}
    rates = {name: [] for name in names}
    with torch_threads(1):
        for name in names:
            for text in singles[:warmup]:
                contestants[name]([text])
            contestants[name](batches[0])
            for texts_ in lists[:1]:
                contestants[name](texts_)
        for i, text in enumerate(singles):
            for name in _rotated(names, i):
                per_text[name].append(_ns(contestants[name], [text]))
        for repeat in range(repeats):
            for name in _rotated(names, repeat):
                fn = contestants[name]
                whole[name].append(_ns(lambda bs: [fn(b) for b in bs], batches))
            for j, texts_ in enumerate(lists):
                for name in _rotated(names, repeat * len(lists) + j):
                    rates[name].append(len(texts_) * 1e9 / max(1, _ns(contestants[name], texts_)))
    return {name: {"latency_ms_b1": statistics.median(per_text[name]) / 1e6,
                   "test_set_seconds": statistics.median(whole[name]) / 1e9 if whole[name] else None,
                   "throughput_b256": statistics.median(rates[name]) if rates[name] else None}
            for name in names}


def model_contestant(model, vocab, label_names):
    """A torch model in memory, run eagerly with our tokenizer: texts -> [(label, probability)]
    (lmf.metrics.classify puts it in eval mode for each call and gives it back as it was)."""
    from .metrics import classify
    return lambda texts: classify(model, vocab, label_names, texts)


def torch_contestant(model_dir):
    """A saved lmf model run eagerly in torch: texts -> [(label, probability)]."""
    from .artifacts import load_model
    saved = load_model(model_dir)
    return model_contestant(saved.model, saved.vocab, saved.label_names)


def onnx_contestant(export_dir, threads=1):
    """An lmf export on ONNX Runtime: texts -> [(label, probability)]."""
    from .runtime import Predictor
    return predictor_contestant(Predictor(export_dir, threads=threads))


def predictor_contestant(predictor):
    """An lmf.runtime.Predictor as a user calls it: the texts given in one list are one batch,
    tokenized, run and turned into (label, probability), end to end."""
    return lambda texts: predictor.predict(texts, batch_size=max(1, len(texts)))

