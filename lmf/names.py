"""The names and defaults every layer reads: lmf's own data sets and model kinds, their display
names, the app's first choices, and the rule for naming a data set of one's own.

Standard library only and at the bottom of the package, so the app, the sweep and the library
read the same names without importing each other (or torch).
Deliberately not here: which cells the sweep runs (sweep.grid) or how data is loaded (lmf.data).
"""
import re

DATASETS = ("sst2", "clinc150")
MODELS = ("dan", "lstm")  # the paper's two: the app's pages offer these
# Every model kind lmf trains (lmf.models.KINDS): the paper's two and the DAN reading hashed word
# bigrams beside its words (lmf.ngrams). The sweep's plan runs them all; autotune takes any.
MODEL_KINDS = MODELS + ("dan_ngram",)
DATASET_NAMES = {"sst2": "SST-2", "clinc150": "CLINC150"}
MODEL_NAMES = {"dan": "DAN-RAND", "lstm": "LSTM", "fasttext": "fastText", "dan_ngram": "DAN-RAND + bigrams"}
DEFAULT_DATASET, DEFAULT_MODEL, DEFAULT_REDUCTION = "sst2", "dan", 90
DEFAULT_TOLERANCE = 1.0  # accuracy points below the uncompressed model a recommendation may lose
# The quick mode (sweep --quick, the app's live demo): a tiny version of every trial, in seconds.
QUICK = {"reductions": (50, 90), "ext_reductions": (90,), "seeds": (0,), "n_train": 400, "n_eval": 150,
         "max_steps": 12}
MAX_NAME_CHARS = 64  # a data set name becomes part of file names: keep it far below NAME_MAX (255)


def check_dataset_name(name):
    """`name` if it can name a custom dataset's cells, else ValueError: lowercase letters, digits and
    underscores, starting with a letter, at most MAX_NAME_CHARS (a '-' would split the cell id's
    fields, lmf.layout.cell_id), and not a name lmf.data already gives a dataset."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name or ""):
        raise ValueError(f"dataset name {name!r}: use lowercase letters, digits and underscores, starting with a "
                         "letter (no '-': it separates the fields of a cell id)")
    if len(name) > MAX_NAME_CHARS:
        raise ValueError(f"dataset name of {len(name)} characters: use at most {MAX_NAME_CHARS}")
    if name in DATASETS:
        raise ValueError(f"dataset name {name!r} is lmf's own {DATASET_NAMES[name]}; choose another name")
    return name


def dataset_name(name):
    return DATASET_NAMES.get(name, name)


def model_name(name):
    return MODEL_NAMES.get(name, name)
