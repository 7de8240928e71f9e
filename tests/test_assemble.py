"""scripts/precompute.py end to end: a real quick sweep (SST-2, DAN) through sweep.runner and
sweep.assemble, resumed from its finished cells, and the artifacts folder replaced as a whole."""
import csv
import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT
from lmf.methods import Cell
from sweep.assemble import COLUMNS, assemble, collect, recommended_sources, shipped
from lmf.names import QUICK
from sweep.grid import plan
from lmf.metrics import size_on_disk
from lmf.results import RESULT_COLUMNS, read_results, write_rows
from sweep.runner import Runner
from lmf.train import retrain_recipe

TIMINGS = ["latency_ms_b1", "latency_ratio_b1", "test_set_seconds", "eager_latency_ms_b1", "throughput_b256",
           "twin_latency_ratio_b1"]


def precompute(out, work, *extra):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "precompute.py"), "--quick", "--out", str(out), "--work",
         str(work), "--jobs", "1", "--datasets", "sst2", "--models", "dan", *extra],
        cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"}, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def by_key(rows):
    return {(r["method"], r["embedding_reduction_pct"]): r for r in rows}


@pytest.fixture(scope="module")
def swept(tmp_path_factory, data_dir):
    base = tmp_path_factory.mktemp("sweep")
    out, work = base / "artifacts", base / "work"
    out.mkdir()
    (out / "models").mkdir()
    (out / "models" / "sst2-dan-lmf-R70-s0").mkdir()  # a stale model from an older grid
    (out / "sweep.json").write_text(json.dumps({"quick": True}))  # marks the folder as lmf's, so it may be replaced
    precompute(out, work)
    return out, work


@pytest.mark.slow
def test_quick_sweep_writes_every_row(swept):
    """Core rows: uncompressed, LMF at R = 50 and 90, offline SVD at 50 and 90, 16- and 8-bit = 7;
    the extension adds 14 at R = 90 (HMF, GroupReduce, whole-model LMF, vocabulary pruning,
    pruning + LMF, pruning + whole-model LMF, their six int8 stacks; fastText and fastText.zip at
    R = 0). Offline SVD's width is floor(p * 300): 150 and 30 (its
    rank is blank); LMF's rank at R = 90 is below R = 50's. Every row is timed; the uncompressed
    row's ratio is 1 and its bytes_fraction 1; 8-bit is under a third of the uncompressed bytes."""
    out, work = swept
    rows = read_results(out)
    assert list(csv.reader(open(out / "results.csv")))[0] == COLUMNS
    assert len(rows) == 21
    by = by_key(rows)
    assert by[("offline_svd", 50)]["width"] == 150 and by[("offline_svd", 90)]["width"] == 30
    assert by[("offline_svd", 90)]["rank"] is None
    assert by[("lmf", 90)]["rank"] < by[("lmf", 50)]["rank"]
    assert all(r[c] is not None for r in rows for c in TIMINGS[:3])  # ONNX Runtime's; eager: below
    assert by[("uncompressed", 0)]["latency_ratio_b1"] == 1.0 and by[("uncompressed", 0)]["bytes_fraction"] == 1.0
    assert by[("quant8", 0)]["size_bytes"] < by[("uncompressed", 0)]["size_bytes"] / 3
    assert by[("lmf", 50)]["size_bytes"] == size_on_disk(work / "exports" / "sst2-dan-lmf-R50-s0")
    assert by[("lmf", 50)]["bytes_fraction"] == pytest.approx(by[("lmf", 50)]["size_bytes"] / by[("uncompressed", 0)]["size_bytes"])
    assert by[("lmf_int8", 90)]["params"] == by[("lmf", 90)]["params"]
    assert by[("lmf_int8", 90)]["size_bytes"] < by[("lmf", 90)]["size_bytes"] / 2
    assert by[("fasttext_ftz", 0)]["size_bytes"] < by[("fasttext", 0)]["size_bytes"]


