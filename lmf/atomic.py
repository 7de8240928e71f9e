"""Writing without ever leaving half a file: every file and folder this package writes goes through here.

A file is written inside a temporary sibling and renamed into place (`write_atomic`); a folder is
built beside its target and swapped in (`replace_dir`), and only ever replaces a folder that this
package made (`owned` decides), never a folder of someone else's files. Several files and folders
that must change together (a publication into artifacts/) are staged first and renamed in one go,
undone if one rename fails (`staging`, `swap`). What lands gets the usual permissions for the
umask (tempfile alone would leave it private to the owner), and a symbolic link is never followed.

Every temporary is a folder named `<target name>.tmp-<random>` holding a MARK file (the process
that made it, the target, what it moved aside); a process killed mid-write leaves one behind, and
the next write of the same target removes it (`clean_temporaries`), putting back a folder that was
moved aside and not replaced. A user's `foo.tmp-bar` has no MARK and is never touched.

Writers of one artifacts folder (the sweep's assemble, a job's publish) take its lock (`locked`).

Standard library only. Deliberately not here: what a saved model holds (lmf.artifacts), which
folder is whose (lmf.layout).
"""
import fcntl
import json
import os
import shutil
import socket
import tempfile
from contextlib import contextmanager, suppress
from pathlib import Path

_UMASK = None
TMP = ".tmp-"  # between a target's name and the random part of its temporaries' names
MARK = ".lmf-temporary"  # inside every temporary folder this package makes


def umask():
    """The process umask, read once: the only way to read it is to set it and set it back, and a
    file another thread creates in between gets the probe's mask. The probe is 0o077 rather than 0
    so that such a file would come out private, never world-writable."""
    global _UMASK
    if _UMASK is None:
        mask = os.umask(0o077)
        os.umask(mask)
        _UMASK = mask
    return _UMASK


def default_mode(directory=False):
    """The mode open() or mkdir() would give a new file or directory under the umask (0o644 and
    0o755 for the common 0o022), for things made through tempfile, which makes them 0o600/0o700."""
    return (0o777 if directory else 0o666) & ~umask()


def _read_mark(work):
    mark = Path(work) / MARK
    try:
        if mark.is_symlink() or not mark.is_file():
            return None
        value = json.loads(mark.read_text(encoding="utf-8"))
        return value if isinstance(value, dict) else None
    except (OSError, ValueError):
        return None


def _write_mark(work, name, aside=None):
    """MARK in `work`: this process, the name of the target it is a temporary of (`name`), and what
    `swap` moved aside ({name in work: target relative to work's parent})."""
    mark = {"pid": os.getpid(), "host": socket.gethostname(), "for": name, "aside": aside or {}}
    (Path(work) / MARK).write_text(json.dumps(mark), encoding="utf-8")


def _running(mark):
    """Whether the process that made a temporary may still be using it: it runs on this host under
    its pid (another host's process cannot be checked, so it counts as running)."""
    if mark.get("host") != socket.gethostname():
        return True
    pid = mark.get("pid")
    return isinstance(pid, int) and pid > 0 and pid_exists(pid)


def pid_exists(pid):
    """Whether a process `pid` exists on this host (someone else's counts: it exists)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def is_temporary(path):
    """Whether `path` is a temporary folder this package made (its name has TMP, it holds MARK)."""
    path = Path(path)
    return TMP in path.name and not path.is_symlink() and path.is_dir() and _read_mark(path) is not None


def clean_temporaries(path):
    """Remove the temporaries of `path` (its siblings `<name>.tmp-*` holding MARK for `path`)
    whose process is gone: what a kill -9 left. A folder such a process had moved aside and not yet
    replaced is put back first. Returns the removed folders; anything without MARK stays."""
    path = Path(path)
    parent = path.parent
    if not parent.is_dir():
        return []
    removed = []
    for entry in os.scandir(parent):
        if not entry.name.startswith(path.name + TMP) or entry.is_symlink() or not entry.is_dir():
            continue
        work = Path(entry.path)
        mark = _read_mark(work)
        if mark is None or mark.get("for") != path.name or _running(mark):
            continue
        for aside, target in (mark.get("aside") or {}).items():
            aside, target = str(aside), Path(str(target))
            if "/" in aside or ".." in target.parts or target.is_absolute():
                continue  # not what swap records: never follow a path out of the parent
            if os.path.lexists(work / aside) and not os.path.lexists(parent / target):
                os.replace(work / aside, parent / target)
        shutil.rmtree(work, ignore_errors=True)
        removed.append(work)
    return removed


@contextmanager
def staging(path):
    """A new temporary folder beside `path` (marked, named after it), removed when the block ends
    whatever happens; build things in it, then `swap` them into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_temporaries(path)
    work = Path(tempfile.mkdtemp(dir=path.parent, prefix=path.name + TMP))
    try:
        _write_mark(work, path.name)
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _give_default_modes(top):
    """The umask's default modes for a staged file or folder and everything under it; a symbolic
    link is skipped (chmod would change what it points to)."""
    top = Path(top)
    if top.is_symlink():
        return
    top.chmod(default_mode(directory=top.is_dir()))
    if top.is_dir():
        for folder, dirs, files in os.walk(top):
            for name in dirs + files:
                item = Path(folder) / name
                if not item.is_symlink():
                    item.chmod(default_mode(directory=name in dirs))


