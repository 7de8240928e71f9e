"""N concurrent browser sessions against one studio server: errors, time per action, server memory.

    python scripts/load_test.py [--sessions 20] [--artifacts DIR] [--deadline 480] [--json PATH]

One `streamlit run app.py` (studio.server, loopback only) and one headless Chromium; each session
is its own browser context (its own Streamlit session) and does, in order:

  home        open /, wait until the cards and both charts are drawn and the run is over
  slider      click R = 50 on the home page, wait for its verdict
  playground  open /playground, type a sentence, press Classify, wait for four predictions
  retrain     open /retrain (the live retraining page), wait until it is drawn

All sessions start together. An action that fails (a timeout, an exception box on the page) is an
error and ends that session; the whole run ends by itself at --deadline seconds, counting the
sessions still going as errors. The server's memory is its process tree's resident set size,
sampled every 0.25 s with psutil. Prints errors, then median and max seconds per action, then the
peak memory; exits 1 when any session failed.
"""
import argparse
import asyncio
import json
import statistics
import sys
import threading
import time
from pathlib import Path

import psutil

from lmf import layout
from lmf.atomic import write_text_atomic
from studio.server import CHROMIUM, CHROMIUM_ARGS as ARGS, serve

VIEWPORT = {"width": 1280, "height": 720}
ACTIONS = ("home", "slider", "playground", "retrain")
SENTENCE = "a gorgeous , witty , seductive movie ."
IDLE = "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
CHARTS = "() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= 2"
VERDICT_50 = "() => [...document.querySelectorAll('h4')].some(h => h.innerText.startsWith('R=50:'))"
PREDICTIONS = ("() => [...document.querySelectorAll('[data-testid=\"stCaptionContainer\"]')]"
               ".filter(e => e.innerText.includes('% confident')).length >= 4")


class Memory(threading.Thread):
    """Peak resident memory (bytes) of a process and its children, sampled until stopped."""

    def __init__(self, pid, interval=0.25):
        super().__init__(daemon=True)
        self.process, self.interval, self.peak, self.done = psutil.Process(pid), interval, 0, threading.Event()

    def run(self):
        while not self.done.is_set():
            try:
                tree = [self.process] + self.process.children(recursive=True)
                self.peak = max(self.peak, sum(p.memory_info().rss for p in tree if p.is_running()))
            except psutil.Error:
                pass
            self.done.wait(self.interval)


async def settle(page, timeout):
    await page.wait_for_timeout(200)
    await page.wait_for_function(IDLE, timeout=timeout, polling=100)


async def no_exception(page, action):
    boxes = page.locator('[data-testid="stException"]')
    if await boxes.count():
        raise RuntimeError(f"exception box on the page: {(await boxes.first.inner_text())[:300]}")


def unfinished(count, deadline):
    """One error per session still running at the deadline: 20 sessions cut off are 20 failures."""
    return [f"a session still running at the {deadline:.0f} s deadline"] * count


async def session(browser, url, index, timeout, times, errors):
    context = await browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(timeout)  # navigation too: 20 pages on two cores load slowly
    context.set_default_navigation_timeout(timeout)
    page = await context.new_page()
    action = "start"
    try:
        for action in ACTIONS:
            start = time.perf_counter()
            if action == "home":
                await page.goto(url)
                await page.wait_for_function(CHARTS, timeout=timeout, polling=100)
                await settle(page, timeout)
            elif action == "slider":
                await page.get_by_role("radio", name="50", exact=True).click(timeout=timeout)
                await page.wait_for_function(VERDICT_50, timeout=timeout, polling=100)
                await settle(page, timeout)
            elif action == "playground":
                await page.goto(f"{url}/playground")
                box = page.get_by_role("textbox").first
                await box.fill(SENTENCE, timeout=timeout)
                await page.get_by_role("button", name="Classify").click(timeout=timeout)
                await page.wait_for_function(PREDICTIONS, timeout=timeout, polling=100)
                await settle(page, timeout)
            elif action == "retrain":
                await page.goto(f"{url}/retrain")
                await page.get_by_role("heading", name="Retrain live").first.wait_for(timeout=timeout)
                await settle(page, timeout)
            await no_exception(page, action)
            times[action].append(time.perf_counter() - start)
    except Exception as e:  # noqa: BLE001 - every failure is counted and reported, then the session ends
        errors.append(f"session {index}, {action}: {type(e).__name__}: {str(e).splitlines()[0][:200]}")
    finally:
        await context.close()


async def run(url, sessions, deadline, timeout_ms):
    from playwright.async_api import async_playwright

    times, errors = {a: [] for a in ACTIONS}, []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            tasks = [asyncio.create_task(session(browser, url, i, timeout_ms, times, errors)) for i in range(sessions)]
            done, pending = await asyncio.wait(tasks, timeout=deadline)
            for task in pending:
                task.cancel()
            if pending:
                errors.extend(unfinished(len(pending), deadline))
                await asyncio.gather(*pending, return_exceptions=True)
        finally:
            await browser.close()
    return times, errors


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sessions", type=int, default=20)
    p.add_argument("--artifacts", default=str(layout.artifacts_dir()))
    p.add_argument("--deadline", type=float, default=480, help="seconds; the run stops by itself then")
    p.add_argument("--action-timeout", type=float, default=240, help="seconds one action may take")
    p.add_argument("--json", help="also write the numbers here")
    args = p.parse_args()
    layout.check_script_paths(p, args.artifacts, args.json)
    with serve(env={"LMF_ARTIFACTS_DIR": args.artifacts}) as server:
        memory = Memory(server.process.pid)
        memory.start()
        started = time.perf_counter()
        times, errors = asyncio.run(run(server.url, args.sessions, args.deadline, args.action_timeout * 1000))
        wall = time.perf_counter() - started
        memory.done.set()
        memory.join()
    print(f"{args.sessions} concurrent sessions, one server, {wall:.1f} s in all")
    print(f"errors: {len(errors)}")
    for e in errors:
        print(f"  {e}")
    summary = {}
    for action in ACTIONS:
        t = times[action]
        summary[action] = {"done": len(t), "median_s": statistics.median(t) if t else None, "max_s": max(t) if t else None}
        print(f"{action:<11} done {len(t):>3}/{args.sessions}" + (
            f"  median {statistics.median(t):6.2f} s  max {max(t):6.2f} s" if t else ""))
    print(f"server peak memory (process tree RSS): {memory.peak / 2**20:.0f} MiB")
    if args.json:
        write_text_atomic(args.json, json.dumps({"sessions": args.sessions, "wall_s": wall, "errors": errors,
                                                 "actions": summary, "peak_rss_bytes": memory.peak}, indent=2) + "\n")
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
