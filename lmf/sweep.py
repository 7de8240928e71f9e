"""The precompute sweep: every (dataset, model, method, reduction, seed) cell the app and report read.

The grid is a list of `Cell`s run in stages (a cell only needs cells of earlier stages):
  1. uncompressed models (CALR, plus CLR and AdaGrad for Table 1) and offline-SVD models (baseline 2),
  2. online LMF (compress an uncompressed model, measure, retrain) and 8/16-bit quantization,
  3. latency: every variant of one (dataset, model) timed in one process, interleaved.
Beyond plain LMF (issue "Beyond plain LMF"; left out with core_only=True / --core-only), cells that
extend the grid without touching the cells above:
  stage 2 also: HMF, GroupReduce and whole-model LMF (DAN only) from the uncompressed models at
     R in EXT_REDUCTIONS, and fastText (model "fasttext", per dataset, when the DAN is planned),
  4. lmf_int8 / groupreduce_int8 / lmf_whole_int8: the retrained lmf / groupreduce / lmf_whole
     cell's saved model, quantized to 8 bits after training (no retraining), and fastText.zip
     (fasttext_ftz: the fasttext cell's model.bin quantized),
  5. latency_ext: the seed-0 new variants timed together with the uncompressed model (stored
     under "latency_ext", so the core latency cell's numbers are never overwritten).
Each finished cell writes `<work>/cells/<id>.json` atomically and its model under `<work>/models/`,
so a killed sweep restarts where it stopped. `assemble` turns the cell files into `artifacts/`
(results.csv, schedules.csv, curves/, the models the app needs, spectra.json, sweep.json).

Deliberately not here: the report's text and plots (report.py), and any Streamlit code.
"""
import functools
import json
import os
import platform
import shutil
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import pandas as pd
import torch

from .artifacts import MANIFEST, WEIGHTS, load_model, save_model, write_json_atomic, write_text_atomic
from .catalog import DATASETS, MODELS, RESULT_COLUMNS, RESULT_DTYPES, cell_id
from .compress import compress_model, compress_whole_model, hmf_compress_model, offline_model, embedding_spectrum
from .data import default_vectors_path, load_dataset, load_vectors
from .metrics import accuracy, count_parameters, measure_latency, size_on_disk
from .models import new_model
from .groupreduce import groupreduce_compress_model
from .quantize import latency_model, quantize_model
from .train import recipe, retrain_recipe, train, with_schedule

REDUCTIONS = (10, 30, 50, 70, 90, 95, 98)
SEEDED_REDUCTIONS = (50, 90)  # these, and the uncompressed models, run with every seed
SEEDS = (0, 1, 2)
APP_REDUCTIONS = (50, 90, 98)  # retrained LMF models shipped in artifacts/ for the app
# Extension models shipped for the Playground: seed 0 at R = 90, SST-2 only, to keep artifacts/ under
# ARTIFACTS_BUDGET_BYTES (their int8 stacks are made in the app by quantizing these, as the sweep does).
APP_EXT = {"methods": ("hmf", "groupreduce", "lmf_whole"), "reduction": 90, "datasets": ("sst2",)}
ARTIFACTS_BUDGET_BYTES = 120 * 10**6
QUICK = {"reductions": (50, 90), "seeds": (0,), "n_train": 400, "n_eval": 150, "max_steps": 12}
EXT_REDUCTIONS = (90, 95, 98)  # HMF, GroupReduce, whole-model LMF and their int8 stacks
EXT_SEEDED = (90,)  # with every seed; the other reductions seed 0 only
QUICK_EXT_REDUCTIONS = (90,)
EXT_METHODS = ("hmf", "groupreduce", "lmf_whole")  # compressed from the uncompressed model, retrained
INT8_OF = {"lmf_int8": "lmf", "groupreduce_int8": "groupreduce", "lmf_whole_int8": "lmf_whole"}
FASTTEXT_QUICK = {"bucket": 2000, "cutoff": 1000, "epoch": 5, "lr": 0.1, "lrUpdateRate": 1}  # see fasttext_baseline._retry_nan

EXT_KEYS = ("hmf_rank", "hmf_dense_rows", "group_sizes", "group_ranks", "rank", "hidden_ranks")
SCHEDULE_COLUMNS = ["dataset", "model", "schedule", "seed", "dev_accuracy", "accuracy"]