def swap(work, moves):
    """Put each staged file or folder of `moves` [(staged, target)] at its target as one change:
    the old target (if any) is moved aside into `work` (a `staging` folder beside the targets'
    common parent), then the staged one renamed in; `staged` None only removes the target. If a
    rename fails, every earlier one is undone (old ones back, new ones out) and the error raised;
    a process killed in between leaves the old ones recorded in MARK for `clean_temporaries`."""
    work = Path(work)
    base = work.parent
    moves = [(None if s is None else Path(s), Path(t)) for s, t in moves]
    aside = {f"old-{i}": os.path.relpath(target, base) for i, (_, target) in enumerate(moves)}
    _write_mark(work, (_read_mark(work) or {}).get("for") or work.name.split(TMP)[0], aside)
    for staged, _ in moves:
        if staged is not None:
            _give_default_modes(staged)
    done, made = [], []
    try:
        for i, (staged, target) in enumerate(moves):
            old = work / f"old-{i}"
            done.append((staged, target, old))
            if os.path.lexists(target):
                os.replace(target, old)
            if staged is not None:
                missing = [p for p in [target.parent, *target.parent.parents] if not os.path.lexists(p)]
                target.parent.mkdir(parents=True, exist_ok=True)
                made += missing
                os.replace(staged, target)
    except BaseException:
        for staged, target, old in reversed(done):  # each step tried, whatever an earlier one did
            with suppress(OSError):
                if staged is not None and not os.path.lexists(staged) and os.path.lexists(target):
                    os.replace(target, staged)
            with suppress(OSError):
                if os.path.lexists(old) and not os.path.lexists(target):
                    os.replace(old, target)
        for folder in made:  # deepest first: the folders made for a target, now empty again
            with suppress(OSError):
                folder.rmdir()
        raise


def write_atomic(path, save):
    """Run `save(tmp)` on a temporary file of the same name (inside a `staging` folder), give it the
    usual mode and rename it into place: a crash or a failed save never leaves a truncated file
    where a good one (or none) was. The one way this package writes a single file (text, JSON, a
    plot, a fastText model)."""
    path = Path(path)
    with staging(path) as work:
        tmp = work / path.name
        tmp.touch()
        save(str(tmp))
        if tmp.is_symlink() or not tmp.is_file():
            raise OSError(f"{path}: the writer left no file to put in place")
        os.chmod(tmp, default_mode())
        os.replace(tmp, path)
    return path


def write_text_atomic(path, text):
    """Write a text file through a temporary file and a rename."""
    return write_atomic(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def write_json_atomic(path, obj):
    write_text_atomic(path, json.dumps(obj, indent=1, sort_keys=True))


def replace_dir(path, build, owned):
    """Build a folder with `build(tmp)` in a temporary sibling of `path`, then put it at `path`.

    An existing `path` is replaced only when `owned(path)` says this package made it (an lmf
    model, an artifacts folder) or it is an empty folder; anything else raises FileExistsError and
    is left as it was. The old folder is moved aside before the new one takes its name and removed
    after, so a crash leaves one complete folder under one of the two names, never none (and the
    next write puts an old one moved aside back, `clean_temporaries`)."""
    path = Path(path)
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise FileExistsError(f"{path} exists and is not a folder; choose another output path")
    if path.is_dir() and any(path.iterdir()) and not owned(path):
        entries = sorted(os.listdir(path))
        shown = ", ".join(entries[:5]) + (f" and {len(entries) - 5} more" if len(entries) > 5 else "")
        raise FileExistsError(f"{path} holds files lmf did not write ({shown}); choose an empty or new folder")
    with staging(path) as work:
        new = work / "new"
        new.mkdir()
        build(new)
        swap(work, [(new, path)])
    return path


@contextmanager
def locked(path):
    """Hold the lock of folder `path` for the block: every writer of an artifacts folder (the
    sweep's assemble, a job's publish) takes it, so none loses another's rows. The lock is the file
    `.<name>.lock` beside the folder, not in it (a folder replaced whole would take it along),
    flock'd exclusively; it is released when the block ends or the process dies."""
    path = Path(path)
    parent = path.parent.resolve()
    parent.mkdir(parents=True, exist_ok=True)
    with open(parent / f".{path.name}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
