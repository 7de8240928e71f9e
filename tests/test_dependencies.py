"""Every third-party package that the code imports is declared, in requirements.txt and in pyproject.toml.

A new user runs `pip install -r requirements.txt` (or installs lmf with its extras from
pyproject.toml) into an empty environment. A package that the code imports but neither file names
works on the machines where someone installed it by hand, and fails everywhere else with
ModuleNotFoundError: that happened with dask (lmf.trial's dask.distributed cluster) and psutil
(scripts/load_test.py). .ci/run installs into a new virtual environment on every run, so the suite
fails there when a test reaches such an import; this test fails at once, for every module, tested
or not, and names the file and line.

What it reads. Every .py file of the repository: the top-level modules (app.py), every top-level
package (lmf, studio, sweep, and any added later) and every other top-level folder of Python files
(scripts/, tests/), found by walking the repository, not listed here (hidden folders, virtual
environments, __pycache__, build/, dist/ and *.egg-info are skipped). Each file is parsed with `ast`
and every `import X`, `from X import Y`, `__import__("X")` and `importlib.import_module("X")` is
taken, inside functions too: a lazy import is still an import. Relative imports (`from .x import y`)
are the package's own. The import's top-level name is then

  - the standard library when it is in sys.stdlib_module_names (os, json, tomllib, ...);
  - first-party when it is a top-level package or module of the repository (lmf, studio, sweep,
    app), or a module beside the importing file in a folder of scripts (tests/conftest.py,
    tests/app_fixtures.py: pytest puts tests/ on sys.path, as Python does a script's folder);
  - third-party otherwise, and mapped to the distribution pip installs it by: IMPORT_TO_DISTRIBUTION
    for the names the installed metadata can't tell (or that may not be installed: yaml -> PyYAML),
    then importlib.metadata.packages_distributions() (PIL -> Pillow; a namespace package such as
    google is narrowed to the distribution that holds google/protobuf), else the name itself.

That distribution must be named by requirements.txt (its own line, `-r` files followed) and by
pyproject.toml (project.dependencies or the `dev` extra, which names the other extras as
`lmf[app,sweep,hub]`). A requirement with extras declares what its extras install as well
(`dask[distributed]` declares distributed, read from dask's metadata). Environment markers are
ignored: `tomli>=2; python_version < "3.11"` declares tomli.

Worked example. lmf/trial.py starts a dask cluster with a lazy import:

    def dask_client(scheduler, workers=2):
        from dask.distributed import Client, LocalCluster

`dask` is neither in the standard library nor first-party, so it is third-party; IMPORT_TO_DISTRIBUTION
maps `dask.distributed` to the distribution `distributed` (dask's own dask/distributed.py only
re-exports that package, which plain `dask` does not install). requirements.txt's
`dask[distributed]>=2024.1` declares dask and, through dask's `distributed` extra, distributed, and
pyproject.toml's dev extra names lmf[sweep], whose `dask[distributed]` does the same: the import
passes. Were the requirements.txt line `dask` alone, the test would fail with

    requirements.txt does not declare these imported packages:
      distributed: import dask.distributed at lmf/trial.py:<line>, import dask.distributed at lmf/trial.py:<line>

and the fix is a line in requirements.txt and one in the right extra of pyproject.toml (here
`sweep`). `import yaml` would be reported the same way as pyyaml, and `import psutil` once psutil left
requirements.txt. test_an_undeclared_import_fails runs that on a small repository it writes.

The extras are checked for what they promise too: `runtime` (numpy and onnxruntime) must be all
that lmf.runtime and the modules it imports need, `app` with the dependencies all that app.py and
studio/ need, `sweep` with the dependencies all that sweep/ needs. For an extra's own files every
import counts; for the repository's modules they import, the imports that run when the module is
imported (those outside functions), followed through the repository.
"""
import ast
import importlib.metadata
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "lmf"

# Import names whose distribution the installed metadata can't tell, or that may not be installed
# where this runs (a dotted name beats its prefix: dask.distributed before dask).
IMPORT_TO_DISTRIBUTION = {
    "dask.distributed": "distributed",
    "yaml": "PyYAML",
    "PIL": "Pillow",
    "google.protobuf": "protobuf",
    "sklearn": "scikit-learn",
    "skimage": "scikit-image",
    "cv2": "opencv-python",
    "bs4": "beautifulsoup4",
    "dateutil": "python-dateutil",
    "attr": "attrs",
    "dotenv": "python-dotenv",
    "multipart": "python-multipart",
    "jwt": "PyJWT",
    "serial": "pyserial",
    "OpenSSL": "pyOpenSSL",
    "Crypto": "pycryptodome",
    "fitz": "PyMuPDF",
    "docx": "python-docx",
}
# What a requirement's extra installs, for when that distribution is not installed here to ask.
KNOWN_EXTRAS = {("dask", "distributed"): {"distributed"}}