@pytest.mark.slow
def test_every_row_describes_its_deployable_export(swept, tmp_path):
    """One model per row: size_bytes is the export directory's bytes, export_sha256 its model.onnx's
    sha256; 8/16-bit rows and int8 stacks are int8/fp16 exports (of the uncompressed model, of the
    retrained one) and keep the fixed-point simulation in its own column, blank for fp32 rows; every
    model row has its eager PyTorch latency beside ONNX Runtime's, fastText none. Every row whose
    saved model is shipped is rebuilt by studio.deploy byte for byte (its sha256 matches)."""
    from studio.deploy import export_row, is_shipped
    from lmf.layout import file_sha256
    from lmf.runtime import verify_export
    out, work = swept
    rows = read_results(out)
    for row in rows:
        if row["model"] == "fasttext":
            assert row["export_sha256"] is None and row["eager_latency_ms_b1"] is None
            continue
        export = work / "exports" / f"sst2-dan-{row['method']}" \
            f"{'' if row['method'] in ('uncompressed', 'quant8', 'quant16') else '-R%d' % row['embedding_reduction_pct']}-s0"
        precision = verify_export(export)["precision"]
        assert row["size_bytes"] == size_on_disk(export) and row["export_sha256"] == file_sha256(export / "model.onnx")
        assert precision == {"quant8": "int8", "quant16": "fp16"}.get(row["method"],
                                                                      "int8" if row["method"].endswith("_int8") else "fp32")
        assert (row["fixed_point_accuracy"] is None) == (precision == "fp32")
        assert row["eager_latency_ms_b1"] is not None
    shipped = [r for r in rows if is_shipped(out, r)]
    assert {r["method"] for r in shipped} >= {"uncompressed", "lmf", "quant8", "quant16", "lmf_int8", "lmf_whole_int8"}
    for row in shipped:
        assert size_on_disk(export_row(out, row, tmp_path / row["method"] / "m")) == row["size_bytes"]


