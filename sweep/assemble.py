"""Turning finished sweep cells into an artifacts folder, as a whole.

`assemble` builds the complete folder (results.csv, schedules.csv, curves/, the models the app
ships, spectra.json, sweep.json, REPORT.md and its plot) beside the target and swaps it in
(lmf.atomic.replace_dir): a re-run never leaves an old model beside new ones, and a crash never
leaves half a folder. The datasets this sweep ran replace theirs; rows, curves and models of the
other datasets already in the folder are carried over, so a sweep on one more dataset
(`--data DIR --name NAME`) adds it next to the others. Quick and full results never mix.

Deliberately not here: running cells (sweep.runner) or the report's contents (sweep.report).
"""
import json
import os
import platform
import shutil
import sys
from pathlib import Path

import torch

from lmf.artifacts import load_model
from lmf.atomic import write_json_atomic
from lmf.compress import embedding_spectrum
from lmf.names import DEFAULT_TOLERANCE, QUICK
from lmf.methods import Cell
from .grid import APP_EXT, APP_REDUCTIONS, ARTIFACTS_BUDGET_BYTES
from lmf.layout import (CURVES_DIR, EXPORT_MODEL, MANIFEST, MODELS_DIR, RESULTS, SCHEDULES, SPECTRA, SWEEP, WEIGHTS,
                        file_sha256, read_sweep_info, tool_versions)
from lmf.metrics import size_on_disk
from .report import write_report
from lmf.results import RESULT_COLUMNS, SCHEDULE_SCHEMA, read_results, read_schedules, write_rows


def is_artifacts_dir(path):
    """A folder this package assembled: it holds results.csv or sweep.json."""
    return (Path(path) / RESULTS).is_file() or (Path(path) / SWEEP).is_file()


def _dataset_of(name):
    return name.split("-", 1)[0]


def shipped(cell, quick):
    """Whether the app ships this cell's model: seed 0 of the uncompressed model, LMF at the app's
    R values, and the extension methods named by grid.APP_EXT."""
    if cell.seed != 0 or cell.schedule != "calr" or cell.is_latency or cell.model == "fasttext":
        return False
    app_ext = (cell.method in APP_EXT["methods"] and cell.reduction == APP_EXT["reduction"]
               and cell.dataset in APP_EXT["datasets"])
    reductions = QUICK["reductions"] if quick else APP_REDUCTIONS
    return cell.method == "uncompressed" or app_ext or (cell.method == "lmf" and cell.reduction in reductions)


def recommended_sources(rows):
    """Cell ids of the saved models the recommended rows' exports are made from (one per dataset
    and model: lmf.selection.recommend at lmf.names.DEFAULT_TOLERANCE), so the app can serve them."""
    from lmf.results import pairs, summary_for
    from lmf.selection import recommend
    ids = set()
    rows = [{c: row.get(c) for c in RESULT_COLUMNS} for row in rows]  # as results.csv reads back: every column
    for dataset, model in pairs(rows):
        best = recommend(summary_for(rows, dataset, model), DEFAULT_TOLERANCE)
        if best is not None:
            ids.add(Cell(dataset, model, best.row["method"], best.row["embedding_reduction_pct"]).deployed_from.id)
    return ids


def with_bytes_fraction(rows):
    """Each row with bytes_fraction: its size over the uncompressed model's of the same dataset,
    model (the DAN's for fastText) and seed (seed 0's when that seed has none)."""
    base = {(r["dataset"], r["model"], r["seed"]): r["size_bytes"] for r in rows if r["method"] == "uncompressed"}
    out = []
    for row in rows:
        model = "dan" if row["model"] == "fasttext" else row["model"]
        size = base.get((row["dataset"], model, row["seed"])) or base.get((row["dataset"], model, 0))
        out.append({**row, "bytes_fraction": row["size_bytes"] / size if size else None})
    return out


def collect(records):
    """(results rows, schedule rows, {curve name: rows}) from cell records, each result row joined
    with the latency its (dataset, model)'s latency cell measured (its export on ONNX Runtime, and
    eager PyTorch under '<id>@eager') and the ratio to the uncompressed export timed in the same
    cell."""
    latency, latency_ext = {}, {}
    for r in records:
        latency.update(r.get("latency", {}))
        latency_ext.update(r.get("latency_ext", {}))
    rows, schedule_rows, curves = [], [], {}
    for r in records:
        cell = Cell(**r["cell"])
        for row in r["rows"]:
            timings, base_id = latency, Cell(row["dataset"], row["model"], "uncompressed").id
            if cell.id in latency_ext:
                base_model = "dan" if row["model"] == "fasttext" else row["model"]
                timings, base_id = latency_ext, Cell(row["dataset"], base_model, "uncompressed").id + "@ext"
            timing, base, eager = timings.get(cell.id), timings.get(base_id), timings.get(cell.id + "@eager")
            if timing and base:
                row = {**row, "latency_ms_b1": timing["latency_ms_b1"],
                       "latency_ratio_b1": timing["latency_ms_b1"] / base["latency_ms_b1"],
                       "test_set_seconds": timing["test_set_seconds"]}
            if eager:
                row = {**row, "eager_latency_ms_b1": eager["latency_ms_b1"]}
            rows.append(row)
        schedule_rows += r["schedule_rows"]
        if r["curve"]:
            curves[cell.id] = r["curve"]
    return with_bytes_fraction(rows), schedule_rows, curves


