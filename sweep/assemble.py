"""Turning finished sweep cells into an artifacts folder, as a whole.

`assemble` builds the complete folder (results.csv, schedules.csv, curves/, the models the app
ships, spectra.json, sweep.json, REPORT.md and its plot) beside the target and swaps it in
(lmf.atomic.replace_dir): a re-run never leaves an old model beside new ones, and a crash never
leaves half a folder. The datasets this sweep ran replace theirs; rows, curves and models of the
other datasets already in the folder are carried over, so a sweep on one more dataset
(`--data DIR --name NAME`) adds it next to the others. Quick and full results never mix.

What lmf did not write is kept where it is (`carry_plan`: a user's notes.txt, their folder, a
symbolic link, copied as they are; a link is never followed, so nothing from outside the folder is
copied in); what the sweep would have to remove or write over that is not lmf's is refused by
name before anything is written. The folder's lock (lmf.atomic.locked) is held from reading what
is kept to the swap, as studio.jobs' publish holds it: a job publishing meanwhile loses no row.

Deliberately not here: running cells (sweep.runner) or the report's contents (sweep.report).
"""
import os
import platform
import shutil
import sys
from pathlib import Path

import torch

from lmf.units import mb
from lmf.artifacts import is_saved_model, load_model
from lmf.layout import ArtifactError
from lmf.atomic import is_temporary, locked, replace_dir, write_json_atomic
from lmf.compress import embedding_spectrum
from lmf.names import DEFAULT_TOLERANCE, MODELS, QUICK
from lmf.methods import METHODS, Cell
from .grid import APP_EXT, APP_REDUCTIONS, ARTIFACTS_BUDGET_BYTES
from lmf.layout import (CURVES_DIR, EXPORT_MODEL, MANIFEST, MODEL_FORMAT, MODELS_DIR, PLOT, PUBLISHED, REPORT, RESULTS,
                        SCHEDULES, SPECTRA, SWEEP, WEIGHTS, copy_model, file_sha256, foreign_files, is_artifacts_dir, read_json,
                        read_sweep_info, tool_versions)
from lmf.metrics import size_on_disk
from .report import write_report
from lmf.results import RESULT_COLUMNS, SCHEDULE_SCHEMA, read_results, read_schedules, write_rows


# results.csv's columns: lmf.results' schema, and the sweep's timing columns it may not list yet.
COLUMNS = RESULT_COLUMNS + [c for c in ("throughput_b256", "twin_latency_ratio_b1") if c not in RESULT_COLUMNS]
OWN_FILES = (RESULTS, SCHEDULES, SWEEP, SPECTRA, REPORT, PLOT, PUBLISHED)  # what lmf writes at the top of the folder


def _dataset_of(name):
    return name.split("-", 1)[0]


def shipped(cell, quick):
    """Whether the app ships this cell's model: seed 0 of the uncompressed model, LMF at the app's
    R values, and the extension methods named by grid.APP_EXT, of the paper's model kinds
    (lmf.names.MODELS, those the app's pages offer). The n-gram DAN's rows are in results.csv,
    its models are not shipped: they would add about 37 MB against ARTIFACTS_BUDGET_BYTES."""
    if cell.seed != 0 or cell.schedule != "calr" or cell.is_latency or cell.model not in MODELS:
        return False
    app_ext = (cell.method in APP_EXT["methods"] and cell.reduction == APP_EXT["reduction"]
               and cell.dataset in APP_EXT["datasets"])
    reductions = QUICK["reductions"] if quick else APP_REDUCTIONS
    return cell.method == "uncompressed" or app_ext or (cell.method == "lmf" and cell.reduction in reductions)


def recommended_sources(rows):
    """Cell ids of the saved models the recommended rows' exports are made from (one per dataset
    and model of the paper's kinds, lmf.names.MODELS: lmf.selection.recommend at lmf.names.DEFAULT_TOLERANCE on seed 0's models, as the
    home page recommends), so the app can serve them."""
    from lmf.results import pairs
    from lmf.selection import model_summary, recommend
    ids = set()
    rows = [{c: row.get(c) for c in RESULT_COLUMNS} for row in rows]  # as results.csv reads back: every column
    for dataset, model in pairs(rows, MODELS):  # the kinds whose models are shipped (`shipped`)
        best = recommend(model_summary(rows, dataset, model), DEFAULT_TOLERANCE)
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


def twin_timing(timings, cell):
    """The timing of an int8-deployed cell's fp32 twin (the export of the model it is made from)
    among `timings` (one kind of latency cell's: a candidate of the cell, or '<id>@twin'); None
    for any other cell."""
    method = METHODS.get(cell.method)
    if method is None or method.deploy != "int8":
        return None
    twin = cell.deployed_from.id
    return timings.get(twin) or timings.get(twin + "@twin")


