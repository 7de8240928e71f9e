"""Where things live in an artifacts folder: the one contract between what writes it and what reads it.

    artifacts/
      results.csv  schedules.csv  sweep.json  spectra.json  REPORT.md  size_vs_accuracy.png
      curves/<cell id>.csv          a retraining curve (step, dev_accuracy, lr)
      models/<cell id>/             a saved model (lmf.artifacts): model.safetensors, meta.json, manifest.json
      published.json                which job published each data set of its own (studio.jobs)

A cell id names one run of the sweep, e.g. `sst2-dan-lmf-R90-s0`. Every reader raises ArtifactError,
whose message names what is missing and the command that regenerates it. Model names that come
from a file (results.csv, a URL) are resolved with `model_dir`, which refuses anything outside
`models/` and symbolic links.

What lmf may replace (`refusal`, `is_lmf_output`): a folder lmf writes whole (a saved model, an
export) is recognised by its manifest, which names the format and lists every other file in the
folder with its sha256. lmf replaces such a folder only while it holds exactly that (nothing
added, nothing changed), and names whatever else it finds when it refuses.

Standard library only, so that the app's home page can read the folder before torch loads.
Deliberately not here: reading weights (lmf.artifacts), results.csv's schema (lmf.results), or
anything that decides what to save (sweep.runner, sweep.assemble).
"""
import hashlib
import io
import json
import os
import re
import shutil
import zipfile
from importlib import metadata
from pathlib import Path

from .errors import LmfError

ROOT = Path(__file__).resolve().parent.parent
REGENERATE = "python scripts/precompute.py"
WEIGHTS, META, MANIFEST = "model.safetensors", "meta.json", "manifest.json"  # a saved model's files
MODEL_FORMAT = "lmf-model"  # a saved model's manifest.json: {"format": MODEL_FORMAT, "files": {name: sha256}}
# Saved models written before the format marker (the shipped artifacts/models) have a manifest of
# exactly {name: sha256} for these files: still lmf's own.
LEGACY_FILES = {MODEL_FORMAT: {WEIGHTS, META}}
RESULTS, SCHEDULES, SWEEP, SPECTRA = "results.csv", "schedules.csv", "sweep.json", "spectra.json"
PUBLISHED = "published.json"  # {data set name: {"job": id, "models": [cell ids]}}, written by studio.jobs
REPORT, PLOT = "REPORT.md", "size_vs_accuracy.png"
MODELS_DIR, CURVES_DIR = "models", "curves"
EXPORT_MODEL = "model.onnx"  # an export's graph (lmf.export, lmf.runtime)
EXPORT_TOOLS = ("onnx", "onnxruntime")  # the packages an export's bytes depend on (sweep.json records them)
LATENCY_METHODS = ("latency", "latency_ext")  # cells that time other cells' models and have no seed
_CELL_ID = re.compile(r"^[a-z0-9_.]+(-[A-Za-z0-9_.]+)*$")


class ArtifactError(LmfError, RuntimeError):
    """A file of artifacts/ (a saved model, results.csv, ...) that is missing, incomplete or corrupt."""


def artifacts_dir():
    """`$LMF_ARTIFACTS_DIR`, else `<repo>/artifacts`."""
    return Path(os.environ.get("LMF_ARTIFACTS_DIR", ROOT / "artifacts"))


def tool_versions():
    """{package: installed version} of EXPORT_TOOLS (None when one is not installed)."""
    versions = {}
    for name in EXPORT_TOOLS:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def missing(what, directory):
    """An ArtifactError saying what is missing or unreadable and how to regenerate it. The folder is
    named by its last component only: a message may reach a browser, and a server path tells a
    visitor nothing they can act on."""
    return ArtifactError(f"{what} in the artifacts folder `{Path(directory).name}`. Regenerate the artifacts "
                         f"with `{REGENERATE}` (or `{REGENERATE} --quick` for a tiny version in under a minute).")


def cell_id(dataset, model, method, reduction=0, seed=0, schedule="calr"):
    """The name of a sweep cell's files, e.g. 'sst2-dan-lmf-R90-s0' (latency cells have no seed)."""
    parts = [dataset, model, method]
    if reduction:
        parts.append(f"R{reduction}")
    if schedule != "calr":
        parts.append(schedule)
    if method not in LATENCY_METHODS:
        parts.append(f"s{seed}")
    return "-".join(parts)


