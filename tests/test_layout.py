"""lmf.layout: cell ids, safe model names, what a sweep left in the folder, verified downloads."""
import io
import json
import os
import zipfile

import pytest

from lmf import layout
from lmf.methods import Cell
from lmf.layout import ArtifactError


def test_cell_ids():
    """dataset-model-method, then R<r> when R > 0, the schedule unless CALR, and s<seed> (latency
    cells time seed 0's models and carry no seed)."""
    assert Cell("sst2", "dan", "lmf", 50, 1).id == "sst2-dan-lmf-R50-s1"
    assert Cell("sst2", "lstm", "uncompressed", 0, 0, "clr").id == "sst2-lstm-uncompressed-clr-s0"
    assert Cell("clinc150", "dan", "latency").id == "clinc150-dan-latency"
    assert layout.model_path("A", "sst2", "dan", "uncompressed", 90).name == "sst2-dan-uncompressed-s0"


@pytest.mark.parametrize("name", ["../secrets", "a/b", "", "..", "sst2-dan-..-s0", None, "/etc"])
def test_model_names_stay_inside_models(tmp_path, name):
    with pytest.raises(ArtifactError, match="not a model name"):
        layout.model_dir(tmp_path, name)


def test_a_symlinked_model_is_refused(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "models").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "models" / "sst2-dan-lmf-R90-s0")
    with pytest.raises(ArtifactError, match="symbolic link"):
        layout.model_dir(tmp_path, "sst2-dan-lmf-R90-s0")
    assert layout.shipped_reductions(tmp_path, "sst2", "dan") == []


def saved_folder(path, files):
    """A folder holding `files` {name: bytes} and a manifest of their sha256s."""
    path.mkdir(parents=True)
    for name, content in files.items():
        (path / name).write_bytes(content)
    (path / layout.MANIFEST).write_text(json.dumps({n: layout.file_sha256(path / n) for n in files}))
    return path


def test_download_is_exactly_what_the_manifest_lists(tmp_path):
    """The zip holds the two listed files and the manifest under the model's name; a changed file,
    an extra file, a symlinked file or a manifest that is a list are refused."""
    path = saved_folder(tmp_path / "models" / "m", {"model.safetensors": b"w", "meta.json": b"{}"})
    archive = zipfile.ZipFile(io.BytesIO(layout.zip_model(path)))
    assert sorted(archive.namelist()) == ["m/manifest.json", "m/meta.json", "m/model.safetensors"]
    assert archive.read("m/model.safetensors") == b"w"

    (path / "model.safetensors").write_bytes(b"changed")
    with pytest.raises(ArtifactError, match="sha256 does not match"):
        layout.zip_model(path)
    (path / "model.safetensors").write_bytes(b"w")
    (path / "notes.txt").write_text("extra")
    with pytest.raises(ArtifactError, match="does not list"):
        layout.zip_model(path)
    (path / "notes.txt").unlink()
    (path / "meta.json").unlink()
    (tmp_path / "secret").write_bytes(b"{}")
    os.symlink(tmp_path / "secret", path / "meta.json")
    with pytest.raises(ArtifactError, match="not a plain file"):
        layout.zip_model(path)
    (path / layout.MANIFEST).write_text("[1, 2]")
    with pytest.raises(ArtifactError, match="is not a"):
        layout.zip_model(path)


def test_saved_config_and_shipped_reductions(tmp_path):
    """A saved model's config is read from its meta.json alone; None when unreadable."""
    path = layout.model_path(tmp_path, "sst2", "dan", "lmf", 90)
    assert layout.saved_config(path) is None
    path.mkdir(parents=True)
    (path / "meta.json").write_text(json.dumps({"config": {"embed_dim": 300, "rank": 29}}))
    assert layout.saved_config(path) == {"embed_dim": 300, "rank": 29}
    assert layout.shipped_reductions(tmp_path, "sst2", "dan") == [90]
    (path / "meta.json").write_text("{not json")
    assert layout.saved_config(path) is None


def test_spectrum_is_read_only_for_the_shipped_weights(tmp_path):
    """spectra.json holds σ = (3, 4) for the weights file's sha256. Once the file changes (a
    regenerated or corrupt model), the stored values no longer describe it: None (the app then
    loads the model, which computes them or says what is wrong); so does an all-zero list."""
    path = layout.model_path(tmp_path, "sst2", "dan")
    path.mkdir(parents=True)
    weights = path / layout.WEIGHTS
    weights.write_bytes(b"weights")

    def store(values):
        entry = {"weights_sha256": layout.file_sha256(weights), "singular_values": values}
        (tmp_path / layout.SPECTRA).write_text(json.dumps({path.name: entry}))

    store([3, 4])
    assert layout.read_spectrum(tmp_path, path) == [3.0, 4.0]
    weights.write_bytes(b"weights, changed")
    assert layout.read_spectrum(tmp_path, path) is None
    store([0, 0])
    assert layout.read_spectrum(tmp_path, path) is None
    assert layout.read_spectrum(tmp_path, layout.model_path(tmp_path, "clinc150", "dan")) is None


def test_messages_name_the_folder_not_the_server_path(tmp_path):
    """An error may reach a browser: it names the artifacts folder by its last component only."""
    message = str(layout.missing("`results.csv` is missing", tmp_path / "deep" / "artifacts"))
    assert "`artifacts`" in message and str(tmp_path) not in message and layout.REGENERATE in message
