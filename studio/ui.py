"""Streamlit glue shared by app.py and the pages: cached loaders, the dataset/model selection, error boxes.

Every cached function that reads artifacts takes the artifacts directory and a file version (mtime,
size) as arguments (hashed: no leading underscore), so a regenerated artifact is picked up and tests
with different artifact folders never share entries.
Cached models (st.cache_resource) are shared by every session and are never changed: compression
(lmf.compress) returns copies, and training runs on such a copy. Deployable exports are rebuilt
from the shipped models into a folder of this server's own (studio.deploy) and checked there.
The logic itself lives in lmf; nothing here computes a result.

Only standard-library modules of lmf (layout, results, grid) are imported up front: the
home page draws its metric cards before torch has loaded, which keeps its first render near
Streamlit's own start-up time. Functions that need a model import torch's modules when first called.
"""
import os
from pathlib import Path

import streamlit as st

from lmf import layout, results as lmf_results
from lmf.methods import Cell
from lmf.names import DATASETS, DEFAULT_DATASET, DEFAULT_MODEL, MODELS, dataset_name, model_name
from lmf.layout import ArtifactError


def art_dir():
    return str(layout.artifacts_dir())


def not_shipped(dataset, model):
    """Whether the pair is of a kind the sweep measures but does not ship (not one of the paper's,
    lmf.names.MODELS: the n-gram DAN) and its uncompressed model folder is simply absent, so that
    nothing of the pair can be run, retrained or factorized here. Not for a paper kind's missing
    folder, nor for one that is there but cannot be served (a symbolic link, a name that is no cell
    id): those are errors to name, with how to regenerate."""
    if model in MODELS:
        return False
    try:
        path = layout.model_path(art_dir(), dataset, model)
    except ArtifactError:
        return False
    return not path.exists() and not path.is_symlink()


def not_shipped_note(dataset, model, what):
    """The one sentence for a pair whose models are not shipped (not_shipped): `what` cannot be
    done, and where its numbers are instead. Nothing to regenerate: the sweep ships them so."""
    return (f"No model of {dataset_name(dataset)} / {model_name(model)} is shipped in artifacts/ (the sweep measures "
            f"this kind and ships the paper's DAN and LSTM), so {what}. Its measured numbers are on the home page.")


def selected():
    """The (dataset, model) chosen in the sidebar (app.py draws the selectors before every page)."""
    return st.session_state.get("dataset", DEFAULT_DATASET), st.session_state.get("model", DEFAULT_MODEL)


def stamp(path):
    """(mtime, size) of a file or directory ((0, 0) when absent): part of every cache key."""
    try:
        info = Path(path).stat()
        return info.st_mtime_ns, info.st_size
    except OSError:
        return 0, 0


def model_version(path):
    """A saved model's version for cache keys: its manifest's and weights' (mtime, size)."""
    return stamp(Path(path) / layout.MANIFEST) + stamp(Path(path) / layout.WEIGHTS)


# What to do when a page needs the dataset itself (SVD-only accuracy, live retraining) and it cannot
# be found: the artifacts are fine, so regenerating them would not help.
DATA_HINT = ("set `LMF_DATA_DIR` to the data folder (`export LMF_DATA_DIR=/path/to/data` before "
             "`streamlit run app.py`), or `pip install datasets` on a machine that can reach the Hugging Face Hub.")


def public(message):
    """`message` with the server's folders (artifacts, data, jobs, repository, home, temporary
    files) cut to their last component: an error box reaches any visitor, and a server path tells
    them nothing they can use."""
    from .jobs import jobs_dir
    import tempfile
    roots = [art_dir(), os.environ.get("LMF_DATA_DIR"), str(jobs_dir()), str(layout.ROOT), str(Path.home()),
             tempfile.gettempdir()]
    for root in sorted({str(Path(r).resolve()) for r in roots if r} | {r for r in roots if r}, key=len, reverse=True):
        if len(root) > 1:
            message = message.replace(root, Path(root).name or root)
    return message


