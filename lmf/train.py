"""Mini-batch training with dev evaluation, best-on-dev weights and callbacks.

One function, `train`, serves the command line, the precompute sweep and the app's live
retraining: SGD, Adam or AdaGrad; a schedule from schedules.py applied every step; L2 weight
decay; dev accuracy every `eval_every` mini-batches; the weights that scored best on dev restored
at the end. `on_step` and `on_eval` callbacks see progress (the app draws its curve from them) and
can stop training early by returning True.

A diverged run raises TrainingDiverged (the model gets its best weights back first), so it is never
returned, saved or published as a success. Diverged means either
- a loss or weight that is NaN or infinite (checked at every step and every evaluation), or
- a blow-up that stays finite: the last evaluation window's mean training loss is above LOSS_BLOWUP
  times ln C (the loss of a uniform guess over C classes) AND the last dev accuracy is at chance
  (no better than the majority class's rate plus `chance_margin`) or far below the run's best
  (more than that margin under it). Both halves are needed: a short run that has not learnt
  yet ends at chance with a loss near ln C (the quick sweep: 12 steps, loss about 0.69 for 2
  classes), and a run whose loss is high but whose accuracy holds has not blown up.
  Worked example (SST-2, DAN, Adam at a constant 1e6, 500 steps): the window losses are 4.9e28
  and 1.2e29, far above 10 ln 2 = 6.9; dev ends at 48.4 % against a majority rate of
  444 / 872 = 50.9 % with a margin of 2 sqrt(0.509 x 0.491 / 872) = 3.4 points, so at chance;
  its best, 52.3 %, was the starting weights. TrainingDiverged, nothing kept.

Deliberately not here: model construction, compression, saving to disk.
"""
import copy
import math
import random
import sys
import time
from dataclasses import asdict, dataclass, replace

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .errors import LmfError
from .metrics import RESULT_THREADS, accuracy, majority_rate, torch_threads
from .models import kind_arch
from .ngrams import model_data
from .schedules import ScheduledLR, make_schedule


@dataclass
class TrainConfig:
    epochs: float = 3.0
    min_steps: int = 0  # small datasets get at least this many steps, whatever `epochs` says
    max_steps: int = None  # caps the step count (tests, the app's step budget)
    batch_size: int = 64
    optimizer: str = "adam"  # adam | sgd | adagrad
    schedule: str = "calr"  # calr | clr | constant
    lr_lb: float = 1e-4
    lr_ub: float = 2e-3
    step_size: int = None  # half-cycle in steps; default half an epoch
    decay: float = -0.5
    weight_decay: float = 0.0
    eval_every: int = 200
    seed: int = 0
    device: str = "auto"

    def __post_init__(self):
        # Checked on construction (dataclasses.replace constructs too), so that the CLI, the sweep
        # and the app all fail where the bad value was given, not halfway into a run: a zero batch
        # size would divide by zero, eval_every 0 never evaluates, epochs 0 silently trains nothing.
        problems = []
        # NaN passes no comparison below but also fails none that reads "not x < 0", and an infinite
        # rate passes "> 0": either would train to NaN and be reported as a diverged run.
        for name in ("epochs", "lr_lb", "lr_ub", "decay", "weight_decay"):
            value = getattr(self, name)
            if isinstance(value, (int, float)) and not math.isfinite(value):
                problems.append(f"{name} must be a finite number (got {value})")
        if not self.batch_size >= 1:
            problems.append(f"batch_size must be at least 1 (got {self.batch_size})")
        if not self.eval_every >= 1:
            problems.append(f"eval_every must be at least 1 (got {self.eval_every})")
        # Any positive number of epochs: a fraction trains that part of one. min_steps and max_steps
        # only raise or cap the count, so neither can stand in for it.
        if not self.epochs > 0:
            problems.append(f"epochs must be greater than 0 (got {self.epochs})")
        if not self.min_steps >= 0:
            problems.append(f"min_steps must be 0 or more (got {self.min_steps})")
        if self.max_steps is not None and not self.max_steps >= 0:
            problems.append(f"max_steps must be 0 or more (got {self.max_steps})")
        if not self.lr_lb >= 0:
            problems.append(f"lr_lb must be 0 or more (got {self.lr_lb})")
        if not self.lr_ub > 0:
            problems.append(f"lr_ub must be greater than 0 (got {self.lr_ub})")
        # The constant schedule uses lr_ub alone, so a recipe's lr_lb above it does no harm there.
        elif self.schedule != "constant" and not self.lr_ub >= self.lr_lb:
            problems.append(f"lr_ub ({self.lr_ub}) must not be below lr_lb ({self.lr_lb})")
        if not self.weight_decay >= 0:
            problems.append(f"weight_decay must be 0 or more (got {self.weight_decay})")
        if problems:
            raise ValueError("training settings: " + "; ".join(problems))

    def to_dict(self):
        return asdict(self)


