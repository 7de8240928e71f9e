"""lmf.atomic: a folder is replaced only when lmf made it, and never left half-built."""
import json
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from lmf import atomic
from lmf.atomic import replace_dir

ROOT = Path(__file__).resolve().parent.parent


def owned(path):
    return (path / "made-by-lmf").exists()


def build(content):
    def fill(tmp):
        (tmp / "made-by-lmf").write_text("")
        (tmp / "data.txt").write_text(content)
    return fill


def test_a_folder_of_someone_elses_files_is_left_alone(tmp_path):
    """A folder with a user's file and no mark of lmf: FileExistsError, the file still there, no
    temporary sibling left."""
    target = tmp_path / "out"
    target.mkdir()
    (target / "thesis.tex").write_text("mine")
    with pytest.raises(FileExistsError, match="did not write"):
        replace_dir(target, build("new"), owned)
    assert (target / "thesis.tex").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_file_in_the_way_is_left_alone(tmp_path):
    (tmp_path / "out").write_text("a file")
    with pytest.raises(FileExistsError, match="not a folder"):
        replace_dir(tmp_path / "out", build("new"), owned)
    assert (tmp_path / "out").read_text() == "a file"


def test_its_own_folder_is_replaced_whole(tmp_path):
    """An lmf folder with a stale file: after the swap only the new build's files are there."""
    target = tmp_path / "out"
    replace_dir(target, build("old"), owned)
    (target / "stale.txt").write_text("stale")
    replace_dir(target, build("new"), owned)
    assert sorted(p.name for p in target.iterdir()) == ["data.txt", "made-by-lmf"]
    assert (target / "data.txt").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_failed_build_keeps_the_old_folder(tmp_path):
    target = tmp_path / "out"
    replace_dir(target, build("old"), owned)

    def failing(tmp):
        (tmp / "half").write_text("")
        raise RuntimeError("killed")
    with pytest.raises(RuntimeError):
        replace_dir(target, failing, owned)
    assert (target / "data.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]



def killed(target, when):
    """Run replace_dir(target) in a child process that kill -9s itself `when` "building" (once the
    new folder holds 1 MB) or "swapping" (right after the old folder was moved aside, before the
    new one took its name); returns the temporaries it left beside `target`."""
    code = ("import os, signal; from lmf import atomic\n"
            "die = lambda: os.kill(os.getpid(), signal.SIGKILL)\n"
            "real = os.replace\n"
            "def replace(src, dst):\n"
            "    real(src, dst)\n"
            f"    if {when!r} == 'swapping' and os.path.basename(dst) == 'old-0': die()\n"
            "os.replace = replace\n"
            "def build(tmp):\n"
            "    (tmp / 'big').write_bytes(b'x' * 1_000_000)\n"
            f"    if {when!r} == 'building': die()\n"
            f"atomic.replace_dir({str(target)!r}, build, lambda p: True)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT)
    assert proc.returncode == -signal.SIGKILL
    return sorted(p for p in Path(target).parent.iterdir() if ".tmp-" in p.name)


def test_a_killed_writers_temporary_is_removed_by_the_next_write(tmp_path):
    """Issue 23.3: a kill -9 during assembly left `<out>.tmp-*` (45 MB) that no later run removed.
    The killed child leaves one marked temporary holding its 1 MB; the next replace_dir of the same
    folder removes it. A user's `out.tmp-bar` (no mark) and a marked temporary of a live process
    (this one's) stay."""
    target = tmp_path / "out"
    replace_dir(target, build("old"), owned)
    (tmp_path / "out.tmp-bar").mkdir()
    (tmp_path / "out.tmp-bar" / "mine.txt").write_text("keep")
    left = killed(target, "building")
    assert [p.name for p in left if p.name != "out.tmp-bar"] and len(left) == 2
    with atomic.staging(target) as live:
        replace_dir(target, build("new"), owned)
        assert live.is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "out.tmp-bar"]
    assert (target / "data.txt").read_text() == "new" and (tmp_path / "out.tmp-bar" / "mine.txt").read_text() == "keep"


def test_a_folder_moved_aside_by_a_killed_writer_is_put_back(tmp_path):
    """Killed between moving the old folder aside and renaming the new one in, a writer leaves no
    `out` at all: cleaning its temporary puts the old folder back where it was, whole."""
    target = tmp_path / "out"
    replace_dir(target, build("old"), owned)
    left = killed(target, "swapping")
    assert not target.exists() and len(left) == 1
    assert atomic.clean_temporaries(target) == left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert sorted(p.name for p in target.iterdir()) == ["data.txt", "made-by-lmf"]
    assert (target / "data.txt").read_text() == "old"


def test_a_file_write_leaves_no_temporary_and_cleans_a_killed_ones(tmp_path):
    """write_atomic's temporaries are marked folders too: a leftover of a dead process is removed
    by the next write of the same file; a user's `notes.txt.tmp-x` file is not."""
    path = tmp_path / "notes.txt"
    with atomic.staging(path) as work:
        leftover = work
    leftover.mkdir()
    atomic._write_mark(leftover, path.name)
    mark = json.loads((leftover / atomic.MARK).read_text())
    (leftover / atomic.MARK).write_text(json.dumps({**mark, "pid": dead_pid()}))
    (tmp_path / "notes.txt.tmp-x").write_text("a user's")
    atomic.write_text_atomic(path, "hello")
    assert path.read_text() == "hello"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "notes.txt.tmp-x"]


def dead_pid():
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_one_lock_for_every_writer(tmp_path):
    """lmf.atomic.locked(folder): a second holder (another thread here, another process alike)
    waits until the first lets go, whatever path spelling it uses; the lock file is beside the
    folder, so a folder replaced whole keeps its lock."""
    events = []
    inside = threading.Event()

    def second():
        with atomic.locked(tmp_path / "sub" / ".." / "art"):
            events.append("second")

    (tmp_path / "sub").mkdir()
    with atomic.locked(tmp_path / "art"):
        thread = threading.Thread(target=second)
        thread.start()
        inside.wait(0.3)  # time for the thread to reach the lock: it must not get in
        events.append("first")
    thread.join()
    assert events == ["first", "second"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".art.lock", "sub"]
