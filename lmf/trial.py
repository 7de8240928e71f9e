"""One trial: a cell's model made (trained, or compressed from its source and retrained), saved,
exported as it is deployed, and its export measured. The sweep (sweep.runner) and autotune
(lmf.autotune) both run their cells through `Trials`, so a number of one is a number of the other.

    trials = Trials(work, quick=False, data={NAME: DIR})
    made = trials.trial(cell, trials.data(cell.dataset))   # -> Made(model, metrics, result, details, export)
    deployable_accuracy(made.export, data, "dev")           # through lmf.runtime, raw text in

Under `work`: `models/<cell id>/` (the saved model, lmf.artifacts), `exports/<cell id>/` (its
deployable export, lmf.export, at the method's `deploy` precision) and `cells/<cell id>.json` (what
the caller records, written atomically). `clear(cell)` wipes a cell's outputs before it runs, so a
cell that failed half-way is retried from a clean slate, never resumed from what it left.
`run_cells` runs cells in worker processes that die with their parent (a killed sweep leaves
nothing running); `run_cells_dask` runs them on a dask.distributed cluster instead
(`dask_client("local")` or a scheduler's address), with the same records.

A dataset is a name of lmf.data (sst2, clinc150) or, through `Trials(data={NAME: DIR})`, any
directory lmf.data.load_dataset reads, its cells named by NAME (lmf.names.check_dataset_name).

Deliberately not here: which cells exist (sweep.grid), what a sweep cell records (sweep.runner),
the search over R (lmf.autotune), or the compression maths (the modules lmf.methods points to).
"""
import contextlib
import functools
import json
import multiprocessing
import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from .artifacts import load_model, save_model
from .data import default_vectors_path, load_dataset, load_vectors
from .latency import torch_threads
from .methods import METHODS, Cell
from .metrics import accuracy
from .models import new_model
from .names import QUICK
from .train import recipe, retrain_recipe, step_count, train, with_schedule

LOW_COVERAGE = 0.9  # word-vector coverage below which the notes suggest a full GloVe file
EXT_KEYS = ("hmf_rank", "hmf_dense_rows", "group_sizes", "group_ranks", "rank", "hidden_ranks")


@dataclass
class Made:
    """What `Trials.trial` made: the model, its metrics as saved (dev_accuracy, and test_accuracy
    when asked for), the training result (None for a method that does not retrain), the method's
    details, and the export directory (None when not exported)."""
    model: object
    metrics: dict
    result: object
    details: dict
    export: Path = None


# Module-level, not per Trials: the Trials object is pickled into each worker, so a cache on the instance
# would be empty in every task, while this one lives as long as the worker process.
@functools.lru_cache(maxsize=None)
def cached_data(source, quick, vocab_from=None):
    """The dataset `source` (a name or a directory, as lmf.data.load_dataset takes), cut to the quick
    sizes when `quick`; with `vocab_from` (a saved model's directory) seen through that model's
    vocabulary and label order, the ids it was trained with."""
    data = load_dataset(str(source))
    data = data.subset(QUICK["n_train"], QUICK["n_eval"]) if quick else data
    if vocab_from is not None:
        saved = load_model(vocab_from)
        data.seen_by(saved.vocab, saved.label_names, f"{source} (for the model in {vocab_from})")
    return data


@functools.lru_cache(maxsize=None)
def cached_vectors(source, quick, vectors=None):
    """(matrix, coverage) of the word vectors (`vectors`, else the data folder's GloVe subset) for
    the vocabulary of cached_data(source, quick)."""
    return load_vectors(vectors or default_vectors_path(), cached_data(source, quick).vocab)


def stop_after(patience, at_least=0):
    """An on_eval callback for lmf.train.train that ends training once `patience` evaluations in a
    row have not beaten the best dev accuracy so far (the starting weights' included): early
    stopping, None for none; never before `at_least` evaluations after the starting weights',
    as a model trained from scratch can sit on the majority class for its first evaluations
    (on CR a DAN at lr 0.01 stopped that way at 64.7 % dev, the majority share; with 10 it
    reached 78.6 %). It depends on nothing but the dev accuracies, so a seed still gives one
    model. Worked example, patience 2: dev 0.60, 0.70, 0.69, 0.70 stops at the fourth evaluation
    (0.69 and 0.70 are not above 0.70); train keeps the weights of the second."""
    if not patience:
        return None
    best, since, seen = [float("-inf")], [0], [-1]  # seen: evaluations after the starting weights'

    def on_eval(record):
        seen[0] += 1
        if record["dev_accuracy"] > best[0]:
            best[0], since[0] = record["dev_accuracy"], 0
        else:
            since[0] += 1
        return since[0] >= patience and seen[0] >= at_least
    return on_eval