def stamped(runner, cell, record):
    """The cell's record with export_sha256 on its rows: the sha256 of its export's model.onnx, so
    studio.deploy can check that an export rebuilt from a shipped model is the one measured."""
    model = runner.export_dir(cell) / EXPORT_MODEL
    if not model.is_file():
        return record
    digest = file_sha256(model)
    return {**record, "rows": [{**row, "export_sha256": digest} for row in record["rows"]]}


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


def write_spectra(out):
    """spectra.json: the singular values of each shipped uncompressed model's embedding, with the
    sha256 of the weights they come from, so the app's home page draws the spectrum without
    loading torch (lmf.layout.read_spectrum)."""
    spectra = {}
    for path in sorted((Path(out) / MODELS_DIR).glob("*-uncompressed-s0")):
        values = embedding_spectrum(load_model(path).model)
        spectra[path.name] = {"weights_sha256": json.loads((path / MANIFEST).read_text())[WEIGHTS],
                              "singular_values": [float(f"{v:.6g}") for v in values.tolist()]}
    write_json_atomic(Path(out) / SPECTRA, spectra)


def assemble(runner, stages, out, wall_seconds=None, command="", device="auto"):
    """Write the artifacts folder `out` from the finished cells of `stages` (all must be done)."""
    from lmf.atomic import replace_dir
    out = Path(out)
    cells = [c for stage in stages for c in stage]
    unfinished = [c.id for c in cells if not runner.done(c)]
    if unfinished:
        raise RuntimeError(f"{len(unfinished)} cells are not finished, e.g. {unfinished[:3]}")
    records = [stamped(runner, c, runner.record(c)) for c in cells]
    rows, schedule_rows, curves = collect(records)
    ours = {c.dataset for c in cells}
    previous = read_sweep_info(out) if is_artifacts_dir(out) else {}
    carried = {"rows": [], "schedules": [], "curves": [], "models": [], "earlier": []}
    if is_artifacts_dir(out) and (out / RESULTS).is_file():
        old_rows = [r for r in read_results(out, older=True) if r["dataset"] not in ours]
        if old_rows and bool(previous.get("quick")) != runner.quick:
            raise ValueError(f"{out} holds {'quick' if previous.get('quick') else 'full'} results for other "
                             "datasets; quick and full results are not mixed in one folder (use another --out)")
        carried["rows"] = old_rows
        older = sorted({r["dataset"] for r in old_rows if r["model"] != "fasttext" and not r["export_sha256"]})
        if older:
            print(f"warning: the rows of {', '.join(older)} carried over from {out} predate deployable exports "
                  "(no export_sha256: their sizes and accuracies may be a saved model's); rerun their sweep",
                  file=sys.stderr)
        if (out / SCHEDULES).is_file():
            carried["schedules"] = [r for r in read_schedules(out) if r["dataset"] not in ours]
        for folder, key in ((CURVES_DIR, "curves"), (MODELS_DIR, "models")):
            if (out / folder).is_dir():
                carried[key] = [p for p in (out / folder).iterdir()
                                if not p.is_symlink() and _dataset_of(p.name) not in ours]
        if old_rows:
            carried["earlier"] = previous.get("earlier", []) + [{k: v for k, v in previous.items() if k != "earlier"}]

    def build(tmp):
        all_rows = sorted(carried["rows"] + rows, key=lambda r: (r["dataset"], r["model"], r["method"],
                                                                 r["embedding_reduction_pct"], r["seed"]))
        write_rows(tmp / RESULTS, all_rows, RESULT_COLUMNS)
        write_rows(tmp / SCHEDULES, sorted(carried["schedules"] + schedule_rows, key=lambda r: (
            r["dataset"], r["model"], r["schedule"], r["seed"])), list(SCHEDULE_SCHEMA))
        for name, curve in curves.items():
            write_rows(tmp / CURVES_DIR / f"{name}.csv", curve, ["dev_accuracy", "lr", "step"])
        for path in carried["curves"]:
            (tmp / CURVES_DIR).mkdir(exist_ok=True)
            shutil.copy2(path, tmp / CURVES_DIR / path.name)
        for path in carried["models"]:
            shutil.copytree(path, tmp / MODELS_DIR / path.name, symlinks=False)
        recommended = recommended_sources(rows)
        for cell in cells:
            if shipped(cell, runner.quick) or (cell.id in recommended and not cell.is_latency):
                shutil.copytree(runner.model_dir(cell), tmp / MODELS_DIR / cell.id)
        write_spectra(tmp)
        write_json_atomic(tmp / SWEEP, {
            "command": command, "quick": runner.quick, "wall_seconds": wall_seconds,
            "cell_seconds": sum(r["seconds"] for r in records), "cells": len(records),
            "datasets": sorted(ours), "earlier": carried["earlier"], "hardware": hardware(), "device": device,
            "tools": tool_versions(),
            "not_run": [{"cell": c.id, "why": r["skipped"]} for c, r in zip(cells, records) if r.get("skipped")]})
        write_report(tmp)
        total = size_on_disk(tmp)
        if total > ARTIFACTS_BUDGET_BYTES:
            print(f"warning: {out} will hold {total / 1e6:.1f} MB, over the {ARTIFACTS_BUDGET_BYTES / 1e6:.0f} MB "
                  "budget for artifacts/; ship fewer models (grid.APP_REDUCTIONS, grid.APP_EXT)", file=sys.stderr)

    replace_dir(out, build, owned=is_artifacts_dir)
    return out
