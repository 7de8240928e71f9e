"""studio.server: a Streamlit script served on loopback, healthy inside the block, gone after it."""
import urllib.request

import pytest

from studio.server import ServerError, serve


def test_serve_starts_answers_and_stops(tmp_path):
    script = tmp_path / "hello.py"
    script.write_text("import os, streamlit as st\nst.write(os.environ.get('GREETING'))\n")
    with serve(script, env={"GREETING": "hi", "LMF_DATA_DIR": None}) as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=5).read() == b"ok"
        process = server.process
    assert process.poll() is not None, "stopped when the block ends"


def test_serve_reports_a_server_that_cannot_start(tmp_path):
    with pytest.raises(ServerError, match="did not come up"):
        with serve(tmp_path / "missing.py", env={"PYTHONPATH": "/nonexistent"}, timeout=3):
            pass
