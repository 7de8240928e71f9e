"""Running the sweep's cells: one cell in, one JSON record (and a saved model) out.

`Runner.run(cell)` trains, compresses or quantizes the cell's model as lmf.methods says, saves it
under `<work>/models/<id>/`, exports its deployable model (lmf.export, at the method's `deploy`
precision) under `<work>/exports/<id>/`, measures that export (bytes on disk, dev and test
accuracy through lmf.runtime, raw text in) and writes `<work>/cells/<id>.json` atomically. The
latency cells time every export on ONNX Runtime, with eager PyTorch beside it. A
cell's outputs are cleared before it runs, so a cell that failed half-way is retried in a fresh
state, never resumed from what it left. `Runner.build` is the one way a cell's model is made
(trained from scratch, or made from its source cell's model and retrained as lmf.methods says):
the sweep and lmf.autotune both go through it. `run_cells` runs a list of cells in worker
processes that die with their parent: a killed sweep leaves nothing running; `run_cells_dask` runs
them on a dask.distributed cluster instead (`dask_client("local")` or a scheduler's address), with
the same records.

A dataset is a name of lmf.data (sst2, clinc150) or, through `Runner(data={NAME: DIR})`, any
directory lmf.data.load_dataset reads, its cells named by NAME (lmf.grid.check_dataset_name).

Deliberately not here: which cells exist (lmf.grid), writing artifacts/ (lmf.assemble), or the
compression maths (the modules lmf.methods points to).
"""
import contextlib
import functools
import json
import multiprocessing
import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, replace
from pathlib import Path

import torch

from .artifacts import load_model, save_model
from .compress import Infeasible
from .atomic import write_json_atomic
from .data import default_vectors_path, load_dataset, load_vectors
from .grid import QUICK, Cell, plan
from .methods import METHODS
from .latency import fasttext_contestant, measure, model_contestant, onnx_contestant
from .metrics import accuracy, count_parameters, size_on_disk
from .models import new_model
from .quantize import latency_model
from .train import recipe, retrain_recipe, step_count, train, with_schedule

FASTTEXT_QUICK = {"bucket": 2000, "cutoff": 1000, "epoch": 5, "lr": 0.1, "lrUpdateRate": 1}  # small enough for the tiny data
LOW_COVERAGE = 0.9  # word-vector coverage below which the notes suggest a full GloVe file
EXT_KEYS = ("hmf_rank", "hmf_dense_rows", "group_sizes", "group_ranks", "rank", "hidden_ranks")


# Module-level, not per Runner: the Runner is pickled into each worker, so a cache on the instance
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
        data.vocab = saved.vocab
        data.relabel(saved.label_names, f"{source} (for the model in {vocab_from})")
    return data


@functools.lru_cache(maxsize=None)
def cached_vectors(source, quick, vectors=None):
    """(matrix, coverage) of the word vectors (`vectors`, else the data folder's GloVe subset) for
    the vocabulary of cached_data(source, quick)."""
    return load_vectors(vectors or default_vectors_path(), cached_data(source, quick).vocab)


