"""lmf.layout: cell ids, safe model names, what a sweep left in the folder, verified downloads."""
import io
import json
import shutil
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


def test_lmf_output_is_its_manifest_and_nothing_else(tmp_path):
    """lmf.layout's one rule for replacing a folder (issues 22.1, 23.2). A folder whose manifest
    says format "lmf-model" and lists its two files with their sha256 is lmf's; adding notes.txt,
    changing a listed file or losing the format marker makes it someone's, and refusal names what
    is not lmf's. An absent or empty folder may always be written."""
    path = tmp_path / "m"
    path.mkdir()
    for name in ("model.safetensors", "meta.json"):
        (path / name).write_bytes(name.encode())
    files = {n: layout.file_sha256(path / n) for n in ("model.safetensors", "meta.json")}
    (path / layout.MANIFEST).write_text(json.dumps({"format": layout.MODEL_FORMAT, "files": files}))
    assert layout.is_lmf_output(path, layout.MANIFEST, layout.MODEL_FORMAT)
    assert layout.refusal(path, layout.MANIFEST, layout.MODEL_FORMAT) is None
    assert not layout.is_lmf_output(path, layout.MANIFEST, "lmf-export")  # another format's folder
    (path / "notes.txt").write_text("mine")
    (path / "meta.json").write_text("changed")
    assert not layout.is_lmf_output(path, layout.MANIFEST, layout.MODEL_FORMAT)
    assert layout.refusal(path, layout.MANIFEST, layout.MODEL_FORMAT) == (
        f"{path} holds files lmf did not write (meta.json (changed since lmf wrote it), notes.txt)")
    (path / "notes.txt").unlink()
    (path / "meta.json").write_bytes(b"meta.json")
    (path / layout.MANIFEST).write_text(json.dumps({"files": files}))
    assert layout.foreign_files(path, layout.MANIFEST, layout.MODEL_FORMAT) == [
        "manifest.json", "meta.json", "model.safetensors"]
    assert layout.refusal(tmp_path / "absent", layout.MANIFEST, layout.MODEL_FORMAT) is None
    (tmp_path / "empty").mkdir()
    assert layout.refusal(tmp_path / "empty", layout.MANIFEST, layout.MODEL_FORMAT) is None
    assert not layout.is_lmf_output(tmp_path / "empty", layout.MANIFEST, layout.MODEL_FORMAT)


def test_a_model_saved_before_the_format_marker_is_still_lmfs(tmp_path):
    """Models saved before the format marker have a flat manifest {model.safetensors: sha256,
    meta.json: sha256} and no format: still lmf's when it lists exactly those two files, matching
    (a shipped model rewritten that way). A user's flat manifest of just meta.json is not (the
    issue's folder of a meta.json and a manifest.json)."""
    shipped = tmp_path / "old"
    shutil.copytree(layout.ROOT / "artifacts" / "models" / "sst2-dan-lmf-R90-s0", shipped)
    files = json.loads((shipped / layout.MANIFEST).read_text())["files"]
    (shipped / layout.MANIFEST).write_text(json.dumps(files))
    assert set(files) == {"model.safetensors", "meta.json"}
    assert layout.is_lmf_output(shipped, layout.MANIFEST, layout.MODEL_FORMAT)
    mine = saved_folder(tmp_path / "mine", {"meta.json": b'{"project": "thesis"}'})
    assert layout.foreign_files(mine, layout.MANIFEST, layout.MODEL_FORMAT) == ["manifest.json", "meta.json"]


def test_copy_model_copies_only_what_the_manifest_lists(tmp_path):
    """A model copied for publishing or assembling: the listed plain files and the manifest; a
    symbolic link in their place (to a file outside) is refused, never followed."""
    path = saved_folder(tmp_path / "m", {"model.safetensors": b"w", "meta.json": b"{}"})
    assert sorted(p.name for p in layout.copy_model(path, tmp_path / "copy").iterdir()) == [
        "manifest.json", "meta.json", "model.safetensors"]
    (tmp_path / "secret").write_bytes(b"{}")
    (path / "meta.json").unlink()
    os.symlink(tmp_path / "secret", path / "meta.json")
    with pytest.raises(ArtifactError, match="not a plain file"):
        layout.copy_model(path, tmp_path / "copy2")


def test_a_scripts_paths_are_checked_before_it_runs(tmp_path, capsys):
    """check_script_paths: a folder that is no artifacts folder, and a --json whose folder does not
    exist, each end the script at once with its parser's one-line error (status 2); the repository's
    artifacts and a --json in an existing folder pass."""
    import argparse
    from lmf.layout import ROOT, check_script_paths
    parser = argparse.ArgumentParser(prog="bench")
    check_script_paths(parser, ROOT / "artifacts", tmp_path / "out.json")
    for artifacts, json_out, said in ((tmp_path, None, "not an artifacts folder"),
                                      (None, tmp_path / "no" / "x.json", "its folder does not exist")):
        with pytest.raises(SystemExit) as code:
            check_script_paths(parser, artifacts, json_out)
        assert code.value.code == 2 and said in capsys.readouterr().err