@pytest.mark.slow
def test_quick_sweep_replaces_the_folder_whole(swept):
    """The stale R = 70 model is gone; the app's models are the uncompressed one, LMF at the quick
    grid's R and the SST-2 extension models; curves for every retrained cell; no temporary left.
    The last retraining step is the recipe's 1 epoch of ceil(400 / 128) = 4 steps (under 12)."""
    out, work = swept
    assert {p.name for p in (out / "models").iterdir()} == {
        "sst2-dan-uncompressed-s0", "sst2-dan-lmf-R50-s0", "sst2-dan-lmf-R90-s0",
        "sst2-dan-hmf-R90-s0", "sst2-dan-groupreduce-R90-s0", "sst2-dan-lmf_whole-R90-s0"
    } | recommended_sources(read_results(out))
    assert sorted(p.name for p in (out / "curves").iterdir()) == [
        "sst2-dan-groupreduce-R90-s0.csv", "sst2-dan-hmf-R90-s0.csv", "sst2-dan-lmf-R50-s0.csv",
        "sst2-dan-lmf-R90-s0.csv", "sst2-dan-lmf_whole-R90-s0.csv", "sst2-dan-prune-R90-s0.csv",
        "sst2-dan-prune_lmf-R90-s0.csv", "sst2-dan-prune_lmf_whole-R90-s0.csv"]
    steps = [int(r["step"]) for r in csv.DictReader(open(out / "curves" / "sst2-dan-lmf-R90-s0.csv"))]
    cfg = retrain_recipe("dan")
    assert steps[-1] == min(int(cfg.epochs * -(-QUICK["n_train"] // cfg.batch_size)), QUICK["max_steps"])
    assert "Generated from" in (out / "REPORT.md").read_text()
    assert sorted(json.loads((out / "spectra.json").read_text())) == ["sst2-dan-uncompressed-s0"]
    assert not list(out.parent.rglob("*.tmp-*"))


@pytest.mark.slow
def test_resume_reruns_only_missing_cells_identically(swept):
    """Delete three cell files (the uncompressed parent, LMF R = 90, the latency cell): the rerun
    redoes exactly those (training is seeded, so identically), keeps the others' files, and
    results.csv matches on every column but the re-measured timings."""
    out, work = swept
    first = read_results(out)
    kept = work / "cells" / "sst2-dan-offline_svd-R50-s0.json"
    kept_mtime = kept.stat().st_mtime_ns
    for name in ("sst2-dan-uncompressed-s0", "sst2-dan-lmf-R90-s0", "sst2-dan-latency"):
        (work / "cells" / f"{name}.json").unlink()
    precompute(out, work)
    again = read_results(out)
    assert kept.stat().st_mtime_ns == kept_mtime
    strip = lambda rows: [{k: v for k, v in r.items() if k not in TIMINGS} for r in rows]  # noqa: E731
    assert strip(again) == strip(first)


@pytest.mark.slow
def test_another_dataset_is_carried_over(swept, tmp_path):
    """A folder holding a quick sweep of dataset "trec" (one row, its model, its curve) gets the
    SST-2 cells assembled into it: the trec row, model and curve are still there beside SST-2's
    21 rows, and sweep.json remembers the earlier run. Quick rows never join a full sweep's."""
    import shutil
    out, work = swept
    target = tmp_path / "artifacts"
    (target / "models").mkdir(parents=True)
    (target / "curves").mkdir()
    shutil.copytree(out / "models" / "sst2-dan-uncompressed-s0", target / "models" / "trec-dan-uncompressed-s0")
    shutil.copy(out / "curves" / "sst2-dan-lmf-R90-s0.csv", target / "curves" / "trec-dan-lmf-R90-s0.csv")
    trec = {**read_results(out)[0], "dataset": "trec", "method": "uncompressed", "embedding_reduction_pct": 0}
    write_rows(target / "results.csv", [trec], RESULT_COLUMNS)
    (target / "sweep.json").write_text(json.dumps({"quick": True, "command": "trec run"}))
    runner = Runner(work, quick=True)
    assemble(runner, plan(["sst2"], ["dan"], quick=True), target, command="sst2 run")
    rows = read_results(target)
    assert [r["dataset"] for r in rows].count("trec") == 1 and len(rows) == 22
    assert (target / "models" / "trec-dan-uncompressed-s0").is_dir() and (target / "models" / "sst2-dan-lmf-R90-s0").is_dir()
    assert (target / "curves" / "trec-dan-lmf-R90-s0.csv").is_file()
    assert json.loads((target / "sweep.json").read_text())["earlier"][0]["command"] == "trec run"
    (target / "sweep.json").write_text(json.dumps({"quick": False}))
    write_rows(target / "results.csv", [trec], RESULT_COLUMNS)
    with pytest.raises(ValueError, match="not mixed"):
        assemble(runner, plan(["sst2"], ["dan"], quick=True), target)


@pytest.mark.slow
def test_remeasure_re_exports_and_keeps_what_training_made(swept, tmp_path):
    """A copy of the quick sweep whose records say an earlier export code made them, with every
    model row's export-derived fields spoiled (size_bytes 1, accuracy and dev_accuracy 0), its
    training-derived ones marked (params 7, accuracy_before_retrain 0.123), its model.onnx
    overwritten, and its latency records marked: `--remeasure` rebuilds every export (byte-equal to
    the sweep's when the export code is the same), measures size and accuracy of the new exports
    (lmf.trial.deployable_accuracy), keeps the marks, reruns the latency cells and keeps the fastText records byte for
    byte; results.csv says so and sweep.json's command records --remeasure. A second --remeasure
    finds nothing stale and rewrites no record."""
    from lmf.runtime import verify_export
    from lmf.trial import deployable_accuracy, export_code
    out, work = tmp_path / "artifacts", tmp_path / "work"
    shutil.copytree(swept[0], out, symlinks=True)
    shutil.copytree(swept[1], work, symlinks=True)
    original = {p.name: json.loads(p.read_text()) for p in (work / "cells").glob("*.json")}
    onnx = {p.parent.name: p.read_bytes() for p in (work / "exports").glob("*/model.onnx")}
    fasttext = {name: (work / "cells" / name).read_bytes() for name in original if "-fasttext-" in name}
    model_rows = [name for name, r in original.items() if r["rows"] and "-fasttext-" not in name]
    latency = [name for name in original if "-latency" in name]
    assert len(model_rows) == 19 and len(latency) == 2 and len(fasttext) == 2
    for name, record in original.items():
        if name in model_rows:
            record = {**record, "export_code": "earlier", "rows": [
                {**row, "size_bytes": 1, "accuracy": 0.0, "dev_accuracy": 0.0, "params": 7,
                 "accuracy_before_retrain": 0.123} for row in record["rows"]]}
            (work / "exports" / name[:-5] / "model.onnx").write_bytes(b"older")
        elif name in latency:
            record = {**record, "export_code": "earlier", "mark": True}
        else:
            continue
        (work / "cells" / name).write_text(json.dumps(record))
    precompute(out, work, "--remeasure")
    after = {p.name: json.loads(p.read_text()) for p in (work / "cells").glob("*.json")}
    data = Runner(work, quick=True).data("sst2")
    for name in model_rows:
        assert after[name]["remeasured"] is True and after[name]["export_code"] == export_code()
        assert after[name]["curve"] == original[name]["curve"] and after[name]["seconds"] == original[name]["seconds"]
        export = work / "exports" / name[:-5]
        verify_export(export)  # rebuilt whole: its model.onnx is the one its manifest lists
        measured = {"size_bytes": size_on_disk(export), "accuracy": deployable_accuracy(export, data, "test"),
                    "dev_accuracy": deployable_accuracy(export, data, "dev")}
        for row, was in zip(after[name]["rows"], original[name]["rows"]):
            assert row == {**was, **measured, "params": 7, "accuracy_before_retrain": 0.123}
    if all(original[name]["export_code"] == export_code() for name in model_rows):  # no edit to lmf.export meanwhile
        assert {p.parent.name: p.read_bytes() for p in (work / "exports").glob("*/model.onnx")} == onnx
    for name in latency:
        assert "mark" not in after[name] and after[name]["export_code"] == export_code()
    assert {name: (work / "cells" / name).read_bytes() for name in fasttext} == fasttext
    rows = by_key(read_results(out))
    for key, row in rows.items():
        assert row["latency_ms_b1"] is not None and row["throughput_b256"] is not None
        if row["model"] != "fasttext":
            cell = after[f"sst2-dan-{key[0]}{'-R%d' % key[1] if key[1] else ''}-s0.json"]
            assert row["params"] == 7 and row["size_bytes"] == cell["rows"][0]["size_bytes"]
            assert row["accuracy"] == cell["rows"][0]["accuracy"]
    assert "--remeasure" in json.loads((out / "sweep.json").read_text())["command"]
    written = {p.name: p.read_bytes() for p in (work / "cells").glob("*.json")}
    assert "remeasure:0cell" in precompute(out, work, "--remeasure").stderr.replace(" ", "")
    assert {p.name: p.read_bytes() for p in (work / "cells").glob("*.json")} == written


def test_the_recommended_model_is_shipped():
    """At the default tolerance of 1 point below the uncompressed 83.0 %, the smallest model is
    whole-model LMF + int8 at R = 98 (0.3 MB, 82.5 %; 8-bit's 5 MB is larger, LMF R = 98's 81.0 %
    too low): the model its int8 export is made from, whole-model LMF at R = 98, seed 0, is shipped."""
    def result(method, reduction, accuracy, size):
        return {"dataset": "sst2", "model": "dan", "method": method, "embedding_reduction_pct": reduction,
                "seed": 0, "accuracy": accuracy, "size_bytes": size}
    rows = [result("uncompressed", 0, 0.83, 21e6), result("quant8", 0, 0.829, 5e6), result("lmf", 98, 0.81, 3e6),
            result("lmf_whole_int8", 98, 0.825, 0.3e6)]
    assert recommended_sources(rows) == {"sst2-dan-lmf_whole-R98-s0"}
    ngram = [{**row, "model": "dan_ngram"} for row in rows]  # the n-gram DAN's models are not shipped
    assert recommended_sources(rows + ngram) == {"sst2-dan-lmf_whole-R98-s0"}


def test_int8_rows_get_their_fp32_twins_ratio_and_every_timed_row_its_throughput():
    """Records of a core latency cell (uncompressed 2.0 ms, 8-bit 2.5 ms, LMF R = 90 1.0 ms) and an
    extension one (uncompressed again 2.0 ms as '@ext', GroupReduce 1.6 ms and its int8 stack
    0.8 ms, LMF + int8 1.5 ms with LMF's export timed again beside it as '@twin' at 1.2 ms). An
    int8-deployed row's twin_latency_ratio_b1 is its time over its fp32 twin's in the same cell:
    8-bit 2.5 / 2.0 = 1.25 (slower), GroupReduce + int8 0.8 / 1.6 = 0.5, LMF + int8 1.5 / 1.2 = 1.25
    (not over the core cell's 1.0 ms); fp32 rows have none. throughput_b256 is each row's own."""
    def timing(ms, rate):
        return {"latency_ms_b1": ms, "test_set_seconds": 1.0, "throughput_b256": rate}

    def record(method, reduction=0):
        row = {"dataset": "sst2", "model": "dan", "method": method, "embedding_reduction_pct": reduction,
               "seed": 0, "size_bytes": 100, "accuracy": 0.8}
        return {"cell": vars(Cell("sst2", "dan", method, reduction)), "rows": [row], "schedule_rows": [], "curve": []}
    records = [record("uncompressed"), record("quant8"), record("lmf", 90), record("groupreduce", 90),
               record("groupreduce_int8", 90), record("lmf_int8", 90),
               {"cell": vars(Cell("sst2", "dan", "latency")), "rows": [], "schedule_rows": [], "curve": [],
                "latency": {"sst2-dan-uncompressed-s0": timing(2.0, 100), "sst2-dan-quant8-s0": timing(2.5, 90),
                            "sst2-dan-lmf-R90-s0": timing(1.0, 300)}},
               {"cell": vars(Cell("sst2", "dan", "latency_ext")), "rows": [], "schedule_rows": [], "curve": [],
                "latency_ext": {"sst2-dan-uncompressed-s0@ext": timing(2.0, 100),
                                "sst2-dan-groupreduce-R90-s0": timing(1.6, 200),
                                "sst2-dan-groupreduce_int8-R90-s0": timing(0.8, 400),
                                "sst2-dan-lmf_int8-R90-s0": timing(1.5, 250),
                                "sst2-dan-lmf-R90-s0@twin": timing(1.2, 280)}}]
    rows = by_key(collect(records)[0])
    assert {key: row.get("twin_latency_ratio_b1") for key, row in rows.items()} == {
        ("uncompressed", 0): None, ("quant8", 0): 1.25, ("lmf", 90): None, ("groupreduce", 90): None,
        ("groupreduce_int8", 90): 0.5, ("lmf_int8", 90): 1.25}
    assert {key: row["throughput_b256"] for key, row in rows.items()} == {
        ("uncompressed", 0): 100, ("quant8", 0): 90, ("lmf", 90): 300, ("groupreduce", 90): 200,
        ("groupreduce_int8", 90): 400, ("lmf_int8", 90): 250}


def test_only_the_paper_kinds_models_are_shipped():
    """The app ships seed 0's uncompressed model and LMF at R = 90 of the DAN and the LSTM, and the
    SST-2 HMF at R = 90 (grid.APP_EXT); the n-gram DAN's same cells are not shipped (its rows are in
    results.csv, its models would add about 37 MB), and neither is seed 1 nor fastText."""
    for model in ("dan", "lstm"):
        assert shipped(Cell("sst2", model, "uncompressed"), quick=False)
        assert shipped(Cell("sst2", model, "lmf", 90), quick=False)
        assert shipped(Cell("sst2", model, "hmf", 90), quick=False)
    for method, reduction in (("uncompressed", 0), ("lmf", 90), ("hmf", 90), ("lmf_whole", 90)):
        assert not shipped(Cell("sst2", "dan_ngram", method, reduction), quick=False)
    assert not shipped(Cell("sst2", "dan", "lmf", 90, seed=1), quick=False)
    assert not shipped(Cell("sst2", "fasttext", "fasttext"), quick=False)


def test_a_folder_of_user_files_is_never_replaced(tmp_path):
    """--out pointing at a folder lmf did not make (no results.csv, no sweep.json): refused, kept."""
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    runner = Runner(tmp_path / "work", quick=True)
    with pytest.raises(FileExistsError, match="did not write"):
        assemble(runner, [[]], tmp_path / "out")
    assert (tmp_path / "out" / "notes.txt").read_text() == "mine"


# ---------------------------------------------------------------- what lmf replaces is only its own (issues 21, 23)

def copy_of(out, target):
    import shutil
    shutil.copytree(out, target, symlinks=True)
    return target


@pytest.mark.slow
def test_a_rerun_keeps_foreign_files_and_never_follows_a_link(swept, tmp_path):
    """Issue 23.1: a sweep re-run deleted a user's notes.txt in artifacts/ and turned a
    `models/evil/passwd -> /etc/passwd` link into a plain copy of /etc/passwd. Now both are kept
    where they were, the link still a link, as are a user's folder and a link at the top. A
    temporary a killed assembly left (marked, its process gone) is removed; a user's
    `artifacts.tmp-mine` is not (issue 23.3)."""
    from lmf import atomic
    out, work = swept
    target = copy_of(out, tmp_path / "artifacts")
    (target / "notes.txt").write_text("mine")
    (target / "mine" / "deep").mkdir(parents=True)
    (target / "mine" / "deep" / "a.txt").write_text("a")
    (target / "models" / "evil").mkdir()
    os.symlink("/etc/passwd", target / "models" / "evil" / "passwd")
    os.symlink("/etc/hostname", target / "hostname")
    leftover = tmp_path / "artifacts.tmp-k1ll3d"  # as a kill -9 inside the build leaves it
    (leftover / "new").mkdir(parents=True)
    (leftover / "new" / "results.csv").write_bytes(b"x" * 1000)
    atomic._write_mark(leftover, "artifacts")
    mark = json.loads((leftover / atomic.MARK).read_text())
    (leftover / atomic.MARK).write_text(json.dumps({**mark, "pid": dead_pid()}))
    (tmp_path / "artifacts.tmp-mine").mkdir()
    assemble(Runner(work, quick=True), plan(["sst2"], ["dan"], quick=True), target)
    assert (target / "notes.txt").read_text() == "mine" and (target / "mine" / "deep" / "a.txt").read_text() == "a"
    link = target / "models" / "evil" / "passwd"
    assert link.is_symlink() and os.readlink(link) == "/etc/passwd"
    assert (target / "hostname").is_symlink() and os.readlink(target / "hostname") == "/etc/hostname"
    assert len(read_results(target)) == len(read_results(out))
    assert sorted(p.name for p in tmp_path.iterdir()) == [".artifacts.lock", "artifacts", "artifacts.tmp-mine"]


@pytest.mark.slow
def test_what_the_sweep_would_remove_is_refused_by_name(swept, tmp_path):
    """A user's file inside a model folder of a data set the sweep replaces (the sweep would
    delete it with the old model), and a link where lmf writes REPORT.md: FileExistsError naming
    both, the folder as it was; precompute.py says so with `error:` and status 2 before any cell
    runs (the work folder is a fresh one: nothing was trained)."""
    out, work = swept
    target = copy_of(out, tmp_path / "artifacts")
    (target / "models" / "sst2-dan-lmf-R90-s0" / "notes.txt").write_text("mine")
    (target / "REPORT.md").unlink()
    os.symlink("/etc/hostname", target / "REPORT.md")
    before = sorted((p.relative_to(target), p.is_symlink()) for p in target.rglob("*"))
    with pytest.raises(FileExistsError) as e:
        assemble(Runner(work, quick=True), plan(["sst2"], ["dan"], quick=True), target)
    assert "models/sst2-dan-lmf-R90-s0 (holds notes.txt)" in str(e.value) and "REPORT.md (not a plain file)" in str(e.value)
    assert sorted((p.relative_to(target), p.is_symlink()) for p in target.rglob("*")) == before
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "precompute.py"), "--quick", "--out", str(target), "--work",
         str(tmp_path / "fresh-work"), "--datasets", "sst2", "--models", "dan"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "error: " in proc.stderr and "notes.txt" in proc.stderr
    assert not (tmp_path / "fresh-work").exists()


@pytest.mark.slow
def test_publish_and_assemble_at_once_lose_no_row(swept, tmp_path, monkeypatch):
    """Issue 21.9: studio.jobs.publish and sweep.assemble took different locks, so a job that
    published while an assembly was building had its rows dropped by the swap. Both now take
    lmf.atomic.locked(artifacts). Here the publish starts while the assembly is inside its build
    (at write_report) and the build waits until the publish has finished or is waiting for the
    lock: every row is there at the end, the sweep's and the job's 2, and both its models."""
    import shutil
    import threading
    import sweep.assemble as assemble_module
    from studio import jobs
    out, work = swept
    target = copy_of(out, tmp_path / "artifacts")
    auto = tmp_path / "autotune"
    shutil.copytree(out / "models" / "sst2-dan-uncompressed-s0", auto / "base")
    shutil.copytree(out / "models" / "sst2-dan-lmf-R90-s0", auto / "chosen")
    measured = {"bytes": 1000, "dev_accuracy": 0.5, "test_accuracy": 0.5}
    summary = {"base": measured, "base_saved_model_dir": "base", "saved_model_dir": "chosen",
               "chosen": {**measured, "method": "lmf", "R": 90, "bytes_fraction": 0.1}}
    job = {"id": "20260101-000000-mine-abcdef", "name": "mine", "model": "dan", "artifacts": str(target),
           "dir": str(tmp_path / "jobs" / "20260101-000000-mine-abcdef")}
    waiting, ended, errors = threading.Event(), threading.Event(), []
    real_locked = getattr(jobs, "locked", None)

    def announced(path):
        waiting.set()
        return real_locked(path)
    monkeypatch.setattr(jobs, "locked", announced, raising=False)

    def publish():
        try:
            jobs.publish(job, auto, summary)
        except Exception as e:  # noqa: BLE001  (reported by the assertion below)
            errors.append(e)
        finally:
            ended.set()
    real_report, thread = assemble_module.write_report, threading.Thread(target=publish)

    def report_meanwhile(tmp):
        thread.start()
        while not (waiting.is_set() or ended.is_set()):
            ended.wait(0.05)
        return real_report(tmp)
    monkeypatch.setattr(assemble_module, "write_report", report_meanwhile)
    assemble(Runner(work, quick=True), plan(["sst2"], ["dan"], quick=True), target)
    thread.join()
    assert errors == []
    rows = read_results(target)
    assert [r["dataset"] for r in rows].count("sst2") == len(read_results(out))  # the sweep's, all of them
    assert [r["dataset"] for r in rows].count("mine") == 2
    assert (target / "models" / "mine-dan-uncompressed-s0").is_dir() and (target / "models" / "mine-dan-lmf-R90-s0").is_dir()


def dead_pid():
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_what_would_stop_the_assembly_is_found_before_any_cell(tmp_path, capsys):
    """check_out, precompute.py's first step: full results of other data sets in a quick sweep's
    --out, an unreadable sweep.json, a results.csv without its columns (its "regenerate" advice is
    this very run, so the message says restore it) are each a ValueError; precompute.py exits 2
    with it, as for a device this machine lacks, and no --work folder is made: no cell ran."""
    from app_fixtures import _precompute_main
    from sweep.assemble import check_out
    out = tmp_path / "artifacts"
    out.mkdir()
    for name in ("results.csv", "sweep.json"):
        shutil.copy(ROOT / "artifacts" / name, out / name)  # full results of sst2 and clinc150
    check_out(out, {"extra"}, quick=False)
    with pytest.raises(ValueError, match="holds full results for other datasets; quick and full results are not mixed"):
        check_out(out, {"extra"}, quick=True)
    (out / "sweep.json").write_text("{bad")
    with pytest.raises(ValueError, match=r"sweep.json: unreadable"):
        check_out(out, {"extra"}, quick=False)
    shutil.copy(ROOT / "artifacts" / "sweep.json", out / "sweep.json")
    (out / "results.csv").write_text("dataset,model\nx,y\n")
    with pytest.raises(ValueError, match="lacks column.*restore it or choose another --out") as raised:
        check_out(out, {"extra"}, quick=False)
    assert "Regenerate" not in str(raised.value)
    main = _precompute_main()
    for argv, said in ((["--out", str(out)], "restore it"),
                       (["--out", str(tmp_path / "new"), "--device", "no-such-device"], "not usable here")):
        with pytest.raises(SystemExit) as code:
            main(["--quick", "--datasets", "sst2", "--models", "dan", "--work", str(tmp_path / "work"), *argv])
        assert code.value.code == 2 and said in capsys.readouterr().err
    assert not (tmp_path / "work").exists()
