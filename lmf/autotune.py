"""Autotune: the smallest deployable model within an accuracy budget, found by searching methods and R.

    python -m lmf autotune --data DIR_OR_NAME --model dan --max-drop 1.0 [--budget-minutes 30] --out DIR

First the base model. Its learning rate and width are chosen on dev, within the same budget, by a
coordinate search of a few recipes (BaseRecipe, base_recipes): the DAN's small shape (64-d, hidden
256 and 128) at three learning rates, then the paper's shape (300-d, 1024 and 512) at the best rate
and the next lower one; its epochs by early stopping (training ends once dev accuracy has not
risen for PATIENCE evaluations, not before BASE_WARMUP, the best-on-dev weights kept). It trains the fast way (Tuner: a 4x
wider batch, dev accuracy every epoch), as does every retraining after it. The best base on dev is
the reference: the one compressed and measured against. --no-tune-base trains the one base and
every retraining with lmf.train's recipes instead, as the sweep does; --from takes a saved model
as the base (retrained the fast way unless --no-tune-base). Every model kind of
lmf.names.MODEL_KINDS can be tuned: the n-gram DAN (--model dan_ngram) as the DAN, by its
architecture's recipes, without the word-pair stage (it reads word pairs already).

Then every compression method of lmf.methods that compresses the uncompressed model and retrains
(LMF, HMF, GroupReduce, whole-model LMF for the DAN) and every `+ int8` stack on one of them is
searched over R in [R_MIN, R_MAX] by bisection: accuracy falls as R grows, so each method's largest
R still within the target is its smallest model. The searches take turns best first (methods
with no answer yet, then the one with the smallest answer so far: Search.proposals), so that a
budget that runs out mid-search has gone where a better answer can come from. A trial is one
cell of lmf.trial (Trials.trial: make, then retrain), saved, exported as it would be deployed
(lmf.export; int8 for the stacks) and scored on dev through the export (lmf.runtime). Its size is
the export directory's bytes. The target is the reference base export's dev accuracy minus
--max-drop points. The chosen model is the smallest trial within the target; when none is within
it, the trial with the best dev accuracy, and the summary says the target was missed. Test
accuracy is measured for the base and the chosen model only, at the end.

The size question (--max-bytes N, fastText's -autotune-modelsize) asks instead for the most
accurate deployable model whose export is at most N bytes: bytes fall as R grows, so each method's
bisection seeks its smallest R that fits (its most accurate fitting model), and the chosen model is
the most accurate fitting trial on dev, the base included if it fits; when none fits, the smallest
trial, said to miss. summary.json's `question` says which was asked (max_drop or max_bytes).

What --out holds, all written atomically (lmf.atomic), the best-so-far files after every trial, so
a run cut off at any point still has a model and a true summary:
    model/          the chosen model as a deployable export (lmf.runtime.Predictor reads it)
    saved_model/    the lmf saved model (lmf.artifacts) the export is made from: the chosen model, or
                    for a `+ int8` stack the retrained fp32 model its int8 export quantizes
    trials.csv      one row per trial: base (its recipe's name), method, R, bytes, dev_accuracy, seconds,
                    status, within_target, steps (trained) and best_step (the weights kept)
    summary.json, SUMMARY.md   base, chosen, target met or not, in plain words, and `warnings`: what
                    makes the numbers mean little (a split of one class, a dev or test set where one
                    example is worth more than a point or the tolerance, a base no better than the
                    majority class), shown first in SUMMARY.md (the Your data page shows it); and
                    `margin_note`, a sentence when the choice clears the target by less than the
                    standard error of its dev accuracy
    autotune.json   what was tuned (data, model, --from, --vectors): marks the folder as autotune's
    autotune.lock   the pid of the run using the folder, flock'd while it runs: a second autotune on
                    the same --out is refused while the first runs (a dead run's lock is free)
    work/           the trials' cells, saved models and exports (lmf.trial's layout), one folder
                    per base recipe under work/bases/ when the base is tuned
A restart with the same --out resumes: finished trials (trials.csv), bases included, are not run
again; once a compressed trial exists the reference base is settled. A folder that is not an earlier autotune output is never written into.

The budget: no trial starts once --budget-minutes have passed, nor one that would surely overrun
(its kind's fastest trial so far, training or int8 stacking, would end past the budget); no other
base starts once it would end past BASE_SHARE of the budget. Trials start in rounds of at most one
per worker, so the run ends within the budget plus at most one trial's time (one base is always
trained: nothing can be searched without it).

Deliberately not here: building models (lmf.trial, lmf.methods), exporting (lmf.export).
"""
import csv
import fcntl
import json
import math
import os
import re
import shutil
import time
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path

from tqdm.auto import tqdm

from .artifacts import ArtifactError, is_saved_model
from .atomic import replace_dir, write_json_atomic, write_text_atomic
from .data import NAMED
from .export import is_export
from .layout import has_format
from .methods import METHODS, Cell, method_label
from .metrics import majority_rate, size_on_disk
from .models import KINDS, kind_arch, kind_of, new_model
from .names import MODEL_KINDS
from .ngrams import DEFAULT_BUCKETS
from .results import read_table, write_rows
from .units import mb, tolerance
from .selection import within_tolerance
from .train import recipe
from .trial import Trials, dask_client, dask_workers, deployable_accuracy, run_cells, run_cells_dask

R_MIN, R_MAX = 50, 99
MARKER, TRIALS, SUMMARY, SUMMARY_MD = "autotune.json", "trials.csv", "summary.json", "SUMMARY.md"
LOCK = "autotune.lock"
MODEL, SAVED = "model", "saved_model"
TRIAL_COLUMNS = ["base", "method", "R", "bytes", "dev_accuracy", "seconds", "status", "within_target", "steps",
                 "best_step"]
FORMAT = "lmf-autotune"


def candidates(arch, methods=None):
    """The methods autotune searches for `arch`, in registry order: those that compress the
    uncompressed model and retrain, then the stacks on them (`methods` narrows the list)."""
    base = [n for n, m in METHODS.items() if m.source == "uncompressed" and m.retrains and arch in m.archs]
    stacked = [n for n, m in METHODS.items() if m.stacks_on in base and arch in m.archs]
    return [n for n in base + stacked if methods is None or n in methods]