class Trials:
    """Runs cells under `work`. `data` maps a dataset name to its directory (custom datasets; the
    names of lmf.data need no entry), `vectors` is the LSTM's word-vector file (default: the data
    folder's GloVe subset), `vocab_from` a saved model whose vocabulary the data is seen through
    (autotune --from), `patience` stops training and retraining after that many evaluations
    without a better dev accuracy (stop_after; None, the sweep's way: the recipe's steps in full),
    a model trained from scratch not before `warmup` evaluations."""

    def __init__(self, work="runs/sweep", quick=False, device="auto", data=None, vectors=None, vocab_from=None,
                 patience=None, warmup=0):
        self.work, self.quick, self.device = Path(work), quick, device
        self.data_dirs = {name: str(Path(path).resolve()) for name, path in (data or {}).items()}
        self.vectors = str(vectors) if vectors else None
        self.vocab_from = str(Path(vocab_from).resolve()) if vocab_from else None
        self.patience, self.warmup = patience, warmup

    def data(self, dataset):
        """The dataset of cells named `dataset`, cached per process."""
        return cached_data(self.data_dirs.get(dataset, dataset), self.quick, self.vocab_from)

    def notes(self, dataset, arch):
        """Lines a user of a custom dataset would otherwise not see: how many steps the recipes'
        min_steps give on this data (lmf.train.step_count), and for the LSTM how much of the
        vocabulary its word vectors cover, with a hint when that is low."""
        data, lines = self.data(dataset), []
        for label, retrain in (("training", False), ("retraining", True)):
            note = step_count(self.config(Cell(dataset, arch, "uncompressed"), retrain), len(data.train))[1]
            if note:
                lines.append(f"{dataset} {arch} {label}: {note}")
        if arch == "lstm" and not self.vocab_from:
            coverage = cached_vectors(self.data_dirs.get(dataset, dataset), self.quick, self.vectors)[1]
            lines.append(f"{dataset} lstm: the word vectors ({self.vectors or 'the GloVe 100d subset'}) cover "
                         f"{coverage:.1%} of the vocabulary")
            if coverage < LOW_COVERAGE:
                # Said as a command because a Your data job (studio.jobs) logs these lines too, and its
                # page takes no vectors file: the command line is where a user can pass one.
                lines.append("  hint: the command line's --vectors (python -m lmf autotune, scripts/precompute.py) takes "
                             "a full GloVe file (e.g. glove.6B.300d.txt or glove.840B.300d.txt) for more coverage")
        return lines

    def cell_file(self, cell):
        return self.work / "cells" / f"{cell.id}.json"

    def model_dir(self, cell):
        return self.work / "models" / cell.id

    def export_dir(self, cell):
        return self.work / "exports" / cell.id

    def deploy(self, cell):
        """Export the cell's deployable model (lmf.methods' `deploy`: its own model in fp32, or its
        source's model at 16 or 8 bits); returns the export directory."""
        from .export import export_model  # onnx loads only where something is exported
        return export_model(self.model_dir(cell.deployed_from), self.export_dir(cell), precision=METHODS[cell.method].deploy)

    def provenance(self, cell):
        """What a cell's numbers depend on beyond its id, recorded with it: the mode, and the data
        folder and word vectors it was given (None for lmf's named data sets and the default
        vectors), so that a second --data under the same --name never reuses the first's cells."""
        return {"quick": self.quick, "data": self.data_dirs.get(cell.dataset),
                "vectors": self.vectors if cell.model == "lstm" else None}

    def done(self, cell):
        """A cell counts as done only if it ran with the same provenance (a quick cell never stands
        in for a full one, nor one of another data folder, even when both sweeps share a --work
        directory); records written before the data folder was recorded count as lmf's named data."""
        path = self.cell_file(cell)
        if not path.is_file():
            return False
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            return False  # a corrupt cell file is rerun, not trusted
        return all(record.get(key, False if key == "quick" else None) == value
                   for key, value in self.provenance(cell).items())

    def record(self, cell):
        return json.loads(self.cell_file(cell).read_text())

    def training_recipe(self, cell, retrain=False):
        """The settings a cell trains (or retrains) with before its seed, device, schedule and the
        quick sizes are applied: lmf.train's recipes (a subclass may train its own way)."""
        return retrain_recipe(cell.model) if retrain else recipe(cell.model)

    def config(self, cell, retrain=False):
        config = self.training_recipe(cell, retrain)
        config = with_schedule(replace(config, seed=cell.seed, device=self.device), cell.schedule)
        if self.quick:
            config = replace(config, max_steps=QUICK["max_steps"], min_steps=0, eval_every=4)
        return config

    def clear(self, cell):
        """Remove what an earlier try of `cell` left (its record, model and export)."""
        self.cell_file(cell).unlink(missing_ok=True)
        for folder in (self.model_dir(cell), self.export_dir(cell)):
            shutil.rmtree(folder, ignore_errors=True)

    def build(self, cell, data, progress=False, before=None):
        """The cell's model as lmf.methods says, and its dev accuracy: (model, dev, TrainResult or
        None, details). A "scratch" method is trained with the recipe; any other is made from its
        source cell's saved model (which must exist) and retrained with the retraining recipe when
        the method retrains. `before(model)`, if given, sees the made model before its retraining.
        Retraining never ends below the made model on dev: lmf.train.train counts the starting
        weights as step 0 of its best-on-dev choice."""
        method = METHODS[cell.method]
        if method.source == "scratch":
            result = train(self._new(cell, data), data, self.config(cell), progress=progress,
                           on_eval=stop_after(self.patience, self.warmup))
            return result.model, result.best_dev, result, {}
        parent = load_model(self.model_dir(cell.with_method(method.source))).model
        model = method.make(parent, cell.reduction, data.vocab)
        if not method.retrains:
            return model, accuracy(model, data, "dev"), None, {}
        details = {"config": {k: v for k, v in model.config.items() if k in EXT_KEYS},
                   "groupreduce": getattr(model, "groupreduce_info", None)}
        if before is not None:
            before(model)
        result = train(model, data, self.config(cell, retrain=True), progress=progress,
                       on_eval=stop_after(self.patience))
        return result.model, result.best_dev, result, details

    def trial(self, cell, data, progress=False, before=None, test=False, export=True):
        """Make the cell's model (`build`), save it with its dev accuracy (and its test accuracy
        when `test`: the sweep reports it, autotune scores test only for its final choice) and
        export it as deployed (unless `export` is False); returns a Made."""
        model, dev, result, details = self.build(cell, data, progress, before)
        metrics = {"dev_accuracy": dev}
        if test:
            metrics["test_accuracy"] = accuracy(model, data, "test")
        save_model(self.model_dir(cell), model, data.vocab, data.label_names, metrics)
        return Made(model, metrics, result, details, self.deploy(cell) if export else None)

    def _new(self, cell, data):
        """A freshly initialised model for a "scratch" method: uncompressed or offline SVD."""
        from .compress import offline_model
        vectors = (cached_vectors(self.data_dirs.get(cell.dataset, cell.dataset), self.quick, self.vectors)[0]
                   if cell.model == "lstm" else None)
        n_vocab, n_classes = len(data.vocab), len(data.label_names)
        if cell.method == "offline_svd":
            return offline_model(cell.model, n_vocab, n_classes, cell.reduction, vectors, seed=cell.seed)
        return new_model(cell.model, n_vocab, n_classes, vectors, seed=cell.seed)