@dataclass(frozen=True)
class Cell:
    dataset: str
    model: str
    method: str  # uncompressed | lmf | offline_svd | quant16 | quant8 | latency, and the extension's
    # hmf | groupreduce | lmf_whole | *_int8 | fasttext | fasttext_ftz | latency_ext
    reduction: int = 0
    seed: int = 0
    schedule: str = "calr"

    @property
    def id(self):
        return cell_id(self.dataset, self.model, self.method, self.reduction, self.seed, self.schedule)


def plan(datasets=DATASETS, models=MODELS, quick=False, core_only=False, full=False):
    """The cells, as stages to run in order: the three core stages, then (unless `core_only`) the
    extension cells of the module docstring appended to stage 2 and in stages 4 and 5.

    The default grid fits the 2-core CPU budget: the LSTM's offline-SVD baseline (a full LSTM
    training per cell, the costliest cells) runs only at the seeded R values, and CLR/AdaGrad
    (Table 1, an SST-2 table in the paper) are not run for the CLINC150 LSTM. `full=True` runs
    every method at every R, for a machine with a GPU.
    """
    reductions = QUICK["reductions"] if quick else REDUCTIONS
    seeds = QUICK["seeds"] if quick else SEEDS
    first, second, third = [], [], []
    for ds in datasets:
        for arch in models:
            seeded = lambda r: seeds if (r in SEEDED_REDUCTIONS or quick) else seeds[:1]
            cheap = full or quick or arch == "dan"
            offline_reductions = reductions if cheap else [r for r in reductions if r in SEEDED_REDUCTIONS]
            schedules = ("clr", "adagrad") if (cheap or ds == "sst2") else ()
            first += [Cell(ds, arch, "uncompressed", 0, s) for s in seeds]
            first += [Cell(ds, arch, "uncompressed", 0, seeds[0], sched) for sched in schedules]
            first += [Cell(ds, arch, "offline_svd", r, s) for r in offline_reductions for s in seeded(r)]
            second += [Cell(ds, arch, "lmf", r, s) for r in reductions for s in seeded(r)]
            second += [Cell(ds, arch, f"quant{b}", 0, s) for b in (16, 8) for s in seeds]
            third.append(Cell(ds, arch, "latency"))
    if core_only:
        return [first, second, third]
    fourth, fifth = [], []
    ext_reductions = QUICK_EXT_REDUCTIONS if quick else EXT_REDUCTIONS
    for ds in datasets:
        for arch in models:
            seeded = lambda r: seeds if (r in EXT_SEEDED and not quick) else seeds[:1]
            methods = [m for m in EXT_METHODS if arch == "dan" or m != "lmf_whole"]
            second += [Cell(ds, arch, m, r, s) for m in methods for r in ext_reductions for s in seeded(r)]
            fourth += [Cell(ds, arch, q, r, s) for q, parent in INT8_OF.items() if parent in methods or parent == "lmf"
                       for r in ext_reductions for s in seeded(r)]
            fifth.append(Cell(ds, arch, "latency_ext"))
        if "dan" in models:
            second += [Cell(ds, "fasttext", "fasttext", 0, s) for s in seeds]
            fourth += [Cell(ds, "fasttext", "fasttext_ftz", 0, s) for s in seeds]
    return [first, second, third, fourth, fifth]


# Module-level, not per Sweep: joblib pickles the Sweep into each task, so a cache on the instance
# would be empty in every task, while this one lives as long as the worker process.
@functools.lru_cache(maxsize=None)
def _cached_data(name, quick):
    data = load_dataset(name)
    return data.subset(QUICK["n_train"], QUICK["n_eval"]) if quick else data


@functools.lru_cache(maxsize=None)
def _cached_vectors(name, quick):
    return load_vectors(default_vectors_path(), _cached_data(name, quick).vocab)[0]


def is_latency(cell):
    return cell.method in ("latency", "latency_ext")


