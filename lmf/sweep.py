"""The precompute sweep: every (dataset, model, method, reduction, seed) cell the app and report read.

The grid is a list of `Cell`s run in stages (a cell only needs cells of earlier stages):
  1. uncompressed models (CALR, plus CLR and AdaGrad for Table 1) and offline-SVD models (baseline 2),
  2. online LMF (compress an uncompressed model, measure, retrain) and 8/16-bit quantization,
  3. latency: every variant of one (dataset, model) timed in one process, interleaved.
Each finished cell writes `<work>/cells/<id>.json` atomically and its model under `<work>/models/`,
so a killed sweep restarts where it stopped. `assemble` turns the cell files into `artifacts/`
(results.csv, schedules.csv, curves/, the models the app needs, sweep.json).

Deliberately not here: the report's text and plots (report.py), and any Streamlit code.
"""
import functools
import json
import os
import platform
import shutil
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import pandas as pd
import torch

from .artifacts import load_model, save_model, write_json_atomic, write_text_atomic
from .compress import compress_model, offline_model
from .data import default_vectors_path, load_dataset, load_vectors
from .metrics import accuracy, count_parameters, measure_latency, size_on_disk
from .models import new_model
from .quantize import latency_model, quantize_model
from .train import recipe, retrain_recipe, train

DATASETS = ("sst2", "clinc150")
MODELS = ("dan", "lstm")
REDUCTIONS = (10, 30, 50, 70, 90, 95, 98)
SEEDED_REDUCTIONS = (50, 90)  # these, and the uncompressed models, run with every seed
SEEDS = (0, 1, 2)
APP_REDUCTIONS = (50, 90, 98)  # retrained LMF models shipped in artifacts/ for the app
QUICK = {"reductions": (50, 90), "seeds": (0,), "n_train": 400, "n_eval": 150, "max_steps": 12}

RESULT_COLUMNS = ["dataset", "model", "method", "reduction_pct", "rank", "params", "size_bytes",
                  "accuracy", "dev_accuracy", "accuracy_before_retrain", "latency_ms_b1",
                  "latency_ratio_b1", "test_set_seconds", "seed"]
SCHEDULE_COLUMNS = ["dataset", "model", "schedule", "seed", "dev_accuracy", "accuracy"]
# AdaGrad as Iyyer et al. and Tai et al. ran it: a constant rate, no cyclic schedule.
ADAGRAD_LR = 0.01


@dataclass(frozen=True)
class Cell:
    dataset: str
    model: str
    method: str  # uncompressed | lmf | offline_svd | quant16 | quant8 | latency
    reduction: int = 0
    seed: int = 0
    schedule: str = "calr"

    @property
    def id(self):
        parts = [self.dataset, self.model, self.method]
        if self.reduction:
            parts.append(f"R{self.reduction}")
        if self.schedule != "calr":
            parts.append(self.schedule)
        if self.method != "latency":
            parts.append(f"s{self.seed}")
        return "-".join(parts)