class Runner:
    """Runs cells under `work`. `data` maps a dataset name to its directory (custom datasets; the
    names of lmf.data need no entry), `vectors` is the LSTM's word-vector file (default: the data
    folder's GloVe subset), `vocab_from` a saved model whose vocabulary the data is seen through
    (autotune --from)."""

    def __init__(self, work="runs/sweep", quick=False, device="auto", data=None, vectors=None, vocab_from=None):
        self.work, self.quick, self.device = Path(work), quick, device
        self.data_dirs = {name: str(Path(path).resolve()) for name, path in (data or {}).items()}
        self.vectors = str(vectors) if vectors else None
        self.vocab_from = str(Path(vocab_from).resolve()) if vocab_from else None

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
                lines.append("  hint: --vectors takes a full GloVe file (e.g. glove.6B.300d.txt or "
                             "glove.840B.300d.txt) for more coverage")
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

    def done(self, cell):
        """A cell counts as done only if it ran in the same mode (a quick cell never stands in for a
        full one, even when both sweeps share a --work directory)."""
        path = self.cell_file(cell)
        if not path.is_file():
            return False
        try:
            return json.loads(path.read_text()).get("quick", False) == self.quick
        except (OSError, ValueError):
            return False  # a corrupt cell file is rerun, not trusted

    def record(self, cell):
        return json.loads(self.cell_file(cell).read_text())

    def config(self, cell, retrain=False):
        config = retrain_recipe(cell.model) if retrain else recipe(cell.model)
        config = with_schedule(replace(config, seed=cell.seed, device=self.device), cell.schedule)
        if self.quick:
            config = replace(config, max_steps=QUICK["max_steps"], min_steps=0, eval_every=4)
        return config

    def run(self, cell, progress=False):
        """Run one cell from a clean slate and write its JSON; returns the record."""
        start = time.perf_counter()
        self.cell_file(cell).unlink(missing_ok=True)
        for folder in (self.model_dir(cell), self.export_dir(cell)):  # what a failed try left is never reused
            shutil.rmtree(folder, ignore_errors=True)
        data = self.data(cell.dataset)
        record = {"cell": asdict(cell), "quick": self.quick, "rows": [], "schedule_rows": [], "curve": []}
        source = METHODS[cell.method].source if cell.method in METHODS else "scratch"
        source_cell = None if source == "scratch" else cell.with_method(source)
        if cell.is_latency:
            record[cell.method] = self.run_latency(cell)
        elif cell.model == "fasttext":
            record.update(self.run_fasttext(cell, data))
        elif source_cell is not None and self.done(source_cell) and self.record(source_cell).get("skipped"):
            record["skipped"] = f"not run: its source {source_cell.id} was not run"
        else:
            try:
                record.update(self.run_model(cell, data, progress))
            except Infeasible as e:  # e.g. GroupReduce at R = 98 of a 100-d embedding: no model to make
                record["skipped"] = f"not run: {e}"
        record["seconds"] = time.perf_counter() - start
        write_json_atomic(self.cell_file(cell), record)
        return record

    def build(self, cell, data, progress=False, before=None):
        """The cell's model as lmf.methods says, and its dev accuracy: (model, dev, TrainResult or
        None, details). A "scratch" method is trained with the recipe; any other is made from its
        source cell's saved model (which must exist) and retrained with the retraining recipe when
        the method retrains. `before(model)`, if given, sees the made model before its retraining.
        Retraining never ends below the made model on dev: lmf.train.train counts the starting
        weights as step 0 of its best-on-dev choice."""
        method = METHODS[cell.method]
        if method.source == "scratch":
            result = train(self._new(cell, data), data, self.config(cell), progress=progress)
            return result.model, result.best_dev, result, {}
        parent = load_model(self.model_dir(cell.with_method(method.source))).model
        model = method.make(parent, cell.reduction, data.vocab)
        if not method.retrains:
            return model, accuracy(model, data, "dev"), None, {}
        details = {"config": {k: v for k, v in model.config.items() if k in EXT_KEYS},
                   "groupreduce": getattr(model, "groupreduce_info", None)}
        if before is not None:
            before(model)
        result = train(model, data, self.config(cell, retrain=True), progress=progress)
        return result.model, result.best_dev, result, details

    def run_model(self, cell, data, progress):
        """Build, save and export the cell's model; its row describes the export: size_bytes is the
        export directory's bytes and accuracy (dev_accuracy) the export's on test (dev). For 8/16-bit
        rows and the int8 stacks, fixed_point_accuracy is the paper's simulation: the torch model
        with its weights rounded per row, computed in fp32."""
        method, before = METHODS[cell.method], []
        model, dev, result, details = self.build(cell, data, progress,
                                                 before=lambda made: before.append(accuracy(made, data, "test")))
        before = before[0] if before else None
        curve = [] if result is None or method.source == "scratch" else [
            {"step": h["step"], "dev_accuracy": h["dev_accuracy"], "lr": h["lr"]} for h in result.history]
        test = accuracy(model, data, "test")
        save_model(self.model_dir(cell), model, data.vocab, data.label_names, {"dev_accuracy": dev, "test_accuracy": test})
        out = {"curve": curve, "rows": [], "details": details}
        if cell.method == "uncompressed":
            out["schedule_rows"] = [{"dataset": cell.dataset, "model": cell.model, "schedule": cell.schedule,
                                     "seed": cell.seed, "dev_accuracy": dev, "accuracy": test}]
        if cell.schedule != "calr":  # Table 1's schedule runs: no results.csv row, so nothing to deploy
            return out
        export = self.deploy(cell)
        config = model.config
        row = {"dataset": cell.dataset, "model": cell.model, "method": cell.method,
               "embedding_reduction_pct": cell.reduction if method.reduction == "embedding" else 0,
               "rank": config.get("rank") or config.get("hmf_rank"),
               "width": config["embed_dim"] if cell.method == "offline_svd" else None,
               "params": count_parameters(model), "size_bytes": size_on_disk(export),
               "accuracy": deployable_accuracy(export, data, "test"),
               "dev_accuracy": deployable_accuracy(export, data, "dev"),
               "accuracy_before_retrain": before,
               "fixed_point_accuracy": test if method.deploy != "fp32" else None, "seed": cell.seed}
        out["rows"] = [row]
        return out

    def _new(self, cell, data):
        """A freshly initialised model for a "scratch" method: uncompressed or offline SVD."""
        from .compress import offline_model
        vectors = (cached_vectors(self.data_dirs.get(cell.dataset, cell.dataset), self.quick, self.vectors)[0]
                   if cell.model == "lstm" else None)
        n_vocab, n_classes = len(data.vocab), len(data.label_names)
        if cell.method == "offline_svd":
            return offline_model(cell.model, n_vocab, n_classes, cell.reduction, vectors, seed=cell.seed)
        return new_model(cell.model, n_vocab, n_classes, vectors, seed=cell.seed)

    def run_fasttext(self, cell, data):
        """fastText (model.bin) or fastText.zip (model.ftz, from the fasttext cell's model.bin):
        files under the cell's model dir; size is the .bin / .ftz file's bytes."""
        from .fasttext_baseline import fasttext_accuracy, quantize_fasttext, train_fasttext, tune_fasttext
        out_dir = self.model_dir(cell)
        out_dir.mkdir(parents=True, exist_ok=True)
        overrides = dict(FASTTEXT_QUICK) if self.quick else {}
        cutoff = overrides.pop("cutoff", None)
        details = {}
        if cell.method == "fasttext":
            if self.quick:
                model, details["settings"] = train_fasttext(data, out_dir, seed=cell.seed, **overrides), overrides
            else:  # epochs and rate picked on dev, as for our models' recipes
                model, details["settings"] = tune_fasttext(data, out_dir, seed=cell.seed)
            path = out_dir / "model.bin"
        else:
            source = Cell(cell.dataset, cell.model, "fasttext", 0, cell.seed)
            trained = self.record(source).get("details", {}).get("settings", {})
            kwargs = {"cutoff": cutoff} if self.quick else {}
            model = quantize_fasttext(self.model_dir(source) / "model.bin", data, out_dir, seed=cell.seed,
                                      lr=trained.get("lr"), epoch=trained.get("epoch"), **kwargs)
            path = out_dir / "model.ftz"
        (out_dir / "train.txt").unlink(missing_ok=True)  # the training text is not part of the model
        dev, test = fasttext_accuracy(model, data, "dev"), fasttext_accuracy(model, data, "test")
        row = {"dataset": cell.dataset, "model": "fasttext", "method": cell.method, "embedding_reduction_pct": 0,
               "params": int(model.get_input_matrix().size + model.get_output_matrix().size)
               if cell.method == "fasttext" else None,
               "size_bytes": size_on_disk(path), "accuracy": test, "dev_accuracy": dev, "seed": cell.seed}
        return {"rows": [row], "curve": [], "details": details}

    def run_latency(self, cell):
        """Seed-0 variants of one (dataset, model), timed together: name -> latency metrics.

        Each variant's deployable export on ONNX Runtime under its cell id, and beside it the same
        model in eager PyTorch under '<id>@eager' (for 8/16-bit rows and the int8 stacks,
        PyTorch's own low-precision kernels: quantize.latency_model). "latency": the core grid;
        "latency_ext": the extension models with the uncompressed export timed again beside them
        ('<id>@ext', so ratios compare within this cell), and for the DAN fastText and
        fastText.zip. All through lmf.latency.measure: raw text in, tokenization included, one
        thread, interleaved."""
        data = self.data(cell.dataset)
        base = Cell(cell.dataset, cell.model, "uncompressed")
        stages = plan([cell.dataset], [cell.model], self.quick, core_only=cell.method == "latency", full=True)
        candidates = [c for stage in stages for c in stage if c.seed == 0 and c.schedule == "calr"
                      and not c.is_latency and c.model == cell.model and self.done(c)
                      and (cell.method == "latency") != METHODS[c.method].extension
                      and not self.record(c).get("skipped")]
        vocab, labels = data.vocab, data.label_names
        contestants = {}
        if cell.method == "latency_ext":
            contestants[base.id + "@ext"] = onnx_contestant(self.export_dir(base))
        for other in candidates:
            method = METHODS[other.method]
            contestants[other.id] = onnx_contestant(self.export_dir(other))
            model = load_model(self.model_dir(other.deployed_from)).model
            if method.deploy != "fp32":
                model = latency_model(model, 16 if method.deploy == "fp16" else 8)
            contestants[other.id + "@eager"] = model_contestant(model, vocab, labels)
        if cell.method == "latency_ext" and cell.model == "dan":  # fastText beside the DAN, in the same run
            for method, name in (("fasttext", "model.bin"), ("fasttext_ftz", "model.ftz")):
                ft_cell = Cell(cell.dataset, "fasttext", method)
                if (self.model_dir(ft_cell) / name).is_file():
                    contestants[ft_cell.id] = fasttext_contestant(self.model_dir(ft_cell) / name)
        n_single, repeats = (100, 2) if self.quick else (300, 5)
        return measure(contestants, data.test.texts, n_single=n_single, repeats=repeats)