class Sweep:
    def __init__(self, out="artifacts", work="runs/sweep", quick=False, device="auto"):
        self.out, self.work, self.quick, self.device = Path(out), Path(work), quick, device

    def cell_file(self, cell):
        return self.work / "cells" / f"{cell.id}.json"

    def model_dir(self, cell):
        return self.work / "models" / cell.id

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

    # ------------------------------------------------------------ running cells

    def data(self, name):
        return _cached_data(name, self.quick)

    def vectors(self, name):
        return _cached_vectors(name, self.quick)

    def config(self, cell, retrain=False):
        config = retrain_recipe(cell.model) if retrain else recipe(cell.model)
        config = with_schedule(replace(config, seed=cell.seed, device=self.device), cell.schedule)
        if self.quick:
            config = replace(config, max_steps=QUICK["max_steps"], min_steps=0, eval_every=4)
        return config

    def run(self, cell, progress=False):
        """Run one cell and write its JSON; returns the record."""
        start = time.perf_counter()
        data = self.data(cell.dataset)
        record = {"cell": asdict(cell), "quick": self.quick, "rows": [], "schedule_rows": [], "curve": []}
        if cell.method == "latency":
            record["latency"] = self.run_latency(cell)
        elif cell.method == "latency_ext":
            record["latency_ext"] = self.run_latency_ext(cell)
        elif cell.model == "fasttext":
            record.update(self.run_fasttext(cell, data))
        else:
            record.update(self.run_model(cell, data, progress))
        record["seconds"] = time.perf_counter() - start
        write_json_atomic(self.cell_file(cell), record)
        return record

    def run_model(self, cell, data, progress):
        vectors = self.vectors(cell.dataset) if cell.model == "lstm" else None
        n_vocab, n_classes = len(data.vocab), len(data.label_names)
        before, curve, dev, rank = None, [], None, None
        if cell.method == "uncompressed":
            model = new_model(cell.model, n_vocab, n_classes, vectors, seed=cell.seed)
            result = train(model, data, self.config(cell), progress=progress)
            model, dev = result.model, result.best_dev
        elif cell.method == "offline_svd":
            model = offline_model(cell.model, n_vocab, n_classes, cell.reduction, vectors, seed=cell.seed)
            result = train(model, data, self.config(cell), progress=progress)
            model, dev, rank = result.model, result.best_dev, model.config["embed_dim"]
        elif cell.method in INT8_OF:
            # Post-training int8 of every factor and layer of the retrained cell's saved model.
            source = Cell(cell.dataset, cell.model, INT8_OF[cell.method], cell.reduction, cell.seed)
            model = quantize_model(load_model(self.model_dir(source)).model, 8)
            dev, rank = accuracy(model, data, "dev"), self._rank(model)
        else:
            parent = load_model(self.model_dir(Cell(cell.dataset, cell.model, "uncompressed", 0, cell.seed))).model
            if cell.method in EXT_METHODS or cell.method == "lmf":
                # The paper's online method and its extensions alike: compress the trained model,
                # measure it as it is, retrain it.
                if cell.method == "lmf":
                    model = compress_model(parent, cell.reduction)
                elif cell.method == "hmf":
                    model = hmf_compress_model(parent, cell.reduction)
                elif cell.method == "groupreduce":
                    model = groupreduce_compress_model(parent, data.vocab.counts, cell.reduction)
                else:
                    model = compress_whole_model(parent, cell.reduction)
                details = {"config": {k: v for k, v in model.config.items() if k in EXT_KEYS},
                           "groupreduce": getattr(model, "groupreduce_info", None)}
                before = accuracy(model, data, "test")
                result = train(model, data, self.config(cell, retrain=True), progress=progress)
                model, dev, rank = result.model, result.best_dev, self._rank(model)
                curve = [{"step": h["step"], "dev_accuracy": h["dev_accuracy"], "lr": h["lr"]}
                         for h in result.history]
            else:
                model = quantize_model(parent, int(cell.method[len("quant"):]))
                dev = accuracy(model, data, "dev")
        test = accuracy(model, data, "test")
        save_model(self.model_dir(cell), model, data.vocab, data.label_names,
                   {"dev_accuracy": dev, "test_accuracy": test})
        ext = cell.method in EXT_METHODS or cell.method in INT8_OF
        row = {"dataset": cell.dataset, "model": cell.model, "method": cell.method,
               "reduction_pct": cell.reduction if cell.method in ("lmf", "offline_svd") or ext else
               {"uncompressed": 0, "quant16": 50, "quant8": 75}[cell.method],
               "rank": rank, "params": count_parameters(model),
               "size_bytes": size_on_disk(self.model_dir(cell)), "accuracy": test,
               "dev_accuracy": dev, "accuracy_before_retrain": before, "seed": cell.seed}
        out = {"curve": curve}
        if cell.method == "uncompressed":
            out["schedule_rows"] = [{"dataset": cell.dataset, "model": cell.model, "schedule": cell.schedule,
                                     "seed": cell.seed, "dev_accuracy": dev, "accuracy": test}]
        out["rows"] = [row] if cell.schedule == "calr" else []
        if ext:
            out["details"] = {**(details if cell.method in EXT_METHODS else {}),
                              "fp32_size_bytes_of_uncompressed": self._uncompressed_size(cell)}
        return out

    @staticmethod
    def _rank(model):
        """The rank column for the extension methods: LMF's k, HMF's r; None for GroupReduce (its
        per-block ranks are in the cell's details)."""
        return model.config.get("rank") or model.config.get("hmf_rank")

    def _uncompressed_size(self, cell):
        path = self.model_dir(Cell(cell.dataset, cell.model, "uncompressed", 0, cell.seed))
        return size_on_disk(path) if path.is_dir() else None

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
            source_cell = Cell(cell.dataset, cell.model, "fasttext", 0, cell.seed)
            trained = json.loads(self.cell_file(source_cell).read_text()).get("details", {}).get("settings", {})
            kwargs = {"cutoff": cutoff} if self.quick else {}
            model = quantize_fasttext(self.model_dir(source_cell) / "model.bin", data, out_dir, seed=cell.seed,
                                      lr=trained.get("lr"), epoch=trained.get("epoch"), **kwargs)
            path = out_dir / "model.ftz"
        (out_dir / "train.txt").unlink(missing_ok=True)  # the training text is not part of the model
        dev, test = fasttext_accuracy(model, data, "dev"), fasttext_accuracy(model, data, "test")
        row = {"dataset": cell.dataset, "model": "fasttext", "method": cell.method, "reduction_pct": 0,
               "rank": None, "params": int(model.get_input_matrix().size + model.get_output_matrix().size)
               if cell.method == "fasttext" else None,
               "size_bytes": size_on_disk(path), "accuracy": test, "dev_accuracy": dev,
               "accuracy_before_retrain": None, "seed": cell.seed}
        return {"rows": [row], "curve": [], "details": details}

    def run_latency(self, cell):
        """Seed-0 variants of one (dataset, model), timed together; name -> latency metrics."""
        data = self.data(cell.dataset)
        models = {}
        core = plan([cell.dataset], [cell.model], self.quick, core_only=True, full=True)
        for other in core[0] + core[1]:
            if not self.done(other):
                continue
            if other.seed != 0 or other.schedule != "calr" or other.method.startswith("quant"):
                continue
            models[other.id] = load_model(self.model_dir(other)).model
        base = models[Cell(cell.dataset, cell.model, "uncompressed").id]
        for bits in (16, 8):
            models[Cell(cell.dataset, cell.model, f"quant{bits}").id] = latency_model(base, bits)
        ids = data.encoded("test")[0]
        return measure_latency(models, ids, n_single=100 if self.quick else 300,
                               repeats=2 if self.quick else 5)

    def run_latency_ext(self, cell):
        """The seed-0 extension variants of one (dataset, model) timed together with the uncompressed
        model (its timing stored as '<id>@ext' so ratios compare within this cell); the int8 stacks
        through quantize.latency_model(..., 8) like quant8. For the DAN, fastText (.bin and .ftz,
        seed 0) is timed right after, in the same process, by fasttext_baseline.fasttext_latency
        (model.predict on one tokenized sentence; not interleaved with the torch models)."""
        data = self.data(cell.dataset)
        base_cell = Cell(cell.dataset, cell.model, "uncompressed")
        models = {base_cell.id + "@ext": load_model(self.model_dir(base_cell)).model}
        stages = plan([cell.dataset], [cell.model], self.quick)
        for other in stages[1] + stages[3]:
            if other.seed != 0 or other.model != cell.model or not (other.method in EXT_METHODS or other.method in INT8_OF):
                continue
            model = load_model(self.model_dir(other)).model
            models[other.id] = latency_model(model, 8) if other.method in INT8_OF else model
        n_single, repeats = (100, 2) if self.quick else (300, 5)
        ids = data.encoded("test")[0]
        out = measure_latency(models, ids, n_single=n_single, repeats=repeats)
        if cell.model == "dan":
            from .fasttext_baseline import fasttext_latency, load_fasttext
            for method, name in (("fasttext", "model.bin"), ("fasttext_ftz", "model.ftz")):
                ft_cell = Cell(cell.dataset, "fasttext", method)
                path = self.model_dir(ft_cell) / name
                if path.is_file():
                    out[ft_cell.id] = fasttext_latency(load_fasttext(path), data.test.texts, n_single, repeats)
        return out

    # ------------------------------------------------------------ assembling artifacts/

    def records(self, cells):
        return [json.loads(self.cell_file(c).read_text()) for c in cells if self.done(c)]

    def assemble(self, stages, wall_seconds=None, command=""):
        """Write artifacts/ from the finished cells (all of them must be done)."""
        cells = [c for stage in stages for c in stage]
        missing = [c.id for c in cells if not self.done(c)]
        if missing:
            raise RuntimeError(f"{len(missing)} cells are not finished, e.g. {missing[:3]}")
        records = self.records(cells)
        latency, latency_ext = {}, {}
        for r in records:
            latency.update(r.get("latency", {}))
            latency_ext.update(r.get("latency_ext", {}))
        rows, schedule_rows = [], []
        for r in records:
            for row in r["rows"]:
                cell_id = Cell(**r["cell"]).id
                lat = latency.get(cell_id)
                base = latency.get(Cell(row["dataset"], row["model"], "uncompressed").id)
                if cell_id in latency_ext:
                    # Extension rows: timed in their (dataset, model)'s latency_ext cell, ratio to the
                    # uncompressed model timed there too (fastText: to the DAN's).
                    lat = latency_ext[cell_id]
                    base = latency_ext.get(Cell(row["dataset"], "dan" if row["model"] == "fasttext" else row["model"],
                                                "uncompressed").id + "@ext")
                if lat and base:
                    row = {**row, "latency_ms_b1": lat["latency_ms_b1"],
                           "latency_ratio_b1": lat["latency_ms_b1"] / base["latency_ms_b1"],
                           "test_set_seconds": lat["test_set_seconds"]}
                rows.append(row)
            schedule_rows += r["schedule_rows"]
            if r["curve"]:
                curve = pd.DataFrame(r["curve"])
                write_text_atomic(self.out / "curves" / f"{Cell(**r['cell']).id}.csv", curve.to_csv(index=False))
        results = pd.DataFrame(rows, columns=RESULT_COLUMNS)
        results = results.sort_values(["dataset", "model", "method", "reduction_pct", "seed"])
        results = results.astype(RESULT_DTYPES)
        write_text_atomic(self.out / "results.csv", results.to_csv(index=False))
        schedules = pd.DataFrame(schedule_rows, columns=SCHEDULE_COLUMNS).sort_values(
            ["dataset", "model", "schedule", "seed"])
        write_text_atomic(self.out / "schedules.csv", schedules.to_csv(index=False))
        self.copy_app_models(cells)
        write_spectra(self.out)
        write_json_atomic(self.out / "sweep.json", {
            "command": command, "quick": self.quick, "wall_seconds": wall_seconds,
            "cell_seconds": sum(r["seconds"] for r in records), "cells": len(records),
            "hardware": hardware(), "device": self.device})
        return results

    def copy_app_models(self, cells):
        reductions = QUICK["reductions"] if self.quick else APP_REDUCTIONS
        for cell in cells:
            app_ext = (cell.method in APP_EXT["methods"] and cell.reduction == APP_EXT["reduction"]
                       and cell.dataset in APP_EXT["datasets"])
            wanted = cell.seed == 0 and cell.schedule == "calr" and (
                cell.method == "uncompressed" or app_ext or (cell.method == "lmf" and cell.reduction in reductions))
            if not wanted:
                continue
            target = self.out / "models" / cell.id
            tmp, old = (target.with_name(target.name + suffix) for suffix in (".tmp-copy", ".tmp-old"))
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.copytree(self.model_dir(cell), tmp)
            # Move the old copy aside before the new one takes its name, so a crash in between
            # leaves one complete model under one of the two names, never none.
            if target.exists():
                shutil.rmtree(old, ignore_errors=True)
                os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        total = size_on_disk(self.out)
        if total > ARTIFACTS_BUDGET_BYTES:
            print(f"warning: {self.out} holds {total / 1e6:.1f} MB, over the {ARTIFACTS_BUDGET_BYTES / 1e6:.0f} MB "
                  "budget for artifacts/; ship fewer models (APP_REDUCTIONS, APP_EXT)", file=sys.stderr)


def write_spectra(out):
    """spectra.json: the singular values of each shipped uncompressed model's embedding, with the
    sha256 of the weights they come from, so the app's home page draws the spectrum without
    loading torch (lmf.catalog.read_spectrum). Run on its own for artifacts that predate it:
    python -c "from lmf.sweep import write_spectra; write_spectra('artifacts')"."""
    spectra = {}
    for path in sorted((Path(out) / "models").glob("*-uncompressed-s0")):
        values = embedding_spectrum(load_model(path).model)
        spectra[path.name] = {"weights_sha256": json.loads((path / MANIFEST).read_text())[WEIGHTS],
                              "singular_values": [float(f"{v:.6g}") for v in values.tolist()]}
    write_json_atomic(Path(out) / "spectra.json", spectra)


def hardware():
    info = {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "python": platform.python_version(), "torch": torch.__version__}
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info
