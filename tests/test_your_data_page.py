"""The "Your data" page through AppTest: it renders with the sidebar; a bad upload shows lmf.data's
message naming the file and line and starts nothing; a finished job shows cards built from its
summary (never its SUMMARY.md heading, never a server path) and opens its dataset on the home page,
which then recommends and serves what the job chose, at the job's own tolerance. The artifacts are
a copy of the repository's results.csv (the home page is opened only for the job's own dataset).

One quick job (autotune on the 200-example SST-2 files, LMF only) runs once for the module, in
this process (studio.jobs.run_job), into a temporary artifacts and jobs folder."""
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_fixtures import APP, PAGES, ROOT
from studio import jobs

PAGE = "studio/pages/your_data.py"
HOME = "studio/pages/home.py"
TIMEOUT = 120


def artifacts_with_results(folder):
    art = Path(folder) / "artifacts"
    art.mkdir()
    shutil.copy(ROOT / "artifacts" / "results.csv", art / "results.csv")
    return art


@pytest.fixture
def env(tmp_path, monkeypatch):
    art = artifacts_with_results(tmp_path)
    monkeypatch.setenv("LMF_ARTIFACTS_DIR", str(art))
    monkeypatch.setenv("LMF_JOBS_DIR", str(tmp_path / "jobs"))
    return art, tmp_path / "jobs"


@pytest.fixture(scope="module")
def finished(tmp_path_factory, tiny_dir):
    """(artifacts, jobs root, the done job) of one quick job on the 200-example SST-2 files."""
    base = tmp_path_factory.mktemp("your-data")
    art, root = artifacts_with_results(base), base / "jobs"
    files = {s: (f"{s}.tsv", tsv(tiny_dir, s)) for s in ("train", "dev", "test")}
    job_id = jobs.create_job(files, "mine", "dan", budget_minutes=1.0, quick=True, methods=["lmf"], artifacts=art,
                             root=root)
    job = jobs.run_job(jobs.job_dir(job_id, root))
    assert job["status"] == "done", job.get("error")
    return art, root, jobs.status(job_id, root)


@pytest.fixture
def done_env(finished, monkeypatch):
    art, root, _ = finished
    monkeypatch.setenv("LMF_ARTIFACTS_DIR", str(art))
    monkeypatch.setenv("LMF_JOBS_DIR", str(root))
    return finished


def page():
    return AppTest.from_file(str(APP), default_timeout=TIMEOUT).run().switch_page(PAGE).run()


def no_exception(at):
    assert not at.exception, [e.value for e in at.exception]


def tsv(directory, split):
    return (Path(directory) / f"{split}.tsv").read_bytes()


def flat(node):
    """Every element under `node`, in the order the page draws them."""
    children = getattr(node, "children", None)
    if not children:
        return [node]
    return [e for key in sorted(children) for e in flat(children[key])]


def page_text(at):
    """Everything the page sends the browser, main area and sidebar: each element's message as text."""
    return "\n".join(str(getattr(e, "proto", "")) for tree in (at.main, at.sidebar) for e in flat(tree))


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
    at.radio(key="your_data_mode").set_value("one file, split 80/10/10").run()
    at.button[0].click().run()
    assert [e.value for e in at.error] == ["Upload the dataset file first."]


def test_a_finished_job_is_cards_from_its_summary(done_env):
    """The outcome as cards from summary.json (size, dev, test, time) and a sentence: never
    SUMMARY.md's Markdown heading as a title (the page has one title), and the log's lines wrap."""
    _, _, job = done_env
    summary = job["summary"]
    shown = summary["chosen"] or summary["base"]
    at = page()
    no_exception(at)
    assert [t.value for t in at.title] == ["Your data"]
    assert not any(m.value.lstrip().startswith("#") and "Autotune" in m.value for m in at.markdown)
    cards = {m.label: m for m in at.metric}
    assert cards["Size"].value == f"{shown['bytes'] / 1e6:.2f} MB"
    assert cards["Dev accuracy"].value == f"{100 * shown['dev_accuracy']:.2f} %"
    assert cards["Test accuracy"].value == f"{100 * shown['test_accuracy']:.2f} %"
    assert cards["Time"].value == f"{summary['seconds'] / 60:.1f} min"
    said = " ".join(x.value for x in list(at.success) + list(at.warning))
    assert ("Target met" in said) == bool(summary["target_met"])
    assert all(code.proto.wrap_lines for code in at.code), "log lines wrap instead of running off the right"


