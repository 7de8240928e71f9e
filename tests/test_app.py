"""The Streamlit app through streamlit.testing.v1.AppTest: every page, its widgets and what it shows.

AppTest.from_file(app.py) runs the st.navigation router; switch_page opens the other pages.
Artifacts are the quick sweep's (tests/app_fixtures.py); the app reads them via LMF_ARTIFACTS_DIR.
"""
import json
import shutil

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app_fixtures import APP, PAGES, broken_artifacts, quick_artifacts  # noqa: F401  (fixtures)
from lmf import catalog, studio

TIMEOUT = 120


@pytest.fixture
def app(quick_artifacts, monkeypatch):
    monkeypatch.setenv("LMF_ARTIFACTS_DIR", str(quick_artifacts))
    return AppTest.from_file(str(APP), default_timeout=TIMEOUT)


def no_exception(at):
    assert not at.exception, [e.value for e in at.exception]


def metrics(at):
    return {m.label: (m.value, m.delta) for m in at.metric}


def lmf_row(artifacts, reduction):
    results = pd.read_csv(artifacts / "results.csv")
    return results[(results.dataset == "sst2") & (results.model == "dan") & (results.method == "lmf")
                   & (results.reduction_pct == reduction)].iloc[0]


def test_home_metrics_follow_results_csv(app, quick_artifacts):
    at = app.run()
    no_exception(at)
    assert at.slider(key="reduction").value == 90
    for reduction in (90, 50):
        at.slider(key="reduction").set_value(reduction).run()
        no_exception(at)
        row, shown = lmf_row(quick_artifacts, reduction), metrics(at)
        assert shown["Size on disk"][0] == f"{row.size_bytes / 1e6:.2f} MB"
        assert shown["Test accuracy"][0] == f"{100 * row.accuracy:.2f} %"
        assert shown["Rank k"][0] == str(int(row["rank"]))
        assert shown["Latency per sentence"][0] == f"{row.latency_ms_b1:.3f} ms"
    assert at.get("download_button"), "the selected model can be downloaded"
    assert any("Smallest model within" in s.value for s in at.success)
    assert len(at.get("plotly_chart")) == 2  # size vs accuracy, spectrum
    traces = {t["name"] for t in json.loads(at.get("plotly_chart")[0].proto.spec)["data"]}
    assert {"Online LMF (proposed)", "HMF", "GroupReduce", "LMF + int8", "fastText", "fastText.zip"} <= traces


def test_home_spectrum_without_spectra_json(quick_artifacts, tmp_path, monkeypatch):
    """Artifacts from before spectra.json: the home page computes the spectrum from the model, and
    the caption's energy matches the stored values' (same weights, same SVD)."""
    def caption(at):
        return next(c.value for c in at.caption if "singular values keep" in c.value)

    monkeypatch.setenv("LMF_ARTIFACTS_DIR", str(quick_artifacts))
    stored = caption(AppTest.from_file(str(APP), default_timeout=TIMEOUT).run())
    copy = tmp_path / "artifacts"
    shutil.copytree(quick_artifacts, copy)
    (copy / "spectra.json").unlink()
    monkeypatch.setenv("LMF_ARTIFACTS_DIR", str(copy))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    no_exception(at)
    assert len(at.get("plotly_chart")) == 2 and caption(at) == stored


def test_extension_variants_of_the_shipped_models(quick_artifacts):
    """The quick sweep ships HMF, GroupReduce and whole-model LMF at R=90 for the SST-2 DAN
    (sweep.APP_EXT); the int8 stacks are LMF at the chosen R and the two stackable ones of those."""
    labels = [v.label for v in studio.extension_variants(quick_artifacts, "sst2", "dan", 90)]
    assert labels == ["HMF, R=90%", "GroupReduce, R=90%", "Whole-model LMF, R=90%", "LMF + int8, R=90%",
                      "GroupReduce + int8, R=90%", "Whole-model LMF + int8, R=90%"]
    assert studio.extension_variants(quick_artifacts, "clinc150", "dan") == []


def test_home_between_grid_is_svd_only_and_zero_is_uncompressed(app):
    at = app.run()
    at.slider(key="reduction").set_value(73).run()
    no_exception(at)
    assert any("SVD-only" in w.value for w in at.warning)
    shown = metrics(at)
    assert shown["Latency per sentence"][0] == "n/a"
    assert shown["Test accuracy"][0].endswith("%")  # measured on test now: the data folder is set
    assert at.subheader[0].value.startswith("SVD only, R=73%")
    at.slider(key="reduction").set_value(0).run()
    no_exception(at)
    assert metrics(at)["Rank k"][0] == "full"
    assert metrics(at)["Size on disk"][1] == "100% of original"


def test_home_recommendation_follows_tolerance(app):
    at = app.run()
    at.slider(key="tolerance").set_value(0.0).run()
    no_exception(at)
    assert any("within 0.0 points" in s.value for s in at.success)