def show_error(error):
    """A red box with what is missing or wrong and, for artifacts, the command that regenerates them."""
    st.error(public(str(error)), icon=":material/warning:")
    if isinstance(error, ArtifactError):
        st.caption("To regenerate everything the app reads:")
        st.code(layout.REGENERATE, language="bash")


# ---------------------------------------------------------------- cached loaders

@st.cache_data(show_spinner=False)
def _results(directory, version):
    return lmf_results.read_results(directory)


@st.cache_data(show_spinner=False)
def _schedules(directory, version):
    return lmf_results.read_schedules(directory)


def _cached_table(load, filename, quiet=False):
    """load(artifacts dir, file version), cached per version; None (after an error box unless
    `quiet`) when the file is missing or unreadable."""
    directory = art_dir()
    try:
        return load(directory, stamp(Path(directory) / filename))
    except ArtifactError as e:
        if not quiet:
            show_error(e)
        return None


def results():
    """results.csv's rows (lmf.results.read_results), or None after showing what is missing."""
    return _cached_table(_results, "results.csv")


def schedules():
    return _cached_table(_schedules, "schedules.csv")


@st.cache_data(show_spinner=False)
def curve(directory, dataset, model, reduction, version):
    return lmf_results.read_curve(directory, dataset, model, reduction)


def precomputed_curve(dataset, model, reduction):
    directory = art_dir()
    return curve(directory, dataset, model, reduction,
                 stamp(layout.curve_path(directory, dataset, model, reduction)))


def sweep_info():
    return layout.read_sweep_info(art_dir())


@st.cache_resource(show_spinner="Loading model…", max_entries=32)
def _saved(directory, dataset, model, method, reduction, version):
    from lmf.artifacts import load_model
    path = layout.model_path(directory, dataset, model, method, reduction)
    if not path.exists():
        raise layout.missing(f"model `models/{path.name}` is missing", directory)
    try:
        return load_model(path)
    except ArtifactError as e:
        raise ArtifactError(f"{e}. Regenerate the artifacts with `{layout.REGENERATE}`.") from e


def saved(dataset, model, method="uncompressed", reduction=0):
    """A cached lmf.artifacts.SavedModel; raises ArtifactError (callers show it)."""
    directory = art_dir()
    path = layout.model_path(directory, dataset, model, method, reduction)
    return _saved(directory, dataset, model, method, reduction, model_version(path))


@st.cache_data(show_spinner=False, max_entries=32)
def _config(directory, dataset, model, version):
    return layout.saved_config(layout.model_path(directory, dataset, model))


def config(dataset, model):
    """The uncompressed model's config from its meta.json (no weights loaded), or None (also when
    its folder cannot be served: a name that is no cell id, a symbolic link); cached, since meta.json
    carries the whole vocabulary and the home page asks on every rerun."""
    directory = art_dir()
    try:
        return _config(directory, dataset, model, model_version(layout.model_path(directory, dataset, model)))
    except ArtifactError:
        return None


@st.cache_resource(show_spinner=False)
def _export_root():
    """This server's folder for the exports it rebuilds (studio.deploy), removed when the server exits."""
    import atexit
    import shutil
    import tempfile
    root = tempfile.mkdtemp(prefix="lmf-studio-exports-")
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return root


@st.cache_resource(show_spinner="Building the deployable model…", max_entries=64)
def _deployable(directory, version, row):
    from .deploy import export_row
    parent = Path(_export_root()) / (row.get("export_sha256") or "unchecked")[:16]  # one folder per measured model
    parent.mkdir(exist_ok=True)
    return str(export_row(directory, row, parent / row_key(row)))


def row_key(row):
    return Cell.of_row(row).id


def _source_version(directory, row):
    """The version (model_version) of the saved model the row's export is made from: a cache key part."""
    from .deploy import source_of
    return model_version(source_of(directory, row)[0])


def deployable(row):
    """The export directory of a results.csv row (studio.deploy.export_row: rebuilt from the shipped
    saved model and checked against the row's export_sha256), cached; raises ArtifactError."""
    directory = art_dir()
    return _deployable(directory, _source_version(directory, row), row)