# Tuned on the SST-2 dev set (see README, "How the recipes were chosen"). CALR drives Adam rather
# than SGD: with the paper's SGD at a 0.001 upper bound a randomly initialised DAN barely moves
# in a few epochs, while Adam under the same cyclic schedule trains in minutes on a CPU.
RECIPES = {
    "dan": TrainConfig(epochs=4, min_steps=2000, batch_size=128, lr_lb=5e-4, lr_ub=1e-2,
                       weight_decay=1e-6, eval_every=250),
    "lstm": TrainConfig(epochs=3, min_steps=2500, batch_size=64, lr_lb=2e-4, lr_ub=4e-3,
                        eval_every=250),
}
# Retraining after compression starts from a good model: shorter, and gentler at the top.
RETRAIN_RECIPES = {
    "dan": TrainConfig(epochs=1, min_steps=500, batch_size=128, lr_lb=1e-4, lr_ub=1e-3,
                       weight_decay=1e-6, eval_every=100),
    "lstm": TrainConfig(epochs=1, min_steps=500, batch_size=64, lr_lb=1e-4, lr_ub=1e-3,
                        eval_every=100),
}


def recipe(arch):
    """The training settings we use for a model trained from scratch (a copy, safe to change)."""
    return replace(RECIPES[kind_arch(arch)])


def retrain_recipe(arch):
    """The settings for retraining a compressed model (the paper's online step)."""
    return replace(RETRAIN_RECIPES[kind_arch(arch)])


# AdaGrad as Iyyer et al. and Tai et al. ran it: a constant rate, no cyclic schedule.
ADAGRAD_LR = 0.01


def with_schedule(config, schedule):
    """`config` driven by one of Table 1's schedules: "calr" or "clr" (with the config's optimizer),
    or "adagrad" (AdaGrad at the constant ADAGRAD_LR)."""
    if schedule == "adagrad":
        return replace(config, optimizer="adagrad", schedule="constant", lr_ub=ADAGRAD_LR)
    return replace(config, schedule=schedule)


def pick_device(device="auto"):
    """The torch.device for "auto" (CUDA if present, else the CPU), "cpu", "cuda", "cuda:1", ...;
    ValueError for a name torch does not know or a device this machine lacks (checked by making an
    empty tensor there, so that it fails here rather than halfway into a run)."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(device)
        torch.empty(0, device=device)
    except (RuntimeError, AssertionError, TypeError) as e:  # AssertionError: torch built without CUDA
        raise ValueError(f"device {str(device)!r} is not usable here ({str(e).splitlines()[0]}); "
                         "choose auto, cpu or cuda") from e
    return device


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def make_optimizer(name, params, weight_decay):
    # The schedule sets the rate on every step; 1.0 here is a placeholder it overwrites.
    if name == "adam":
        return torch.optim.Adam(params, lr=1.0, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(params, lr=1.0, momentum=0.9, weight_decay=weight_decay)
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=1.0, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {name!r}: choose adam, sgd or adagrad")


class TrainingDiverged(LmfError, ValueError):
    """Training blew up (see the module docstring: a NaN or infinite loss or weight, or an exploded
    loss with dev accuracy at chance or far below its best): the settings (usually the learning
    rate) are wrong. A ValueError, so the CLI exits 2 and autotune and the app's jobs record it as a
    failed trial."""


# The finite blow-up rule of the module docstring: a mean training loss above LOSS_BLOWUP x ln C has
# exploded (a model guessing uniformly scores ln C, and training only lowers the loss from there), and
# dev accuracies within CHANCE_SIGMAS binomial standard errors of each other are not told apart.
LOSS_BLOWUP = 10.0
CHANCE_SIGMAS = 2.0


def chance_margin(rate, n):
    """CHANCE_SIGMAS standard errors of an accuracy near `rate` measured on `n` examples:
    2 sqrt(rate (1 - rate) / n); 2 sqrt(0.509 x 0.491 / 872) = 0.034 on SST-2's dev set."""
    return CHANCE_SIGMAS * math.sqrt(rate * (1 - rate) / max(1, n))


