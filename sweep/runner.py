"""The sweep's cells: one cell in, one JSON record (and a saved model and export) out.

`Runner.run(cell)` makes the cell's model through lmf.trial (trained, or compressed from its
source and retrained, as lmf.methods says; saved; exported at the method's `deploy` precision),
measures that export (bytes on disk, dev and test accuracy through lmf.runtime, raw text in) and
writes `<work>/cells/<id>.json` atomically with the rows results.csv gets, and the identity of the
export code that made its export (lmf.trial.export_code). The latency cells time every export on
ONNX Runtime, with eager PyTorch beside it; the fastText cells train the baseline.
`Runner(remeasure=True)` (precompute.py --remeasure) re-exports finished cells without retraining.

Deliberately not here: making one model (lmf.trial), which cells exist (sweep.grid), writing
artifacts/ (sweep.assemble), or the compression maths (the modules lmf.methods points to).
"""
import shutil
import time
from dataclasses import asdict

from lmf.artifacts import load_model
from lmf.atomic import write_json_atomic
from lmf.layout import EXPORT_MODEL, file_sha256
from lmf.compress import Infeasible
from lmf.latency import measure, model_contestant, onnx_contestant
from lmf.methods import METHODS, Cell
from lmf.metrics import accuracy, count_parameters, size_on_disk
from lmf.quantize import latency_model
from lmf.trial import Trials, deployable_accuracy, export_code

from .fasttext_baseline import fasttext_contestant
from .grid import plan

FASTTEXT_QUICK = {"bucket": 2000, "cutoff": 1000, "epoch": 5, "lr": 0.1, "lrUpdateRate": 1}  # small enough for the tiny data


def measured_export(export, data):
    """What a row takes from its export: bytes on disk, and test and dev accuracy on ONNX Runtime."""
    return {"size_bytes": size_on_disk(export), "accuracy": deployable_accuracy(export, data, "test"),
            "dev_accuracy": deployable_accuracy(export, data, "dev")}


def twins(candidates):
    """The fp32 twins (lmf.methods.Cell.deployed_from: the model an int8 export is made from) of
    the int8-deployed cells among `candidates` that are not candidates themselves, in order.
    E.g. [uncompressed, quant8] -> [] (quant8's twin is there); [groupreduce R90, groupreduce_int8
    R90, lmf_int8 R90] -> [lmf R90]."""
    ids = {c.id for c in candidates}
    out = [c.deployed_from for c in candidates if METHODS[c.method].deploy == "int8"]
    return [t for t in dict.fromkeys(out) if t.id not in ids]


