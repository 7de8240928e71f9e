"""Run the studio (or any Streamlit script) as a real server on a free loopback port: the one launch
helper of the browser tests, scripts/bench_app.py, scripts/bench_live.py and scripts/load_test.py.

    with serve(env={"LMF_ARTIFACTS_DIR": "/tmp/art"}) as server:
        page.goto(server.url + "/playground")

CHROMIUM and CHROMIUM_ARGS are how every browser check starts Chromium (p.chromium.launch(
executable_path=CHROMIUM, args=CHROMIUM_ARGS)). The server runs `python -m streamlit run <script>` from the repository root (so .streamlit/config.toml
applies), bound to 127.0.0.1 only, and is stopped (terminate, then kill) when the block ends, even
on an exception. Its output goes to a log file, quoted when it fails to come up.
"""
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app.py"
# The browser side: Debian's Chromium (Playwright's own download cannot be fetched here), started
# headless without the background services that would call out to the network.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


class ServerError(RuntimeError):
    """The server exited or did not answer /_stcore/health in time."""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path
    started: float  # time.perf_counter() just before the launch
    healthy: float  # seconds from the launch until /_stcore/health answered


def _healthy(url):
    try:
        return urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok"
    except OSError:
        return False


def stop(process, grace=10):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def serve(script=APP, env=None, timeout=60, log=None):
    """A Server for `script`, with os.environ updated by `env` (a None value removes the variable)."""
    port = free_port()
    environment = dict(os.environ)
    for key, value in (env or {}).items():
        if value is None:
            environment.pop(key, None)
        else:
            environment[key] = str(value)
    own_log = log is None
    if own_log:
        fd, log = tempfile.mkstemp(prefix="streamlit-", suffix=".log")
        os.close(fd)
    log = Path(log)
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
               "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false"]
    with open(log, "w") as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT)
    try:
        while not _healthy(url):
            if process.poll() is not None or time.perf_counter() - started > timeout:
                raise ServerError(f"streamlit did not come up at {url}:\n{log.read_text()[-4000:]}")
            time.sleep(0.05)
        yield Server(url, process, log, started, time.perf_counter() - started)
    finally:
        stop(process)
        if own_log:
            log.unlink(missing_ok=True)
