"""lmf.atomic: a folder is replaced only when lmf made it, and never left half-built."""
import pytest

from lmf.atomic import replace_dir


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