def next_probe(passed, failed, lo=R_MIN, hi=R_MAX):
    """The next R to try for one method, or None when its search is over. `passed` and `failed` are
    the Rs tried so far within and outside the target. Bisection on the Rs still undecided: above
    the largest pass, below the smallest failure; the upper middle, so [50, 99] opens at 75.
    Worked example: 75 passes (76..99 left), 88 fails (76..87), 82 passes (83..87), 85 ... at most
    ceil(log2(51)) = 6 trials."""
    a = max([lo - 1, *passed]) + 1
    b = min([hi + 1, *failed]) - 1
    return None if a > b else (a + b + 1) // 2


# How autotune trains a base it tunes (tune_base), and every retraining then: lmf.train's recipes
# with a batch BATCH_SCALE times theirs (fewer optimizer steps over the whole embedding table per
# epoch: on MPQA a DAN epoch took 2.3 s at batch 128 and 1.1 s at 512), dev accuracy every epoch (at
# most every EVAL_STEPS steps), and early stopping once PATIENCE evaluations in a row bring no better
# dev accuracy (lmf.trial.stop_after; a base not before BASE_WARMUP evaluations, so that one at a low
# rate is not stopped while it still answers the majority class), within BASE_EPOCHS /
# RETRAIN_EPOCHS and MAX_STEPS. The
# retraining's rates are RETRAIN_LR_SCALE times the recipe's (a 4x batch takes a larger step).
# With --from there is no base to train (its retrainings are fast); without tune_base everything
# trains as the sweep trains.
BATCH_SCALE = 4
EVAL_STEPS = 100
PATIENCE = 4
BASE_WARMUP = 10
BASE_EPOCHS, RETRAIN_EPOCHS, MAX_STEPS = 30, 10, 3000
RETRAIN_LR_SCALE = 2
# The base recipes tried, by coordinate search (base_recipes): first the first shape at each
# learning rate (the recipe's lr_ub times each scale, in this order, lr_lb keeping the recipe's ratio
# to it), then the other shapes at the best of those rates and the next lower one, then the best
# so far with word pairs (hashed n-grams, lmf.ngrams: fastText's trick). DAN shapes:
# (embedding dimension, hidden sizes), a small one and the paper's; the LSTM keeps its shape (its
# dimension is its word vectors').
LR_SCALES = {"dan": (3, 10, 1), "lstm": (2, 4, 1)}
NGRAMS = 2  # the n-grams of the last stage (word pairs, fastText's advice for classification)
BASE_SHARE = 0.4  # of the budget, after which no other base starts (once one is trained)
SHAPES = {"dan": ((64, (256, 128)), (300, (1024, 512))), "lstm": ((None, None),)}


@dataclass(frozen=True)
class BaseRecipe:
    """One way to train the base: its learning rate's upper bound and, for the DAN, its embedding
    dimension, hidden sizes and hashed word n-grams (lmf.ngrams: n, in DEFAULT_BUCKETS rows; None:
    the model's defaults, words only). `name` is its folder under work/bases/ and its trials.csv
    `base`."""
    lr: float
    embed_dim: int = None
    hidden: tuple = None
    ngrams: int = None

    @property
    def name(self):
        shape = (f"d{self.embed_dim}-h{'x'.join(map(str, self.hidden))}-" if self.hidden else "")
        return f"{shape}lr{self.lr:g}" + (f"-ng{self.ngrams}" if self.ngrams else "")


def base_recipes(kind):
    """The BaseRecipes of the coordinate search for model kind `kind` (lmf.models.KINDS: its
    architecture's rates and shapes), by stage: (stage 1: the first shape at each learning rate,
    stage 2: a function of stage 1's best rate giving the other shapes at that rate and at the next
    lower one of the rates, as a larger model often wants a smaller step, stage 3: a function of
    the best recipe so far giving it with word n-grams, for a DAN that does not read them already).
    DAN: the small shape at 0.03, 0.1, 0.01; if 0.03 is best, the paper's shape at 0.03 and 0.01;
    then the best of those five with word pairs. The n-gram DAN: the same five, no third stage
    (its kind reads word pairs already)."""
    arch = kind_arch(kind)
    rates = [recipe(arch).lr_ub * s for s in LR_SCALES[arch]]
    first, *others = SHAPES[arch]
    reads_ngrams = bool(KINDS[kind][1].get("ngrams"))

    def second(best):
        lower = [lr for lr in rates if lr < best]
        return [BaseRecipe(lr, *shape) for shape in others for lr in [best, *([max(lower)] if lower else [])]]

    def third(best):
        return [replace(best, ngrams=NGRAMS)] if arch == "dan" and not reads_ngrams and not best.ngrams else []
    return [BaseRecipe(lr, *first) for lr in rates], second, third