def collect(records):
    """(results rows, schedule rows, {curve name: rows}) from cell records, each result row joined
    with the latency its (dataset, model)'s latency cell measured (its export on ONNX Runtime, and
    eager PyTorch under '<id>@eager'), the ratio to the uncompressed export timed in the same
    cell, its throughput at batch 256 and, for an int8-deployed row, the ratio to its fp32 twin
    timed in the same cell (twin_latency_ratio_b1)."""
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
                       "test_set_seconds": timing["test_set_seconds"],
                       "throughput_b256": timing.get("throughput_b256")}  # None in records timed before it
            twin = twin_timing(timings, cell)
            if timing and twin:
                row = {**row, "twin_latency_ratio_b1": timing["latency_ms_b1"] / twin["latency_ms_b1"]}
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
        if not is_saved_model(path):  # a folder of someone else's, carried over as it was
            continue
        values = embedding_spectrum(load_model(path).model)
        spectra[path.name] = {"weights_sha256": file_sha256(path / WEIGHTS),
                              "singular_values": [float(f"{v:.6g}") for v in values.tolist()]}
    write_json_atomic(Path(out) / SPECTRA, spectra)


def _copy_as_is(src, dst):
    """Copy a file, folder or symbolic link to `dst` as it is: a link stays a link (never followed,
    so nothing from outside the folder is copied in)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if src.is_symlink():
        os.symlink(os.readlink(src), dst)
    elif src.is_dir():
        shutil.copytree(src, dst, symlinks=True)
    else:
        shutil.copy2(src, dst, follow_symlinks=False)


def published_names(out):
    """{data set name: job id} of the data sets jobs published into `out` (studio.jobs)."""
    record = read_json(Path(out) / PUBLISHED, {})
    return {name: (entry or {}).get("job") if isinstance(entry, dict) else None for name, entry in record.items()}


def _not_lmf(item):
    """Why a models/ or curves/ entry is not lmf's, for a message."""
    if item.is_symlink():
        return "a symbolic link"
    if item.is_dir():
        foreign = foreign_files(item, MANIFEST, MODEL_FORMAT)
        return "holds " + ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
    return "not a saved model" if item.parent.name == MODELS_DIR else "not a curve lmf wrote"


def carry_plan(out, datasets):
    """What a sweep of `datasets` keeps of the artifacts folder `out`, or why it cannot replace it.

    Returns {"models": [...], "curves": [...], "foreign": [...]}: the saved models and curves of
    other data sets (copied over), and everything lmf did not write (a user's notes, a folder of
    theirs, a symbolic link), kept where it is: copied as it is, a link as a link. lmf's own files
    are rewritten. FileExistsError, naming them, for what the sweep would have to remove or write
    over: anything under models/ or curves/ of these data sets that is not lmf's (a saved model
    with a file added or changed: lmf.layout.refusal's rule), a link or folder where lmf writes a
    file, a folder that is not an artifacts folder; ValueError for a data set a job published."""
    out = Path(out)
    plan = {"models": [], "curves": [], "foreign": []}
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise FileExistsError(f"{out} exists and is not a folder; choose another --out")
    if not out.is_dir() or not any(out.iterdir()):
        return plan
    if not is_artifacts_dir(out):
        entries = sorted(os.listdir(out))
        raise FileExistsError(f"{out} holds files lmf did not write ({', '.join(entries[:5])}"
                              f"{f' and {len(entries) - 5} more' if len(entries) > 5 else ''}): it is not an "
                              f"artifacts folder (no {RESULTS} or {SWEEP}); choose an empty or new folder")
    taken = sorted(set(published_names(out)) & set(datasets))
    if taken:
        raise ValueError(f"{out}: the data set name {taken[0]!r} was published there by a Your data job; "
                         "give the sweep's --name another name")
    blocking = []
    for entry in sorted(out.iterdir()):
        if entry.name in OWN_FILES:
            if entry.is_symlink() or not entry.is_file():
                blocking.append(f"{entry.name} (not a plain file)")
        elif entry.name in (MODELS_DIR, CURVES_DIR):
            if entry.is_symlink() or not entry.is_dir():
                blocking.append(f"{entry.name} (not a folder)")
                continue
            for item in sorted(entry.iterdir()):
                if entry.name == MODELS_DIR:
                    lmf = is_saved_model(item) or (item.is_dir() and not item.is_symlink() and not any(item.iterdir()))
                else:
                    lmf = item.suffix == ".csv" and item.is_file() and not item.is_symlink()
                if _dataset_of(item.name) not in datasets:
                    plan[entry.name if lmf else "foreign"].append(item)
                elif not lmf:
                    blocking.append(f"{entry.name}/{item.name} ({_not_lmf(item)})")
        elif not is_temporary(entry):
            plan["foreign"].append(entry)
    if blocking:
        raise FileExistsError(f"{out}: lmf would have to replace or remove what it did not write: "
                              f"{'; '.join(blocking)}. Move these out of the folder (or use another --out) "
                              "and run again")
    return plan


