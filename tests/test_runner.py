"""sweep.runner: cells that count only in their own mode, failed cells retried from a clean slate,
and worker processes that end with the sweep."""
import json
import time
from dataclasses import replace

import pytest

from lmf.methods import Cell
from lmf.methods import METHODS
from sweep.runner import Runner, twins


def test_quick_cell_never_counts_as_full(tmp_path):
    """A cell file written by a --quick run is 'done' for quick sweeps only, and a corrupt one for none."""
    cell = Cell("sst2", "dan", "uncompressed")
    quick, full = Runner(work=tmp_path, quick=True), Runner(work=tmp_path, quick=False)
    quick.cell_file(cell).parent.mkdir(parents=True)
    quick.cell_file(cell).write_text(json.dumps({"quick": True}))
    assert quick.done(cell) and not full.done(cell)
    quick.cell_file(cell).write_text("{not json")
    assert not quick.done(cell) and not full.done(cell)


def test_a_cell_of_another_data_folder_or_vectors_is_not_done(tmp_path):
    """Two `--data` folders under one `--name` share cell ids: a cell made from folder a is done for
    a sweep of a only (a sweep of b reused a's numbers before). An LSTM cell counts for its own
    vectors only. A record from before the data folder was recorded counts for lmf's named data."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    cell, lstm = Cell("extra", "dan", "uncompressed"), Cell("extra", "lstm", "uncompressed")
    of_a = Runner(work=tmp_path / "w", quick=True, data={"extra": tmp_path / "a"})
    of_b = Runner(work=tmp_path / "w", quick=True, data={"extra": tmp_path / "b"})
    for c in (cell, lstm):
        of_a.cell_file(c).parent.mkdir(parents=True, exist_ok=True)
        of_a.cell_file(c).write_text(json.dumps(of_a.provenance(c)))
    assert of_a.done(cell) and not of_b.done(cell)
    with_vectors = Runner(work=tmp_path / "w", quick=True, data={"extra": tmp_path / "a"}, vectors=tmp_path / "v.txt")
    assert of_a.done(lstm) and not with_vectors.done(lstm) and with_vectors.done(cell)
    named = Cell("sst2", "dan", "uncompressed")
    of_a.cell_file(named).write_text(json.dumps({"quick": True}))
    assert of_a.done(named)


def test_a_failed_cell_leaves_nothing_to_reuse(tmp_path, monkeypatch):
    """A fastText.zip cell whose earlier try left a poisoned model.ftz behind: running the cell
    again first removes that folder, so the failure (here: its parent cell is missing) is the
    cell's own, and the old file is not what the next try reads."""
    runner = Runner(work=tmp_path, quick=True)
    cell = Cell("sst2", "fasttext", "fasttext_ftz")
    runner.model_dir(cell).mkdir(parents=True)
    (runner.model_dir(cell) / "model.ftz").write_bytes(b"poisoned")
    monkeypatch.setattr("lmf.trial.cached_data", lambda *args: None)
    with pytest.raises(OSError):
        runner.run(cell)
    assert not runner.model_dir(cell).exists() or not (runner.model_dir(cell) / "model.ftz").exists()
    assert not runner.done(cell)


def test_retraining_keeps_the_svd_model_when_it_is_better_on_dev(tmp_path, monkeypatch):
    """LMF at R = 90 on the quick SST-2 DAN, with dev accuracy scripted as 0.9 for the model straight
    after the SVD (train's step 0) and 0.5 for every retrained state: the saved model is the
    SVD-only one, weight for weight, and its saved metrics say 0.9, since lmf.train.train counts the
    starting weights as step 0 of best-on-dev. Retraining never saves a model worse on dev. (The
    row's dev_accuracy is the export's, measured through lmf.runtime, which the script does not reach.)"""
    import torch
    from lmf.artifacts import load_model
    from lmf.methods import METHODS
    runner = Runner(work=tmp_path, quick=True)
    base, cell = Cell("sst2", "dan", "uncompressed"), Cell("sst2", "dan", "lmf", 90)
    runner.run(base)
    scores = iter([0.9])
    monkeypatch.setattr("lmf.train.accuracy", lambda model, data, split: next(scores, 0.5))
    record = runner.run(cell)
    assert load_model(runner.model_dir(cell)).metrics["dev_accuracy"] == 0.9
    assert [p["step"] for p in record["curve"]][0] == 0
    made = METHODS["lmf"].make(load_model(runner.model_dir(base)).model, 90, runner.data("sst2").vocab)
    saved = load_model(runner.model_dir(cell)).model.state_dict()
    assert all(torch.equal(saved[k], v) for k, v in made.state_dict().items())