def deployable_accuracy(export_dir, data, split):
    """Accuracy of the export in `export_dir` on a split, through lmf.runtime as deployed (raw
    text in). A text without a single token cannot be classified by the runtime: it counts as wrong."""
    from .runtime import Predictor
    from .tokenize import tokenize
    predictor = Predictor(export_dir)
    part = data.split(split)
    keep = [i for i, text in enumerate(part.texts) if tokenize(text)]
    labels = [label for label, _ in predictor.predict([part.texts[i] for i in keep], batch_size=256)] if keep else []
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


def _run_one(runner, cell):
    return runner.run(cell).get("seconds")


def run_cells(runner, cells, jobs=1, threads=None):
    """Run `cells` with `jobs` worker processes (in this process when jobs is 1); yields (cell,
    seconds) as each finishes. An exception in a cell propagates after the others stop."""
    threads = threads or max(1, (os.cpu_count() or 1) // max(1, jobs))
    if jobs <= 1:
        torch.set_num_threads(threads)
        for cell in cells:
            yield cell, _run_one(runner, cell)
        return
    context = multiprocessing.get_context("spawn")  # no forked torch thread pools
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_die_with_parent,
                             initargs=(threads, os.getpid())) as pool:
        futures = {pool.submit(_run_one, runner, cell): cell for cell in cells}
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


def run_cells_dask(runner, cells, client):
    """`run_cells` on a dask.distributed cluster: each cell one task (`runner.run(cell)` in a
    worker), yielding (cell, seconds) as each finishes. The workers write the cells' files under
    runner.work, so they must see the same filesystem as this process (one machine, or a shared
    disk). An exception in a cell propagates after the others are cancelled."""
    from dask.distributed import as_completed
    futures = {client.submit(_run_one, runner, cell, key=f"lmf-{cell.id}-{time.time_ns()}", pure=False): cell
               for cell in cells}
    try:
        for future in as_completed(futures):
            yield futures[future], future.result()
    except BaseException:
        client.cancel(list(futures))
        raise
