"""The "Your data" page through AppTest: it renders with the sidebar; a bad upload shows lmf.data's
message naming the file and line and starts nothing; a finished job shows its SUMMARY.md and opens
its dataset on the home page, which draws the published rows. The artifacts are a copy of the
repository's results.csv (the home page is opened only for the job's own dataset)."""
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_fixtures import APP, ROOT
from studio import jobs

PAGE = "studio/pages/your_data.py"
HOME = "studio/pages/home.py"
TIMEOUT = 120


@pytest.fixture
def env(tmp_path, monkeypatch):
    art = tmp_path / "artifacts"
    art.mkdir()
    shutil.copy(ROOT / "artifacts" / "results.csv", art / "results.csv")
    monkeypatch.setenv("LMF_ARTIFACTS_DIR", str(art))
    monkeypatch.setenv("LMF_JOBS_DIR", str(tmp_path / "jobs"))
    return art, tmp_path / "jobs"


def page():
    return AppTest.from_file(str(APP), default_timeout=TIMEOUT).run().switch_page(PAGE).run()


def no_exception(at):
    assert not at.exception, [e.value for e in at.exception]


def tsv(directory, split):
    return (Path(directory) / f"{split}.tsv").read_bytes()


def test_the_page_renders_with_the_sidebar(env):
    at = page()
    no_exception(at)
    assert at.title[0].value == "Your data"
    assert [u.label for u in at.file_uploader] == ["Train", "Dev", "Test"]
    assert "SST-2" in at.sidebar.selectbox(key="dataset").options
    assert any(c.value == "No jobs yet." for c in at.caption)
    at.radio(key="your_data_mode").set_value("one file, split 80/10/10").run()
    assert [u.label for u in at.file_uploader] == ["Dataset (split 80/10/10 within each label, fixed seed)"]


def test_a_bad_upload_shows_the_file_and_line_and_starts_nothing(env, tiny_dir):
    _, root = env
    at = page()
    lines = tsv(tiny_dir, "train").decode().splitlines()
    bad = "\n".join(lines[:2] + ["a film\twith a tab\t1"] + lines[2:]) + "\n"
    at.file_uploader(key="upload_train").set_value(("train.tsv", bad.encode(), "text/tab-separated-values"))
    for split in ("dev", "test"):
        at.file_uploader(key=f"upload_{split}").set_value((f"{split}.tsv", tsv(tiny_dir, split), "text/plain"))
    at.text_input(key="your_data_name").set_value("mine")
    at.button[0].click().run()  # the form's submit button
    no_exception(at)
    assert [e.value for e in at.error] == [
        "train.tsv: line 3 has 3 field(s), the header has 2 (a tab inside the text?)"]
    assert not root.exists()


def test_a_missing_file_is_asked_for(env):
    at = page()
    at.text_input(key="your_data_name").set_value("mine")
    at.button[0].click().run()
    assert [e.value for e in at.error] == ["Upload the train, dev, test files first."]


def test_a_finished_job_opens_on_the_home_page(env, tiny_dir):
    """A job run in-process (quick autotune) is listed done with its summary; its button selects the
    dataset in the sidebar and the home page shows the base row's test accuracy."""
    art, root = env
    files = {s: (f"{s}.tsv", tsv(tiny_dir, s)) for s in ("train", "dev", "test")}
    job_id = jobs.create_job(files, "mine", "dan", budget_minutes=1.0, quick=True, methods=["lmf"], artifacts=art,
                             root=root)
    job = jobs.run_job(jobs.job_dir(job_id, root))
    assert job["status"] == "done"
    at = page()
    no_exception(at)
    assert any(m.value.startswith("# Autotune: dan on") or "Autotune: dan on" in m.value for m in at.markdown)
    assert "mine" in at.sidebar.selectbox(key="dataset").options
    at.button(key=f"open_{job_id}").click().run()
    no_exception(at)
    assert at.sidebar.selectbox(key="dataset").value == "mine"
    assert at.title[0].value == "Choose a compression ratio"
    base = 100 * job["summary"]["base"]["test_accuracy"]
    assert f"{base:.2f} %" in str([m.value for m in at.metric] + [m.value for m in at.markdown])