def test_dask_cluster_gives_the_local_records(tmp_path):
    """Four quick SST-2 DAN cells (the uncompressed parent, then LMF at R = 50 and 90 and 8-bit) run
    in this process and on a 2-worker dask LocalCluster (processes, one thread each): the records
    are equal but for the seconds (training is seeded and single-threaded)."""
    from lmf.trial import dask_client, run_cells, run_cells_dask
    stages = [[Cell("sst2", "dan", "uncompressed")],
              [Cell("sst2", "dan", "lmf", 50), Cell("sst2", "dan", "lmf", 90), Cell("sst2", "dan", "quant8")]]
    local, remote = Runner(tmp_path / "local", quick=True), Runner(tmp_path / "dask", quick=True)
    for stage in stages:
        list(run_cells(local, stage, jobs=1))
    start = time.perf_counter()
    with dask_client("local", workers=2) as client:
        assert len(client.nthreads()) == 2 and set(client.nthreads().values()) == {1}
        for stage in stages:
            assert sorted(c.id for c, _ in run_cells_dask(remote, stage, client)) == sorted(c.id for c in stage)
    print(f"dask: {time.perf_counter() - start:.1f} s")
    strip = lambda r: {k: v for k, v in r.items() if k != "seconds"}  # noqa: E731
    for cell in [c for stage in stages for c in stage]:
        assert strip(remote.record(cell)) == strip(local.record(cell))


def test_an_infeasible_cell_is_recorded_not_run(tmp_path, monkeypatch):
    """A compression that cannot be made at its R (lmf.compress.Infeasible, e.g. GroupReduce's
    budget below rank 1) gives a finished cell with no row and the reason; the int8 stack on it is
    not run either, and the sweep goes on."""
    from lmf.compress import Infeasible

    def refuse(model, reduction, vocab):
        raise Infeasible("budget 10 is below rank 1 in every block (12)")

    runner = Runner(work=tmp_path, quick=True)
    runner.run(Cell("sst2", "dan", "uncompressed"))
    monkeypatch.setattr("lmf.methods.METHODS", {**METHODS, "lmf": replace(METHODS["lmf"], make=refuse)})
    monkeypatch.setattr("sweep.runner.METHODS", {**METHODS, "lmf": replace(METHODS["lmf"], make=refuse)})
    monkeypatch.setattr("lmf.trial.METHODS", {**METHODS, "lmf": replace(METHODS["lmf"], make=refuse)})
    record = runner.run(Cell("sst2", "dan", "lmf", 90))
    assert record["rows"] == [] and record["skipped"] == "not run: budget 10 is below rank 1 in every block (12)"
    assert runner.done(Cell("sst2", "dan", "lmf", 90))
    stack = runner.run(Cell("sst2", "dan", "lmf_int8", 90))
    assert stack["rows"] == [] and "its source sst2-dan-lmf-R90-s0 was not run" in stack["skipped"]


def test_the_same_cells_on_1_or_2_threads_give_the_same_records_and_bytes(tmp_path):
    """Issue 23: `precompute.py --quick --jobs 1` (one process on every core) and `--jobs 2` (one
    thread per worker) differed in 33 values: the SVDs and GroupReduce's fit split their float sums
    by thread count (GroupReduce's weighted error came out 977346.6875 vs 977346.75). The quick
    SST-2 DAN's parent, then LMF, HMF and GroupReduce at R = 90, run under 1 and under 2 torch
    threads: equal records but for the seconds, and byte-equal saved weights and exports."""
    from lmf.trial import run_cells
    stages = [[Cell("sst2", "dan", "uncompressed")],
              [Cell("sst2", "dan", method, 90) for method in ("lmf", "hmf", "groupreduce")]]
    runners = {threads: Runner(tmp_path / f"t{threads}", quick=True) for threads in (1, 2)}
    for threads, runner in runners.items():
        for stage in stages:
            list(run_cells(runner, stage, jobs=1, threads=threads))
    strip = lambda r: {k: v for k, v in r.items() if k != "seconds"}  # noqa: E731
    for cell in [c for stage in stages for c in stage]:
        assert strip(runners[1].record(cell)) == strip(runners[2].record(cell)), cell.id
        for folder in (runners[1].model_dir(cell), runners[1].export_dir(cell)):
            twin = runners[2].work / folder.relative_to(runners[1].work)
            assert {f.name: f.read_bytes() for f in folder.iterdir()} == {f.name: f.read_bytes() for f in twin.iterdir()}


def test_twins_are_the_int8_exports_fp32_sources_not_timed_already():
    """The core latency cell times uncompressed and 8-bit: 8-bit's twin (uncompressed) is there,
    nothing to add. The extension cell times GroupReduce and its int8 stack, LMF + int8 and
    whole-model LMF + int8 at R = 90: GroupReduce is there; LMF R = 90 (a core model) and
    whole-model LMF R = 90 are added, once each."""
    core = [Cell("sst2", "dan", "uncompressed"), Cell("sst2", "dan", "quant8")]
    assert twins(core) == []
    ext = [Cell("sst2", "dan", "groupreduce", 90), Cell("sst2", "dan", "groupreduce_int8", 90),
           Cell("sst2", "dan", "lmf_int8", 90), Cell("sst2", "dan", "lmf_whole_int8", 90),
           Cell("sst2", "dan", "hmf", 90)]
    assert twins(ext) == [Cell("sst2", "dan", "lmf", 90), Cell("sst2", "dan", "lmf_whole", 90)]
