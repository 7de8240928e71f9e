"""`python -m lmf`: a tiny end-to-end run (train, compress, quantize, evaluate, classify) on a
200-example slice of SST-2, and the exit code and message of every kind of bad input."""
import contextlib
import io
import math
import re
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT
from lmf.artifacts import WEIGHTS, load_model
from lmf.cli import main
from lmf.compress import fraction_for_reduction, rank_for_fraction
from lmf.train import recipe

ACCURACY_LINE = re.compile(r"dev (\d\.\d{4}), test (\d\.\d{4}), ([\d,]+) parameters, ([\d.]+) MB on disk")


def run(*argv, stdin=None):
    """(exit code, stdout, stderr) of lmf.cli.main in this process."""
    out, err = io.StringIO(), io.StringIO()
    old_stdin = sys.stdin
    sys.stdin = io.StringIO(stdin) if stdin is not None else old_stdin
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main([str(a) for a in argv])
            except SystemExit as e:  # argparse rejects bad arguments this way
                code = e.code
    finally:
        sys.stdin = old_stdin
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def pipeline(tiny_dir, tmp_path_factory):
    """train -> compress (R = 50) -> quantize (8 bits), each step's (code, stdout, stderr)."""
    runs = tmp_path_factory.mktemp("runs")
    paths = {name: runs / name for name in ("dan", "dan-r50", "dan-q8")}
    steps = {
        "train": run("train", "--data", tiny_dir, "--model", "dan", "--max-steps", 10,
                     "--eval-every", 5, "--out", paths["dan"], "--quiet"),
        "compress": run("compress", paths["dan"], "--data", tiny_dir, "--reduction", 50,
                        "--max-steps", 5, "--out", paths["dan-r50"], "--quiet"),
        "quantize": run("quantize", paths["dan"], "--data", tiny_dir, "--bits", 8, "--out", paths["dan-q8"]),
    }
    return steps, paths


def test_train(pipeline, tiny_dir):
    """200 phrases in the DAN recipe's batches of 128: ceil(200 / 128) = 2 steps per epoch, times
    the recipe's epochs, raised to the recipe's min_steps, capped at --max-steps 10 (with 4 epochs
    and min_steps 2,000: max(8, 2000) = 2000, capped to 10 steps)."""
    (code, out, err), paths = pipeline[0]["train"], pipeline[1]
    assert code == 0, err
    cfg = recipe("dan")
    expected_steps = min(max(int(cfg.epochs * math.ceil(200 / cfg.batch_size)), cfg.min_steps), 10)
    assert f"trained ({expected_steps} steps" in out
    assert f"dan on {tiny_dir.name}:" in out and "200 training examples" in out and "2 classes" in out
    saved = load_model(paths["dan"])
    assert saved.config["arch"] == "dan" and saved.config["rank"] is None
    assert saved.label_names == ["0", "1"]
    assert set(saved.metrics) == {"dev_accuracy", "test_accuracy"}
    dev, test = map(float, ACCURACY_LINE.search(out).groups()[:2])
    assert (dev, test) == (round(saved.metrics["dev_accuracy"], 4), round(saved.metrics["test_accuracy"], 4))


def test_compress(pipeline):
    """R = 50 of the V x 300 embedding: k = floor(0.5 * 300 V / (V + 300)), reported and saved."""
    (code, out, err), paths = pipeline[0]["compress"], pipeline[1]
    assert code == 0, err
    original = load_model(paths["dan"])
    V = len(original.vocab)
    k = rank_for_fraction(fraction_for_reduction(50), V, 300)
    assert k == math.floor(0.5 * V * 300 / (V + 300))
    assert f"after SVD, R = 50 % (rank {k})" in out
    assert "retrained:" in out
    saved = load_model(paths["dan-r50"])
    assert saved.config["rank"] == k
    assert saved.vocab.itos == original.vocab.itos
    assert saved.model.embedding.table.weight.shape == (V, k)


