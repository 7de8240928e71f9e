"""The README's quickstart runs as a new user would paste it, and the README and docs/ name only files,
modules and commands that exist.

Every ```bash and ```python block of README.md runs, in order, in one temporary working directory,
with LMF_DATA_DIR pointing at a small copy of SST-2 laid out as the shared folder is
(sst2/train_phrases.tsv, dev.tsv, test.tsv: the first 400 phrases, 200 dev and 200 test
sentences), so that `--data sst2` and lmf.load_dataset("sst2") read it. What the test changes, and
why (the recipes' 2,000 and 500 steps, and a 30-minute autotune, would take minutes):
  - `python -m lmf train` and `compress` get `--max-steps 20`;
  - `python -m lmf autotune` gets `--quick` and `--budget-minutes 0.05` in place of the README's;
  - a python block runs after a prelude that caps lmf.train's RECIPES and RETRAIN_RECIPES at 20 steps;
  - `export LMF_DATA_DIR=...` is replaced by the test's copy;
  - not run but checked: `pip install -r FILE` (FILE exists), `pytest` (pytest.ini exists) and
    `streamlit run FILE` (FILE exists).
Any other line runs as written. The python blocks of docs/api.md run the same way (but the one it
shares with the README).
"""
import ast
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import lmf
from lmf.cli import build_parser

from conftest import ROOT