def test_a_finished_job_opens_on_the_home_page_with_its_answer(done_env):
    """Its button selects the data set and sets the home page's tolerance to the job's; the home
    page judges on dev as autotune did, so it recommends (and serves) the job's chosen model when
    the target was met, the base when it was not; the uncompressed row's latency card does not
    claim an SVD-only model."""
    from lmf.methods import method_label
    _, _, job = done_env
    summary = job["summary"]
    at = page()
    assert "mine" in at.sidebar.selectbox(key="dataset").options
    at.button(key=f"open_{job['id']}").click().run()
    no_exception(at)
    assert at.sidebar.selectbox(key="dataset").value == "mine"
    assert at.title[0].value == "Choose a compressed model"
    assert at.slider(key="tolerance").value == job["max_drop"]
    chosen = summary["chosen"]
    if summary["target_met"]:
        assert at.markdown[0].value == f"### Ship: {method_label(chosen['method'])}, R={chosen['R']}%"
        expected = chosen
    else:
        assert at.markdown[0].value == "### Ship: Uncompressed"
        expected = summary["base"]
    cards = {}
    for m in at.metric:  # the answer's cards come first
        cards.setdefault(m.label, m)
    assert cards["Dev accuracy"].value == f"{100 * expected['dev_accuracy']:.2f} %"
    assert cards["Test accuracy"].value == f"{100 * expected['test_accuracy']:.2f} %"
    assert at.get("download_button")[0].proto.label.startswith("Download the model"), "the job's model is served"
    assert not any("SVD only" in (m.delta or "") for m in at.metric)
    assert not at.error, [e.value for e in at.error]


def test_retrain_live_reads_a_published_data_set_from_its_job(done_env):
    """Retrain live on the job's data set: its data come from the job's folder
    (studio.jobs.published_data), so there is no "not available here" warning and no missing-curve
    error (the sweep has no curve of a job's data), and Start is offered."""
    art, root, job = done_env
    assert jobs.published_data("mine", art, root) == Path(job["dir"]) / "data" / "mine"
    assert jobs.published_data("sst2", art, root) is None, "the sweep's data sets are not a job's"
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    at.sidebar.selectbox(key="dataset").set_value("mine").run()
    at.switch_page(PAGES[1]).run()
    no_exception(at)
    assert not any("not available" in w.value for w in at.warning), [w.value for w in at.warning]
    assert not at.error, [e.value for e in at.error]
    assert at.button(key="live_start").label == "Start retraining"


def test_no_page_shows_a_server_path(done_env):
    """Every page, on SST-2 and on the job's own data set: no text sent to the browser holds the
    server's working directory (the repository), the job's folder or the artifacts folder."""
    art, root, job = done_env
    forbidden = {str(ROOT), job["dir"], str(Path(job["dir"]).resolve()), str(art), str(Path(art).resolve()),
                 str(root.resolve())}
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    for dataset in ("sst2", "mine"):
        for name in PAGES:
            at.switch_page(name).run()
            at.sidebar.selectbox(key="dataset").set_value(dataset).run()
            no_exception(at)
            text = page_text(at)
            leaked = [path for path in forbidden if path in text]
            assert not leaked, (name, dataset, leaked)


def test_a_name_in_use_gets_a_new_one_said_on_the_page(done_env, tiny_dir):
    """A second job named like the finished one is published under a new name, and its card says so."""
    _, root, _ = done_env
    at = page()
    for split in ("train", "dev", "test"):
        at.file_uploader(key=f"upload_{split}").set_value((f"{split}.tsv", tsv(tiny_dir, split), "text/plain"))
    at.text_input(key="your_data_name").set_value("mine")
    at.number_input(key="your_data_budget").set_value(0.5)
    at.button[0].click().run()
    no_exception(at)
    second = next(j for j in jobs.list_jobs(root) if j["name"] != "mine")
    try:
        assert second["name"] == "mine_2" and second.get("renamed")
        assert any("mine_2" in i.value for i in at.info)
    finally:
        if second.get("pid"):
            import os
            import signal
            try:
                os.kill(second["pid"], signal.SIGTERM)  # the background job this test started
            except ProcessLookupError:
                pass