def blown_up(history, best_dev, dev_labels, num_classes):
    """Why the run ending with `history` has blown up (a phrase for TrainingDiverged), else None:
    the finite half of the module docstring's rule."""
    last = history[-1]
    ceiling = LOSS_BLOWUP * math.log(max(2, num_classes))
    if last["loss"] is None or not last["loss"] > ceiling:
        return None
    chance = majority_rate(dev_labels)
    margin = chance_margin(chance, len(dev_labels))
    dev = last["dev_accuracy"]
    loss = (f"the training loss rose to {last['loss']:.3g} (above {LOSS_BLOWUP:g} x ln {num_classes} = "
            f"{ceiling:.3g}, {LOSS_BLOWUP:g} times a uniform guess's) and dev accuracy ended at {dev:.1%} at step "
            f"{last['step']}")
    if dev <= chance + margin:
        return (f"{loss}, no better than always answering the majority class ({chance:.1%}, within "
                f"{100 * margin:.1f} points)")
    if dev < best_dev - margin:
        return f"{loss}, far below its best of {best_dev:.1%}"
    return None


def nonfinite_weight(model):
    """The name of the first parameter holding a NaN or an infinity, else None."""
    return next((name for name, p in model.named_parameters() if not torch.isfinite(p).all()), None)


@dataclass
class TrainResult:
    model: nn.Module
    best_dev: float
    best_step: int
    history: list  # dicts: step, dev_accuracy, lr, loss, seconds
    steps: int
    seconds: float


# CPU kernels (the LSTM's, the GEMMs' blocking) split their float sums by the intra-op thread count,
# so the same seed gave different weights under 1 and 2 threads. Training always runs on this many
# threads (lmf.metrics.RESULT_THREADS, as the SVDs and evaluation do), so a seed means one model on
# any thread count. The cost, measured: 300 steps of the SST-2 DAN
# recipe (batch 128) on a 2-core machine shared with other jobs took 15.2 s and 19.2 s on 1 thread,
# 143.9 s and 192.7 s on 2 (oversubscribed); an idle machine can gain at most the second core back.
# Parallel work belongs to processes, one per run, as the sweep does.
TRAIN_THREADS = RESULT_THREADS


