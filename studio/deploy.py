"""The deployable model a results.csv row describes, rebuilt from what artifacts/ ships.

The sweep measures every row through its export (sweep.runner: bytes, accuracy and latency of the
ONNX directory) and records the sha256 of that export's model.onnx as `export_sha256` (sweep.assemble),
with the onnx and onnxruntime versions it used in sweep.json. artifacts/ ships saved models, not
exports: an export is a pure function of its saved model, its precision and those two versions
(lmf.export writes the graph by hand; ONNX Runtime's int8 quantization is deterministic), so
`export_row` rebuilds it from the shipped saved model and checks the sha256. What the app runs in
the Playground and serves as a download is therefore, byte for byte, the model whose numbers its
cards show, or an error says why it is not (requirements.txt pins the versions).

    source_of(directory, row) -> (saved model directory, precision)
    check_row(directory, row)  -> None, or ArtifactError: what would stop export_row, found cheaply
    export_row(directory, row, out) -> out, an lmf export whose model.onnx is the one measured
    zip_row(directory, row) -> zip bytes of that export (a download)

Deliberately not here: writing the graph (lmf.export), running it (lmf.runtime), timing (lmf.latency).
"""
import shutil
import tempfile
from pathlib import Path

from lmf.methods import Cell
from lmf.errors import LmfError
from lmf.layout import (EXPORT_MODEL as MODEL, EXPORT_TOOLS as TOOLS, REGENERATE, ArtifactError, file_sha256, model_dir,
                        read_sweep_info, tool_versions, verified_files)
from lmf.methods import METHODS

def source_of(directory, row):
    """(path of the saved model under `directory`/models the row's export is made from, precision):
    the row's own model in fp32, or its source's (the uncompressed model for 8/16-bit, the
    retrained model for an int8 stack) at lmf.methods' `deploy` precision."""
    method = METHODS.get(row["method"])
    if method is None or method.group == "reference":
        raise ArtifactError(f"{row['method']!r} rows have no lmf export (fastText ships its own file)")
    cell = Cell.of_row(row)
    return model_dir(directory, cell.deployed_from.id), method.deploy


def is_shipped(directory, row):
    """Whether artifacts/ ships the saved model this row's export is made from."""
    try:
        return source_of(directory, row)[0].is_dir()
    except (ArtifactError, KeyError):
        return False


def check_row(directory, row):
    """ArtifactError for what would make export_row fail, without exporting: the saved model is not
    shipped or fails its manifest's sha256 check, the row has no export_sha256, or this machine's
    onnx / onnxruntime are not the versions the sweep exported with (sweep.json)."""
    source, precision = source_of(directory, row)
    if not source.is_dir():
        raise ArtifactError(f"model `models/{source.name}` is not shipped in artifacts/, so its "
                            f"{precision} export cannot be made here; `{REGENERATE}` writes it")
    if not row.get("export_sha256"):
        raise ArtifactError(f"results.csv has no export_sha256 for `{source.name}` ({precision}); "
                            f"regenerate the artifacts with `{REGENERATE}`")
    try:
        verified_files(source)
    except ArtifactError as e:
        raise ArtifactError(f"{e}. Regenerate the artifacts with `{REGENERATE}`") from e
    recorded = read_sweep_info(directory).get("tools") or {}
    here = tool_versions()
    differ = [f"{name} {recorded[name]} (here {here.get(name)})" for name in TOOLS
              if recorded.get(name) and recorded[name] != here.get(name)]
    if differ:
        raise ArtifactError(f"the sweep exported with {', '.join(differ)}: the export rebuilt here could differ "
                            "from the one measured. `pip install -r requirements.txt` installs the sweep's versions")


def export_row(directory, row, out):
    """Rebuild the row's export into `out` (lmf.export.export_model) and check its model.onnx against
    the row's export_sha256; returns `out`. ArtifactError when check_row finds a problem, the export
    fails, or the rebuilt model differs from the measured one (then `out` is removed: nothing
    unverified is served)."""
    from lmf.export import export_model  # onnx and torch load only when a model is exported
    check_row(directory, row)
    source, precision = source_of(directory, row)
    try:
        out = export_model(source, out, precision=precision)
    except LmfError as e:  # a saved model changed since the check (ArtifactError), or one that cannot export (ExportError)
        raise ArtifactError(f"{e}. Regenerate the artifacts with `{REGENERATE}`") from e
    if file_sha256(Path(out) / MODEL) != row["export_sha256"]:
        shutil.rmtree(out, ignore_errors=True)
        raise ArtifactError(f"the {precision} export of `models/{source.name}` differs from the one the sweep "
                            "measured (export_sha256 in results.csv): the saved model or lmf's exporter changed "
                            f"since; regenerate the artifacts with `{REGENERATE}`")
    return out


def zip_row(directory, row):
    """The row's export, rebuilt and checked (export_row) in a temporary folder, as zip bytes whose
    folder is named by the row's cell id."""
    from lmf.layout import zip_model
    name = Cell(row["dataset"], row["model"], row["method"], row["embedding_reduction_pct"], row["seed"]).id
    with tempfile.TemporaryDirectory() as tmp:
        return zip_model(export_row(directory, row, Path(tmp) / name))