# The modules whose code decides what an export is and what it measures (its graph, its tokenizer,
# how the runtime reads it): a change to any of them makes exports of earlier code stale.
EXPORT_CODE = ("export.py", "runtime.py", "tokenize.py", "ngrams.py")


@functools.lru_cache(maxsize=None)
def export_code():
    """The identity of this checkout's export code: the sha256 of EXPORT_CODE's sources and of the
    onnx and onnxruntime versions (lmf.layout.tool_versions), in hex. The sweep records it with
    each cell it exports, so `precompute.py --remeasure` knows which exports are stale."""
    import hashlib
    from .layout import tool_versions
    digest = hashlib.sha256(json.dumps(tool_versions(), sort_keys=True).encode())
    for name in EXPORT_CODE:
        digest.update((Path(__file__).parent / name).read_bytes())
    return digest.hexdigest()


def deployable_accuracy(export_dir, data, split):
    """Accuracy of the export in `export_dir` on a split, through lmf.runtime as deployed (raw
    text in). A text without a single token cannot be classified by the runtime: it counts as wrong."""
    from .runtime import Predictor
    from .tokenize import tokenize
    predictor = Predictor(export_dir)
    part = data.split(split)
    keep = [i for i, text in enumerate(part.texts) if tokenize(text)]
    # Predictor.predict's own batching, as a user's call runs; a text's label does not depend on the
    # texts batched with it at any precision (lmf.runtime; tests/test_export.py), so neither does accuracy.
    labels = [label for label, _ in predictor.predict([part.texts[i] for i in keep])] if keep else []
    correct = sum(label == data.label_names[part.labels[i]] for i, label in zip(keep, labels))
    return correct / max(1, len(part.texts))


