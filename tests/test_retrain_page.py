"""The Retrain live page (studio/pages/retrain.py) through streamlit.testing.v1.AppTest.

AppTest does not run fragments on their timer, so a test polls the job by rerunning the script
until the page shows the result. Step budgets of 20 keep each run to a second or two; the quick
artifacts come from tests/app_fixtures.py. The sidebar test uses the repository's own artifacts
(artifacts/, committed), which hold two datasets. The case the page opens on is worked out here
from results.csv with the csv module (story), not with studio.live's function.
"""
import csv
import json
import math
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_fixtures import APP, ROOT, quick_artifacts  # noqa: F401  (fixture)
from studio import live

PAGE = "studio/pages/retrain.py"


def open_page(artifacts, monkeypatch, query=None):
    monkeypatch.setenv("LMF_ARTIFACTS_DIR", str(artifacts))
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    at.query_params.update(query or {})
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def story(artifacts):
    """(dataset, model, R) the page opens on: of the seed-0 LMF rows (R <= 98) of the pairs with a
    shipped uncompressed model, the largest min(uncompressed test accuracy - right after the SVD,
    accuracy - right after the SVD)."""
    rows = list(csv.DictReader(open(Path(artifacts) / "results.csv")))
    base = {(r["dataset"], r["model"]): float(r["accuracy"]) for r in rows
            if r["method"] == "uncompressed" and r["seed"] == "0"}
    scored = [(min(base[(r["dataset"], r["model"])] - float(r["accuracy_before_retrain"]),
                   float(r["accuracy"]) - float(r["accuracy_before_retrain"])), r["dataset"], r["model"],
               int(r["embedding_reduction_pct"])) for r in rows
              if r["method"] == "lmf" and r["seed"] == "0" and r["accuracy_before_retrain"]
              and int(r["embedding_reduction_pct"]) <= 98
              and (Path(artifacts) / "models" / f"{r['dataset']}-{r['model']}-uncompressed-s0").is_dir()]
    return max(scored)[1:]


def slider_key(at):
    return f"live_reduction_{at.sidebar.selectbox(key='dataset').value}_{at.sidebar.selectbox(key='model').value}"


def metrics(at):
    return {m.label: m.value for m in at.metric}


def chart(at):
    """(spec, {dataset name: its serialized rows}) of the page's one chart (Streamlit moves the
    named datasets out of the spec into the element, where the browser updates them in place)."""
    charts = at.get("vega_lite_chart")
    assert len(charts) == 1, "exactly one chart"
    return json.loads(charts[0].proto.spec), {d.name: d.SerializeToString() for d in charts[0].proto.datasets}


def job_of(at):
    return at.session_state["live_jobs"][-1][2]


def poll_until_finished(at, timeout=60):
    deadline = time.time() + timeout
    while not job_of(at).finished:
        assert time.time() < deadline, "the job did not finish"
        time.sleep(0.2)
        at.run()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return job_of(at)


def test_page_opens_on_the_story_with_its_three_levels(quick_artifacts, monkeypatch):
    """A session's first visit, the sidebar on its default (SST-2 DAN): the page switches to the
    case where the SVD costs the most and retraining wins the most back (story), at its R. The
    reference lines are the seed-0 uncompressed model's dev accuracy and its quantizations',
    measured on the dev set the live curve uses (quick cut included); the legend also names the
    level right after the SVD, and the axis' extent takes in every level."""
    from lmf import layout
    from lmf.artifacts import load_model
    from lmf.metrics import accuracy
    from lmf.quantize import quantize_model
    from studio.charts import AFTER_SVD
    at = open_page(quick_artifacts, monkeypatch)
    dataset, model, reduction = story(quick_artifacts)
    assert (at.sidebar.selectbox(key="dataset").value, at.sidebar.selectbox(key="model").value) == (dataset, model)
    assert at.slider(key=slider_key(at)).value == reduction
    assert any("Opened on" in c.value for c in at.caption)
    base = load_model(layout.model_path(quick_artifacts, dataset, model))
    data = live.evaluation_data(dataset, base.vocab, base.label_names, quick=True)
    expected = [f"{name} ({100 * accuracy(m, data, 'dev'):.1f} %)" for name, m in
                (("uncompressed", base.model), ("16-bit", quantize_model(base.model, 16)),
                 ("8-bit", quantize_model(base.model, 8)))]
    assert at.select_slider(key="live_steps").value == live.DEFAULT_STEPS
    spec, _ = chart(at)
    line = spec["layer"][0]["layer"][-1]["encoding"]
    assert line["x"]["scale"]["domain"] == [0, live.DEFAULT_STEPS]
    assert line["color"]["scale"]["domain"][-4:] == expected + [AFTER_SVD]
    assert [b.key for b in at.button] == ["live_start"] and not at.button(key="live_start").disabled
    assert not metrics(at)
    # a second visit in the session keeps what the user chose
    at.sidebar.selectbox(key="dataset").set_value("sst2").run()
    at.switch_page("studio/pages/home.py").run()
    at.switch_page(PAGE).run()
    assert at.sidebar.selectbox(key="dataset").value == "sst2"


