"""The deployable model a results.csv row describes, rebuilt from what artifacts/ ships.

The sweep measures every row through its export (lmf.runner: bytes, accuracy and latency of the
ONNX directory) and records the sha256 of that export's manifest.json, which lists the sha256 of
model.onnx and tokenizer.json, as `export_sha256`. artifacts/ ships saved models, not exports: an
export is a pure function of its saved model and precision (lmf.export writes it by hand, and
ONNX Runtime's int8 quantization is deterministic), so `export_row` rebuilds it from the shipped
saved model and then checks the sha256. What the app runs in the Playground and serves as a
download is therefore, byte for byte, the model whose numbers its cards show, or an error says
it is not.

    source_of(directory, row) -> (saved model directory, precision)
    export_row(directory, row, out) -> out, an lmf export identical to the one the sweep measured

Deliberately not here: writing the graph (lmf.export), running it (lmf.runtime), timing (lmf.latency).
"""
import shutil
from pathlib import Path

from .layout import MANIFEST, REGENERATE, ArtifactError, cell_id, file_sha256, model_dir
from .methods import METHODS


def source_of(directory, row):
    """(path of the saved model under `directory`/models the row's export is made from, precision):
    the row's own model in fp32, or its source's (the uncompressed model for 8/16-bit, the
    retrained model for an int8 stack) at lmf.methods' `deploy` precision."""
    method = METHODS.get(row["method"])
    if method is None or method.group == "reference":
        raise ArtifactError(f"{row['method']!r} rows have no lmf export (fastText ships its own file)")
    name = method.deployed_method
    reduction = 0 if name == "uncompressed" else row["embedding_reduction_pct"]
    return model_dir(directory, cell_id(row["dataset"], row["model"], name, reduction, row["seed"])), method.deploy


def is_shipped(directory, row):
    """Whether artifacts/ ships the saved model this row's export is made from."""
    try:
        return source_of(directory, row)[0].is_dir()
    except (ArtifactError, KeyError):
        return False


def export_row(directory, row, out):
    """Rebuild the row's export into `out` (lmf.export.export_model) and check it against the row's
    export_sha256; returns `out`. ArtifactError when the saved model is not shipped, or when the
    rebuilt export differs from the measured one (then `out` is removed: nothing unverified is served)."""
    from .export import export_model  # onnx and torch load only when a model is exported
    source, precision = source_of(directory, row)
    if not source.is_dir():
        raise ArtifactError(f"model `models/{source.name}` is not shipped in artifacts/, so its "
                            f"{precision} export cannot be made here; `{REGENERATE}` writes it")
    expected = row.get("export_sha256")
    if not expected:
        raise ArtifactError(f"results.csv has no export_sha256 for `{source.name}` ({precision}); "
                            f"regenerate the artifacts with `{REGENERATE}`")
    try:
        out = export_model(source, out, precision=precision)
    except ArtifactError as e:  # a corrupt or changed saved model (lmf.artifacts' checks)
        raise ArtifactError(f"{e}. Regenerate the artifacts with `{REGENERATE}`") from e
    if file_sha256(Path(out) / MANIFEST) != expected:
        shutil.rmtree(out, ignore_errors=True)
        raise ArtifactError(f"the {precision} export of `models/{source.name}` differs from the one the sweep "
                            "measured (export_sha256 in results.csv): the model or the exporter changed since; "
                            f"regenerate the artifacts with `{REGENERATE}`")
    return out