def model_dir(directory, name):
    """`<directory>/models/<name>` for a model name read from a file or a request; ArtifactError
    for a name that is not a plain cell id (a `../`, a slash) or a symbolic link, so nothing
    outside models/ is ever read or served through a name."""
    if not isinstance(name, str) or not _CELL_ID.match(name) or ".." in name:
        raise ArtifactError(f"`{name}` is not a model name of the artifacts folder")
    path = Path(directory) / MODELS_DIR / name
    if path.is_symlink():
        raise ArtifactError(f"model `{name}` is a symbolic link; the app serves only real model folders")
    return path


def model_path(directory, dataset, model, method="uncompressed", reduction=0, seed=0):
    """Where the sweep puts a model: models/<dataset>-<model>-<method>[-R<r>]-s<seed>."""
    return model_dir(directory, cell_id(dataset, model, method, reduction if method != "uncompressed" else 0, seed))


def curve_path(directory, dataset, model, reduction, seed=0, method="lmf"):
    return Path(directory) / CURVES_DIR / f"{cell_id(dataset, model, method, reduction, seed)}.csv"


def shipped_reductions(directory, dataset, model, method="lmf"):
    """Reductions R with a saved seed-0 `method` model under models/, ascending."""
    prefix = f"{dataset}-{model}-{method}-R"
    folder = Path(directory) / MODELS_DIR
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        if path.is_dir() and not path.is_symlink() and path.name.startswith(prefix) and path.name.endswith("-s0"):
            number = path.name[len(prefix):-len("-s0")]
            if number.isdigit():
                found.append(int(number))
    return sorted(found)


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_json(path, default=None):
    """A JSON file's object, or `default` when it is absent, unreadable or not a JSON object."""
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
        return value if isinstance(value, dict) else default
    except (OSError, ValueError):
        return default


def has_format(path, marker, fmt):
    """Whether the JSON file `marker` in folder `path` says `"format": fmt`: how an export, an
    autotune output and other folders lmf writes are recognised before one is replaced."""
    return (read_json(Path(path) / marker) or {}).get("format") == fmt


def manifest_files(manifest, fmt):
    """The {file name: sha256} that a parsed manifest of format `fmt` lists, or None when it is not
    one: {"format": fmt, "files": {...}}, or for a saved model the flat manifest written before the
    format marker (exactly LEGACY_FILES)."""
    if not isinstance(manifest, dict):
        return None
    if manifest.get("format") == fmt and isinstance(manifest.get("files"), dict):
        files = manifest["files"]
    elif "format" not in manifest and set(manifest) == LEGACY_FILES.get(fmt):
        files = manifest
    else:
        return None
    return files if all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()) else None


def _manifest_of(path, marker, fmt):
    file = Path(path) / marker
    return None if file.is_symlink() else manifest_files(read_json(file), fmt)


def foreign_files(path, marker, fmt):
    """The entries of folder `path` that lmf did not write as an output of format `fmt`: every
    entry, unless `marker` is a manifest of that format (manifest_files); then each entry it does
    not list, and each listed one that is not a plain file or whose sha256 differs (changed since).
    [] for an absent or empty folder: nothing there would be lost."""
    path = Path(path)
    if not path.is_dir() or path.is_symlink():
        return [path.name] if os.path.lexists(path) else []
    entries = sorted(os.listdir(path))
    files = _manifest_of(path, marker, fmt) if entries else None
    if files is None:
        return entries
    foreign = []
    for name in entries:
        item = path / name
        if name == marker:
            continue
        if name not in files:
            foreign.append(name)
        elif item.is_symlink() or not item.is_file():
            foreign.append(f"{name} (not a plain file)")
        elif file_sha256(item) != files[name]:
            foreign.append(f"{name} (changed since lmf wrote it)")
    return foreign


def is_lmf_output(path, marker, fmt):
    """Whether folder `path` holds an lmf output of format `fmt` and nothing else: its manifest
    `marker` names the format, and every other file there is listed with a matching sha256."""
    path = Path(path)
    return (path.is_dir() and not path.is_symlink() and _manifest_of(path, marker, fmt) is not None
            and not foreign_files(path, marker, fmt))


