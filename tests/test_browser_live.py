"""Retrain live in a real browser: `streamlit run app.py` on the quick artifacts, driven by
Playwright in Debian Chromium with scripts/bench_live.py's sampler. A 100-step run must redraw
the chart more than once while it trains, in one chart element, and end with the result line.
Skipped only where /usr/bin/chromium is absent.
"""
import importlib.util
import os
from pathlib import Path

import pytest

from app_fixtures import ROOT, quick_artifacts  # noqa: F401  (fixture)
from studio.server import CHROMIUM, CHROMIUM_ARGS, serve

spec = importlib.util.spec_from_file_location("bench_live", ROOT / "scripts" / "bench_live.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}")


def test_live_chart_updates_in_place(quick_artifacts, tmp_path):
    from playwright.sync_api import sync_playwright

    with serve(env={"LMF_ARTIFACTS_DIR": quick_artifacts}, timeout=90, log=tmp_path / "server.log") as server, \
            sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            # 300 -> 200 -> 100 steps on the budget slider
            result = bench.watch_live_run(page, server.url, lower_steps=2, timeout_s=180)
            page.screenshot(path=str(tmp_path / "retrain.png"), full_page=True)
        finally:
            browser.close()
    log = (tmp_path / "server.log").read_text()
    assert result["exceptions"] == 0, log[-3000:]
    assert result["steps"] == 100
    assert result["redraws"] > 1, result
    assert result["chart_elements"] == 1, result
    assert os.path.getsize(tmp_path / "retrain.png") > 0