def check_out(out, datasets, quick):
    """Everything that would stop `assemble` into `out` at the end of a sweep of `datasets` and
    knowable before it: carry_plan's refusals, a sweep.json that is there but unreadable, a
    results.csv that cannot be read (lmf.results' ArtifactError, naming the line), and results of
    other data sets made in the other mode (quick or full), which are not mixed. precompute.py runs
    it first, so none of these costs a sweep of cells; assemble runs it again under the folder's
    lock, as the folder may change meanwhile. Returns carry_plan's plan."""
    out = Path(out)
    plan = carry_plan(out, datasets)
    if not is_artifacts_dir(out):
        return plan
    previous = read_sweep_info(out)
    if (out / SWEEP).is_file() and not previous:
        raise ValueError(f"{out / SWEEP}: unreadable (not a JSON object); restore it or choose another --out")
    if (out / RESULTS).is_file():
        try:
            others = [r for r in read_results(out, older=True) if r["dataset"] not in datasets]
        except ArtifactError as e:  # its advice (regenerate) is this very run: say what this run needs
            why = str(e).split(" in the artifacts folder")[0]
            raise ValueError(f"{out}: {why}; the sweep keeps the other data sets' rows from it, so restore it "
                             "or choose another --out") from e
        if others and bool(previous.get("quick")) != bool(quick):
            raise ValueError(f"{out} holds {'quick' if previous.get('quick') else 'full'} results for other "
                             "datasets; quick and full results are not mixed in one folder (use another --out)")
    return plan


def assemble(runner, stages, out, wall_seconds=None, command="", device="auto"):
    """Write the artifacts folder `out` from the finished cells of `stages` (all must be done),
    holding `out`'s lock (lmf.atomic.locked, as a job's publish does) from reading what it keeps
    (check_out, then carry_plan's plan) to the swap, so a row published meanwhile is never lost."""
    out = Path(out)
    cells = [c for stage in stages for c in stage]
    unfinished = [c.id for c in cells if not runner.done(c)]
    if unfinished:
        raise RuntimeError(f"{len(unfinished)} cells are not finished, e.g. {unfinished[:3]}")
    records = [stamped(runner, c, runner.record(c)) for c in cells]
    rows, schedule_rows, curves = collect(records)
    ours = {c.dataset for c in cells}
    with locked(out):
        plan = check_out(out, ours, runner.quick)
        _assemble(runner, out, cells, records, rows, schedule_rows, curves, ours, plan, wall_seconds, command, device)
    return out


def _assemble(runner, out, cells, records, rows, schedule_rows, curves, ours, plan, wall_seconds, command, device):
    previous = read_sweep_info(out) if is_artifacts_dir(out) else {}
    carried = {"rows": [], "schedules": [], "earlier": []}
    if is_artifacts_dir(out) and (out / RESULTS).is_file():
        old_rows = [r for r in read_results(out, older=True) if r["dataset"] not in ours]  # check_out passed them
        carried["rows"] = old_rows
        older = sorted({r["dataset"] for r in old_rows if r["model"] != "fasttext" and not r["export_sha256"]})
        if older:
            print(f"warning: the rows of {', '.join(older)} carried over from {out} predate deployable exports "
                  "(no export_sha256: their sizes and accuracies may be a saved model's); rerun their sweep",
                  file=sys.stderr)
        if (out / SCHEDULES).is_file():
            carried["schedules"] = [r for r in read_schedules(out) if r["dataset"] not in ours]
        if old_rows:
            carried["earlier"] = previous.get("earlier", []) + [{k: v for k, v in previous.items() if k != "earlier"}]

    def build(tmp):
        all_rows = sorted(carried["rows"] + rows, key=lambda r: (r["dataset"], r["model"], r["method"],
                                                                 r["embedding_reduction_pct"], r["seed"]))
        write_rows(tmp / RESULTS, all_rows, COLUMNS)
        write_rows(tmp / SCHEDULES, sorted(carried["schedules"] + schedule_rows, key=lambda r: (
            r["dataset"], r["model"], r["schedule"], r["seed"])), list(SCHEDULE_SCHEMA))
        for name, curve in curves.items():
            write_rows(tmp / CURVES_DIR / f"{name}.csv", curve, ["dev_accuracy", "lr", "step"])
        for path in plan["curves"]:
            (tmp / CURVES_DIR).mkdir(exist_ok=True)
            shutil.copy2(path, tmp / CURVES_DIR / path.name, follow_symlinks=False)
        for path in plan["models"]:
            if is_saved_model(path):
                copy_model(path, tmp / MODELS_DIR / path.name)
            else:  # an empty folder
                (tmp / MODELS_DIR / path.name).mkdir(parents=True)
        for path in plan["foreign"]:
            _copy_as_is(path, tmp / path.relative_to(out))
        if (out / PUBLISHED).is_file() and not (out / PUBLISHED).is_symlink():
            shutil.copy2(out / PUBLISHED, tmp / PUBLISHED)
        recommended = recommended_sources(rows)
        for cell in cells:
            if shipped(cell, runner.quick) or (cell.id in recommended and not cell.is_latency):
                copy_model(runner.model_dir(cell), tmp / MODELS_DIR / cell.id)
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
            print(f"warning: {out} will hold {mb(total, 1)}, over the {mb(ARTIFACTS_BUDGET_BYTES, 0)} "
                  "budget for artifacts/; ship fewer models (grid.APP_REDUCTIONS, grid.APP_EXT)", file=sys.stderr)

    replace_dir(out, build, owned=is_artifacts_dir)