def refusal(path, marker, fmt):
    """None when lmf may put its output of format `fmt` at `path` (nothing there, an empty folder,
    or an earlier such output holding nothing else: is_lmf_output), else why not, naming what is
    not lmf's. The one rule for every --out: train, compress, quantize, export, autotune's folders."""
    path = Path(path)
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        return f"{path} exists and is not a folder"
    foreign = foreign_files(path, marker, fmt)
    if not foreign:
        return None
    shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
    return f"{path} holds files lmf did not write ({shown})"


def is_artifacts_dir(path):
    """An artifacts folder lmf assembled (sweep.assemble): it holds results.csv or sweep.json."""
    path = Path(path)
    return not path.is_symlink() and ((path / RESULTS).is_file() or (path / SWEEP).is_file())


def check_script_paths(parser, artifacts=None, json_out=None):
    """A benchmark script's paths checked before it runs for minutes (parser.error: one line,
    status 2): `artifacts`, when given, must be an artifacts folder (is_artifacts_dir), and the
    folder `json_out` is written to must exist."""
    if artifacts is not None and not is_artifacts_dir(artifacts):
        parser.error(f"--artifacts {artifacts}: not an artifacts folder (no {RESULTS} or {SWEEP} there)")
    if json_out and not Path(json_out).resolve().parent.is_dir():
        parser.error(f"--json {json_out}: its folder does not exist")


def read_sweep_info(directory):
    """sweep.json (command, quick, hardware), or {} when absent or unreadable."""
    return read_json(Path(directory) / SWEEP, {})


def saved_config(path):
    """A saved model's config (arch, embed_dim, rank, ...) from its meta.json, without loading its
    weights; None when it is missing or unreadable (lmf.artifacts.load_model says why)."""
    config = (read_json(Path(path) / META) or {}).get("config")
    return dict(config) if isinstance(config, dict) else None


def read_spectrum(directory, path):
    """The singular values of the model at `path` from spectra.json (written by the sweep), or None
    when absent, unusable, or computed from other weights than the model's file holds (a
    regenerated or corrupt model: the caller then loads it, which says which)."""
    entry = (read_json(Path(directory) / SPECTRA) or {}).get(Path(path).name)
    try:
        values = [float(v) for v in entry["singular_values"]]
        sound = values and sum(values) > 0 and entry["weights_sha256"] == file_sha256(Path(path) / WEIGHTS)
        return values if sound else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def verified_files(path):
    """The files of the saved model or deployable export at `path` that its manifest.json lists, after
    checking each one's sha256; ArtifactError for a missing or tampered file, an unlisted file, a
    symbolic link or a manifest that is not a {file name: sha256} object."""
    path = Path(path)
    if path.is_symlink() or not path.is_dir():
        raise ArtifactError(f"`{path.name}`: no saved model here")
    manifest = read_json(path / MANIFEST)
    if manifest and isinstance(manifest.get("files"), dict):  # a deployable export (lmf.export) lists them there
        manifest = manifest["files"]
    if not manifest or not all(isinstance(k, str) and isinstance(v, str) for k, v in manifest.items()):
        raise ArtifactError(f"`{path.name}/{MANIFEST}` is missing or is not a {{file: sha256}} object")
    present = {p.name for p in path.iterdir()} - {MANIFEST}
    if present - set(manifest):
        raise ArtifactError(f"`{path.name}` holds files its manifest does not list: {sorted(present - set(manifest))}")
    files = []
    for name, digest in manifest.items():
        file = path / name
        if "/" in name or name.startswith(".") or file.is_symlink() or not file.is_file():
            raise ArtifactError(f"`{path.name}/{name}` is missing or not a plain file")
        if file_sha256(file) != digest:
            raise ArtifactError(f"`{path.name}/{name}`: sha256 does not match {MANIFEST}; "
                                "the file is corrupt or was changed after saving")
        files.append(file)
    return files + [path / MANIFEST]


def copy_model(path, dst):
    """Copy the saved model or export at `path` to the new folder `dst`: only the plain files its
    manifest lists, each checked (verified_files), never a link or what a link points to."""
    Path(dst).mkdir(parents=True)
    for file in verified_files(path):
        shutil.copy2(file, Path(dst) / file.name, follow_symlinks=False)
    return Path(dst)


def zip_model(path):
    """A saved model or export directory as zip bytes (a download), after verifying it against its
    manifest: what is served is exactly what was written, and nothing but it."""
    path = Path(path)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(verified_files(path)):
            archive.write(file, f"{path.name}/{file.name}")
    return buffer.getvalue()
