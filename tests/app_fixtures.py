"""Fixtures for the app tests (test_app.py, test_browser.py): quick artifacts made once per session.

`quick_artifacts` runs scripts/precompute.py's main(['--quick', ...]) for SST-2 and CLINC150 with
DAN and LSTM (the pages are tested switching both; about four minutes on two cores) into a
temporary folder, once per session even though two test modules import it (the folder is
reused when its results.csv exists). Set LMF_TEST_ARTIFACTS to an existing quick artifacts folder
to skip the sweep while iterating. `broken_artifacts` copies them and breaks one model.
"""
import importlib.util
import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app.py"
PAGES = ["studio/pages/home.py", "studio/pages/retrain.py", "studio/pages/schedules.py",
         "studio/pages/playground.py", "studio/pages/analysis.py", "studio/pages/your_data.py"]


def _precompute_main():
    spec = importlib.util.spec_from_file_location("precompute", ROOT / "scripts" / "precompute.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


@pytest.fixture(scope="session")
def quick_artifacts(tmp_path_factory):
    reuse = os.environ.get("LMF_TEST_ARTIFACTS")
    if reuse:
        return Path(reuse)
    if not os.environ.get("LMF_DATA_DIR"):
        pytest.fail("the app tests need the data folder: export LMF_DATA_DIR=/path/to/shared/data")
    base = tmp_path_factory.getbasetemp() / "app-quick"
    out, work = base / "artifacts", base / "work"
    if not (out / "results.csv").is_file():
        _precompute_main()(["--quick", "--datasets", "sst2", "clinc150", "--models", "dan", "lstm", "--out", str(out),
                            "--work", str(work), "--jobs", "1"])
    return out


@pytest.fixture
def broken_artifacts(quick_artifacts, tmp_path):
    """A copy of the quick artifacts whose uncompressed DAN's weights are corrupt."""
    out = tmp_path / "broken"
    shutil.copytree(quick_artifacts, out)
    weights = out / "models" / "sst2-dan-uncompressed-s0" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100] + b"garbage")
    return out
