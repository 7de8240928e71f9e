"""lmf.runtime.Predictor: raw text to (label, probability) without torch, the manifest's sha256s
checked on load, tokenizer settings checked, empty text refused, threads settable, unknown words."""
import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT
from lmf.artifacts import save_model
from lmf.export import export_model
from lmf.models import new_model
from lmf.runtime import ExportIntegrityError, Predictor


@pytest.fixture
def exported(toy, tmp_path):
    """The toy vocabulary (<pad> <unk> film movie awful bad good great) in an untrained DAN with
    64-d embeddings, exported; plus its torch model."""
    model = new_model("dan", len(toy.vocab), 2, embed_dim=64)
    saved = save_model(tmp_path / "model", model.eval(), toy.vocab, toy.label_names)
    return export_model(saved, tmp_path / "export"), model


def test_predict_labels_and_probabilities(exported):
    """Probabilities are the softmax of the torch logits; the label is the larger one's name."""
    import torch
    directory, model = exported
    predictor = Predictor(directory)
    result = predictor.predict(["good film", "awful movie !"], batch_size=1)
    with torch.no_grad():
        probs = torch.softmax(model(torch.tensor([[6, 2, 0], [4, 3, 1]])), -1).numpy()
    assert [label for label, _ in result] == [["negative", "positive"][i] for i in probs.argmax(1)]
    np.testing.assert_allclose([p for _, p in result], probs.max(1), atol=1e-5)


def test_empty_and_whitespace_text_is_a_value_error(exported):
    predictor = Predictor(exported[0])
    for text in ["", "   \t", "\u200b"]:
        with pytest.raises(ValueError, match="no token"):
            predictor.predict(["good", text])


def test_unknown_words(exported):
    assert Predictor(exported[0]).unknown_words("Good fantastic film, fantastic") == ["fantastic", ","]


def test_threads_set_the_session(exported):
    assert Predictor(exported[0], threads=2).session.get_session_options().intra_op_num_threads == 2


@pytest.mark.parametrize("name", ["model.onnx", "tokenizer.json"])
def test_tampered_file_is_refused(exported, name):
    """One byte appended to either file changes its sha256: the load names the file."""
    directory = exported[0]
    with open(directory / name, "ab") as f:
        f.write(b" ")
    with pytest.raises(ExportIntegrityError, match=f"{name}`: sha256 does not match"):
        Predictor(directory)


def test_other_tokenizer_settings_are_refused(exported):
    """A tokenizer.json from another MAX_TOKENS (its manifest hash updated to match) is refused."""
    from lmf.layout import file_sha256
    directory = exported[0]
    tokenizer = json.loads((directory / "tokenizer.json").read_text())
    tokenizer["tokenizer"]["max_tokens"] = 512
    (directory / "tokenizer.json").write_text(json.dumps(tokenizer))
    manifest = json.loads((directory / "manifest.json").read_text())
    manifest["files"]["tokenizer.json"] = file_sha256(directory / "tokenizer.json")
    (directory / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ExportIntegrityError, match="max_tokens"):
        Predictor(directory)


def test_not_an_export_is_refused(tmp_path):
    with pytest.raises(ExportIntegrityError, match="missing or unreadable"):
        Predictor(tmp_path)


def test_runs_where_torch_cannot_be_imported(exported):
    """sys.modules['torch'] = None makes every `import torch` fail in the subprocess; the runtime
    still loads and predicts, and torch never got imported."""
    code = ("import sys; sys.modules['torch'] = None\n"
            "from lmf.runtime import Predictor\n"
            f"print(Predictor({str(exported[0])!r}).predict(['good film'])[0][0])\n"
            "print(sys.modules['torch'])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() in (["negative", "None"], ["positive", "None"])