def step_count(config, n_train):
    """(steps, note): the number of steps `config` trains for on `n_train` examples, and a sentence
    saying so when min_steps raised it above `epochs` (else None). On a small dataset the recipes'
    min_steps turn "4 epochs" into dozens; the note makes that visible wherever training starts
    (train's progress bar, the sweep, autotune) instead of leaving it silent."""
    steps_per_epoch = max(1, -(-n_train // config.batch_size))
    by_epochs = int(config.epochs * steps_per_epoch)
    total = max(by_epochs, config.min_steps)
    if config.max_steps is not None:
        total = min(total, config.max_steps)
    note = None
    if total > by_epochs:
        note = (f"note: min_steps = {config.min_steps} raises {config.epochs:g} epoch(s) ({by_epochs} steps of "
                f"{config.batch_size} on {n_train:,} examples) to {total} steps = {total / steps_per_epoch:.1f} epochs")
    return total, note


def train(model, data, config=None, on_step=None, on_eval=None, progress=True):
    """Train `model` in place on data.train, evaluating on data.dev; returns a TrainResult whose
    model holds the best-on-dev weights (the starting weights count as step 0). Runs on
    TRAIN_THREADS intra-op threads and gives the caller's thread count back afterwards. `config`
    is a TrainConfig (None: the defaults); anything else is a TypeError."""
    with torch_threads(TRAIN_THREADS):
        return _train(model, data, config, on_step, on_eval, progress)


def _train(model, data, config, on_step, on_eval, progress):
    config = TrainConfig() if config is None else config
    if not isinstance(config, TrainConfig):  # a dict's keys would be read as attributes, and fail late
        raise TypeError(f"config must be a TrainConfig (lmf.train.recipe(arch), or TrainConfig(**settings)), "
                        f"not a {type(config).__name__}")
    data = model_data(data, model)  # a pruned or n-gram model's ids (lmf.ngrams)
    seed_everything(config.seed)
    device = pick_device(config.device)
    model.to(device)
    ids, lengths, labels = data.encoded("train")
    n = len(labels)
    steps_per_epoch = max(1, -(-n // config.batch_size))
    total, note = step_count(config, n)
    if note and progress:
        tqdm.write(note, file=sys.stderr)
    optimizer = make_optimizer(config.optimizer, model.parameters(), config.weight_decay)
    schedule = make_schedule(config.schedule, steps_per_epoch, config.lr_lb, config.lr_ub,
                             config.step_size, config.decay)
    scheduler = ScheduledLR(optimizer, schedule)
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(config.seed)

    start = time.perf_counter()
    best_dev = accuracy(model, data, "dev")
    best_state, best_step = copy.deepcopy(model.state_dict()), 0
    history = [{"step": 0, "dev_accuracy": best_dev, "lr": schedule(0), "loss": None, "seconds": 0.0}]
    stop = bool(on_eval and on_eval(history[0]))
    bar = tqdm(total=total, disable=not progress, desc="train", unit="step", leave=False)

    def diverged(what):
        bar.close()
        model.load_state_dict(best_state)  # the caller's model is left usable, never NaN
        model.eval()
        raise TrainingDiverged(f"training diverged: {what} ({config.optimizer}, learning rate up to "
                               f"{config.lr_ub:g}); no model was kept: try a lower learning rate")

    step, order, running = 0, torch.empty(0, dtype=torch.long), []
    model.train()
    while step < total and not stop:
        if step % steps_per_epoch == 0:
            order = torch.randperm(n, generator=generator)
        pos = (step % steps_per_epoch) * config.batch_size
        batch = order[pos:pos + config.batch_size]
        width = int(lengths[batch].max().clamp(min=1))
        logits = model(ids[batch, :width].to(device))
        loss = loss_fn(logits, labels[batch].to(device))
        running.append(loss.item())
        if not math.isfinite(running[-1]):
            diverged(f"the loss is {running[-1]} at step {step + 1}")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        lr = optimizer.param_groups[0]["lr"]
        scheduler.step()
        step += 1
        bar.update(1)
        if on_step and on_step(step, running[-1], lr):
            stop = True
        if step % config.eval_every == 0 or step == total or stop:
            # Every state that can become the best one is checked: each step's loss only sees the
            # weights before that step's update.
            if (name := nonfinite_weight(model)) is not None:
                diverged(f"weight '{name}' is NaN or infinite after step {step}")
            dev = accuracy(model, data, "dev")
            record = {"step": step, "dev_accuracy": dev, "lr": lr, "loss": float(np.mean(running)),
                      "seconds": time.perf_counter() - start}
            history.append(record)
            running = []
            bar.set_postfix(dev=f"{dev:.4f}", best=f"{max(best_dev, dev):.4f}")
            if dev > best_dev:
                best_dev, best_step = dev, step
                best_state = copy.deepcopy(model.state_dict())
            if on_eval and on_eval(record):
                stop = True
    if (why := blown_up(history, best_dev, data.dev.labels, len(data.label_names))) is not None:
        diverged(why)
    bar.close()
    model.load_state_dict(best_state)
    model.eval()
    return TrainResult(model, best_dev, best_step, history, step, time.perf_counter() - start)
