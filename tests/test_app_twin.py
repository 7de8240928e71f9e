"""The studio with a small hand-made artifacts folder: an int8 model slower than its fp32 twin is said
to be so wherever it is recommended or shown as a card, and the Playground's cards show the sweep's
throughput at batch 256; artifacts made before those two results.csv columns show neither, without
an error.

The folder (made here, in seconds): the toy data set's untrained DAN ("toy-dan-uncompressed-s0") and
its LMF at R = 50 ("toy-dan-lmf-R50-s0"), with results.csv rows for them and for LMF + int8 at R = 50,
whose exports are rebuilt by the app (studio.deploy) and checked against the sha256 written here.
Dev accuracies 0.80 for all three, sizes 20,000 / 5,000 / 2,000 bytes: at the default 1-point
tolerance LMF + int8 (the smallest) is recommended. Its twin_latency_ratio_b1 is 1.12 and LMF's
latency 0.031 ms, so the caveat reads "1.12x" and "0.031 ms"."""
import csv

import pytest
from streamlit.testing.v1 import AppTest

from app_fixtures import APP, PAGES

TIMEOUT = 120
PLAYGROUND, RETRAIN = PAGES[3], PAGES[1]
LATER = ("throughput_b256", "twin_latency_ratio_b1")


def make_artifacts(folder, toy, with_later_columns):
    from lmf.artifacts import save_model
    from lmf.compress import compress_model
    from lmf.export import export_model
    from lmf.layout import EXPORT_MODEL, file_sha256
    from lmf.models import new_model
    from lmf.results import RESULT_COLUMNS
    base = new_model("dan", len(toy.vocab), 2, embed_dim=8, seed=0)
    saved = {"uncompressed": save_model(folder / "models" / "toy-dan-uncompressed-s0", base, toy.vocab,
                                        toy.label_names),
             "lmf": save_model(folder / "models" / "toy-dan-lmf-R50-s0", compress_model(base, 50), toy.vocab,
                               toy.label_names)}
    rows = []
    for method, reduction, source, precision, size, latency, throughput, twin in [
            ("uncompressed", 0, "uncompressed", "fp32", 20_000, 0.05, 9000.0, None),
            ("lmf", 50, "lmf", "fp32", 5_000, 0.031, 12000.0, None),
            ("lmf_int8", 50, "lmf", "int8", 2_000, 0.035, 11000.0, 1.12)]:
        export = export_model(saved[source], folder / "exports" / f"{method}-{precision}", precision=precision)
        rows.append({"dataset": "toy", "model": "dan", "method": method, "embedding_reduction_pct": reduction,
                     "size_bytes": size, "bytes_fraction": size / 20_000, "params": 10, "accuracy": 0.5,
                     "dev_accuracy": 0.80, "latency_ms_b1": latency, "latency_ratio_b1": latency / 0.05,
                     "export_sha256": file_sha256(export / EXPORT_MODEL), "seed": 0,
                     "throughput_b256": throughput, "twin_latency_ratio_b1": twin})
    columns = [c for c in RESULT_COLUMNS if with_later_columns or c not in LATER]
    with open(folder / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return folder


@pytest.fixture(params=[True, False], ids=["with-the-columns", "before-the-columns"])
def artifacts(request, toy, tmp_path, monkeypatch):
    art = make_artifacts(tmp_path / "artifacts", toy, request.param)
    monkeypatch.setenv("LMF_ARTIFACTS_DIR", str(art))
    return request.param


def no_exception(at):
    assert not at.exception, [e.value for e in at.exception]


def test_the_home_page_says_when_its_int8_answer_is_slower_than_the_twin(artifacts):
    """The answer is LMF + int8 either way (the rule is unchanged). With the columns, a warning under
    it names the ratio and the twin's size (5,000 bytes = 0.01 MB) and latency, and so does its
    compare card; the table has the two columns. Without them: no such warning, no error."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    no_exception(at)
    assert at.markdown[0].value == "### Ship: LMF + int8, R=50%"
    notes = [w.value for w in at.warning if "fp32 twin" in w.value]
    if artifacts:
        assert len(notes) == 2 and notes[0] == (
            "At batch 1 this int8 export takes 1.12x the time of its fp32 twin (Online LMF (proposed), R = 50, the "
            "model it is quantized from) on the machine that measured them; the fp32 twin: 0.01 MB, 0.031 ms per "
            "sentence.")
        table = at.dataframe[0].value
        int8 = table[table["Method"] == "LMF + int8"]
        assert int8["int8 / fp32 twin time"].item() == pytest.approx(1.12)
        assert int8["Sentences/s (batch 256)"].item() == pytest.approx(11000)
    else:
        assert notes == []
        assert at.dataframe[0].value["int8 / fp32 twin time"].isna().all()
    assert not at.error, [e.value for e in at.error]


def test_the_playground_cards_show_throughput_and_the_slower_int8(artifacts):
    """Three cards (uncompressed, LMF, LMF + int8). With the columns each shows the sweep's sentences/s
    at batch 256 beside its batch-1 latency (9,000, 12,000, 11,000), and the int8 card is badged and
    says it is slower than its twin; without them, neither."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run().switch_page(PLAYGROUND).run()
    at.text_area[0].input("good movie")
    at.button[0].click().run()
    no_exception(at)
    assert len([m for m in at.markdown if m.value.startswith("##### ")]) == 3
    captions = [c.value for c in at.caption]
    throughputs = [c for c in captions if "sentences/s at batch 256 (sweep)" in c]
    badged = [m.value for m in at.markdown if "slower than its fp32 twin" in m.value]
    notes = [c for c in captions if c.startswith("At batch 1 this int8 export takes 1.12x")]
    if artifacts:
        assert [t.split(" · ")[-1] for t in throughputs] == [
            "9,000 sentences/s at batch 256 (sweep)", "12,000 sentences/s at batch 256 (sweep)",
            "11,000 sentences/s at batch 256 (sweep)"]
        assert all(" ms at batch 1 · " in t for t in throughputs)
        assert len(badged) == 1 and badged[0].startswith("**LMF + int8") and len(notes) == 1
    else:
        assert throughputs == [] and badged == [] and notes == []


def test_the_n_gram_dan_is_listed_and_its_unshipped_models_are_no_error(tmp_path, monkeypatch):
    """results.csv with the n-gram DAN's rows and no models (the sweep does not ship them): the
    sidebar offers it by its name; the home page answers from its rows and says its spectrum and
    download are not shipped, without offering a regeneration, a retraining or another R that would
    fail; "other R" says no SVD-only model can be cut; Retrain live that there is no model to retrain
    and the Playground, before anything is typed, that there is nothing to run; no error box."""
    from lmf.results import RESULT_COLUMNS
    art = tmp_path / "artifacts"
    art.mkdir()
    with open(art / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, RESULT_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for model in ("dan", "dan_ngram"):
            for method, reduction, size in (("uncompressed", 0, 20_000), ("lmf", 90, 4_000)):
                writer.writerow({"dataset": "sst2", "model": model, "method": method,
                                 "embedding_reduction_pct": reduction, "size_bytes": size, "accuracy": 0.8,
                                 "dev_accuracy": 0.8, "seed": 0})
    monkeypatch.setenv("LMF_ARTIFACTS_DIR", str(art))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    assert at.sidebar.selectbox(key="model").options == ["DAN-RAND", "DAN-RAND + bigrams"]
    at.sidebar.selectbox(key="model").set_value("dan_ngram").run()
    no_exception(at)
    assert at.markdown[0].value == "### Ship: Online LMF (proposed), R=90%"
    assert any("not shipped" in i.value for i in at.info) and any("spectrum" in i.value for i in at.info)
    assert not any(w in i.value for i in at.info for w in ("precompute.py", "Retrain live", "other R"))
    assert not at.error, [e.value for e in at.error]
    at.button_group(key="reduction").set_value("other").run()
    no_exception(at)
    assert any("no SVD-only model can be cut" in i.value for i in at.info) and not at.error, [e.value for e in at.error]
    at.switch_page(RETRAIN).run()
    no_exception(at)
    assert any("no model to retrain" in i.value for i in at.info) and not at.error, [e.value for e in at.error]
    at.switch_page(PLAYGROUND).run()
    no_exception(at)
    assert not at.text_area, "nothing to type into"
    assert any("is shipped in artifacts/" in i.value for i in at.info) and not at.error, [e.value for e in at.error]
