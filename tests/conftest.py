"""Shared fixtures: the data folder, SST-2 (full and a 200-example slice), a tiny TSV directory and a
handwritten toy dataset small enough to reason about by hand.

The data folder is found as the app and the CLI find it (lmf.data.data_folder: $LMF_DATA_DIR, else
../shared/data beside the repository, the layout CI uses), and exported as LMF_DATA_DIR for the
subprocesses tests start. Tests that need data fail (not skip) without it, so a misconfigured CI
can never pass by skipping.
"""
import os
from pathlib import Path

import pytest
import torch

from lmf.data import Split, TextDataset, data_folder, load_dataset

ROOT = Path(__file__).resolve().parent.parent

if data_folder() is not None:
    os.environ["LMF_DATA_DIR"] = str(data_folder())


@pytest.fixture(scope="session")
def data_dir():
    path = os.environ.get("LMF_DATA_DIR")
    if not path or not (Path(path) / "sst2").is_dir():
        pytest.fail("these tests need the data folder: export LMF_DATA_DIR=/path/to/shared/data")
    return Path(path)


@pytest.fixture(scope="session")
def sst2(data_dir):
    return load_dataset("sst2")


@pytest.fixture
def tiny(sst2):
    """The first 200 examples of each SST-2 split, vocabulary rebuilt from those 200 phrases."""
    return sst2.subset(200)


def write_split(path, header, rows):
    """A TSV file: header line and one tab-joined line per row."""
    path.write_text("\n".join(["\t".join(header)] + ["\t".join(map(str, r)) for r in rows]) + "\n",
                    encoding="utf-8")


@pytest.fixture(scope="session")
def tiny_dir(data_dir, tmp_path_factory):
    """A directory with train/dev/test.tsv holding the first 200 rows of SST-2's phrase training
    set, dev set and test set (copies in a temporary folder, never in the repository)."""
    out = tmp_path_factory.mktemp("sst2-200")
    sources = {"train": "train_phrases.tsv", "dev": "dev.tsv", "test": "test.tsv"}
    for split, name in sources.items():
        lines = (data_dir / "sst2" / name).read_text(encoding="utf-8").splitlines()
        (out / f"{split}.tsv").write_text("\n".join(lines[:201]) + "\n", encoding="utf-8")
    return out


@pytest.fixture
def toy():
    """Eight hand-written sentences, two classes; vocabulary (by training count, ties alphabetical):
    <pad> <unk> film movie awful bad good great (film and movie occur twice each)."""
    train = Split(["good movie", "great film", "bad movie", "awful film"], [1, 1, 0, 0])
    dev = Split(["good film", "bad film"], [1, 0])
    test = Split(["great movie", "awful movie"], [1, 0])
    return TextDataset("toy", train, dev, test, ["negative", "positive"])


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