def test_quantize(pipeline):
    """8 bits: the weights file is about a quarter of the float one (scales add under 1 %)."""
    (code, out, err), paths = pipeline[0]["quantize"], pipeline[1]
    assert code == 0, err
    assert "8-bit:" in out
    assert load_model(paths["dan-q8"]).config["bits"] == 8
    ratio = (paths["dan-q8"] / WEIGHTS).stat().st_size / (paths["dan"] / WEIGHTS).stat().st_size
    assert 0.24 < ratio < 0.27


def test_evaluate_matches_saved_metrics(pipeline, tiny_dir):
    paths = pipeline[1]
    code, out, err = run("evaluate", paths["dan-r50"], "--data", tiny_dir)
    assert code == 0, err
    test = float(ACCURACY_LINE.search(out).group(2))
    assert test == round(load_model(paths["dan-r50"]).metrics["test_accuracy"], 4)


def test_classify_arguments_and_stdin(pipeline):
    path = pipeline[1]["dan-r50"]
    code, out, err = run("classify", path, "a gorgeous , witty , seductive movie .")
    assert code == 0, err
    label, prob, text = out.rstrip("\n").split("\t")
    assert label in ("0", "1") and 0.5 <= float(prob) <= 1 and text.startswith("a gorgeous")
    code, out, err = run("classify", path, stdin="one\n\nthree words here\n")
    assert code == 0 and len(out.splitlines()) == 3


def test_offline_reduction_and_lstm_vectors(tiny_dir, tmp_path, data_dir):
    """--offline-reduction 90 for a DAN: floor(0.1 * 300) = 30 dimensions. An LSTM reads the
    data folder's 100-d GloVe subset by default and says how much of the vocabulary it found."""
    code, out, err = run("train", "--data", tiny_dir, "--model", "dan", "--offline-reduction", 90,
                         "--max-steps", 1, "--out", tmp_path / "off", "--quiet")
    assert code == 0, err
    assert load_model(tmp_path / "off").config["embed_dim"] == 30
    code, out, err = run("train", "--data", tiny_dir, "--model", "lstm", "--max-steps", 1,
                         "--batch-size", 16, "--out", tmp_path / "lstm", "--quiet")
    assert code == 0, err
    assert re.search(r"vectors: 100-d, \d+\.\d% of the vocabulary found", out)


@pytest.mark.parametrize("argv, message", [
    (["compress", "{model}", "--data", "{data}", "--reduction", 120, "--out", "{tmp}/x"], "reduction"),
    (["compress", "{tmp}/missing", "--data", "{data}", "--reduction", 50, "--out", "{tmp}/x"], "no saved model"),
    (["evaluate", "{corrupt}", "--data", "{data}"], "sha256"),
    (["classify", "{corrupt}", "hello"], "sha256"),
    (["evaluate", "{model}", "--data", "{tmp}/no-such-data"], "neither a known dataset"),
    (["train", "--data", "{tmp}", "--out", "{tmp}/x"], "missing train split"),
])
def test_bad_input_exits_2_with_error(pipeline, tiny_dir, tmp_path, argv, message):
    corrupt = tmp_path / "corrupt"
    if "{corrupt}" in argv:
        shutil.copytree(pipeline[1]["dan"], corrupt)
        data = bytearray((corrupt / WEIGHTS).read_bytes())
        data[-1] ^= 0xFF
        (corrupt / WEIGHTS).write_bytes(bytes(data))
    fill = dict(model=pipeline[1]["dan"], data=tiny_dir, tmp=tmp_path, corrupt=corrupt)
    code, out, err = run(*[str(a).format(**fill) for a in argv])
    assert code == 2
    assert err.startswith("error: ") and message in err
    assert not (tmp_path / "x").exists()


def test_argparse_errors_exit_2(pipeline):
    code, _, err = run("quantize", pipeline[1]["dan"], "--data", "sst2", "--bits", 4, "--out", "x")
    assert code == 2 and "error:" in err and "invalid choice" in err
    code, _, err = run("compress", pipeline[1]["dan"], "--data", "sst2", "--out", "x")
    assert code == 2 and "--reduction" in err


def test_module_help_subprocess():
    proc = subprocess.run([sys.executable, "-m", "lmf", "--help"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    for command in ("train", "compress", "quantize", "evaluate", "classify"):
        assert command in proc.stdout