@st.cache_resource(show_spinner="Loading the deployable model…", max_entries=32)
def _predictor(path):
    from lmf.runtime import ExportIntegrityError, Predictor
    try:
        return Predictor(path, threads=1)
    except ExportIntegrityError as e:
        raise ArtifactError(str(e)) from e


def predictor(row):
    """An lmf.runtime.Predictor over the row's export (ONNX Runtime, one thread), cached; raises
    ArtifactError."""
    return _predictor(deployable(row))


@st.cache_data(show_spinner=False, max_entries=64)
def _download_problem(directory, version, row):
    from .deploy import check_row
    try:
        check_row(directory, row)
    except ArtifactError as e:
        return str(e)
    return None


def download_problem(row):
    """Why the row's export cannot be served (studio.deploy.check_row: cheap, no export), or None;
    cached per saved-model version, since it hashes the saved model's weights. A model folder that
    cannot be named (a data set name that is no cell id) or is a symbolic link is such a reason."""
    directory = art_dir()
    try:
        version = _source_version(directory, row)
    except ArtifactError as e:
        return str(e)
    return _download_problem(directory, version, row)


@st.cache_resource(show_spinner=False, max_entries=8)  # the pages show their own spinner, in place
def _eval_data(directory, dataset, model, quick, version, data_dir=None):
    from .jobs import published_data
    from .live import evaluation_data
    base = _saved(directory, dataset, model, "uncompressed", 0, version)
    # A data set a Your data job published is read from that job's folder, not looked up by name.
    return evaluation_data(published_data(dataset, directory) or dataset, base.vocab, base.label_names, quick)


def eval_data(dataset, model):
    """The dataset encoded with the uncompressed model's vocabulary, or None when it cannot be
    found (no LMF_DATA_DIR and no Hub access; a Your data job's data set: its job's folder gone).
    The compressed models share that vocabulary."""
    from lmf.data import DataError, data_folder
    directory = art_dir()
    path = layout.model_path(directory, dataset, model)
    try:
        return _eval_data(directory, dataset, model, bool(sweep_info().get("quick")),
                          model_version(path), str(data_folder()))
    except (DataError, ArtifactError, OSError, ImportError):
        return None


@st.cache_resource(show_spinner=False, max_entries=32)  # the home page shows its own spinner, in place
def _svd_only(directory, dataset, model, reduction, with_accuracy, version):
    from lmf.data import data_folder
    from lmf.selection import svd_only_selection
    base = _saved(directory, dataset, model, "uncompressed", 0, version)
    data = _eval_data(directory, dataset, model, bool(layout.read_sweep_info(directory).get("quick")),
                      version, str(data_folder())) if with_accuracy else None
    parent = Path(_export_root()) / f"svd-{abs(hash((directory, version, with_accuracy))):x}"
    parent.mkdir(exist_ok=True)
    return svd_only_selection(base, reduction, parent / f"{dataset}-{model}-svd_only-R{reduction}", data)


def svd_only(dataset, model, reduction):
    """(compressed model, Selection) for an R off the grid, its export in Selection.export_dir;
    accuracy only when the data is available."""
    directory = art_dir()
    path = layout.model_path(directory, dataset, model)
    with_accuracy = eval_data(dataset, model) is not None
    return _svd_only(directory, dataset, model, reduction, with_accuracy, model_version(path))


@st.cache_data(show_spinner=False, max_entries=16)
def _spectrum(directory, dataset, model, version):
    """spectra.json's values for the model when they match its weights file, else computed from
    the loaded model (torch; _saved raises ArtifactError for a corrupt one)."""
    stored = layout.read_spectrum(directory, layout.model_path(directory, dataset, model))
    if stored is not None:
        return stored
    from lmf.compress import embedding_spectrum
    return embedding_spectrum(_saved(directory, dataset, model, "uncompressed", 0, version).model).tolist()


def spectrum(dataset, model):
    directory = art_dir()
    path = layout.model_path(directory, dataset, model)
    return _spectrum(directory, dataset, model, model_version(path) + stamp(Path(directory) / "spectra.json"))


# ---------------------------------------------------------------- the shared selection