SKIP_DIRS = {"__pycache__", "node_modules", "build", "dist", "site-packages"}
REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?")


def normalize(name):
    """A distribution name as pip compares them (PEP 503): PyYAML, pyyaml and py_yaml are one."""
    return re.sub(r"[-_.]+", "-", name).lower()


# --- the code: files, imports, and what each import is ---------------------------------------------

@dataclass(frozen=True)
class Import:
    path: Path        # the importing file
    line: int
    module: str       # absolute: "dask.distributed"; relative ones resolved against the package
    names: tuple      # `from module import names` (submodules among them are imported too)
    level: int        # dots of a relative import, 0 for an absolute one
    top_level: bool   # runs when the module is imported (not inside a function)

    def where(self, root):
        return f"{self.path.relative_to(root)}:{self.line}"


def _skipped(path):
    return (path.name.startswith(".") or path.name in SKIP_DIRS or path.name.endswith(".egg-info")
            or (path / "pyvenv.cfg").exists())


def python_files(root):
    """Every .py file of the repository at `root`: top-level modules, and the files of every
    top-level folder, whatever its name, less hidden folders, virtual environments and build output."""
    files = []

    def walk(folder):
        for path in sorted(folder.iterdir()):
            if path.is_dir():
                if not _skipped(path):
                    walk(path)
            elif path.suffix == ".py":
                files.append(path)

    for path in sorted(root.iterdir()):
        if path.is_dir() and not _skipped(path):
            walk(path)
        elif path.is_file() and path.suffix == ".py":
            files.append(path)
    return files


def first_party(root):
    """The names importable from anywhere in the repository: its top-level packages (a folder with
    __init__.py) and top-level modules."""
    names = {p.stem for p in root.glob("*.py")}
    names |= {p.name for p in root.iterdir() if p.is_dir() and (p / "__init__.py").exists() and not _skipped(p)}
    return names


def _siblings(path):
    """Names importable beside a file that is not in a package (a script's or a test's folder)."""
    return _importable_in(path.parent)


@lru_cache(maxsize=None)
def _importable_in(folder):
    if (folder / "__init__.py").exists():
        return set()
    return {p.stem for p in folder.glob("*.py")} | {p.name for p in folder.iterdir() if (p / "__init__.py").exists()}


def _package_of(path, root):
    """The dotted package a file belongs to ("studio.pages" for studio/pages/home.py), or None."""
    parts, folder = [], path.parent
    while folder != root and (folder / "__init__.py").exists():
        parts.insert(0, folder.name)
        folder = folder.parent
    return ".".join(parts) or None


def _dynamic_import(node):
    """The module name of `__import__("x")` or `importlib.import_module("x")`, else None."""
    func = node.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
    if name in ("__import__", "import_module") and node.args and isinstance(node.args[0], ast.Constant) \
            and isinstance(node.args[0].value, str) and not node.args[0].value.startswith("."):
        return node.args[0].value
    return None


def imports_of(path, root):
    """Every import in one file, relative ones made absolute."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = _package_of(path, root)
    found = []

    def visit(node, top_level):
        if isinstance(node, ast.Import):
            found.extend(Import(path, node.lineno, a.name, (), 0, top_level) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            names = tuple(a.name for a in node.names)
            if node.level:
                base = (package or "").split(".")
                base = base[:len(base) - (node.level - 1)] if node.level > 1 else base
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module
            found.append(Import(path, node.lineno, module, names, node.level, top_level))
        elif isinstance(node, ast.Call) and (module := _dynamic_import(node)):
            found.append(Import(path, node.lineno, module, (), 0, top_level))
        inner = top_level and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        for child in ast.iter_child_nodes(node):
            visit(child, inner)

    visit(tree, True)
    return found


def kind(imp, root, local):
    """What an import is: relative, stdlib, first-party or third-party."""
    top = imp.module.split(".")[0]
    if imp.level:
        return "relative"
    if top in sys.stdlib_module_names:
        return "stdlib"
    if top in local or top in _siblings(imp.path):
        return "first-party"
    return "third-party"


@lru_cache(maxsize=None)
def _installed():
    return importlib.metadata.packages_distributions()


def _files_of(distribution):
    try:
        return [str(f) for f in importlib.metadata.distribution(distribution).files or ()]
    except importlib.metadata.PackageNotFoundError:
        return []


def distributions_for(module):
    """The distributions (normalized) that may provide an import; declaring any one of them will do."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in IMPORT_TO_DISTRIBUTION:
            return {normalize(IMPORT_TO_DISTRIBUTION[".".join(parts[:n])])}
    candidates = _installed().get(parts[0], [])
    if len(candidates) > 1 and len(parts) > 1:  # a namespace package: google -> protobuf, ...
        prefix = "/".join(parts[:2])
        narrowed = [d for d in candidates
                    if any(f.startswith((prefix + "/", prefix + ".")) for f in _files_of(d))]
        candidates = narrowed or candidates
    return {normalize(d) for d in candidates} or {normalize(parts[0])}


