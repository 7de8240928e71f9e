"""The "Your data" page in a real browser (studio.server + Playwright, Debian Chromium): upload the
200-example SST-2 files, start a quick autotune job with a half-minute budget, watch it finish in the
background process, find it still done after a reload (its outcome as cards, no server path), then
open it on the home page: the sidebar selects the new dataset, the page recommends the published
model the job chose (or the base when it missed its target) and a reload keeps the data set.
Skipped only without Chromium."""
import csv
import json
import shutil

import pytest

from conftest import ROOT
from studio.server import serve
from test_browser import ARGS, CHROMIUM, VIEWPORT, no_exception, wait_idle

pytestmark = pytest.mark.skipif(not __import__("pathlib").Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}")
JOB_SECONDS = 150  # quick autotune: a half-minute budget plus one trial, the test accuracies and publishing


def test_upload_run_and_open_on_home(tiny_dir, tmp_path):
    from playwright.sync_api import sync_playwright

    art = tmp_path / "artifacts"
    art.mkdir()
    for name in ("results.csv", "sweep.json"):
        shutil.copy(ROOT / "artifacts" / name, art / name)
    with serve(env={"LMF_ARTIFACTS_DIR": art, "LMF_JOBS_DIR": tmp_path / "jobs"}) as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(f"{server.url}/your-data")
        page.get_by_role("heading", name="Your data").first.wait_for(timeout=60_000)
        wait_idle(page)
        inputs = page.locator('[data-testid="stFileUploader"] input[type="file"]')
        for i, split in enumerate(("train", "dev", "test")):
            inputs.nth(i).set_input_files(str(tiny_dir / f"{split}.tsv"))
        page.get_by_label("Dataset name", exact=True).fill("mine")
        page.get_by_label("Time budget (minutes)", exact=True).fill("0.5")
        page.get_by_text("Quick run:").click()
        page.get_by_role("button", name="Start autotune").click()
        page.get_by_text("running", exact=True).or_(page.get_by_text("queued", exact=True)).first.wait_for(
            timeout=30_000)
        opened = page.get_by_role("button", name="Open mine on the home page")
        opened.wait_for(timeout=JOB_SECONDS * 1000)  # drawn when job.json says done
        page.reload()  # the job lives on disk: a reload shows it as it was
        opened.wait_for(timeout=60_000)
        page.get_by_text("Target").first.wait_for()
        assert str(ROOT) not in page.locator('[data-testid="stMain"]').inner_text(), "no server path on the page"
        no_exception(page, "your-data")
        opened.click()
        page.get_by_role("heading", name="Choose a compressed model").first.wait_for(timeout=60_000)
        page.locator('[data-testid="stMetric"]').first.wait_for(timeout=60_000)
        wait_idle(page)
        dataset = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"] input').first
        assert dataset.input_value() == "mine"
        rows = [r for r in csv.DictReader(open(art / "results.csv")) if r["dataset"] == "mine"]
        assert [r["method"] for r in rows][0] == "uncompressed" and len(rows) == 2
        job = json.loads(next((tmp_path / "jobs").glob("*/job.json")).read_text())
        shipped = rows[1] if job["summary"]["target_met"] else rows[0]
        cards = page.locator('[data-testid="stMetric"]').all_inner_texts()
        assert f"{100 * float(shipped['accuracy']):.2f} %" in cards[2], cards  # the answer's test accuracy
        page.reload()
        page.locator('[data-testid="stMetric"]').first.wait_for(timeout=60_000)
        wait_idle(page)
        assert dataset.input_value() == "mine", "a reload keeps the data set"
        no_exception(page, "")
        browser.close()