def select(dataset, model):
    """Make (dataset, model) the sidebar's selection from the next run on (the selectors are drawn
    before any page, so a page asks for it and reruns: Streamlit forbids changing a drawn widget)."""
    st.session_state["select_next"] = (dataset, model)


def choose_dataset_model(results_rows=None, where=st.sidebar):
    """Dataset and model selectboxes (in the sidebar; kept across pages, and bound to the URL's
    ?dataset=&model=, so a reload or a shared link keeps the choice). Options come from results.csv
    when it is readable, else from the sweep's full list."""
    if results_rows is not None:
        available = lmf_results.pairs(results_rows)
    else:
        available = [(d, m) for d in DATASETS for m in MODELS]
    pending = st.session_state.pop("select_next", None)
    if pending is not None:
        st.session_state["dataset"], st.session_state["model"] = pending
    datasets = list(dict.fromkeys(d for d, _ in available))
    if "dataset" in st.session_state and st.session_state["dataset"] not in datasets:
        st.session_state.pop("dataset")
    dataset = where.selectbox("Dataset", datasets, format_func=dataset_name, key="dataset", bind="query-params",
                              index=datasets.index(DEFAULT_DATASET) if DEFAULT_DATASET in datasets else 0)
    models = [m for d, m in available if d == dataset]
    if "model" in st.session_state and st.session_state["model"] not in models:
        st.session_state.pop("model")
    model = where.selectbox("Model", models, format_func=model_name, key="model", bind="query-params",
                            index=models.index(DEFAULT_MODEL) if DEFAULT_MODEL in models else 0)
    return dataset, model


def unknown_page(requested, url_paths):
    """`requested` (a URL path the browser asked for) when no page answers to it, else None."""
    requested = (requested or "").strip("/")
    return requested if requested and requested not in url_paths else None


def missing_page(pages):
    """The URL path of this run's request when no page of `pages` has it (a mistyped link: Streamlit
    then runs the default page without a word), else None. Read from the run's request, which
    names the page by its URL path only when the browser opened a URL (a click names its hash)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx
    ctx = get_script_run_ctx()
    manager = getattr(ctx, "pages_manager", None)
    if manager is None or manager.intended_page_script_hash:
        return None
    return unknown_page(manager.intended_page_name, [p.url_path for p in pages])


# What the paper's terms mean, for help texts (a tooltip where the term appears).
TERMS = {
    "seed 0": "The sweep trains each model with a few random starts (seeds 0, 1, 2). Seed 0's model is the one "
              "shipped and downloaded, so its numbers are the ones shown; the other seeds only give the spread.",
    "SVD only": "The uncompressed model's embedding replaced by its truncated SVD (two thin matrices) and used as "
                "it is, without retraining: what the compression alone costs.",
    "rank k": "The width of the two thin matrices that replace the embedding: k = floor(p m n / (m + n)) for an "
              "m x n embedding keeping a share p = 1 - R of its weights (the paper's eq. 5).",
    "R": "R = 1 - p: the share of the embedding's weights removed (R = 90 keeps 10 % of them).",
    "baseline 1": "The paper's first baseline: the uncompressed model with every weight stored in 8 or 16 bits.",
    "baseline 2": "The paper's second baseline, offline SVD: the embedding made small before training (floor(p d) "
                  "dimensions: the pretrained vectors projected on their top singular vectors, or a random table), "
                  "then the model trained from there as usual.",
    "dev": "The development set: the held-out sentences used to choose models (and to judge the tolerance). "
           "The test set is used only to report accuracy.",
}


def terms(*names):
    """The TERMS named, as one help text."""
    return "\n\n".join(f"**{name}**: {TERMS[name]}" for name in names)


def quick_notice():
    if sweep_info().get("quick"):
        st.info("These artifacts come from the **quick** sweep (tiny data, a few training steps): the numbers "
                f"show how the app works, not how well LMF works. Run `{layout.REGENERATE}` for the real ones.",
                icon=":material/info:")


def cached_results_quiet():
    """results.csv's rows or None, without showing an error (the sidebar's selectors fall back to defaults)."""
    return _cached_table(_results, "results.csv", quiet=True)