# --- the declarations -------------------------------------------------------------------------------

def _extra_requires(distribution, extra):
    """The distributions that `distribution[extra]` adds, from its metadata where it is installed."""
    try:
        requires = importlib.metadata.requires(distribution) or []
    except importlib.metadata.PackageNotFoundError:
        return KNOWN_EXTRAS.get((normalize(distribution), extra), set())
    marker = re.compile(r"""extra\s*==\s*["']""" + re.escape(extra) + r"""["']""")
    return {normalize(REQUIREMENT.match(r).group(1)) for r in requires if marker.search(r)}


def declared(requirements, own_extras=None):
    """The distributions (normalized) that requirement strings declare: each one, what its extras
    install, and for `lmf[...]` the project's own extras (`own_extras`: name -> requirement strings)."""
    names, todo, seen = set(), list(requirements), set()
    while todo:
        requirement = todo.pop()
        match = REQUIREMENT.match(requirement)
        if not match or requirement in seen:
            continue
        seen.add(requirement)
        name = normalize(match.group(1))
        extras = [e.strip() for e in (match.group(2) or "").split(",") if e.strip()]
        if name == PROJECT and own_extras is not None:
            for extra in extras:
                todo.extend(own_extras[extra])
            continue
        names.add(name)
        for extra in extras:
            names |= _extra_requires(name, extra)
    return names


def requirement_lines(path):
    """The requirement strings of a requirements file, `-r`/`--requirement` files followed; other
    options (`-e .`, `--find-links`, `-c`) are skipped, but `-e URL#egg=NAME` declares NAME."""
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = re.sub(r"(^|\s)#.*", "", raw).strip()
        if not line:
            continue
        option = re.match(r"^(-r|--requirement)[=\s]+(\S+)$", line)
        if option:
            lines += requirement_lines(path.parent / option.group(2))
        elif line.startswith("-"):
            egg = re.search(r"#egg=([A-Za-z0-9._-]+)", raw)
            if egg:
                lines.append(egg.group(1))
        else:
            lines.append(line)
    return lines


def pyproject(root):
    return tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def undeclared(root, imports, allowed):
    """`{distribution: [Import, ...]}` for each third-party import whose distribution `allowed` lacks."""
    local, missing = first_party(root), {}
    for imp in imports:
        if kind(imp, root, local) == "third-party":
            candidates = distributions_for(imp.module)
            if not candidates & allowed:
                missing.setdefault(min(candidates), []).append(imp)
    return missing


def report(missing, root, what):
    lines = [f"{what} does not declare these imported packages:"]
    for distribution, imps in sorted(missing.items()):
        shown = ", ".join(f"import {i.module} at {i.where(root)}" for i in imps[:3])
        lines.append(f"  {distribution}: {shown}" + (f" (and {len(imps) - 3} more)" if len(imps) > 3 else ""))
    return "\n".join(lines)


def problems(root):
    """What requirements.txt and pyproject.toml (dependencies and the dev extra) leave out, as
    messages; empty when both declare every third-party import of the repository at `root`."""
    imports = [i for path in python_files(root) for i in imports_of(path, root)]
    project = pyproject(root)
    extras = project.get("optional-dependencies", {})
    out = []
    missing = undeclared(root, imports, declared(requirement_lines(root / "requirements.txt")))
    if missing:
        out.append(report(missing, root, "requirements.txt"))
    in_pyproject = declared([*project.get("dependencies", []), *extras.get("dev", [])], extras)
    missing = undeclared(root, imports, in_pyproject)
    if missing:
        out.append(report(missing, root, "pyproject.toml (dependencies + the dev extra)"))
    return out


# --- what an extra needs: its files' imports, and what the repository's modules they import need ----

