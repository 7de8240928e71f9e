"""The scripts in examples/ run as a user runs them, in their --quick form.

examples/transformer_sst2.py --quick trains its TransformerEncoder classifier on SST-2's first 400
phrases (vocabulary 1,516 words) for 30 steps, factorizes the 1,516 x 64 token table at R = 90 %
and retrains 10 steps (the uncompressed model too, as the control). Eq. (5): k = floor(0.1 * 1,516 * 64 / (1,516 + 64)) = floor(6.14) = 6, so
the table's 97,024 parameters become 6 * 1,580 = 9,480 and the model's 180,482 become
180,482 - 97,024 + 9,480 = 92,938. The test reads the vocabulary size from the output and checks
this arithmetic for it, then that the reloaded model gave identical logits.
"""
import math
import re
import subprocess
import sys

from conftest import ROOT


def number(pattern, text):
    return int(re.search(pattern, text).group(1).replace(",", ""))


def pair(pattern, text):
    """The two numbers (written with thousands separators) that `pattern` captures in `text`."""
    return tuple(int(s.replace(",", "")) for s in re.search(pattern, text).group(1, 2))


def test_transformer_example_quick(data_dir):
    out = subprocess.run([sys.executable, "examples/transformer_sst2.py", "--quick"], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    text = out.stdout
    vocab, width = number(r"vocabulary ([\d,]+)", text), number(r"width (\d+)", text)
    rank = number(r"rank (\d+)", text)
    assert rank == math.floor(0.1 * vocab * width / (vocab + width))
    table_before, table_after = pair(r"rank \d+, ([\d,]+) -> ([\d,]+) parameters", text)
    assert (table_before, table_after) == (vocab * width, rank * (vocab + width))
    before, after = pair(r"the model ([\d,]+) -> ([\d,]+)", text)
    assert after == before - table_before + table_after
    for step in ("trained", "after the SVD", "retrained", "control"):
        assert re.search(rf"^{step}.*dev \d+\.\d\d %, test \d+\.\d\d %$", text, re.M), step
    assert "identical logits" in text
