"""lmf's public API (lmf/__init__.py): every name resolves to the library's own object, `import lmf`
stays light (the standard library only; `lmf.Predictor` works with torch unavailable), no public
name hides a submodule, and compress_with reaches the methods registry with clear refusals."""
import importlib
import pkgutil
import re
import subprocess
import sys

import pytest
import torch
from torch import nn

import lmf
from lmf.compress import compress_model
from lmf.data import Vocab

from conftest import ROOT


def test_all_is_the_table_of_exports_plus_compress_with():
    assert len(lmf.__all__) == len(set(lmf.__all__))
    assert set(lmf.__all__) == set(lmf._EXPORTS) | {"compress_with"}
    assert set(lmf.__all__) <= set(dir(lmf))


@pytest.mark.parametrize("name", sorted(lmf._EXPORTS))
def test_every_public_name_is_the_library_object_it_names(name):
    """E.g. lmf.train_model is lmf.train.train itself, not a copy or a wrapper."""
    module, attribute = lmf._EXPORTS[name]
    target = getattr(__import__(f"lmf.{module}", fromlist=[attribute]), attribute)
    assert getattr(lmf, name) is target


def test_no_public_name_is_a_submodule_name():
    """Importing lmf.train sets the package's attribute `train` to that module: a function of that
    name would be replaced by it as soon as anything imported the module."""
    submodules = {m.name for m in pkgutil.iter_modules(lmf.__path__)}
    assert not submodules & set(lmf.__all__)
    for module in ("train", "autotune"):
        importlib.import_module(f"lmf.{module}")
    assert callable(lmf.train_model) and callable(lmf.autotune_model)
    assert lmf.train.__name__ == "lmf.train"  # `from lmf import train` still gives the module


def test_an_unknown_name_is_an_attribute_error():
    """So hasattr(lmf, x) is False and `from lmf import x` falls back to the submodule x."""
    with pytest.raises(AttributeError, match="no attribute 'trainn'"):
        lmf.trainn
    assert not hasattr(lmf, "trainn")


def modules_loaded(code, block_torch=False):
    """The top-level packages loaded after `code` runs in a fresh interpreter (torch made
    unimportable first when `block_torch`)."""
    prelude = "import sys; sys.modules['torch'] = None; " if block_torch else "import sys; "
    out = subprocess.run([sys.executable, "-c", prelude + code + "; print(sorted({m.split('.')[0] for m in sys.modules}))"],
                         cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return set(eval(out.stdout.splitlines()[-1]))


def test_import_lmf_loads_only_the_standard_library():
    """Compared with a bare interpreter's, which has loaded site's own modules (the editable
    install's path finder among them)."""
    added = modules_loaded("import lmf") - modules_loaded("pass")
    assert added - {"lmf"} <= set(sys.stdlib_module_names), added


def test_predictor_loads_without_torch():
    """The deployable runtime: torch blocked (an import of it would raise), lmf.Predictor resolves
    and onnxruntime is what it loads."""
    loaded = modules_loaded("import lmf; assert lmf.Predictor.__name__ == 'Predictor'", block_torch=True)
    assert "onnxruntime" in loaded and "onnx" not in loaded


def test_the_docstring_lists_every_public_name():
    """The package docstring is the API's table of contents: each name of __all__ appears in it."""
    for name in lmf.__all__:
        assert re.search(rf"\b{name}\b", lmf.__doc__), name


# ---------------------------------------------------------------- compress_with


def dan(vocab_size=1000):
    torch.manual_seed(0)
    return lmf.new_model("dan", vocab_size, 2)


def vocab_of(size):
    return Vocab(["<pad>", "<unk>"] + [f"w{i}" for i in range(size - 2)], [0, 0] + list(range(size - 2, 0, -1)))


def test_compress_with_lmf_is_compress_model():
    """The registry's "lmf" is the paper's online LMF: for the DAN's 1,000 x 300 table at R = 90 %,
    eq. 5 gives k = floor(0.1 * 300,000 / 1,300) = floor(23.08) = 23, and the weights are those of
    lmf.compress.compress_model (the same SVD). The original keeps its dense table."""
    model = dan()
    small = lmf.compress_with(model, "lmf", 90, vocab_of(1000))
    assert small.config["rank"] == 23 and model.config["rank"] is None
    reference = compress_model(model, 90)
    for (name, a), (_, b) in zip(small.state_dict().items(), reference.state_dict().items()):
        assert torch.equal(a, b), name


def test_compress_with_quantization_takes_no_reduction():
    model = dan(100)
    assert lmf.compress_with(model, "quant8", 0, vocab_of(100)).config["bits"] == 8
    assert lmf.compress_with(model, "quant16", None, vocab_of(100)).config["bits"] == 16
    with pytest.raises(ValueError, match="R means nothing here"):
        lmf.compress_with(model, "quant8", 50, vocab_of(100))


def test_compress_with_groupreduce_reads_the_vocabulary_counts():
    small = lmf.compress_with(dan(), "groupreduce", 90, vocab_of(1000))
    assert small.config["group_ranks"]


@pytest.mark.parametrize("method, message", [
    ("topk", "makes no model from another; choose one of lmf, "),
    ("uncompressed", "makes no model from another"),  # trained from scratch, not made from a model
    ("fasttext", "makes no model from another"),
])
def test_compress_with_refuses_what_the_registry_cannot_make(method, message):
    with pytest.raises(ValueError, match=message):
        lmf.compress_with(dan(100), method, 90, vocab_of(100))


def test_compress_with_refuses_a_method_for_another_architecture():
    torch.manual_seed(0)
    lstm = lmf.new_model("lstm", 100, 2)
    with pytest.raises(ValueError, match=r"applies to dan\b.* models, not lstm"):
        lmf.compress_with(lstm, "lmf_whole", 90, vocab_of(100))


def test_compress_with_points_other_models_to_factorize_embeddings():
    foreign = nn.Sequential(nn.Embedding(100, 16), nn.Linear(16, 2))
    with pytest.raises(ValueError, match="not an lmf model.*factorize_embeddings"):
        lmf.compress_with(foreign, "lmf", 90, None)
