"""Live retraining for the app: the settings of a short run and the data it evaluates on.

Deliberately not here: Streamlit code, or a second training loop (lmf.train.train runs it).
"""
import time
from dataclasses import replace

from .data import DataError, TextDataset, load_dataset
from .grid import QUICK
from .train import retrain_recipe, with_schedule


def live_config(arch, steps, schedule="calr", eval_every=None, seed=0):
    """lmf.train.retrain_recipe with a step budget: CALR or CLR with Adam as the sweep retrains,
    or AdaGrad at a constant rate (Table 1's third schedule). Evaluates about 25 times per run."""
    config = replace(retrain_recipe(arch), max_steps=int(steps), min_steps=0, seed=seed, device="cpu",
                     eval_every=eval_every or max(1, int(steps) // 25))
    return with_schedule(config, schedule)


def evaluation_data(dataset, vocab, label_names, quick=False):
    """The dataset with the saved model's vocabulary (so ids match the model). In quick artifacts
    the sweep used the first examples only (lmf.grid.QUICK); the same cut is applied here so the
    numbers are comparable. Raises DataError when the data cannot be found."""
    data = load_dataset(dataset)
    if quick:
        data = data.subset(QUICK["n_train"], QUICK["n_eval"])
    if list(data.label_names) != list(label_names):
        raise DataError(f"{dataset}: the data's labels do not match the saved model's")
    return TextDataset(data.name, data.train, data.dev, data.test, data.label_names, vocab=vocab)


def dev_subset(data, n):
    """A copy of `data` whose dev split is its first n examples (live curves evaluate faster)."""
    if n is None or n >= len(data.dev):
        return data
    dev = type(data.dev)(data.dev.texts[:n], data.dev.labels[:n])
    return TextDataset(data.name, data.train, dev, data.test, data.label_names, vocab=data.vocab)


class Throttle:
    """ready() is True at most once per `interval` seconds (the live chart's redraw limit)."""

    def __init__(self, interval=0.5):
        self.interval, self.last, self.gaps = interval, None, []

    def ready(self, force=False):
        now = time.perf_counter()
        if force or self.last is None or now - self.last >= self.interval:
            if self.last is not None:
                self.gaps.append(now - self.last)
            self.last = now
            return True
        return False

    @property
    def max_gap(self):
        return max(self.gaps, default=0.0)