def test_live_retraining_fast_mode_completes(app):
    at = app.run().switch_page("pages/2_retrain_live.py").run()
    no_exception(at)
    at.toggle(key="live_fast").set_value(True).run()
    at.button(key="live_start").click().run()
    no_exception(at)
    shown = metrics(at)
    assert "Right after SVD" in shown and "After retraining (test)" in shown
    assert any("Retrained in" in s.value for s in at.success)
    # Stop after the run keeps the result; nothing breaks.
    at.button(key="live_stop").click().run()
    no_exception(at)
    assert "After retraining (test)" in metrics(at)


def test_live_retraining_without_data_replays_curve(app, monkeypatch):
    monkeypatch.delenv("LMF_DATA_DIR")
    monkeypatch.setattr("lmf.data._load_from_hub", lambda name: (_ for _ in ()).throw(
        __import__("lmf.data").data.DataError("no hub in tests")))
    at = app.run().switch_page("pages/2_retrain_live.py").run()
    no_exception(at)
    at.slider(key="live_reduction").set_value(50).run()
    assert any("not available" in w.value for w in at.warning)
    assert at.get("plotly_chart")


def test_schedules_page(app):
    at = app.run().switch_page("pages/3_schedules.py").run()
    no_exception(at)
    assert at.get("plotly_chart")
    assert any("| CALR |" in m.value for m in at.markdown), "Table 1 from schedules.csv"
    at.slider(key="sched_decay").set_value(-1.0).run()
    at.slider(key="sched_epochs").set_value(3).run()
    no_exception(at)
    at.slider(key="sched_bounds").set_value((0.002, 0.002)).run()
    assert any("upper bound" in w.value for w in at.warning)


@pytest.mark.parametrize("text", ["a gorgeous , witty , seductive movie .", "Ünïcødé ☃ 日本語 🙂 \u200b\x00 zzzq"])
def test_playground_predicts_with_every_model(app, text):
    at = app.run().switch_page("pages/4_playground.py").run()
    no_exception(at)
    assert any("Type a sentence" in i.value for i in at.info), "empty text gives a prompt"
    at.text_area[0].input(text).run()
    no_exception(at)
    predictions = [m for m in at.metric if m.label == "prediction"]
    # uncompressed, LMF, 16-bit, 8-bit; the shipped HMF, GroupReduce, whole-model LMF and 3 int8 stacks
    assert len(predictions) == 10
    names = [m.value for m in at.markdown]
    assert "**HMF, R=90%**" in names and "**GroupReduce + int8, R=90%**" in names
    assert all(p.value in ("negative", "positive") for p in predictions)
    assert any("Not shipped" in c.value for c in at.caption)  # offline SVD
    assert any("ms" == c.value.split()[-1] for c in at.caption)


def test_playground_long_text_is_truncated_with_notice(app):
    at = app.run().switch_page("pages/4_playground.py").run()
    at.text_area[0].input("good " * 20000).run()  # 100,000 characters
    no_exception(at)
    assert any("read the first 256" in w.value for w in at.warning)
    assert any("100,000 characters; the first 10,000 are used" in w.value for w in at.warning)
    at.selectbox(key="pg_example").set_value(studio.EXAMPLES["sst2"][0]).run()
    no_exception(at)
    assert len([m for m in at.metric if m.label == "prediction"]) == 10


def test_analysis_page(app):
    at = app.run().switch_page("pages/5_analysis.py").run()
    no_exception(at)
    assert metrics(at)["Rank k (eq. 5)"][0] == str(studio.section4(int(at.number_input(key="an_m").value), 300, 0.1, 8)["k"])
    at.slider(key="an_reduction").set_value(10).run()
    at.select_slider(key="an_bq").set_value(16).run()
    no_exception(at)
    assert any("quantization" in w.value for w in list(at.warning) + list(at.success))


def test_missing_artifacts_say_what_and_how(tmp_path, monkeypatch):
    monkeypatch.setenv("LMF_ARTIFACTS_DIR", str(tmp_path / "nothing"))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    no_exception(at)
    assert any("results.csv" in e.value and catalog.REGENERATE in e.value for e in at.error)
    for page in PAGES[1:]:
        at.switch_page(page).run()
        no_exception(at)
    at.switch_page("pages/4_playground.py").run()
    at.text_area[0].input("a fine film").run()
    no_exception(at)
    assert any(catalog.REGENERATE in e.value for e in at.error)
    at.switch_page("pages/3_schedules.py").run()
    assert at.get("plotly_chart"), "the schedules plot needs no artifacts"
    assert any("schedules.csv" in e.value for e in at.error)


def test_corrupt_model_and_results(broken_artifacts, monkeypatch):
    monkeypatch.setenv("LMF_ARTIFACTS_DIR", str(broken_artifacts))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    no_exception(at)
    assert metrics(at)["Test accuracy"][0].endswith("%"), "precomputed numbers still show"
    at.switch_page("pages/4_playground.py").run()
    at.text_area[0].input("a fine film").run()
    no_exception(at)
    assert any("sha256" in e.value and catalog.REGENERATE in e.value for e in at.error)
    (broken_artifacts / "results.csv").write_text("not,a\n\x00,csv", encoding="utf-8")
    at.switch_page("pages/1_choose_ratio.py").run()
    no_exception(at)
    assert any("results.csv" in e.value for e in at.error)