class Runner(Trials):
    """The sweep's Trials: `run(cell)` writes the cell's record with its results.csv rows. With
    `remeasure=True`, `run` re-exports a finished cell instead (`remeasure`) and `stale` says which
    cells have work to do."""

    def __init__(self, *args, remeasure=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.remeasuring = remeasure

    def stale(self, cell):
        """Whether a --remeasure has work on `cell`: it is not done (it runs as usual), or it is a
        latency cell or a cell with rows from a saved model whose record was written by export code
        other than this checkout's (lmf.trial.export_code). fastText cells, skipped cells and
        Table 1's schedule runs (no rows) are kept as they are."""
        if not self.done(cell):
            return True
        if cell.model == "fasttext":
            return False
        record = self.record(cell)
        return (cell.is_latency or bool(record["rows"])) and record.get("export_code") != export_code()

    def remeasure(self, cell):
        """Re-export a finished cell's deployable model from its saved model with this checkout's
        export code (Trials.deploy) and recompute what its row takes from the export: size_bytes,
        accuracy and dev_accuracy on ONNX Runtime (deployable_accuracy) and export_sha256 where
        the record has it. What training made (the curve, accuracy_before_retrain,
        fixed_point_accuracy, params, rank, details, seconds) is kept. The record is rewritten
        atomically with export_code and "remeasured": true, so a killed --remeasure resumes."""
        start = time.perf_counter()
        record, data = self.record(cell), self.data(cell.dataset)
        shutil.rmtree(self.export_dir(cell), ignore_errors=True)  # whatever older code left there
        export = self.deploy(cell)
        measured = measured_export(export, data)
        digest = file_sha256(export / EXPORT_MODEL)
        rows = [{**row, **measured, **({"export_sha256": digest} if "export_sha256" in row else {})}
                for row in record["rows"]]
        record = {**record, "rows": rows, "export_code": export_code(), "remeasured": True,
                  "remeasure_seconds": time.perf_counter() - start}
        write_json_atomic(self.cell_file(cell), record)
        return record

    def run(self, cell, progress=False):
        """Run one cell from a clean slate and write its JSON; returns the record. When remeasuring,
        a finished cell with rows (not a latency cell) is re-exported instead (`remeasure`)."""
        if (self.remeasuring and not cell.is_latency and cell.model != "fasttext" and self.done(cell)
                and self.record(cell)["rows"]):
            return self.remeasure(cell)
        start = time.perf_counter()
        self.clear(cell)  # what a failed try left is never reused
        data = self.data(cell.dataset)
        record = {"cell": asdict(cell), **self.provenance(cell), "rows": [], "schedule_rows": [], "curve": []}
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
        record["export_code"] = export_code()
        write_json_atomic(self.cell_file(cell), record)
        return record

    def run_model(self, cell, data, progress):
        """Build, save and export the cell's model; its row describes the export: size_bytes is the
        export directory's bytes and accuracy (dev_accuracy) the export's on test (dev). For 8/16-bit
        rows and the int8 stacks, fixed_point_accuracy is the paper's simulation: the torch model
        with its weights rounded per row, computed in fp32."""
        method, before = METHODS[cell.method], []
        calr = cell.schedule == "calr"  # Table 1's schedule runs: no results.csv row, so nothing to deploy
        made = self.trial(cell, data, progress, before=lambda made: before.append(accuracy(made, data, "test")),
                          test=True, export=calr)
        model, result, details = made.model, made.result, made.details
        dev, test = made.metrics["dev_accuracy"], made.metrics["test_accuracy"]
        before = before[0] if before else None
        curve = [] if result is None or method.source == "scratch" else [
            {"step": h["step"], "dev_accuracy": h["dev_accuracy"], "lr": h["lr"]} for h in result.history]
        out = {"curve": curve, "rows": [], "details": details}
        if cell.method == "uncompressed":
            out["schedule_rows"] = [{"dataset": cell.dataset, "model": cell.model, "schedule": cell.schedule,
                                     "seed": cell.seed, "dev_accuracy": dev, "accuracy": test}]
        if not calr:
            return out
        export = made.export
        config = model.config
        row = {"dataset": cell.dataset, "model": cell.model, "method": cell.method,
               "embedding_reduction_pct": cell.reduction if method.reduction == "embedding" else 0,
               "rank": config.get("rank") or config.get("hmf_rank"),
               "width": config["embed_dim"] if cell.method == "offline_svd" else None,
               "params": count_parameters(model), **measured_export(export, data),
               "accuracy_before_retrain": before,
               "fixed_point_accuracy": test if method.deploy != "fp32" else None, "seed": cell.seed}
        out["rows"] = [row]
        return out

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
        fastText.zip. Every int8-deployed variant has its fp32 twin (the export of the model it
        is made from) in the same run: a candidate of this cell, or '<twin id>@twin' (LMF's
        export beside LMF + int8's). All through lmf.latency.measure: raw text in, tokenization
        included, one thread, interleaved; batch 1 and batch 256 (throughput)."""
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
        for twin in twins(candidates):  # an int8 export's fp32 twin timed in another cell is timed here too
            contestants[twin.id + "@twin"] = onnx_contestant(self.export_dir(twin))
        if cell.method == "latency_ext" and cell.model == "dan":  # fastText beside the DAN, in the same run
            for method, name in (("fasttext", "model.bin"), ("fasttext_ftz", "model.ftz")):
                ft_cell = Cell(cell.dataset, "fasttext", method)
                if (self.model_dir(ft_cell) / name).is_file():
                    contestants[ft_cell.id] = fasttext_contestant(self.model_dir(ft_cell) / name)
        n_single, repeats = (100, 2) if self.quick else (300, 5)
        return measure(contestants, data.test.texts, n_single=n_single, repeats=repeats)