class Tuner(Trials):
    """Trials whose cells are autotune's: the model made as the sweep makes it (Trials.trial:
    built, saved, exported as deployed), then scored on dev through the export. A trial that
    cannot be made (an R a method cannot reach, a diverged retraining) is recorded with its error.
    `fast` trains the base and every retraining the fast way above (training_recipe, early
    stopping), the base with the learning rate and shape of `base` (a BaseRecipe) when one is
    given; without `fast`, everything trains as the sweep trains."""

    def __init__(self, *args, base=None, fast=False, **kwargs):
        super().__init__(*args, patience=PATIENCE if fast else None, warmup=BASE_WARMUP if fast else 0, **kwargs)
        self.base, self.fast = base, fast

    def training_recipe(self, cell, retrain=False):
        plain = super().training_recipe(cell, retrain)
        if not self.fast:
            return plain
        batch = plain.batch_size * BATCH_SCALE
        per_epoch = max(1, -(-len(self.data(cell.dataset).train) // batch))
        if retrain:
            lr_ub, epochs = plain.lr_ub * RETRAIN_LR_SCALE, RETRAIN_EPOCHS
        else:
            lr_ub, epochs = self.base.lr if self.base else plain.lr_ub, BASE_EPOCHS
        return replace(plain, batch_size=batch, lr_ub=lr_ub, lr_lb=lr_ub * plain.lr_lb / plain.lr_ub, epochs=epochs,
                       min_steps=0, max_steps=MAX_STEPS, eval_every=min(per_epoch, EVAL_STEPS))

    def _new(self, cell, data):
        base = self.base
        if base is None or (base.hidden is None and not base.ngrams) or cell.method != "uncompressed":
            return super()._new(cell, data)
        return new_model(cell.model, len(data.vocab), len(data.label_names), embed_dim=base.embed_dim, seed=cell.seed,
                         hidden=list(base.hidden) if base.hidden else None, ngrams=base.ngrams,
                         buckets=DEFAULT_BUCKETS if base.ngrams else None)

    def run(self, cell, progress=False):
        start = time.perf_counter()
        self.clear(cell)
        data = self.data(cell.dataset)
        method = METHODS[cell.method]
        record = {"cell": {"dataset": cell.dataset, "model": cell.model, "method": cell.method,
                           "reduction": cell.reduction, "seed": cell.seed, "schedule": cell.schedule},
                  "quick": self.quick, "method": cell.method, "R": cell.reduction}
        try:
            if method.source == "scratch" and self.vocab_from:  # --from: the given model is the base
                shutil.copytree(self.vocab_from, self.model_dir(cell))
                self.deploy(cell)
            else:
                made = self.trial(cell, data, progress)
                if made.result is not None:
                    record.update(steps=made.result.steps, best_step=made.result.best_step)
            record.update(bytes=size_on_disk(self.export_dir(cell)),
                          dev_accuracy=deployable_accuracy(self.export_dir(cell), data, "dev"), status="ok")
        except (ValueError, ArtifactError) as e:  # DataError, ExportError, TrainingDiverged are ValueErrors
            record.update(bytes=None, dev_accuracy=None, status=f"error: {str(e).splitlines()[0][:200]}")
        record["seconds"] = time.perf_counter() - start
        write_json_atomic(self.cell_file(cell), record)
        return record


@dataclass(frozen=True)
class Probe:
    """A trial of the search: a cell made from base `base` (its Tuner's)."""
    base: str
    cell: Cell

    @property
    def id(self):
        return f"{self.base}-{self.cell.id}"


class Tuners:
    """The Tuner of each base, as one `trials` object for lmf.trial.run_cells (picklable: it goes to
    the worker processes): runs a Probe with its base's Tuner."""

    def __init__(self, tuners):
        self.tuners = tuners

    def run(self, probe, progress=False):
        return self.tuners[probe.base].run(probe.cell, progress)


def _is_number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def check_settings(model="dan", max_drop=1.0, budget_minutes=None, max_bytes=None, r_range=(R_MIN, R_MAX), jobs=1):
    """ValueError, said plainly, for a setting autotune cannot run with; else None. The one check of
    autotune's settings: autotune() runs it before anything is written, the CLI before anything is
    read (error: and exit 2), and the Your data page and its jobs through studio.jobs.check_settings.

    NaN fails every comparison, so `not 0 <= x` also refuses it (a NaN tolerance once ran with the
    target "dev accuracy at least nan%"); the budget and the size must be finite, the tolerance at
    most 100 points (accuracy is a percentage)."""
    problems = []
    if model not in MODEL_KINDS:
        problems.append(f"model {model!r}: choose one of {', '.join(MODEL_KINDS)}")
    if not (_is_number(max_drop) and 0 <= max_drop <= 100):
        problems.append(f"tolerance (max drop) {max_drop!r}: give the largest accuracy drop allowed on dev, in "
                        "points from 0 to 100")
    if budget_minutes is not None and not (_is_number(budget_minutes) and 0 < budget_minutes < math.inf):
        problems.append(f"time budget {budget_minutes!r}: give a number of minutes above 0")
    if max_bytes is not None and not (_is_number(max_bytes) and 1 <= max_bytes < math.inf):
        problems.append(f"size limit (max bytes) {max_bytes!r}: give the largest export size allowed, in bytes "
                        "(1 or more)")
    lo, hi = r_range
    if not (_is_number(lo) and _is_number(hi) and 0 < lo <= hi <= 99):
        # R is a percentage removed: 100 would remove the whole embedding.
        problems.append(f"the R range must satisfy 0 < R min <= R max <= 99 (got {lo} to {hi})")
    if not (type(jobs) is int and jobs >= 1):  # bool is an int subclass: jobs=True is refused
        problems.append(f"jobs {jobs!r}: give the number of trials to run at once (1 or more)")
    if problems:
        raise ValueError("; ".join(problems))


def parse_bytes(text):
    """A size as the CLI takes it: bytes, or with a decimal unit (kB, MB, GB; k, M, G), so
    "500000", "500kB" and "0.5MB" are the same 500,000 bytes; ValueError for anything else (a
    number too large for a float, "1e400", included)."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([kmg]?)b?\s*", str(text), re.IGNORECASE)
    if not match:
        raise ValueError(f"size {text!r}: give bytes, e.g. 500000, 500kB or 0.5MB")
    number, unit = match.groups()
    size = float(number) * {"": 1, "k": 1e3, "m": 1e6, "g": 1e9}[unit.lower()]
    if not math.isfinite(size):  # "1e400" reads as infinity, which no int can hold
        raise ValueError(f"size {text!r}: too large to be a number of bytes; give e.g. 500000, 500kB or 0.5MB")
    return round(size)


def is_autotune_dir(path):
    return has_format(path, MARKER, FORMAT)


def _dataset_key(data):
    """The name autotune's cells give the data: a name of lmf.data, else the directory's name made
    into a cell-id field (lowercase letters, digits, underscores)."""
    if data in NAMED:
        return data
    return re.sub(r"[^a-z0-9_]", "_", Path(data).resolve().name.lower()).strip("_") or "data"


def _prepare(out, settings):
    """Create `out` with its marker, or check that it holds an autotune of the same data and model
    (then the run resumes there). Refuses any other folder (lmf.atomic.replace_dir's rule)."""
    out = Path(out)
    if is_autotune_dir(out):
        earlier = json.loads((out / MARKER).read_text(encoding="utf-8"))
        same = {k: earlier.get(k) for k in settings} == settings
        if not same:
            hint = (" (an autotune made before bases were tuned resumes with --no-tune-base)"
                    if settings.get("tune_base") and "tune_base" not in earlier else "")
            raise FileExistsError(f"{out} holds an autotune of other settings ({earlier.get('data')}, "
                                  f"{earlier.get('model')}, quick={earlier.get('quick')}, from={earlier.get('from')}, "
                                  f"tune_base={bool(earlier.get('tune_base'))}); use another --out to tune this one{hint}")
        return out
    try:
        replace_dir(out, lambda tmp: write_json_atomic(tmp / MARKER, {"format": FORMAT, **settings}),
                    owned=is_autotune_dir)
    except FileExistsError as e:
        raise FileExistsError(f"{e} (autotune writes only into a new or empty folder or an earlier autotune's)") from e
    return out


def _check_from(base_from, model, source, quick):
    """--from's saved model (an ArtifactError for anything else, an export included), of model kind
    `model` (a ValueError naming its own kind: an LSTM searched as a DAN would be labelled a DAN),
    and the data `source` seen through its vocabulary and labels (cached_data, which the trials
    then reuse: a DataError when the data has a label the model does not know)."""
    from .artifacts import load_model
    from .trial import cached_data
    kind = kind_of(load_model(base_from).config)
    if kind != model:
        raise ValueError(f"--from {base_from} holds a {kind} model, not a {model}: autotune it with --model {kind}")
    cached_data(source, bool(quick), str(Path(base_from).resolve()))


def _lock(out):
    """Hold `out`'s LOCK file, flock'd, with this process's pid in it, until the returned file is
    closed or the process dies; FileExistsError naming the holder's pid when another autotune holds
    it (two runs on one --out would each rewrite trials.csv without the other's trials). The lock
    of a process that died went with it, so its file's stale pid is simply taken over. The file
    is left in place when the run ends: removing it could let a third run lock a new file while a
    second still holds the old one."""
    path = Path(out) / LOCK
    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 (held open: the lock lasts as long as it)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise FileExistsError(f"{out} is in use by another autotune (pid {holder}); wait for it to end, "
                              "or give another --out") from None
    if not path.exists() or os.fstat(handle.fileno()).st_ino != os.stat(path).st_ino:  # two runs made it at once
        handle.close()
        raise FileExistsError(f"{out} was made by another autotune started at the same moment; give another --out")
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def _read_trials(out, default_base):
    """The finished trials of an earlier run: {(base, method, R): row}; a row without a base (written
    before bases were tuned) is `default_base`'s; an unreadable file counts as none."""
    path = Path(out) / TRIALS
    if not path.is_file():
        return {}
    rows = {}
    try:
        lines = read_table(path)[1]
    except (OSError, UnicodeDecodeError, csv.Error):
        return {}  # an unreadable file counts as none: every trial is run again
    for _, row in lines:
        try:
            base = row.get("base") or default_base
            rows[(base, row["method"], int(row["R"]))] = {
                "base": base, "method": row["method"], "R": int(row["R"]), "status": row["status"],
                "bytes": int(row["bytes"]) if row["bytes"] else None,
                "dev_accuracy": float(row["dev_accuracy"]) if row["dev_accuracy"] else None,
                "seconds": float(row["seconds"]),
                **{k: int(row[k]) if row.get(k) else None for k in ("steps", "best_step")}}
        except (KeyError, ValueError):
            continue  # a damaged row is run again
    return rows


def choose(trials, target):
    """(chosen trial, target met): the smallest trial within `target` dev accuracy, fewer bytes
    first then higher dev; when none is within it, the best on dev (then the smallest); None when no
    compressed trial finished."""
    done = [t for t in trials if t["status"] == "ok" and t["method"] != "uncompressed"]
    within = [t for t in done if t["dev_accuracy"] >= target]
    if within:
        return min(within, key=lambda t: (t["bytes"], -t["dev_accuracy"])), True
    if done:
        return max(done, key=lambda t: (t["dev_accuracy"], -t["bytes"])), False
    return None, False


def margin_note(dev_accuracy, target, dev_examples, trials):
    """A sentence when the chosen model clears the dev target by less than the standard error of its
    dev accuracy, sqrt(p (1 - p) / n), else None. Of many trials the smallest that clears the target
    is the one whose dev score most likely flatters it: on SST-2 (bench_autotune_6) the choice
    cleared it by 0.08 points and tested 1.25 points under its dev score, while the base tested 0.08
    above its own. It informs; the choice stays the smallest within the target.
    Worked example: dev 712 / 872 = 81.65 %, target 81.57 %: it clears it by 0.08 points, 0.72 of
    an example (rounded: 1), and sqrt(0.8165 x 0.1835 / 872) = 1.3 points: the sentence."""
    if not dev_examples:
        return None
    margin, standard_error = dev_accuracy - target, math.sqrt(dev_accuracy * (1 - dev_accuracy) / dev_examples)
    if margin >= standard_error:
        return None
    return (f"It clears the target by {100 * margin:.2f} points ({round(margin * dev_examples)} of "
            f"{dev_examples:,} dev examples), less than the standard error of a dev accuracy here (about "
            f"{100 * standard_error:.1f} points): the smallest of {trials} trials to clear it is the one most "
            "likely to have been helped by chance, so on new data it may score below the target. The models "
            "that clear it by more are in trials.csv.")


def choose_under(trials, max_bytes):
    """(chosen trial, met) for the size question: the most accurate trial on dev whose export is at
    most `max_bytes`, the base included (fewer bytes breaks a tie); when none fits, the smallest
    one (then the best on dev), not met; None when no trial finished."""
    done = [t for t in trials if t["status"] == "ok"]
    fitting = [t for t in done if t["bytes"] <= max_bytes]
    if fitting:
        return max(fitting, key=lambda t: (t["dev_accuracy"], -t["bytes"])), True
    if done:
        return min(done, key=lambda t: (t["bytes"], -t["dev_accuracy"])), False
    return None, False


def _points(x):
    return f"{100 * x:.2f}%"


def data_warnings(data, max_drop=None):
    """Sentences saying where `data` (as the search sees it) cannot give the numbers meaning, else
    []: a split of one class (always answering it scores 100 %), and a dev or test set so small
    that one example is worth more than one point, or more than the tolerance when that is
    smaller. Worked example: 5 dev examples, --max-drop 1: one example is 100 / 5 = 20 points, so a
    model one example worse than the base is 20 points below it and the tolerance cannot be
    resolved; at least 100 / 1 = 100 examples are needed to tell one point apart."""
    warnings = []
    for split in ("train", "dev", "test"):
        labels = data.split(split).labels
        if len(set(labels)) == 1:
            name = data.label_names[labels[0]]
            warnings.append(f"The {split} set holds one class only ({name!r}): "
                            + ("the models can only learn to answer it." if split == "train" else
                               f"a model that always answers {name!r} scores 100% on it, so its accuracy "
                               "cannot tell the models apart and means nothing."))
    limit = min(1.0, max_drop) if max_drop else 1.0
    what = f"the {max_drop:g}-point tolerance" if max_drop and max_drop < 1 else "one point"
    for split in ("dev", "test"):
        n = len(data.split(split))
        if n and 100 / n > limit:
            why = ("the search cannot tell a model within the tolerance from one outside it"
                   if split == "dev" else "test accuracy cannot tell models a point apart")
            warnings.append(f"The {split} set has {n} example(s): one is worth {100 / n:.3g} points of accuracy, "
                            f"more than {what}, so {why}; the numbers mean little "
                            f"({math.ceil(100 / limit)} or more examples would resolve {what}).")
    return warnings


def base_warning(data, dev_accuracy):
    """A sentence when the base model is no better on dev than always answering the most frequent
    dev label (it learnt nothing, so the search compresses nothing worth keeping), else None."""
    labels = data.dev.labels
    if len(set(labels)) < 2:
        return None  # said by data_warnings already
    rate = majority_rate(labels)
    if dev_accuracy <= rate:
        return (f"The base model scores {_points(dev_accuracy)} on dev, no better than always answering its most "
                f"frequent class ({_points(rate)}): it has learnt nothing a compressed model could keep.")
    return None


def summary_text(s):
    """SUMMARY.md: the outcome in plain words."""
    base, chosen = s["base"], s["chosen"]
    lines = [f"# Autotune: {s['model']} on {s['data']}", ""]
    warnings = s.get("warnings") or []
    for warning in warnings:
        lines.append(f"**Warning:** {warning}")
    if warnings:
        lines.append("")
    how = ""
    if s.get("tune_base"):
        how = f"; {base['recipe']}, the best on dev of {s['base_trials']} base recipe(s) tried"
    if base.get("best_step") is not None:
        how += f"; its best dev accuracy at step {base['best_step']} of {base['steps']}"
    lines.append(f"Base (uncompressed {s['model']}, fp32 export{how}): {base['bytes']:,} bytes, "
                 f"dev {_points(base['dev_accuracy'])}"
                 + (f", test {_points(base['test_accuracy'])}" if base.get("test_accuracy") is not None else "") + ".")
    by_size = s.get("question") == "max_bytes"
    if by_size:
        lines.append(f"Target: the most accurate model on dev whose export is at most {s['max_bytes']:,} bytes "
                     "(the base counts if it fits).")
    else:
        lines.append(f"Target: dev accuracy at least {_points(s['target_dev_accuracy'])} "
                     f"(at most {tolerance(s['max_drop'])} below the base).")
    lines.append("")
    caveat = " (on data the warnings above say gives the numbers little meaning)" if warnings else ""
    if chosen is None:
        lines.append("No compressed model was finished, so the target was not met; the saved model is the base.")
    else:
        where = "the base itself" if chosen["method"] == "uncompressed" else f"{chosen['label']} at R = {chosen['R']}"
        what = (f"{where}: {chosen['bytes']:,} bytes "
                f"({chosen['bytes'] / base['bytes']:.1%} of the base), dev {_points(chosen['dev_accuracy'])}"
                + (f", test {_points(chosen['test_accuracy'])}" if chosen.get("test_accuracy") is not None else ""))
        if by_size and s["target_met"]:
            lines.append(f"Target met{caveat}. The most accurate model that fits: {what}.")
        elif by_size:
            lines.append(f"Target NOT met: no model tried fits in {s['max_bytes']:,} bytes. The smallest one tried, "
                         f"saved anyway: {what}.")
        elif s["target_met"]:
            lines.append(f"Target met{caveat}. The smallest model within it: {what}."
                         + (f" {s['margin_note']}" if s.get("margin_note") else ""))
        else:
            lines.append(f"Target NOT met: no compressed model tried came within {tolerance(s['max_drop'])} of the base "
                         f"on dev. The best one tried (highest dev accuracy), saved anyway: {what}, "
                         f"{100 * (base['dev_accuracy'] - chosen['dev_accuracy']):.2f} points below the base.")
    lines.append("")
    if s["state"] == "finished":
        state = "The search finished."
    elif s["state"] == "budget":
        state = (f"The search stopped at the {s['budget_minutes']:g}-minute budget; more trials might find "
                 + ("a more accurate model." if by_size else "a smaller model."))
    else:
        state = "The search was still running when this was written (or was cut off): this is the best so far."
    lines.append(f"{state} {s['trials']} compressed trial(s) after {s.get('base_trials', 1)} base trial(s), "
                 f"{s['seconds']:.0f} s. Every trial: trials.csv.")
    if chosen is not None and chosen.get("test_accuracy") is None:
        lines.append("Test accuracy is measured for the base and the chosen model when the search ends.")
    return "\n".join(lines) + "\n"


def _kind(method):
    """How a trial of `method` is timed for the budget: a base, a retraining or a stack (no training)."""
    return "base" if method == "uncompressed" else "retrain" if METHODS[method].retrains else "stack"


class Search:
    """One autotune run: its settings, its trials so far and the model now in --out, in one object.

    `trials` maps (base, method, R) to its trials.csv row and `tuners` each base's name to its
    Tuner; the reference base, which the compressed models are made from and measured against, is
    the best base on dev (`reference`); `best` is the probe id whose model is in model/ and
    saved_model/ (so the folders are swapped only when the best changes). The methods below are the
    steps of the module docstring: the base's search (base_proposals), then rounds of the
    compression searches (proposals), each probe checked against the budget, run, recorded, saved."""

    def __init__(self, data, model, out, *, max_drop=1.0, max_bytes=None, base_from=None, vectors=None,
                 budget_minutes=None, quick=False, methods=None, r_range=(R_MIN, R_MAX), device="auto",
                 tune_base=True):
        self.start = time.perf_counter()
        self.model, self.max_drop, self.budget_minutes = model, max_drop, budget_minutes
        self.max_bytes = max_bytes  # None: the tolerance question (max_drop); else the size question
        self.deadline = None if budget_minutes is None else budget_minutes * 60
        self.lo, self.hi = r_range
        self.key = _dataset_key(data)
        self.source = data if data in NAMED else str(Path(data).resolve())
        # tune_base trains the fast way (Tuner); it tunes the base unless --from gives one.
        self.fast, self.tune = bool(tune_base), bool(tune_base) and not base_from
        if base_from:
            _check_from(base_from, model, self.source, quick)  # before --out exists: a bad --from leaves none
        settings = {"data": self.source, "model": model, "quick": bool(quick),
                    "from": str(Path(base_from).resolve()) if base_from else None,
                    "vectors": str(Path(vectors).resolve()) if vectors else None,
                    **({"tune_base": True} if self.fast else {})}  # absent: the folders autotune made before
        self.out = _prepare(out, settings)
        self.lock = _lock(self.out)  # before reading trials.csv: another run may be writing it
        self.base_from, self.quick, self.device, self.vectors = base_from, quick, device, vectors
        self.data_dirs = {} if data in NAMED else {self.key: data}
        if self.tune:
            self.stages = base_recipes(model)
            first, second, third = self.stages
            shaped = first + [r for s in first for r in second(s.lr)]
            self.recipes = {r.name: r for r in shaped + [r for s in shaped for r in third(s)]}
        else:
            self.recipes = {"from" if base_from else "recipe": None}
        self.tuners = {}
        self.searched = candidates(model, methods)
        self.base_cell = self.cell("uncompressed")
        # A finished trial whose saved model is gone (an ok parent a stack needs) runs again.
        rows = _read_trials(self.out, None if self.tune else next(iter(self.recipes)))
        self.trials = {k: t for k, t in rows.items() if k[0] in self.recipes and
                       (t["status"] != "ok" or is_saved_model(self.tuner(k[0]).model_dir(self.cell(*k[1:]))))}
        self.best = None

    def close(self):
        """Let another autotune use --out (the lock also goes when this process dies)."""
        if self.lock is not None:
            self.lock.close()  # closing the last descriptor releases the flock
            self.lock = None

    def cell(self, method, reduction=0):
        return Cell(self.key, self.model, method, reduction)

    def tuner(self, name):
        """The Tuner of base `name`: work/bases/<name>/ when bases are tuned, else work/ itself."""
        if name not in self.tuners:
            work = self.out / "work" / "bases" / name if self.tune else self.out / "work"
            self.tuners[name] = Tuner(work, self.quick, self.device, data=self.data_dirs, vectors=self.vectors,
                                      vocab_from=self.base_from, base=self.recipes[name], fast=self.fast)
        return self.tuners[name]

    def data(self):
        return self.tuner(next(iter(self.recipes))).data(self.key)

    # ---------------------------------------------------------------- the base

    def bases(self):
        """The trials.csv rows of the bases tried, in the order of `recipes`."""
        return [self.trials[(n, "uncompressed", 0)] for n in self.recipes if (n, "uncompressed", 0) in self.trials]

    def best_base(self, names=None):
        """The name of the best finished base on dev (of `names`), fewer bytes breaking a tie, or None."""
        done = [t for t in self.bases() if t["status"] == "ok" and (names is None or t["base"] in names)]
        return max(done, key=lambda t: (t["dev_accuracy"], -t["bytes"]))["base"] if done else None

    @property
    def reference(self):
        return self.best_base()

    @property
    def base(self):
        """The reference base's trials.csv row, or None before a base is trained."""
        return None if self.reference is None else self.trials[(self.reference, "uncompressed", 0)]

    def base_proposals(self):
        """The bases to train next. Without tuning, the one base until it is trained. With tuning, by
        coordinate search: the first shape at every learning rate, then the other shapes at the best
        of those rates; nothing once a compressed trial exists (the reference is then settled)."""
        tried = {t["base"] for t in self.bases()}
        if not self.tune:
            return [] if self.base is not None else list(self.recipes)
        if any(m != "uncompressed" for _, m, _ in self.trials):
            return []
        first, second, third = self.stages
        todo = [r.name for r in first if r.name not in tried]
        if todo:
            return todo
        best = self.best_base([r.name for r in first])
        if best is None:
            return []
        todo = [r.name for r in second(self.recipes[best].lr) if r.name not in tried]
        if todo:
            return todo
        best = self.best_base([r.name for r in self.recipes.values() if not r.ngrams])
        return [r.name for r in third(self.recipes[best]) if r.name not in tried]

    def bases_left(self):
        """At most how many more bases the search trains: what is left of each stage, a stage not
        reached yet at its largest."""
        todo = self.base_proposals()
        if not todo or not self.tune:
            return len(todo)
        tried = {t["base"] for t in self.bases()}
        first, second, third = self.stages
        left = sum(r.name not in tried for r in first)
        best = None if left else self.best_base([r.name for r in first])
        left += (2 * (len(SHAPES[kind_arch(self.model)]) - 1) if best is None
                 else sum(r.name not in tried for r in second(self.recipes[best].lr)))
        return left + (0 if any(self.recipes[n].ngrams for n in tried) else len(third(first[0])))

    def base_fits(self):
        """Whether another base may start: always until one is trained (nothing can be searched
        without it); after that only within BASE_SHARE of the budget, by the fastest base so far."""
        if self.deadline is None or self.base is None:
            return True
        seen = [t["seconds"] for t in self.bases() if t["seconds"] is not None]
        return time.perf_counter() - self.start + min(seen) <= BASE_SHARE * self.deadline

    # ---------------------------------------------------------------- the compression searches

    def target(self):
        return self.base["dev_accuracy"] - self.max_drop / 100

    def within(self, trial):
        """Whether a finished trial answers the question: within the tolerance on dev, or (the size
        question) an export of at most max_bytes."""
        if self.max_bytes is not None:
            return trial["status"] == "ok" and trial["bytes"] <= self.max_bytes
        # lmf.selection's rule, which the home page recommends by: a job's answer is the page's.
        return trial["status"] == "ok" and within_tolerance(trial["dev_accuracy"], self.base["dev_accuracy"],
                                                            self.max_drop)

    def outcomes(self, name):
        """(Rs below the sought R, Rs above it) of one method's trials so far, for next_probe.
        Accuracy falls as R grows: for the tolerance the largest R within it is sought, so a trial
        within it (or not: outside it or failed) lies below (above). Bytes fall as R grows: for the
        size the smallest R that fits is sought, so a fitting trial lies above it, and one that does
        not fit (or failed) below."""
        below, above = [], []
        for (b, m, r), t in self.trials.items():
            if b == self.reference and m == name:
                inside = self.within(t)
                (below if inside != (self.max_bytes is not None) else above).append(r)
        return below, above

    def promise(self, name):
        """How good an answer method `name` has given so far, as a sort key (smaller is better):
        the fewest bytes of its trials (and those of the stacks on it) that answer the question, or
        for the size question the highest dev accuracy, negated; None while it has given none."""
        answers = [t for (b, m, _), t in self.trials.items() if b == self.reference and self.within(t)
                   and (m == name or METHODS[m].stacks_on == name)]
        if not answers:
            return None
        if self.max_bytes is not None:
            return -max(t["dev_accuracy"] for t in answers)
        return min(t["bytes"] for t in answers)

    def proposals(self, round_no):
        """This round's probes: the methods that have given no answer yet first, then the others
        from the most promising (promise) down, so that a budget that ends mid-search has been
        spent where a better answer can come from (on CLINC150 a GroupReduce or HMF retraining
        takes three to four times a whole-model LMF one, and its answers are larger); among
        equals, a rotating order, so each gets its turn."""
        picked, ids = [], set()
        turn = round_no % max(1, len(self.searched))
        promise = {name: self.promise(name) for name in self.searched}
        order = sorted(self.searched[turn:] + self.searched[:turn],
                       key=lambda name: (promise[name] is not None, promise[name] or 0))
        for name in order:
            r = next_probe(*self.outcomes(name), self.lo, self.hi)
            if r is None:
                continue
            cell = self.cell(name, r)
            parent = METHODS[name].stacks_on
            if parent and (self.reference, parent, r) not in self.trials:
                cell = self.cell(parent, r)  # the stack waits for its parent's model
            if cell.id not in ids:
                picked.append(Probe(self.reference, cell))
                ids.add(cell.id)
        return picked

    def remaining(self):
        """At most how many more probes the searches need (the progress bar's total)."""
        left = self.bases_left()
        if self.base is None:
            return left + len(self.searched) * math.ceil(math.log2(self.hi - self.lo + 2))
        for name in self.searched:
            passed, failed = self.outcomes(name)
            a, b = max([self.lo - 1, *passed]) + 1, min([self.hi + 1, *failed]) - 1
            left += math.ceil(math.log2(b - a + 2)) if a <= b else 0
        return left

    def record(self, probe):
        """Take the finished probe's record into `trials`; returns its row."""
        r = self.tuner(probe.base).record(probe.cell)
        row = {"base": probe.base, **{k: r.get(k) for k in ("method", "R", "bytes", "dev_accuracy", "seconds",
                                                            "status", "steps", "best_step")}}
        self.trials[(probe.base, probe.cell.method, probe.cell.reduction)] = row
        return row

    def fits(self, probe):
        """Whether `probe` may start now: before the budget, and not surely past it, by the fastest
        trial so far of its kind (a base, a retraining, an int8 stack; none yet: it may start). A
        base is no measure of a retraining: it trains three times the epochs (on CR, an LSTM base
        took 141 s of a 3-minute budget, and once counted as a retraining's time it let none start)."""
        if self.deadline is None:
            return True
        elapsed = time.perf_counter() - self.start
        seen = [t["seconds"] for (_, m, _), t in self.trials.items()
                if _kind(m) == _kind(probe.cell.method) and t["seconds"] is not None]
        return elapsed < self.deadline and elapsed + (min(seen) if seen else 0) <= self.deadline

    # ---------------------------------------------------------------- what --out shows

    def warnings(self):
        """What makes this run's numbers mean little (data_warnings, base_warning), for the summary."""
        data = self.data()
        found = data_warnings(data, self.max_drop)
        if self.base is not None:
            found += [w for w in [base_warning(data, self.base["dev_accuracy"])] if w]
        return found

    def save(self, state, tests=None):
        """Rewrite trials.csv and, once a base is trained, the best-so-far model, summary.json and
        SUMMARY.md; returns the summary (None before a base). `tests`: probe id -> test accuracy."""
        rows = sorted(self.trials.values(), key=lambda t: (t["method"] != "uncompressed", t["base"], t["method"], t["R"]))
        reference = self.reference
        for t in rows:
            counts = (t["base"] == reference and t["status"] == "ok"
                      and (t["method"] != "uncompressed" or self.max_bytes is not None))
            t["within_target"] = self.within(t) if counts else None
        write_rows(self.out / TRIALS, rows, TRIAL_COLUMNS)
        if reference is None:
            return None
        mine = [t for t in rows if t["base"] == reference]
        chosen, met = choose(mine, self.target()) if self.max_bytes is None else choose_under(mine, self.max_bytes)
        pick = chosen or self.base
        probe = Probe(reference, self.cell(pick["method"], pick["R"]))
        tuner = self.tuner(reference)
        if self.best != probe.id:  # the best so far changed: swap its two folders in
            replace_dir(self.out / MODEL,
                        lambda tmp: shutil.copytree(tuner.export_dir(probe.cell), tmp, dirs_exist_ok=True),
                        owned=is_export)
            exported_from = tuner.model_dir(probe.cell.deployed_from)
            replace_dir(self.out / SAVED, lambda tmp: shutil.copytree(exported_from, tmp, dirs_exist_ok=True),
                        owned=is_saved_model)
            self.best = probe.id
        base, tests = self.base, tests or {}
        training = tuner.config(self.base_cell)
        compressed = sum(t["method"] != "uncompressed" for t in rows)
        summary = {
            "data": self.source, "model": self.model,
            "question": "max_drop" if self.max_bytes is None else "max_bytes",
            "max_drop": self.max_drop, "max_bytes": self.max_bytes,
            "target_dev_accuracy": self.target() if self.max_bytes is None else None,
            "target_met": met, "state": state, "budget_minutes": self.budget_minutes,
            "trials": compressed, "base_trials": len(self.bases()),
            "seconds": time.perf_counter() - self.start, "searched": self.searched, "r_range": [self.lo, self.hi],
            "tune_base": self.tune,
            "base": {"bytes": base["bytes"], "dev_accuracy": base["dev_accuracy"],
                     "test_accuracy": tests.get(Probe(reference, self.base_cell).id), "recipe": reference,
                     "steps": base.get("steps"), "best_step": base.get("best_step"),
                     "lr_ub": None if self.base_from else training.lr_ub,
                     "batch_size": None if self.base_from else training.batch_size},
            "chosen": None if chosen is None else {
                "method": chosen["method"], "label": method_label(chosen["method"]), "R": chosen["R"],
                "bytes": chosen["bytes"], "dev_accuracy": chosen["dev_accuracy"],
                "bytes_fraction": chosen["bytes"] / base["bytes"], "test_accuracy": tests.get(probe.id),
                "drop_points": 100 * (base["dev_accuracy"] - chosen["dev_accuracy"])},
            "warnings": self.warnings(),
            "margin_note": (margin_note(chosen["dev_accuracy"], self.target(), len(self.data().split("dev")),
                                        compressed)
                            if self.max_bytes is None and met else None),
            "model_dir": MODEL, "saved_model_dir": SAVED,
            "base_saved_model_dir": str(tuner.model_dir(self.base_cell).relative_to(self.out))}
        write_json_atomic(self.out / SUMMARY, summary)
        write_text_atomic(self.out / SUMMARY_MD, summary_text(summary))
        return summary

    # ---------------------------------------------------------------- the run

    def run(self, scheduler=None, jobs=1, progress=True, on_trial=None):
        """The base's search, then rounds of the compression searches, until every search is over
        or the budget is spent; then the test accuracies of the base and the chosen model. Returns
        the final summary."""
        for line in self.tuner(next(iter(self.recipes))).notes(self.key, self.model):
            print(line)
        with (dask_client(scheduler, jobs) if scheduler else nullcontext()) as client:
            width = dask_workers(client) if client is not None else max(1, jobs)

            def run(probes):
                tuners = Tuners({p.base: self.tuner(p.base) for p in probes})
                if client is not None:
                    yield from run_cells_dask(tuners, probes, client)
                else:
                    yield from run_cells(tuners, probes, min(width, len(probes)), threads=1)

            def ran(probe, bar):
                row = self.record(probe)
                bar.update(1)
                summary = self.save("running")
                if on_trial:
                    on_trial(row, len(self.trials), self.remaining())
                chosen = (summary or {}).get("chosen")
                if chosen:
                    bar.set_postfix_str(f"best {chosen['method']} R{chosen['R']} {mb(chosen['bytes'])} "
                                        f"dev {_points(chosen['dev_accuracy'])}")

            bar = tqdm(total=self.remaining(), desc="autotune", unit="trial", disable=not progress)
            trained = False
            while (todo := self.base_proposals()) and self.base_fits():
                bar.set_postfix_str("exporting the base model" if self.base_from else "training the base model")
                for probe, _ in run([Probe(name, self.base_cell) for name in todo[:width]]):
                    ran(probe, bar)
                    trained = True
            if self.base is None:
                self.save("finished")
                raise ValueError("the base model failed: " + "; ".join(
                    (f"{t['base']}: " if self.tune else "") + t["status"] for t in self.bases()))
            if not trained:  # resumed: the caller still hears of the base
                self.save("running")
                if on_trial:
                    on_trial(self.base, len(self.trials), self.remaining())
            final, round_no = "finished", 0
            while True:
                todo = self.proposals(round_no)
                if not todo:
                    break
                batch = [p for p in todo if self.fits(p)][:width]
                if not batch:
                    final = "budget"
                    break
                bar.total = bar.n + self.remaining()
                bar.refresh()
                for probe, _ in run(batch):
                    ran(probe, bar)
                round_no += 1
            bar.close()

        # Test accuracy: the base and the chosen model only, through their exports.
        summary = self.save(final)
        data, tuner = self.data(), self.tuner(self.reference)
        tests = {Probe(self.reference, self.base_cell).id:
                 deployable_accuracy(tuner.export_dir(self.base_cell), data, "test")}
        if summary["chosen"] and summary["chosen"]["method"] != "uncompressed":
            chosen = Probe(self.reference, self.cell(summary["chosen"]["method"], summary["chosen"]["R"]))
            tests[chosen.id] = deployable_accuracy(tuner.export_dir(chosen.cell), data, "test")
        return self.save(final, tests)


def autotune(data, model="dan", out="autotune", max_drop=1.0, base_from=None, budget_minutes=None,
             scheduler=None, jobs=1, quick=False, methods=None, r_range=(R_MIN, R_MAX), device="auto",
             progress=True, on_trial=None, vectors=None, max_bytes=None, tune_base=True):
    """Run the search described in the module docstring (a Search); returns the summary (also in --out).

    `data` is a name of lmf.data or a directory; `model` a kind of lmf.names.MODEL_KINDS (dan, lstm,
    dan_ngram); `max_drop` in accuracy points;
    `max_bytes`, when given, asks the size question instead of the tolerance's: the most accurate
    model whose export is at most that many bytes (`max_drop` is then unused); `tune_base` tunes the
    base (and trains everything the fast way), False trains as the sweep does;
    `base_from` a saved model to start from instead of training one; `vectors` the LSTM's
    word-vector file (default: the data folder's GloVe subset); `scheduler` None (this machine,
    `jobs` worker processes), "local" (a dask LocalCluster of `jobs` workers) or a dask scheduler's
    address; `quick` the sweep's quick sizes and step counts (tests); `methods` narrows the
    searched methods; `r_range` the Rs searched. `on_trial(trial, finished, left)`, when given, is
    called after every base and every trial (studio.jobs draws its progress bar from it; a resumed
    run calls it once for the base): the trial's trials.csv row, how many trials are finished
    (resumed ones and the bases included) and at most how many more the searches need."""
    check_settings(model, max_drop, budget_minutes, max_bytes, r_range, jobs)
    search = Search(data, model, out, max_drop=max_drop, max_bytes=max_bytes, base_from=base_from, vectors=vectors,
                    budget_minutes=budget_minutes, quick=quick, methods=methods, r_range=r_range, device=device,
                    tune_base=tune_base)
    try:
        return search.run(scheduler, jobs, progress, on_trial)
    finally:
        search.close()


def remake(out, seed):
    """The model the autotune in `out` chose, made again from nothing with another `seed`: its base
    recipe trained (or --from's model taken), then its method's chain at its R (a stack's fp32
    source first), each exported and measured on dev as a trial is, under work/ with the seed in the
    cell ids; returns {"bytes", "dev_accuracy", "test_accuracy"} of the last. Seed 0 is the autotune's
    own model: its numbers are summary.json's, so it is refused here (remaking it would rewrite the
    search's own files). What it is for: the seed spread of a choice (scripts/bench_autotune.py),
    not part of the search. ValueError when a step fails."""
    out = Path(out)
    if not (isinstance(seed, int) and seed > 0):
        raise ValueError(f"seed {seed!r}: give a seed above 0 (seed 0's model is the autotune's own, in summary.json)")
    if not is_autotune_dir(out):
        raise ValueError(f"{out} is not an autotune's folder")
    settings = json.loads((out / MARKER).read_text(encoding="utf-8"))
    summary = json.loads((out / SUMMARY).read_text(encoding="utf-8"))
    search = Search(settings["data"], settings["model"], out, max_drop=summary["max_drop"], base_from=settings["from"],
                    vectors=settings.get("vectors"), quick=settings["quick"], tune_base=bool(settings.get("tune_base")))
    try:
        chosen = summary["chosen"] or {"method": "uncompressed", "R": 0}
        chain = [chosen["method"]]
        while METHODS[chain[-1]].source != "scratch":
            chain.append(METHODS[chain[-1]].source)
        tuner = search.tuner(summary["base"]["recipe"])
        for method in reversed(chain):
            cell = Cell(search.key, search.model, method, chosen["R"] if method != "uncompressed" else 0, seed=seed)
            record = tuner.run(cell)
            if record["status"] != "ok":
                raise ValueError(f"{cell.id}: {record['status']}")
        return {"bytes": record["bytes"], "dev_accuracy": record["dev_accuracy"],
                "test_accuracy": deployable_accuracy(tuner.export_dir(cell), search.data(), "test")}
    finally:
        search.close()