def _module_file(root, module):
    """The file of a first-party dotted module, or None."""
    path = root.joinpath(*module.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _first_party_files(root, imp):
    """The repository's files an import runs: the module, its packages' __init__.py, and the
    submodules a `from package import submodule` names."""
    if kind(imp, root, first_party(root)) not in ("first-party", "relative"):
        return []
    sibling = imp.path.parent / (imp.module.split(".")[0] + ".py")
    if not imp.level and imp.module.split(".")[0] in _siblings(imp.path) and sibling.is_file():
        return [sibling]
    parts = imp.module.split(".")
    modules = [".".join(parts[:n]) for n in range(1, len(parts) + 1)]
    modules += [f"{imp.module}.{name}" for name in imp.names]
    return [f for f in (_module_file(root, m) for m in modules) if f]


def needed_by(root, files):
    """The imports that `files` make, every one, and for the repository's modules those reach, the
    ones outside functions, followed through the repository."""
    files = set(files)
    found, todo, done = [], [(f, True) for f in sorted(files)], set()
    while todo:
        path, own = todo.pop()
        if (path, own) in done:
            continue
        done.add((path, own))
        for imp in imports_of(path, root):
            if own or imp.top_level:
                found.append(imp)
                todo += [(f, f in files) for f in _first_party_files(root, imp)]
    return found


def _area(root, *names):
    files = []
    for name in names:
        path = root / name
        files += [path] if path.is_file() else [p for p in python_files(root) if path in p.parents]
    return files


# --- the tests --------------------------------------------------------------------------------------

def test_the_scan_reads_every_top_level_package_and_folder():
    scanned = {p.relative_to(ROOT).parts[0] for p in python_files(ROOT)}
    packages = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists() and not _skipped(p)}
    assert {"app.py", "lmf", "studio", "scripts", "tests"} <= scanned
    assert packages <= scanned and "lmf" in packages and "studio" in packages
    assert {"lmf", "studio", "app"} <= first_party(ROOT)
    imports = [i for p in python_files(ROOT) for i in imports_of(p, ROOT)]
    third = {i.module.split(".")[0] for i in imports if kind(i, ROOT, first_party(ROOT)) == "third-party"}
    assert {"torch", "numpy", "streamlit", "pytest"} <= third
    assert not {"lmf", "studio", "os", "conftest", "app_fixtures"} & third


def test_requirements_txt_and_pyproject_toml_declare_every_import():
    found = problems(ROOT)
    assert not found, "\n\n".join(found) + (
        "\n\nadd each to requirements.txt and to pyproject.toml's dependencies or the extra whose "
        "code imports it (module docstring of tests/test_dependencies.py)")


def test_the_runtime_extra_serves_an_export():
    """numpy and onnxruntime, without torch or the rest of the dependencies, run lmf.runtime."""
    runtime = declared(pyproject(ROOT)["optional-dependencies"]["runtime"])
    assert runtime == {"numpy", "onnxruntime"}
    missing = undeclared(ROOT, needed_by(ROOT, [ROOT / "lmf" / "runtime.py"]), runtime)
    assert not missing, report(missing, ROOT, "the runtime extra")


def test_the_app_and_sweep_extras_cover_their_code():
    project = pyproject(ROOT)
    extras = project["optional-dependencies"]
    for extra, area in (("app", ("app.py", "studio")), ("sweep", ("sweep",))):
        files = _area(ROOT, *area)
        if not files:  # a package not there (yet) in this checkout
            continue
        allowed = declared([*project["dependencies"], *extras[extra]], extras)
        missing = undeclared(ROOT, needed_by(ROOT, files), allowed)
        assert not missing, report(missing, ROOT, f"the {extra} extra with the dependencies")


def test_an_undeclared_import_fails(tmp_path):
    """The worked example: a small repository whose package imports what neither file declares."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "core.py").write_text(
        "import os\nimport numpy\nfrom . import helpers\nimport pkg.helpers\n\n"
        "def lazy():\n    import yaml_not_declared_pkg\n    from dask.distributed import Client\n")
    (tmp_path / "pkg" / "helpers.py").write_text("import json\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "helper.py").write_text("")
    (tmp_path / "tests" / "test_x.py").write_text("import helper\nimport pytest\nimport psutil\n")
    (tmp_path / "app.py").write_text("import pkg.core\n__import__('yaml')\n")
    (tmp_path / "requirements.txt").write_text("numpy>=1  # comment\npytest\ndask\n-e .\n")
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "lmf"\ndependencies = ["numpy"]\n'
        '[project.optional-dependencies]\nsweep = ["dask[distributed]"]\n'
        'dev = ["lmf[sweep]", "pytest", "psutil", "PyYAML"]\n')

    found = problems(tmp_path)

    assert len(found) == 2, found
    in_requirements, in_pyproject = found
    assert in_requirements.startswith("requirements.txt does not declare")
    assert "yaml-not-declared-pkg: import yaml_not_declared_pkg at pkg/core.py:7" in in_requirements
    assert "distributed: import dask.distributed at pkg/core.py:8" in in_requirements
    assert "psutil: import psutil at tests/test_x.py:3" in in_requirements
    assert "pyyaml: import yaml at app.py:2" in in_requirements
    assert not re.search(r"^  (numpy|pytest|helper|pkg|os|json|dask):", in_requirements, re.M)
    # pyproject.toml declares psutil, PyYAML and (through lmf[sweep] and dask[distributed]) distributed
    assert in_pyproject.splitlines()[1:] == ["  yaml-not-declared-pkg: import yaml_not_declared_pkg at pkg/core.py:7"]
