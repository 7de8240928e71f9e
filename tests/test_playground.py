"""studio.playground: which deployable variants the Playground shows, and one text through all of them
timed by the shared harness."""
import pytest

from lmf.artifacts import save_model
from lmf.export import export_model
from lmf.models import new_model
from studio.playground import REPEATS, predict_all, variants
from lmf.runtime import Predictor


def row(method, reduction=0, seed=0, model="dan"):
    return {"dataset": "toy", "model": model, "method": method, "embedding_reduction_pct": reduction, "seed": seed}


def test_variants_are_the_shipped_seed_zero_rows(tmp_path):
    """Shipped (folders under models/, all a listing needs): the uncompressed model and LMF at R = 90
    and 95. Rows: those, seed 1 of the uncompressed model, 8-bit (made from the shipped uncompressed
    model), HMF at 90 (not shipped) and fastText. With the slider at 93, LMF's card is R = 95
    (|95 - 93| < |90 - 93|); seed 1, HMF and fastText have no card; 8-bit says its precision."""
    for name in ("uncompressed-s0", "lmf-R90-s0", "lmf-R95-s0"):
        (tmp_path / "models" / f"toy-dan-{name}").mkdir(parents=True)
    rows = [row("uncompressed"), row("uncompressed", seed=1), row("lmf", 90), row("lmf", 95), row("quant8"),
            row("hmf", 90), row("fasttext", model="fasttext")]
    shown = variants(tmp_path, rows, "toy", "dan", 93)
    assert [label for label, _ in shown] == ["Uncompressed", "Online LMF (proposed), R=95%", "8-bit (baseline 1) (int8)"]
    assert [r["embedding_reduction_pct"] for _, r in shown] == [0, 95, 0]


def test_predict_all_times_every_variant(toy, tmp_path):
    """Two exports of one model (fp32, int8) read "good movie zzz": both give a label of the toy's,
    a median of REPEATS timings above zero, 3 tokens and one unknown word; a text with no token is
    a ValueError, not a guess."""
    saved = save_model(tmp_path / "m", new_model("dan", len(toy.vocab), 2, embed_dim=8, seed=0), toy.vocab,
                       toy.label_names)
    predictors = {p: Predictor(export_model(saved, tmp_path / p, precision=p)) for p in ("fp32", "int8")}
    out = predict_all(predictors, "good movie zzz")
    assert set(out) == {"fp32", "int8"} and REPEATS >= 10
    for prediction in out.values():
        assert prediction.label in toy.label_names and 0.5 <= prediction.confidence <= 1
        assert prediction.latency_ms > 0 and prediction.tokens == 3 and prediction.unknown == ["zzz"]
    with pytest.raises(ValueError, match="no token"):
        predict_all(predictors, "  \u200b  ")  # spaces and a zero-width space: nothing the tokenizer keeps
