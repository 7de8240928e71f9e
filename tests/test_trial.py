"""lmf.trial's worker processes: they end with the process that started them, even one that dies
before a worker has finished starting."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from conftest import ROOT


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie is dead, only not yet reaped by its parent
        return f.read().split(")")[-1].split()[0] != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_workers_end_with_the_sweep(tmp_path):
    """A sweep with two workers is killed with SIGKILL (it gets no chance to clean up): both
    workers, each busy in a 60 s cell, are gone within a few seconds, not minutes later."""
    (tmp_path / "sleepy.py").write_text(textwrap.dedent(f"""
        import os, time
        class Sleepy:
            def run(self, cell):
                open(os.path.join({str(tmp_path)!r}, f"worker-{{cell}}"), "w").write(str(os.getpid()))
                time.sleep(60)
                return {{"seconds": 60}}
    """))
    driver = ("import sys; sys.path.insert(0, sys.argv[1]); from sleepy import Sleepy; "
              "from lmf.trial import run_cells; list(run_cells(Sleepy(), [1, 2], jobs=2, threads=1))")
    proc = subprocess.Popen([sys.executable, "-c", driver, str(tmp_path)], cwd=ROOT)
    try:
        deadline = time.time() + 60
        while len(list(tmp_path.glob("worker-*"))) < 2 and time.time() < deadline:
            time.sleep(0.2)
        pids = [int(p.read_text()) for p in tmp_path.glob("worker-*")]
        assert len(pids) == 2 and all(alive(p) for p in pids)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    deadline = time.time() + 10
    while any(alive(p) for p in pids) and time.time() < deadline:
        time.sleep(0.2)
    assert not any(alive(p) for p in pids)


def test_a_worker_that_starts_after_the_sweep_died_exits():
    """The race the death signal cannot cover: the sweep dies while a worker is still importing
    torch. The worker's start-up compares its parent with the sweep's pid: a process whose parent
    is not the given pid ends at once with status 1 instead of running cells for nobody."""
    code = "import os; from lmf.trial import _die_with_parent; _die_with_parent(1, os.getppid() + 10**6); print('ran')"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 1 and "ran" not in out.stdout
    code = "import os; from lmf.trial import _die_with_parent; _die_with_parent(1, os.getppid()); print('ran')"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True).stdout == "ran\n"


def test_stop_after_stops_when_dev_stops_rising():
    """Patience 2: dev 0.60 (best), 0.70 (best), 0.69, 0.70 (neither above 0.70): the fourth
    evaluation is the second in a row without a better one, so it stops there; None never stops."""
    from lmf.trial import stop_after
    on_eval = stop_after(2)
    assert [on_eval({"dev_accuracy": d}) for d in (0.60, 0.70, 0.69, 0.70)] == [False, False, False, True]
    assert stop_after(None) is None


def test_stop_after_waits_for_at_least_that_many_evaluations():
    """Patience 2, at least 3 evaluations after the starting weights': dev 0.64 (start), 0.64,
    0.64 is two in a row without a better one, but only the second evaluation after the start, so
    training goes on; 0.64 at the third stops it. A model that then rises is not stopped: 0.64,
    0.64, 0.70, 0.75 never stops."""
    from lmf.trial import stop_after
    on_eval = stop_after(2, at_least=3)
    assert [on_eval({"dev_accuracy": d}) for d in (0.64, 0.64, 0.64, 0.64)] == [False, False, False, True]
    on_eval = stop_after(2, at_least=3)
    assert [on_eval({"dev_accuracy": d}) for d in (0.64, 0.64, 0.64, 0.70, 0.75)] == [False] * 5


def test_notes_say_where_vectors_can_be_passed(tiny_dir, tmp_path):
    """Word vectors for two words only cover far under LOW_COVERAGE (90 %) of 200 SST-2 phrases'
    vocabulary: the LSTM's notes give the coverage and a hint that names the command line, since a
    Your data job logs the same lines and its page takes no vectors file. The DAN reads no vectors:
    no such note."""
    from lmf.trial import LOW_COVERAGE, Trials
    (tmp_path / "two.txt").write_text("film 0.1 0.2\nmovie 0.3 0.4\n")
    trials = Trials(tmp_path / "work", quick=False, data={"tiny": str(tiny_dir)}, vectors=tmp_path / "two.txt")
    lines = trials.notes("tiny", "lstm")
    coverage = next(line for line in lines if "word vectors" in line)
    assert float(coverage.split(" cover ")[1].split("%")[0]) < 100 * LOW_COVERAGE
    assert any(line.startswith("  hint: the command line's --vectors (python -m lmf autotune") for line in lines)
    assert not any("vectors" in line for line in trials.notes("tiny", "dan"))