README = ROOT / "README.md"
DOCS = [README, *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```(bash|python)[^\n]*\n(.*?)^```", re.M | re.S)
STEPS = 20
PRELUDE = f"""import dataclasses
import lmf.train
for _recipes in (lmf.train.RECIPES, lmf.train.RETRAIN_RECIPES):
    for _arch, _config in _recipes.items():
        _recipes[_arch] = dataclasses.replace(_config, max_steps={STEPS})
"""


def blocks(path):
    """[(language, code)] of the ```bash and ```python blocks of a Markdown file, in order."""
    return BLOCK.findall(path.read_text(encoding="utf-8"))


def bash_line(line):
    """The line as the test runs it, or None when it is only checked (see the module docstring)."""
    code = re.sub(r"\s+#.*$", "", line).strip()
    if not code or code.startswith("#"):
        return None
    if m := re.fullmatch(r"pip install -r (\S+)", code):
        assert (ROOT / m[1]).is_file(), code
        return None
    if code == "pytest":
        assert (ROOT / "pytest.ini").is_file()
        return None
    if m := re.fullmatch(r"streamlit run (\S+)", code):
        assert (ROOT / m[1]).is_file(), code
        return None
    if re.fullmatch(r"export LMF_DATA_DIR=\S+", code):
        return None
    if re.match(r"python -m lmf (train|compress) ", code):
        return f"{code} --max-steps {STEPS} --quiet"
    if re.match(r"python -m lmf autotune ", code):
        return re.sub(r"--budget-minutes \S+", "--budget-minutes 0.05", code) + " --quick --quiet"
    return code


def test_bash_lines_are_changed_only_as_described():
    assert bash_line("python -m lmf train --data sst2 --out runs/dan   # the recipe") == \
        f"python -m lmf train --data sst2 --out runs/dan --max-steps {STEPS} --quiet"
    assert bash_line("python -m lmf autotune --data sst2 --budget-minutes 30 --out t") == \
        "python -m lmf autotune --data sst2 --budget-minutes 0.05 --out t --quick --quiet"
    assert bash_line("python -m lmf classify runs/dan 'a b'") == "python -m lmf classify runs/dan 'a b'"
    assert bash_line("pip install -r requirements.txt") is None
    with pytest.raises(AssertionError):
        bash_line("pip install -r no-such-requirements.txt")


@pytest.fixture(scope="module")
def small_sst2(data_dir, tmp_path_factory):
    """A data folder whose sst2/ holds the first 400 phrases and 200 dev and test sentences."""
    root = tmp_path_factory.mktemp("data")
    (root / "sst2").mkdir()
    for name, rows in (("train_phrases.tsv", 400), ("dev.tsv", 200), ("test.tsv", 200)):
        lines = (data_dir / "sst2" / name).read_text(encoding="utf-8").splitlines()
        (root / "sst2" / name).write_text("\n".join(lines[:rows + 1]) + "\n", encoding="utf-8")
    return root


def run_blocks(path, languages, small_sst2, cwd, skip=()):
    """Run the blocks of `path` in `languages` (but those whose code is in `skip`); returns how many ran."""
    env = {**os.environ, "LMF_DATA_DIR": str(small_sst2)}
    ran = 0
    for language, code in blocks(path):
        if language not in languages or code in skip:
            continue
        if language == "bash":
            lines = [line for line in map(bash_line, code.splitlines()) if line is not None]
            command = ["bash", "-c", "set -euo pipefail\n" + "\n".join(lines)]
        else:
            command = [sys.executable, "-c", PRELUDE + code]
        if language == "bash" and not lines:
            continue
        out = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, f"{path.name} block:\n{code}\nstdout:\n{out.stdout}\nstderr:\n{out.stderr}"
        ran += 1
    return ran


def test_readme_quickstart_blocks_run(small_sst2, tmp_path):
    assert run_blocks(README, ("bash", "python"), small_sst2, tmp_path) >= 4
    # What the blocks said they would make is there.
    assert (tmp_path / "runs" / "dan-r90-onnx" / "model.onnx").is_file()
    assert (tmp_path / "runs" / "tuned" / "SUMMARY.md").is_file()


def test_api_doc_python_blocks_run(small_sst2, tmp_path):
    """docs/api.md opens with the README's API quickstart, word for word (it ran above), and then
    has blocks of its own."""
    readme = {code for language, code in blocks(README) if language == "python"}
    assert blocks(ROOT / "docs" / "api.md")[0][1] in readme
    assert run_blocks(ROOT / "docs" / "api.md", ("python",), small_sst2, tmp_path, skip=readme) >= 1


def test_readme_is_quickstart_first_and_short():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 150
    assert text.index("## Quickstart") < text.index("## Results") < text.index("## Documentation")
    assert "CUDA" in text and "torch==2.13.0" in text  # what the pin gives on the public index


# ---------------------------------------------------------------- names that must exist

PATH = re.compile(r"(?<![\w./$-])((?:lmf|sweep|studio|scripts|tests|examples|docs|artifacts|\.ci)/(?:[\w./*-]*[\w*])?)")
DOTTED = re.compile(r"(?<![\w./-])((?:lmf|sweep|studio)(?:\.[A-Za-z_]\w*)+)")
FILE_SUFFIXES = {"json", "csv", "md", "py", "toml", "txt", "onnx", "png", "safetensors"}  # sweep.json is a file
# The illustration of adding a method (docs/architecture.md) names a module that is not in the package.
ILLUSTRATIONS = {"lmf/topk.py"}


def top_level_names(path):
    """Names a module defines or imports at its top level."""
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def resolves(dotted):
    """True when `dotted` is a module of the repository, or a module and a name it defines (lmf's
    public names count for the package itself). Anything after that name is not checked."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            spec = importlib.util.find_spec(".".join(parts[:cut]))
        except ModuleNotFoundError:  # a name inside a module that is not a package: lmf.train.train
            spec = None
        if spec is not None and spec.origin and Path(spec.origin).is_relative_to(ROOT):
            if cut == len(parts):
                return True
            defined = top_level_names(Path(spec.origin))
            if ".".join(parts[:cut]) == "lmf":
                defined |= set(lmf.__all__)
            return parts[cut] in defined
    return False


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_docs_name_real_files_modules_and_commands(doc):
    """Catches a path left behind by a move (lmf/runner.py is sweep/runner.py now) and a command
    that no longer exists (`python -m lmf jobs-run` is `python -m studio.jobs`)."""
    text = doc.read_text(encoding="utf-8")
    missing = sorted({p for p in PATH.findall(text) if p not in ILLUSTRATIONS
                      and not any(ROOT.glob(p.rstrip("/")))})
    assert missing == [], f"{doc.name} names files that do not exist: {missing}"
    unresolved = sorted({d for d in DOTTED.findall(text)
                         if d.rsplit(".", 1)[1] not in FILE_SUFFIXES and not resolves(d)})
    assert unresolved == [], f"{doc.name} names modules or names that do not exist: {unresolved}"
    subcommands = build_parser()._subparsers._group_actions[0].choices
    unknown = sorted(set(re.findall(r"python -m lmf ([\w-]+)", text)) - set(subcommands))
    assert unknown == [], f"{doc.name} names lmf subcommands that do not exist: {unknown}"
    for module in set(re.findall(r"python -m ((?:lmf|sweep|studio)[\w.]*)", text)):
        assert resolves(module), module


def test_every_doc_is_linked_from_the_readme():
    text = README.read_text(encoding="utf-8")
    assert [p.name for p in DOCS[1:] if f"docs/{p.name}" not in text] == []