# ---------------------------------------------------------------- worker processes

def _die_with_parent(threads, parent):
    """A worker's start: it gets SIGKILL when the process that started it dies (Linux's
    PR_SET_PDEATHSIG), so a `kill -9` of the sweep ends its workers too, and it uses `threads`.

    The signal is only promised for a death after the call, and a spawned worker gets here after
    importing torch (seconds): a sweep killed in between once left two workers running for good.
    So a worker whose parent (pid `parent`) is already gone by then exits at once."""
    try:
        import ctypes
        import signal
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: workers then end when they next find the parent gone (the pool's own check)
    if os.getppid() != parent:
        os._exit(1)
    torch.set_num_threads(threads)


def _run_one(trials, cell):
    return trials.run(cell).get("seconds")


def run_cells(trials, cells, jobs=1, threads=None):
    """Run `cells` with `jobs` worker processes (in this process when jobs is 1); yields (cell,
    seconds) as each finishes. An exception in a cell propagates after the others stop."""
    threads = threads or max(1, (os.cpu_count() or 1) // max(1, jobs))
    if jobs <= 1:
        with torch_threads(threads):
            for cell in cells:
                yield cell, _run_one(trials, cell)
        return
    context = multiprocessing.get_context("spawn")  # no forked torch thread pools
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_die_with_parent,
                             initargs=(threads, os.getpid())) as pool:
        futures = {pool.submit(_run_one, trials, cell): cell for cell in cells}
        try:
            from concurrent.futures import as_completed
            for future in as_completed(futures):
                yield futures[future], future.result()
        except BaseException:
            for future in futures:
                future.cancel()
            raise


# ---------------------------------------------------------------- a dask.distributed cluster

@contextlib.contextmanager
def dask_client(scheduler, workers=2):
    """A dask.distributed Client, as a context manager: `scheduler` "local" starts a LocalCluster of
    `workers` worker processes with one thread each (training runs on one thread anyway,
    lmf.train.TRAIN_THREADS) and closes it at the end; anything else is an existing scheduler's
    address ("tcp://host:8786"), left running. dask is imported here only, so nothing else of the
    package needs it installed."""
    from dask.distributed import Client, LocalCluster
    if scheduler == "local":
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            yield client
    else:
        with Client(scheduler) as client:
            yield client


def dask_workers(client):
    """How many tasks the cluster runs at once: its worker threads."""
    return max(1, sum(client.nthreads().values()))


def run_cells_dask(trials, cells, client):
    """`run_cells` on a dask.distributed cluster: each cell one task (`trials.run(cell)` in a
    worker), yielding (cell, seconds) as each finishes. The workers write the cells' files under
    trials.work, so they must see the same filesystem as this process (one machine, or a shared
    disk). An exception in a cell propagates after the others are cancelled."""
    from dask.distributed import as_completed
    futures = {client.submit(_run_one, trials, cell, key=f"lmf-{cell.id}-{time.time_ns()}", pure=False): cell
               for cell in cells}
    try:
        for future in as_completed(futures):
            yield futures[future], future.result()
    except BaseException:
        client.cancel(list(futures))
        raise