def test_before_a_run_the_sweep_says_what_happened(quick_artifacts, monkeypatch):
    """Before Start, the sentence is the sweep's curve at this R within the budget: the SVD's cost
    (uncompressed dev minus the curve's step 0) and what the steps won back (its best minus step 0),
    or, when the cost is under two binomial standard errors of the dev set, that it is noise."""
    dataset, model, reduction = story(quick_artifacts)
    at = open_page(quick_artifacts, monkeypatch)
    rows = list(csv.DictReader(open(quick_artifacts / "results.csv")))
    base_dev = next(float(r["dev_accuracy"]) for r in rows
                    if (r["dataset"], r["model"], r["method"], r["seed"]) == (dataset, model, "uncompressed", "0"))
    curve = [r for r in csv.DictReader(open(quick_artifacts / "curves" / f"{dataset}-{model}-lmf-R{reduction}-s0.csv"))
             if int(r["step"]) <= live.DEFAULT_STEPS]
    start = float(curve[0]["dev_accuracy"])
    cost, won = 100 * (base_dev - start), 100 * (max(float(r["dev_accuracy"]) for r in curve) - start)
    n_dev = 150  # the quick sweep's cut (lmf.names.QUICK["n_eval"])
    said = next(m.value for m in at.markdown if m.value.startswith("**The sweep's run at this R"))
    assert f"the SVD cost {cost:.1f} points of dev accuracy" in said
    if cost < 2 * 100 * math.sqrt(base_dev * (1 - base_dev) / n_dev):
        assert "less than the dev set's noise" in said
    else:
        assert f"won back {won:.1f}" in said


def test_start_polls_to_done_and_shows_results(quick_artifacts, monkeypatch):
    """20 steps: the chart's x-axis is the budget, the result metrics are the job's numbers, the
    model can be downloaded, and the chart's live series holds the job's 21 evaluations (every
    max(1, 20 // 25) = 1 step, and step 0)."""
    at = open_page(quick_artifacts, monkeypatch)
    at.select_slider(key="live_steps").set_value(20).run()
    at.button(key="live_start").click().run()
    assert at.button(key="live_start").disabled or job_of(at).finished
    job = poll_until_finished(at)
    snap = job.snapshot()
    assert snap["status"] == live.DONE and snap["step"] == 20
    shown = metrics(at)
    assert shown["Right after SVD (test)"] == f"{100 * snap['before']:.2f} %"
    assert shown["After retraining (test)"] == f"{100 * snap['test']:.2f} %"
    assert shown["Size on disk"] == f"{snap['size'] / 1e6:.2f} MB"
    assert any("Retrained 20 steps in" in s.value for s in at.success)
    assert len(at.get("download_button")) == 1
    spec, _ = chart(at)
    assert spec["layer"][1]["encoding"]["x"]["scale"]["domain"] == [0, 20]
    assert len([b for b in at.button if b.key == "live_stop"]) == 0  # Stop only while running
    assert not at.button(key="live_start").disabled
    # what happened, in one sentence, from the run's own curve: the uncompressed model's dev
    # accuracy (results.csv) minus the run's step 0
    dataset, model, _ = story(quick_artifacts)
    base_dev = next(float(r["dev_accuracy"]) for r in csv.DictReader(open(quick_artifacts / "results.csv"))
                    if (r["dataset"], r["model"], r["method"], r["seed"]) == (dataset, model, "uncompressed", "0"))
    cost = 100 * (base_dev - snap["history"][0][1])
    assert any(m.value.startswith(f"**The SVD cost {cost:.1f} points of dev accuracy") for m in at.markdown)
    assert at.query_params["run"] in (job.id, [job.id]), "the run is named in the URL: a reload finds it"


