"""The package's layering: each module imports only modules of lower layers (checked on the
source, lazy imports included), no lmf module imports Streamlit or the app, and the modules the
app's home page and the deployable runtime rely on load without torch."""
import ast
import subprocess
import sys

import pytest

from conftest import ROOT

# Lower numbers are lower layers. A module may import only modules with a smaller number.
LAYERS = {
    # the contracts, standard library only
    "layout": 0, "atomic": 0, "tokenize": 0, "paper": 0,
    # text, models and their maths
    "data": 1, "quantize": 1, "schedules": 1, "runtime": 1,
    "models": 2, "metrics": 2,
    "compress": 3, "train": 3,
    "groupreduce": 4, "artifacts": 4, "fasttext_baseline": 4,
    # what a method is, the grid and the results contract
    "methods": 5, "export": 5,
    "grid": 6, "results": 6, "latency": 6,
    # what is computed from results, and the app-facing helpers (no Streamlit)
    "tables": 7, "targets": 7, "selection": 7, "analysis": 7, "charts": 7, "deploy": 7,
    # the batch sweep, the report, autotune, app jobs, the command line
    "runner": 8, "report": 8, "live": 8, "playground": 8,
    "assemble": 9, "autotune": 9, "jobs": 10, "cli": 11, "__main__": 12, "__init__": 0,
}
LMF = ROOT / "lmf"


def imports(path):
    """lmf module names `path` imports anywhere (top level or inside a function)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:
                found.add((node.module or "").split(".")[0] or None)
                if not node.module:
                    found |= {a.name for a in node.names}
            elif (node.module or "").startswith("lmf"):
                found.add(node.module.split(".")[1] if "." in node.module else None)
                if node.module == "lmf":
                    found |= {a.name for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("lmf.")}
    return found - {None}


def test_every_module_has_a_layer():
    assert {p.stem for p in LMF.glob("*.py")} == set(LAYERS)


@pytest.mark.parametrize("module", sorted(LAYERS))
def test_imports_go_down(module):
    upward = sorted(m for m in imports(LMF / f"{module}.py") if LAYERS[m] >= LAYERS[module])
    assert upward == [], f"lmf.{module} (layer {LAYERS[module]}) imports {upward}"


def test_no_lmf_module_imports_streamlit_or_the_app():
    for path in LMF.glob("*.py"):
        tree = ast.parse(path.read_text())
        names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level == 0}
        assert not names & {"streamlit", "studio", "app"}, path.name


def loaded(code):
    out = subprocess.run([sys.executable, "-c", code + "; import sys; print(sorted(m for m in sys.modules "
                          "if m.split('.')[0] in ('torch', 'pandas', 'streamlit', 'studio') or m.startswith('lmf.')))"],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    return set(eval(out.stdout))


def test_saving_and_loading_imports_no_app_or_sweep_module():
    """`import lmf.artifacts` loads the model's own modules and nothing of the sweep or the app."""
    names = loaded("import lmf.artifacts")
    assert not names & {"lmf.runner", "lmf.assemble", "lmf.grid", "lmf.report", "lmf.charts", "streamlit", "studio"}


def test_home_page_modules_and_runtime_load_without_torch():
    """The home page reads results before torch loads; the deployable runtime never loads it."""
    for code in ("import lmf.layout, lmf.results, lmf.grid, lmf.selection, lmf.tables, lmf.targets",
                 "import lmf.runtime"):
        assert not {m for m in loaded(code) if m.split(".")[0] in ("torch", "pandas")}, code
