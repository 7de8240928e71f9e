"""The repository's layering: five tiers, each importing only from tiers below it (checked on the
source, lazy imports included), and inside the library an order of modules with no cycle.

    base     lmf.errors, lmf.names, lmf.units, lmf.layout, lmf.atomic, lmf.tokenize   standard library only
    library  every other lmf module                             what a team imports
    bench    sweep.*                                            the sweep that writes artifacts/
    app      studio.*, app.py                                   the Streamlit studio
    scripts  scripts/*.py                                       thin entry points

Worked example of the rule: `sweep.assemble` (bench, tier 2) may import `lmf.selection` (library,
tier 1), but an `import studio.deploy` in it (app, tier 3) is an arrow going up and fails
`test_imports_go_down`. Also checked: no lmf or sweep module imports Streamlit, Plotly or the app,
and the modules the home page and the deployable runtime rely on load without torch.
"""
import ast
import subprocess
import sys

import pytest

from conftest import ROOT

TIERS = ("base", "library", "bench", "app", "scripts")
BASE = {"lmf.errors", "lmf.names", "lmf.units", "lmf.layout", "lmf.atomic", "lmf.tokenize", "lmf.__init__"}

# Inside the library, lower numbers are lower layers: a module imports only smaller numbers.
LIBRARY_LAYERS = {
    "errors": -1, "names": 0, "units": 0, "layout": 0, "atomic": 0, "tokenize": 0, "__init__": 0,
    "data": 1, "quantize": 1, "schedules": 1, "ngrams": 1,
    "models": 2, "metrics": 2, "runtime": 2,
    "compress": 3, "train": 3,
    "groupreduce": 4, "artifacts": 4, "prune": 4,
    "latency": 5,
    "methods": 5, "export": 5, "embeddings": 5,
    "results": 6,
    "trial": 7, "selection": 7,
    "autotune": 8,
    "cli": 9, "__main__": 10,
}


def python_files():
    """{dotted module name: path} for every Python file of the repository's packages and scripts."""
    files = {"app": ROOT / "app.py"}
    for package in ("lmf", "sweep", "studio"):
        for path in (ROOT / package).rglob("*.py"):
            files[".".join(path.relative_to(ROOT).with_suffix("").parts)] = path
    for path in (ROOT / "scripts").glob("*.py"):
        files[f"scripts.{path.stem}"] = path
    return files


def tier(module):
    if module in BASE:
        return 0
    top = module.split(".")[0]
    return {"lmf": 1, "sweep": 2, "studio": 3, "app": 3, "scripts": 4}[top]


def imports(module, path):
    """Dotted names of the repository's modules that `path` imports anywhere (top level or inside
    a function); relative imports are resolved against `module`'s package."""
    package = module.rsplit(".", 1)[0] if path.name != "__init__.py" else module
    known = set(python_files())
    found = set()

    def add(name):
        for candidate in (name, f"{name}.__init__"):
            if candidate in known:
                found.add(candidate)
                return

    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            add(target)
            for alias in node.names:
                add(f"{target}.{alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
    return found - {module}


FILES = python_files()


def test_every_library_module_has_a_layer():
    assert {p.stem for p in (ROOT / "lmf").glob("*.py")} == set(LIBRARY_LAYERS)


@pytest.mark.parametrize("module", sorted(FILES))
def test_imports_go_down(module):
    """A module imports its own tier or lower (a scripts/ file imports anything but other scripts)."""
    own = tier(module)
    upward = sorted(m for m in imports(module, FILES[module]) if tier(m) > own or (own == 4 and tier(m) == 4))
    assert upward == [], f"{module} ({TIERS[own]}) imports {upward} from a higher tier"


@pytest.mark.parametrize("module", sorted(LIBRARY_LAYERS))
def test_library_modules_import_lower_layers(module):
    name = f"lmf.{module}"
    inside = {m.split(".", 1)[1] for m in imports(name, FILES[name]) if m.startswith("lmf.")}
    upward = sorted(m for m in inside if LIBRARY_LAYERS[m] >= LIBRARY_LAYERS[module])
    assert upward == [], f"lmf.{module} (layer {LIBRARY_LAYERS[module]}) imports {upward}"


def test_base_imports_only_the_standard_library():
    for module in sorted(BASE):
        tree = ast.parse(FILES[module].read_text())
        names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level == 0}
        assert names <= set(sys.stdlib_module_names) | {""}, (module, names - set(sys.stdlib_module_names))


def test_no_library_or_sweep_module_imports_streamlit_plotly_or_the_app():
    for module, path in FILES.items():
        if tier(module) > 2:
            continue
        tree = ast.parse(path.read_text())
        names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level == 0}
        assert not names & {"streamlit", "plotly", "studio", "app"}, module


def test_an_upward_arrow_is_caught(tmp_path):
    """The rule can fail: a library module that imports the sweep is reported."""
    path = tmp_path / "bad.py"
    path.write_text("from sweep.grid import plan\n")
    assert tier("lmf.bad") < max(tier(m) for m in imports("lmf.bad", path))


def loaded(code):
    out = subprocess.run([sys.executable, "-c", code + "; import sys; print(sorted(m for m in sys.modules "
                          "if m.split('.')[0] in ('torch', 'pandas', 'streamlit', 'studio', 'sweep') "
                          "or m.startswith('lmf.')))"],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    return set(eval(out.stdout))


def test_saving_and_loading_imports_no_app_or_sweep_module():
    """`import lmf.artifacts` loads the model's own modules and nothing of the sweep or the app."""
    names = loaded("import lmf.artifacts")
    assert not {m for m in names if m.split(".")[0] in ("sweep", "studio", "streamlit")}


def test_home_page_modules_and_runtime_load_without_torch():
    """The home page reads results before torch loads; the deployable runtime never loads it."""
    for code in ("import lmf.layout, lmf.results, lmf.names, lmf.selection, sweep.grid, sweep.tables, sweep.targets",
                 "import lmf.runtime"):
        assert not {m for m in loaded(code) if m.split(".")[0] in ("torch", "pandas")}, code
