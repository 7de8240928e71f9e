"""scripts/precompute.py --data DIR --name NAME: a quick sweep of a custom directory adds its rows,
models and curves beside an existing quick sweep's, its cells named by NAME."""
import os
import subprocess
import sys

import pytest

from conftest import ROOT
from lmf.names import check_dataset_name
from lmf.results import read_results


def precompute(out, work, *extra):
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "precompute.py"), "--quick", "--out", str(out), "--work",
         str(work), "--jobs", "1", "--models", "dan", *extra],
        cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"}, capture_output=True, text=True, timeout=900)


def test_dataset_names():
    """Lowercase letters, digits and underscores, starting with a letter; no '-' (it splits a cell
    id's fields) and not a name lmf.data already gives a dataset."""
    assert check_dataset_name("my_set2") == "my_set2"
    for bad in ("my-set", "My", "2set", "", "sst2", "a b"):
        with pytest.raises(ValueError):
            check_dataset_name(bad)


@pytest.mark.slow
def test_custom_directory_joins_an_existing_sweep(tiny_dir, tmp_path):
    """SST-2's quick DAN sweep (21 rows), then the 200-row directory as "tiny": 21 rows more, the
    same methods; SST-2's rows, models and curves are still there; the custom cells are named
    tiny-dan-...; a name with '-' is refused with status 2 before anything runs."""
    out, work = tmp_path / "artifacts", tmp_path / "work"
    first = precompute(out, work, "--datasets", "sst2")
    assert first.returncode == 0, first.stderr[-3000:]
    sst2 = read_results(out)
    proc = precompute(out, work, "--data", str(tiny_dir), "--name", "tiny")
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = read_results(out)
    mine = [r for r in rows if r["dataset"] == "tiny"]
    assert len(sst2) == 21 and len(mine) == 21 and len(rows) == 42
    assert [r for r in rows if r["dataset"] == "sst2"] == sst2
    assert sorted((r["method"], r["embedding_reduction_pct"]) for r in mine) == sorted(
        (r["method"], r["embedding_reduction_pct"]) for r in sst2)
    models = {p.name for p in (out / "models").iterdir()}
    assert {"sst2-dan-uncompressed-s0", "tiny-dan-uncompressed-s0", "tiny-dan-lmf-R90-s0"} <= models
    assert (out / "curves" / "sst2-dan-lmf-R90-s0.csv").is_file() and (out / "curves" / "tiny-dan-lmf-R90-s0.csv").is_file()
    assert (work / "cells" / "tiny-dan-lmf-R90-s0.json").is_file()
    bad = precompute(out, work, "--data", str(tiny_dir), "--name", "my-tiny")
    assert bad.returncode == 2 and "no '-'" in bad.stderr
