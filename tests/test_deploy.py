"""studio.deploy: a results.csv row's export is rebuilt from the shipped saved model byte for byte, and
refused (with what to do) when it cannot be: not shipped, no sha256 recorded, a different export,
a corrupt saved model, a fastText row."""
import io
import json
import zipfile

import pytest

from lmf.artifacts import save_model
from studio.deploy import check_row, export_row, is_shipped, source_of, tool_versions, zip_row
from lmf.export import export_model
from lmf.layout import MANIFEST, REGENERATE, ArtifactError, file_sha256
from lmf.models import new_model

ROW = {"dataset": "toy", "model": "dan", "method": "quant8", "embedding_reduction_pct": 0, "seed": 0}


@pytest.fixture
def shipped(toy, tmp_path):
    """An artifacts folder shipping the toy's seed-0 uncompressed DAN, and the 8-bit row the sweep
    wrote for it: its int8 export made in the sweep's own folder, whose model.onnx sha256 the row
    records, and sweep.json naming this machine's onnx / onnxruntime versions."""
    directory = tmp_path / "artifacts"
    model = new_model("dan", len(toy.vocab), 2, embed_dim=8, seed=0)
    source = save_model(directory / "models" / "toy-dan-uncompressed-s0", model, toy.vocab, toy.label_names)
    sweep_export = export_model(source, tmp_path / "work" / "exports" / "toy-dan-quant8-s0", precision="int8")
    (directory / "sweep.json").write_text(json.dumps({"tools": tool_versions()}))
    return directory, {**ROW, "export_sha256": file_sha256(sweep_export / "model.onnx")}, sweep_export


def test_source_of_each_kind(tmp_path):
    """fp32 methods export their own model; 8/16-bit the uncompressed model (R = 0); an int8 stack
    the retrained model it stacks on, at the same R and seed."""
    d = tmp_path
    assert source_of(d, ROW) == (d / "models" / "toy-dan-uncompressed-s0", "int8")
    assert source_of(d, {**ROW, "method": "quant16"})[1] == "fp16"
    assert source_of(d, {**ROW, "method": "lmf", "embedding_reduction_pct": 90}) == \
        (d / "models" / "toy-dan-lmf-R90-s0", "fp32")
    assert source_of(d, {**ROW, "method": "lmf_whole_int8", "embedding_reduction_pct": 95, "seed": 2}) == \
        (d / "models" / "toy-dan-lmf_whole-R95-s2", "int8")
    with pytest.raises(ArtifactError, match="fastText"):
        source_of(d, {**ROW, "model": "fasttext", "method": "fasttext_ftz"})


def test_rebuilt_export_is_the_measured_one(shipped, tmp_path):
    directory, row, sweep_export = shipped
    assert is_shipped(directory, row)
    out = export_row(directory, row, tmp_path / "served" / "toy-dan-quant8-s0")
    for name in ("model.onnx", "tokenizer.json", "words.zlib", MANIFEST):
        assert file_sha256(out / name) == file_sha256(sweep_export / name)


def test_zip_is_the_export_under_its_cell_id(shipped):
    directory, row, _ = shipped
    names = sorted(zipfile.ZipFile(io.BytesIO(zip_row(directory, row))).namelist())
    assert names == [f"toy-dan-quant8-s0/{name}" for name in ("manifest.json", "model.onnx", "tokenizer.json", "words.zlib")]


def test_other_tool_versions_are_named(shipped):
    """sweep.json says the sweep exported with onnxruntime 0.0.1: the check names both versions and
    how to install the sweep's, before any export is attempted."""
    directory, row, _ = shipped
    (directory / "sweep.json").write_text(json.dumps({"tools": {**tool_versions(), "onnxruntime": "0.0.1"}}))
    with pytest.raises(ArtifactError, match=r"onnxruntime 0\.0\.1 \(here .*pip install -r requirements.txt"):
        check_row(directory, row)


def test_a_different_export_is_refused_and_removed(shipped, tmp_path):
    directory, row, _ = shipped
    out = tmp_path / "served" / "m"
    with pytest.raises(ArtifactError, match="differs from the one the sweep measured"):
        export_row(directory, {**row, "export_sha256": "0" * 64}, out)
    assert not out.exists(), "nothing unverified is left to serve"
    with pytest.raises(ArtifactError, match="no export_sha256"):
        export_row(directory, {**row, "export_sha256": None}, out)


def test_unshipped_or_corrupt_source(shipped, tmp_path):
    directory, row, _ = shipped
    lmf_row = {**row, "method": "lmf_int8", "embedding_reduction_pct": 90}
    assert not is_shipped(directory, lmf_row)
    with pytest.raises(ArtifactError, match="not shipped"):
        export_row(directory, lmf_row, tmp_path / "x")
    weights = directory / "models" / "toy-dan-uncompressed-s0" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-4] + b"junk")
    with pytest.raises(ArtifactError, match=REGENERATE):
        export_row(directory, row, tmp_path / "y")