def test_a_reload_finds_the_running_job_again(quick_artifacts, monkeypatch):
    """A reload is a new session: its page, opened with the run's id in the URL (?run=), shows the
    running job (progress and Stop), and the job keeps its one slot."""
    at = open_page(quick_artifacts, monkeypatch)
    at.select_slider(key="live_steps").set_value(1000).run()
    at.button(key="live_start").click().run()
    job = job_of(at)
    try:
        dataset, model = at.sidebar.selectbox(key="dataset").value, at.sidebar.selectbox(key="model").value
        again = open_page(quick_artifacts, monkeypatch, query={"run": job.id})
        again.sidebar.selectbox(key="dataset").set_value(dataset).run()
        again.sidebar.selectbox(key="model").set_value(model).run()
        assert [j for _, _, j in again.session_state["live_jobs"]] == [job], "the same run, not a second one"
        assert [b.key for b in again.button if b.key == "live_stop"] == ["live_stop"] or job.finished
    finally:
        job.stop()
        job.wait(60)


def test_stop_shows_the_step_it_stopped_at(quick_artifacts, monkeypatch):
    at = open_page(quick_artifacts, monkeypatch)
    at.select_slider(key="live_steps").set_value(1000).run()
    at.button(key="live_start").click().run()
    job = job_of(at)
    deadline = time.time() + 60
    while job.snapshot()["step"] < 3:
        assert time.time() < deadline and not job.finished
        time.sleep(0.05)
    at.button(key="live_stop").click().run()
    job = poll_until_finished(at)
    snap = job.snapshot()
    assert snap["status"] == live.STOPPED and 3 <= snap["step"] < 1000
    assert any(f"Stopped at step {snap['step']} of 1000." in w.value for w in at.warning)
    assert "After retraining (test)" in metrics(at)


def test_busy_when_the_cap_is_reached(quick_artifacts, monkeypatch):
    monkeypatch.setattr(live, "MAX_LIVE_JOBS", 0)
    at = open_page(quick_artifacts, monkeypatch)
    at.button(key="live_start").click().run()
    assert any("busy" in w.value and "try again in a moment" in w.value.lower() for w in at.warning)
    assert "live_jobs" not in at.session_state or not at.session_state["live_jobs"]


@pytest.mark.skipif(not (ROOT / "artifacts" / "models" / "clinc150-lstm-uncompressed-s0").is_dir(),
                    reason="the repository's artifacts are not here")
def test_switching_the_sidebar_changes_the_page(monkeypatch):
    """Repository artifacts: the page opens on the story, CLINC150's LSTM. The dev set named in the
    caption, the reference lines (each dataset's own uncompressed model) and the job shown follow
    the sidebar; a run started on CLINC150 is not shown for SST-2, and is there again when switching back."""
    at = open_page(ROOT / "artifacts", monkeypatch)
    assert (at.sidebar.selectbox(key="dataset").value, at.sidebar.selectbox(key="model").value) == ("clinc150", "lstm")
    at.select_slider(key="live_steps").set_value(20).run()
    at.button(key="live_start").click().run()
    poll_until_finished(at, timeout=180)
    clinc_refs = chart(at)[1]["refs"]
    assert "After retraining (test)" in metrics(at)
    assert any("3000 sentences" in c.value for c in at.caption)

    at.sidebar.selectbox(key="dataset").set_value("sst2").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not metrics(at), "the CLINC150 run is not shown for SST-2"
    assert chart(at)[1]["refs"] != clinc_refs

    at.sidebar.selectbox(key="dataset").set_value("clinc150").run()
    assert any("3000 sentences" in c.value for c in at.caption)
    assert "After retraining (test)" in metrics(at)


def test_second_run_is_compared_with_the_first(quick_artifacts, monkeypatch):
    """Two runs in one session: the chart draws the first as a thin series named after it, and a
    table lists both."""
    at = open_page(quick_artifacts, monkeypatch)
    at.select_slider(key="live_steps").set_value(20).run()
    at.button(key="live_start").click().run()
    first = poll_until_finished(at).snapshot()
    at.radio(key="live_schedule").set_value("clr").run()
    at.button(key="live_start").click().run()
    poll_until_finished(at)
    spec, data = chart(at)
    names = spec["layer"][0]["layer"][-1]["encoding"]["color"]["scale"]["domain"]
    reduction = story(quick_artifacts)[2]
    assert f"R={reduction}%, CALR, 20 steps: {100 * first['test']:.1f} % test" in names
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) == 2


def test_without_data_the_sweep_curve_is_shown(quick_artifacts, monkeypatch):
    """No dataset here: nothing can train, the precomputed curve for R = 50 is drawn instead."""
    monkeypatch.setattr("studio.ui.eval_data", lambda dataset, model: None)
    at = open_page(quick_artifacts, monkeypatch)
    at.slider(key=slider_key(at)).set_value(50).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("not available" in w.value for w in at.warning)
    assert not [b for b in at.button if b.key == "live_start"]
    spec, data = chart(at)
    assert data["accuracy"] and data["lr"]
