"""Writing without ever leaving half a file: every file and folder this package writes goes through here.

A file is written to a temporary sibling and renamed into place (`write_atomic`); a folder is
built beside its target and swapped in (`replace_dir`), and only ever replaces a folder that this
package made (`owned` decides), never a folder of someone else's files. What lands gets the usual
permissions for the umask (tempfile alone would leave it private to the owner).

Standard library only. Deliberately not here: what a saved model holds (lmf.artifacts).
"""
import json
import os
import shutil
import tempfile
from pathlib import Path

_UMASK = None


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


def write_atomic(path, save):
    """Run `save(tmp)` on a temporary sibling of `path`, give it the usual mode and rename it into
    place: a crash or a failed save never leaves a truncated file where a good one (or none) was.
    The one way this package writes a single file (text, JSON, a plot, a fastText model)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".tmp-")
    os.close(fd)
    try:
        save(tmp)
        os.chmod(tmp, default_mode())  # mkstemp's 0o600 would outlive the save
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
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
    after, so a crash leaves one complete folder under one of the two names, never none."""
    path = Path(path)
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise FileExistsError(f"{path} exists and is not a folder; choose another output path")
    if path.is_dir() and any(path.iterdir()) and not owned(path):
        raise FileExistsError(f"{path} holds files lmf did not write; choose an empty or new folder")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=path.name + ".tmp-"))
    old = None
    try:
        build(tmp)
        for file in [tmp, *tmp.rglob("*")]:
            file.chmod(default_mode(directory=file.is_dir()))
        if path.exists():
            old = Path(tempfile.mkdtemp(dir=path.parent, prefix=path.name + ".tmp-old-"))
            os.replace(path, old / path.name)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not path.exists():
            os.replace(old / path.name, path)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return path
