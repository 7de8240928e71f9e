"""The Retrain live page (studio/pages/retrain.py) through streamlit.testing.v1.AppTest.

AppTest does not run fragments on their timer, so a test polls the job by rerunning the script
until the page shows the result. Step budgets of 20 keep each run to a second or two; the quick
artifacts come from tests/app_fixtures.py. The sidebar test uses the repository's own artifacts
(artifacts/, committed), which hold two datasets.
"""
import json
import time

import pytest
from streamlit.testing.v1 import AppTest

from app_fixtures import APP, ROOT, quick_artifacts  # noqa: F401  (fixture)
from studio import live

PAGE = "studio/pages/retrain.py"


def open_page(artifacts, monkeypatch):
    monkeypatch.setenv("LMF_ARTIFACTS_DIR", str(artifacts))
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


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


def test_page_renders_with_its_defaults(quick_artifacts, monkeypatch):
    """Defaults from studio.live; the reference lines are the seed-0 uncompressed model's dev accuracy
    and its quantizations', measured on the dev set the live curve uses (quick cut included)."""
    from lmf import layout
    from lmf.artifacts import load_model
    from lmf.metrics import accuracy
    from lmf.quantize import quantize_model
    at = open_page(quick_artifacts, monkeypatch)
    base = load_model(layout.model_path(quick_artifacts, "sst2", "dan"))
    data = live.evaluation_data("sst2", base.vocab, base.label_names, quick=True)
    expected = [f"{name} ({100 * accuracy(m, data, 'dev'):.1f} %)" for name, m in
                (("uncompressed", base.model), ("16-bit", quantize_model(base.model, 16)),
                 ("8-bit", quantize_model(base.model, 8)))]
    assert at.slider(key="live_reduction").value == live.DEFAULT_REDUCTION
    assert at.select_slider(key="live_steps").value == live.DEFAULT_STEPS
    spec, _ = chart(at)
    assert spec["vconcat"][0]["layer"][1]["encoding"]["x"]["scale"]["domain"] == [0, live.DEFAULT_STEPS]
    assert spec["vconcat"][0]["layer"][1]["encoding"]["color"]["scale"]["domain"][-3:] == expected
    assert [b.key for b in at.button] == ["live_start"] and not at.button(key="live_start").disabled
    assert not metrics(at)


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
    assert spec["vconcat"][1]["encoding"]["x"]["scale"]["domain"] == [0, 20]
    assert len([b for b in at.button if b.key == "live_stop"]) == 0  # Stop only while running
    assert not at.button(key="live_start").disabled


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


@pytest.mark.skipif(not (ROOT / "artifacts" / "models" / "clinc150-dan-uncompressed-s0").is_dir(),
                    reason="the repository's artifacts are not here")
def test_switching_the_sidebar_changes_the_page(monkeypatch):
    """SST-2 then CLINC150 (repository artifacts): the dev set named in the caption, the reference
    lines (each dataset's own uncompressed model) and the job shown follow the sidebar; a run
    started on SST-2 is not shown for CLINC150, and is there again when switching back."""
    at = open_page(ROOT / "artifacts", monkeypatch)
    at.select_slider(key="live_steps").set_value(20).run()
    at.button(key="live_start").click().run()
    poll_until_finished(at, timeout=120)
    sst2_refs = chart(at)[1]["refs"]
    assert "After retraining (test)" in metrics(at)
    assert any("872 sentences" in c.value for c in at.caption)

    at.sidebar.selectbox(key="dataset").set_value("clinc150").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not metrics(at), "the SST-2 run is not shown for CLINC150"
    assert chart(at)[1]["refs"] != sst2_refs
    at.button(key="live_start").click().run()
    poll_until_finished(at, timeout=120)
    assert any("3000 sentences" in c.value for c in at.caption)

    at.sidebar.selectbox(key="dataset").set_value("sst2").run()
    assert any("872 sentences" in c.value for c in at.caption)
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
    names = spec["vconcat"][0]["layer"][1]["encoding"]["color"]["scale"]["domain"]
    assert f"R={live.DEFAULT_REDUCTION}%, CALR, 20 steps: {100 * first['test']:.1f} % test" in names
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) == 2


def test_without_data_the_sweep_curve_is_shown(quick_artifacts, monkeypatch):
    """No dataset here: nothing can train, the precomputed curve for R = 50 is drawn instead."""
    monkeypatch.setattr("studio.ui.eval_data", lambda dataset, model: None)
    at = open_page(quick_artifacts, monkeypatch)
    at.slider(key="live_reduction").set_value(50).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("not available" in w.value for w in at.warning)
    assert not [b for b in at.button if b.key == "live_start"]
    spec, data = chart(at)
    assert data["accuracy"] and data["lr"]