def plan(datasets=DATASETS, models=MODELS, quick=False, full=False):
    """The cells, as three stages to run in order.

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
    return [first, second, third]


class Sweep:
    def __init__(self, out="artifacts", work="runs/sweep", quick=False, device="auto"):
        self.out, self.work, self.quick, self.device = Path(out), Path(work), quick, device

    def cell_file(self, cell):
        return self.work / "cells" / f"{cell.id}.json"

    def model_dir(self, cell):
        return self.work / "models" / cell.id

    def done(self, cell):
        return self.cell_file(cell).is_file()

    # ------------------------------------------------------------ running cells

    @functools.lru_cache(maxsize=None)
    def data(self, name):
        data = load_dataset(name)
        return data.subset(QUICK["n_train"], QUICK["n_eval"]) if self.quick else data

    @functools.lru_cache(maxsize=None)
    def vectors(self, name):
        return load_vectors(default_vectors_path(), self.data(name).vocab)[0]

    def config(self, cell, retrain=False):
        config = retrain_recipe(cell.model) if retrain else recipe(cell.model)
        config = replace(config, seed=cell.seed, device=self.device)
        if cell.schedule == "clr":
            config = replace(config, schedule="clr")
        elif cell.schedule == "adagrad":
            config = replace(config, optimizer="adagrad", schedule="constant", lr_ub=ADAGRAD_LR)
        if self.quick:
            config = replace(config, max_steps=QUICK["max_steps"], min_steps=0, eval_every=4)
        return config

    def run(self, cell, progress=False):
        """Run one cell and write its JSON; returns the record."""
        start = time.perf_counter()
        data = self.data(cell.dataset)
        record = {"cell": asdict(cell), "rows": [], "schedule_rows": [], "curve": []}
        if cell.method == "latency":
            record["latency"] = self.run_latency(cell)
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
        else:
            parent = load_model(self.model_dir(Cell(cell.dataset, cell.model, "uncompressed", 0, cell.seed))).model
            if cell.method == "lmf":
                model = compress_model(parent, cell.reduction)
                before = accuracy(model, data, "test")
                result = train(model, data, self.config(cell, retrain=True), progress=progress)
                model, dev, rank = result.model, result.best_dev, model.config["rank"]
                curve = [{"step": h["step"], "dev_accuracy": h["dev_accuracy"], "lr": h["lr"]}
                         for h in result.history]
            else:
                model = quantize_model(parent, int(cell.method[len("quant"):]))
                dev = accuracy(model, data, "dev")
        test = accuracy(model, data, "test")
        save_model(self.model_dir(cell), model, data.vocab, data.label_names,
                   {"dev_accuracy": dev, "test_accuracy": test})
        row = {"dataset": cell.dataset, "model": cell.model, "method": cell.method,
               "reduction_pct": cell.reduction if cell.method in ("lmf", "offline_svd") else
               {"uncompressed": 0, "quant16": 50, "quant8": 75}[cell.method],
               "rank": rank, "params": count_parameters(model),
               "size_bytes": size_on_disk(self.model_dir(cell)), "accuracy": test,
               "dev_accuracy": dev, "accuracy_before_retrain": before, "seed": cell.seed}
        out = {"curve": curve}
        if cell.method == "uncompressed":
            out["schedule_rows"] = [{"dataset": cell.dataset, "model": cell.model, "schedule": cell.schedule,
                                     "seed": cell.seed, "dev_accuracy": dev, "accuracy": test}]
        out["rows"] = [row] if cell.schedule == "calr" else []
        return out

    def run_latency(self, cell):
        """Seed-0 variants of one (dataset, model), timed together; name -> latency metrics."""
        data = self.data(cell.dataset)
        models = {}
        stages = plan([cell.dataset], [cell.model], self.quick, full=True)
        for other in stages[0] + stages[1]:
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
        latency = {}
        for r in records:
            latency.update(r.get("latency", {}))
        rows, schedule_rows = [], []
        for r in records:
            for row in r["rows"]:
                cell_id = Cell(**r["cell"]).id
                lat = latency.get(cell_id)
                base = latency.get(Cell(row["dataset"], row["model"], "uncompressed").id)
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
        results["rank"] = results["rank"].astype("Int64")
        write_text_atomic(self.out / "results.csv", results.to_csv(index=False))
        schedules = pd.DataFrame(schedule_rows, columns=SCHEDULE_COLUMNS).sort_values(
            ["dataset", "model", "schedule", "seed"])
        write_text_atomic(self.out / "schedules.csv", schedules.to_csv(index=False))
        self.copy_app_models(cells)
        write_json_atomic(self.out / "sweep.json", {
            "command": command, "quick": self.quick, "wall_seconds": wall_seconds,
            "cell_seconds": sum(r["seconds"] for r in records), "cells": len(records),
            "hardware": hardware(), "device": self.device})
        return results

    def copy_app_models(self, cells):
        reductions = QUICK["reductions"] if self.quick else APP_REDUCTIONS
        for cell in cells:
            wanted = cell.seed == 0 and cell.schedule == "calr" and (
                cell.method == "uncompressed" or (cell.method == "lmf" and cell.reduction in reductions))
            if not wanted:
                continue
            target = self.out / "models" / cell.id
            tmp = target.with_name(target.name + ".tmp-copy")
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.copytree(self.model_dir(cell), tmp)
            shutil.rmtree(target, ignore_errors=True)
            os.replace(tmp, target)


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
