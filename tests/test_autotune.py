"""lmf.autotune on the 200-example SST-2 directory with the sweep's quick step counts (12 steps): a
saved model and a truthful summary, a missed target said plainly, resume without retraining, the
budget, the bisection, and an --out that is not autotune's left alone."""
import csv
import json
from pathlib import Path

import pytest

from conftest import write_split
from lmf import autotune as at
from lmf.autotune import FORMAT, R_MAX, R_MIN, autotune, candidates, choose, margin_note, next_probe, summary_text
from lmf.cli import main
from lmf.names import QUICK
from lmf.runtime import Predictor

SMALL = {"quick": True, "methods": ["lmf", "lmf_int8"], "r_range": (80, 95), "progress": False}


def rows(out):
    return list(csv.DictReader(open(out / "trials.csv")))


def test_candidates_come_from_the_registry():
    """The DAN gets the four retrained factorizations, vocabulary pruning, pruning + LMF and pruning
    + whole-model LMF, and the six int8 stacks on them (HMF has no stack in lmf.methods); the LSTM
    has no whole-model LMF, nor its stacks; the n-gram DAN has the DAN's."""
    assert candidates("dan") == ["lmf", "hmf", "groupreduce", "lmf_whole", "prune", "prune_lmf", "prune_lmf_whole",
                                 "lmf_int8", "groupreduce_int8", "lmf_whole_int8", "prune_int8", "prune_lmf_int8",
                                 "prune_lmf_whole_int8"]
    assert candidates("lstm") == ["lmf", "hmf", "groupreduce", "prune", "prune_lmf", "lmf_int8", "groupreduce_int8",
                                  "prune_int8", "prune_lmf_int8"]
    assert candidates("dan_ngram") == candidates("dan")


def test_bisection_probes():
    """[50, 99] opens at the upper middle, (50 + 99 + 1) // 2 = 75. If every R passes, the probes
    climb 75, 88, 94, 97, 99 (after 97: (98 + 99 + 1) // 2) and stop; if every R fails they go 75,
    62, 56, 53, 51, 50. A pass
    above a failure (noise) leaves nothing undecided: the search ends."""
    passed, probes = [], []
    while (r := next_probe(passed, [])) is not None:
        probes.append(r)
        passed.append(r)
    assert probes == [75, 88, 94, 97, 99]
    failed, probes = [], []
    while (r := next_probe([], failed)) is not None:
        probes.append(r)
        failed.append(r)
    assert probes == [75, 62, 56, 53, 51, 50]
    assert (R_MIN, R_MAX) == (50, 99) and next_probe([80], [70]) is None


def test_choose_smallest_within_else_best_on_dev():
    """Within 0.80: B (900 bytes) beats A (1000); none within 0.95: the best on dev (A, 0.90) is
    chosen and the target reported missed; the base row never counts."""
    trials = [{"method": "uncompressed", "R": 0, "bytes": 5000, "dev_accuracy": 0.99, "status": "ok"},
              {"method": "lmf", "R": 80, "bytes": 1000, "dev_accuracy": 0.90, "status": "ok"},
              {"method": "lmf", "R": 90, "bytes": 900, "dev_accuracy": 0.85, "status": "ok"},
              {"method": "hmf", "R": 90, "bytes": 100, "dev_accuracy": None, "status": "error: rank"}]
    assert choose(trials, 0.80) == (trials[2], True)
    assert choose(trials, 0.95) == (trials[1], False)
    assert choose(trials[:1], 0.5) == (None, False)


def test_a_choice_that_clears_the_target_by_less_than_a_standard_error_says_so():
    """SST-2's choice in bench_autotune_6: dev 712 / 872 = 81.651 %, target 81.569 %: it clears it by
    0.08 points, 0.72 of an example (rounded, 1), less than sqrt(0.8165 x 0.1835 / 872) = 1.31
    points, so the note is given, and SUMMARY.md carries it after the choice. 2 points above the
    target is more than the standard error: no note. No dev example (nothing to judge by): none."""
    note = margin_note(712 / 872, 0.81569, 872, 74)
    assert note.startswith("It clears the target by 0.08 points (1 of 872 dev examples)")
    assert "about 1.3 points" in note and "the smallest of 74 trials" in note
    assert margin_note(0.8365, 0.81569, 872, 74) is None and margin_note(0.8, 0.79, 0, 5) is None
    summary = {"model": "dan", "data": "sst2", "base": {"bytes": 4_000_000, "dev_accuracy": 0.8257},
               "question": "max_drop", "max_drop": 1.0, "target_dev_accuracy": 0.81569, "target_met": True,
               "chosen": {"method": "prune_lmf_int8", "label": "Pruning + LMF + int8", "R": 96, "bytes": 130_840,
                          "dev_accuracy": 712 / 872},
               "state": "finished", "trials": 74, "seconds": 434.0, "margin_note": note}
    assert "The smallest model within it: Pruning + LMF + int8 at R = 96: 130,840 bytes (3.3% of the base), " \
           f"dev 81.65%. {note}" in summary_text(summary)


@pytest.fixture(scope="module")
def tuned(tiny_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("tune") / "out"
    return out, autotune(str(tiny_dir), "dan", out, max_drop=1.0, **SMALL)


def test_ends_with_a_saved_model_and_a_truthful_summary(tuned, tiny_dir):
    """The chosen model in model/ is what summary.json says: its bytes are model/'s bytes, its dev
    accuracy the runtime's on the quick dev split (its first QUICK["n_eval"] = 150 rows), within the target when target_met; every trial of
    trials.csv is one of the searched methods at an R in [80, 95], each stack beside its parent."""
    out, summary = tuned
    from lmf.data import load_dataset
    from lmf.metrics import size_on_disk
    chosen, base = summary["chosen"], summary["base"]
    assert summary["state"] == "finished" and summary["target_dev_accuracy"] == pytest.approx(
        base["dev_accuracy"] - 0.01)
    assert chosen["bytes"] == size_on_disk(out / "model") < base["bytes"]
    dev = load_dataset(str(tiny_dir)).subset(QUICK["n_train"], QUICK["n_eval"]).dev
    predicted = [label for label, _ in Predictor(out / "model").predict(dev.texts)]
    names = Predictor(out / "model").label_names
    assert chosen["dev_accuracy"] == pytest.approx(
        sum(p == names[y] for p, y in zip(predicted, dev.labels)) / len(dev.labels))
    assert summary["target_met"] == (chosen["dev_accuracy"] >= summary["target_dev_accuracy"])
    assert summary["margin_note"] == (margin_note(chosen["dev_accuracy"], summary["target_dev_accuracy"],
                                                  len(dev.labels), summary["trials"]) if summary["target_met"] else None)
    assert chosen["test_accuracy"] is not None and base["test_accuracy"] is not None
    assert json.loads((out / "model" / "manifest.json").read_text())["int8"] == chosen["method"].endswith("int8")
    assert (out / "saved_model" / "meta.json").is_file()
    trials = rows(out)
    assert {r["method"] for r in trials} == {"uncompressed", "lmf", "lmf_int8"}
    assert all(80 <= int(r["R"]) <= 95 for r in trials if r["method"] != "uncompressed")
    assert {r["R"] for r in trials if r["method"] == "lmf_int8"} <= {r["R"] for r in trials if r["method"] == "lmf"}
    assert ("Target met" if summary["target_met"] else "Target NOT met") in (out / "SUMMARY.md").read_text()


def test_resume_skips_finished_trials(tuned, monkeypatch):
    """The same --out again: every trial is in trials.csv, so nothing is trained (Runner.build is
    never called) and the summary chooses the same model."""
    out, summary = tuned
    builds = []
    monkeypatch.setattr(at.Tuner, "build", lambda *a, **k: builds.append(a) or pytest.fail("trained again"))
    again = autotune(summary["data"], "dan", out, max_drop=1.0, **SMALL)
    assert builds == [] and again["chosen"] == summary["chosen"] and len(rows(out)) == len(rows(tuned[0]))


def test_resume_after_a_kill_runs_only_the_missing_trials(tuned, tmp_path, monkeypatch):
    """A copy of the finished folder with its int8 trials taken out of trials.csv (as if killed
    before they were written): the rerun builds exactly those again (quantizing is deterministic,
    so the stack's bisection takes the same steps), and neither the base nor an LMF parent."""
    import shutil
    out = tmp_path / "out"
    shutil.copytree(tuned[0], out)
    trials = rows(out)
    kept = [r for r in trials if r["method"] != "lmf_int8"]
    dropped = [r for r in trials if r["method"] == "lmf_int8"]
    from lmf.results import write_rows
    write_rows(out / "trials.csv", kept, list(trials[0]))
    built, build = [], at.Tuner.build

    def counting(self, cell, *args, **kwargs):
        built.append((cell.method, cell.reduction))
        return build(self, cell, *args, **kwargs)
    monkeypatch.setattr(at.Tuner, "build", counting)
    autotune(tuned[1]["data"], "dan", out, max_drop=1.0, **SMALL)
    assert sorted(built) == sorted((r["method"], int(r["R"])) for r in dropped)
    assert len(rows(out)) == len(trials)


def test_impossible_target_saves_the_best_and_says_it_missed(tiny_dir, tmp_path, monkeypatch):
    """Every compressed model scores 0.30 on dev and the base 0.60 (monkeypatched measurement), at
    --max-drop 0: none is within, yet model/ holds the best one tried and the summary says so."""
    real = at.deployable_accuracy

    def scripted(export_dir, data, split):
        if split == "test":
            return real(export_dir, data, split)
        return 0.60 if "uncompressed" in export_dir.name else 0.30
    monkeypatch.setattr(at, "deployable_accuracy", scripted)
    out = tmp_path / "out"
    summary = autotune(str(tiny_dir), "dan", out, max_drop=0.0, **{**SMALL, "methods": ["lmf"]})
    assert summary["target_met"] is False and summary["chosen"]["dev_accuracy"] == 0.30
    assert summary["chosen"]["drop_points"] == pytest.approx(30.0)
    # Every R fails, so the bisection walks down to 80: 88, 84, 82, 81, 80.
    assert sorted(int(r["R"]) for r in rows(out) if r["method"] == "lmf") == [80, 81, 82, 84, 88]
    assert (out / "model" / "model.onnx").is_file()
    text = (out / "SUMMARY.md").read_text()
    assert "Target NOT met" in text and "30.00 points below the base" in text


def every_trial_takes(seconds, monkeypatch):
    """A fake clock (returned): every trial autotune runs advances it by `seconds` and records that time."""
    clock = {"now": 0.0}
    monkeypatch.setattr(at.time, "perf_counter", lambda: clock["now"])
    run = at.Tuner.run

    def slow(self, cell, progress=False):
        record = run(self, cell, progress)
        clock["now"] += seconds
        record["seconds"] = seconds
        at.write_json_atomic(self.cell_file(cell), record)
        return record
    monkeypatch.setattr(at.Tuner, "run", slow)
    return clock


def test_budget_stops_new_trials(tiny_dir, tmp_path, monkeypatch):
    """A budget of 0.15 minute = 9 s with every trial taking 4 s (a fake clock): the base (always
    run) ends at 4 s; LMF at R = 88 would end at 8 s <= 9, so it runs; its int8 stack, of a kind not
    timed yet, starts at 8 s, before the budget, and ends at 12 s; then nothing starts (12 s is past
    it). The run ended within the budget plus one trial's time: 12 <= 9 + 4."""
    clock = every_trial_takes(4.0, monkeypatch)
    out = tmp_path / "out"
    summary = autotune(str(tiny_dir), "dan", out, max_drop=1.0, budget_minutes=0.15, **SMALL)
    assert summary["state"] == "budget"
    assert [(r["method"], r["R"]) for r in rows(out)] == [("uncompressed", "0"), ("lmf", "88"), ("lmf_int8", "88")]
    assert clock["now"] == 12.0 <= 9 + 4
    assert "budget" in (out / "SUMMARY.md").read_text()


def test_refuses_a_folder_it_did_not_write(tiny_dir, tmp_path):
    """--out holding someone's files: error and status 2 before any training; the file is kept.
    An earlier autotune of other data in --out is refused too."""
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    assert main(["autotune", "--data", str(tiny_dir), "--out", str(tmp_path / "mine"), "--quick", "--quiet"]) == 2
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "autotune.json").write_text(json.dumps({"format": FORMAT, "data": "clinc150"}))
    assert main(["autotune", "--data", str(tiny_dir), "--out", str(tmp_path / "other"), "--quick", "--quiet"]) == 2


@pytest.mark.parametrize("r_range", [(60, 50), (0, 90), (50, 100)])
def test_a_bad_r_range_is_refused_before_anything_runs(tmp_path, r_range):
    """R min above R max, 0 or 100: a clear ValueError, and no output folder made."""
    with pytest.raises(ValueError, match="R range"):
        autotune("sst2", "dan", tmp_path / "out", r_range=r_range)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("argv, message", [
    (["--budget-minutes", "0"], "time budget 0.0"), (["--budget-minutes", "-1"], "time budget -1.0"),
    (["--budget-minutes", "inf"], "time budget inf"), (["--max-drop", "-1"], "tolerance (max drop) -1.0"),
    (["--max-drop", "nan"], "tolerance (max drop) nan"), (["--max-drop", "101"], "tolerance (max drop) 101.0"),
    (["--jobs", "0"], "jobs 0"), (["--r-min", "60", "--r-max", "50"], "R range")])
def test_the_cli_refuses_bad_settings_before_reading_the_data(tmp_path, capsys, argv, message):
    """A budget of 0, -1 or infinite minutes, a tolerance of -1, NaN or above 100 points, 0 jobs or
    an empty R range once ran (and exited 0 with "Target: dev accuracy at least nan%"): now
    `error:` naming the setting, status 2, and nothing written. The data named does not exist, so
    reaching it would be a different error."""
    out = tmp_path / "out"
    assert main(["autotune", "--data", str(tmp_path / "no-such-data"), "--out", str(out), "--quiet", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "no-such-data" not in err
    assert not out.exists()


def test_one_check_of_the_settings_for_the_cli_autotune_and_the_jobs(tmp_path):
    """check_settings is the rule; autotune() and studio.jobs (what the Your data page submits
    through) refuse the same NaN tolerance with the same words, before anything is written."""
    from lmf.autotune import check_settings
    from studio import jobs
    assert check_settings("dan", 1.0, 30.0, 500_000) is None and check_settings("lstm", 0, None) is None
    for bad in [{"max_drop": float("nan")}, {"budget_minutes": 0}, {"max_bytes": 0}, {"model": "bert"},
                {"max_drop": "1"}, {"budget_minutes": True}, {"jobs": True}]:
        with pytest.raises(ValueError):
            check_settings(**bad)
    with pytest.raises(ValueError, match=r"tolerance \(max drop\) nan") as raised:
        autotune("sst2", "dan", tmp_path / "out", max_drop=float("nan"))
    with pytest.raises(ValueError) as from_jobs:
        jobs.create_job({}, "mine", "dan", max_drop=float("nan"), root=tmp_path / "jobs")
    assert str(from_jobs.value) == str(raised.value)
    assert not (tmp_path / "out").exists() and not (tmp_path / "jobs").exists()


def test_parse_bytes():
    """Decimal units, as the artifacts' sizes are counted: 0.5MB = 500kB = 500000 bytes."""
    from lmf.autotune import parse_bytes
    assert parse_bytes("500000") == parse_bytes("500kB") == parse_bytes("0.5MB") == parse_bytes("0.5 M") == 500_000
    for bad in ["", "-1", "1TB", "MB", "five", "1e400", "1e400kB"]:  # 1e400 overflows a float to infinity
        with pytest.raises(ValueError):
            parse_bytes(bad)


def test_data_warnings_worked_examples(toy):
    """The toy set's dev and test have 2 examples: one is worth 100 / 2 = 50 points, more than one
    point, and 100 examples would resolve one; at --max-drop 0.5 the tolerance is what cannot be
    resolved, and 100 / 0.5 = 200 examples would. Both classes are in every split."""
    from lmf.autotune import data_warnings
    dev, test = data_warnings(toy, 1.0)
    assert dev.startswith("The dev set has 2 example(s): one is worth 50 points") and "(100 or more" in dev
    assert test.startswith("The test set has 2 example(s)")
    assert "the 0.5-point tolerance" in data_warnings(toy, 0.5)[0] and "(200 or more" in data_warnings(toy, 0.5)[0]
    toy.dev.labels = [1, 1]
    assert data_warnings(toy, 1.0)[0].startswith("The dev set holds one class only ('positive')")


def small_set(directory, dev_rows, rows=5):
    """train/dev/test.tsv with `rows` training and test sentences of both labels and `dev_rows`."""
    directory.mkdir()
    train = [("a good film", 1), ("a bad film", 0), ("great fun", 1), ("awful mess", 0), ("good fun", 1)]
    write_split(directory / "train.tsv", ["sentence", "label"], train[:rows])
    write_split(directory / "dev.tsv", ["sentence", "label"], dev_rows)
    write_split(directory / "test.tsv", ["sentence", "label"], train[:rows])
    return directory


def test_a_five_row_set_says_its_numbers_mean_little(tmp_path):
    """5 rows in each split: autotune still runs and may well say "Target met" (once at 80 %),
    but summary.json's warnings and SUMMARY.md, first, say that one dev example is 20 points."""
    data = small_set(tmp_path / "five", [("a good film", 1), ("a bad film", 0), ("great fun", 1),
                                         ("awful mess", 0), ("good fun", 1)])
    summary = autotune(str(data), "dan", tmp_path / "out", max_drop=1.0, **{**SMALL, "methods": ["lmf"]})
    assert any(w.startswith("The dev set has 5 example(s): one is worth 20 points") for w in summary["warnings"])
    text = (tmp_path / "out" / "SUMMARY.md").read_text()
    assert text.split("\n")[2].startswith("**Warning:** ")
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["warnings"] == summary["warnings"]


def test_a_one_class_dev_set_is_said_to_mean_nothing(tiny_dir, tmp_path):
    """Training data of both classes, a dev set of 120 positive sentences only (enough that one
    example is under a point): every model that answers "1" scores 100 % on dev, so the summary
    says the dev accuracy means nothing, whatever the verdict."""
    lines = (tiny_dir / "train.tsv").read_text().splitlines()
    (tmp_path / "one").mkdir()
    for split in ("train", "test"):
        (tmp_path / "one" / f"{split}.tsv").write_text((tiny_dir / f"{split}.tsv").read_text())
    positive = [line for line in lines[1:] if line.endswith("\t1")][:120]
    (tmp_path / "one" / "dev.tsv").write_text("\n".join([lines[0], *positive]) + "\n")
    summary = autotune(str(tmp_path / "one"), "dan", tmp_path / "out", max_drop=1.0, **{**SMALL, "methods": ["lmf"]})
    assert [w for w in summary["warnings"] if "one class" in w] == [
        ("The dev set holds one class only ('1'): a model that always answers '1' scores 100% on it, so its "
         "accuracy cannot tell the models apart and means nothing.")]
    assert "**Warning:** The dev set holds one class only" in (tmp_path / "out" / "SUMMARY.md").read_text()


def test_no_warning_where_the_data_can_tell_a_point_apart(tuned):
    """The tiny SST-2 directory in quick mode: 150 dev and test examples of both classes (one is
    0.67 point): no data warning (the quick base may still be at chance: only that may be said)."""
    assert all(w.startswith("The base model scores") for w in tuned[1]["warnings"])


def test_a_second_autotune_on_the_same_out_is_refused_while_the_first_runs(tuned, tmp_path, capsys):
    """While another run holds autotune.lock (flock'd here through a second open file, as another
    process would, with pid 4242 in it), autotune on that --out is refused naming the pid, in the
    CLI as error: and status 2, and trials.csv is left as it was. Once the lock is free the same
    command resumes; the file's stale pid (a dead run's) is replaced by this process's."""
    import fcntl
    import os
    import shutil
    out = tmp_path / "out"
    shutil.copytree(tuned[0], out)
    before = (out / "trials.csv").read_text()
    with open(out / "autotune.lock", "w") as holder:
        holder.write("4242\n")
        holder.flush()
        fcntl.flock(holder, fcntl.LOCK_EX)
        with pytest.raises(FileExistsError, match=r"in use by another autotune \(pid 4242\)"):
            autotune(tuned[1]["data"], "dan", out, max_drop=1.0, **SMALL)
        argv = ["autotune", "--data", tuned[1]["data"], "--out", str(out), "--quick", "--quiet", "--r-min", "80",
                "--r-max", "95"]
        assert main(argv) == 2 and "pid 4242" in capsys.readouterr().err
    assert (out / "trials.csv").read_text() == before
    seen = []
    again = autotune(tuned[1]["data"], "dan", out, max_drop=1.0,
                     on_trial=lambda *a: seen.append((out / "autotune.lock").read_text()), **SMALL)
    assert again["chosen"] == tuned[1]["chosen"] and seen == [f"{os.getpid()}\n"]
    with open(out / "autotune.lock") as free:
        fcntl.flock(free, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released at the end: no BlockingIOError


def test_vectors_reaches_the_lstm(tiny_dir, tmp_path, capsys):
    """The hint autotune prints for the LSTM offers --vectors, which its parser once refused
    ("unrecognized arguments"). A 4-dimensional GloVe-format file of three words: the base LSTM's
    embedding is 4-d (vectors set the dimension), the note names the file, and the folder's marker
    records it; a missing file is error: and status 2."""
    vectors = tmp_path / "tiny.txt"
    vectors.write_text("the 0.1 0.2 0.3 0.4\nfilm 0.5 0.1 0.0 0.2\ngood -0.1 0.3 0.2 0.0\n")
    out = tmp_path / "out"
    argv = ["autotune", "--data", str(tiny_dir), "--model", "lstm", "--quick", "--quiet", "--r-min", "90",
            "--r-max", "95", "--budget-minutes", "0.01"]
    assert main([*argv, "--out", str(out), "--vectors", str(vectors)]) == 0
    assert f"the word vectors ({vectors}) cover" in capsys.readouterr().out
    from lmf.layout import saved_config
    [base] = (out / "work").rglob("models/*-lstm-uncompressed-s0")
    assert saved_config(base)["embed_dim"] == 4
    assert json.loads((out / "autotune.json").read_text())["vectors"] == str(vectors)
    assert main([*argv, "--out", str(tmp_path / "out2"), "--vectors", str(tmp_path / "none.txt")]) == 2
    assert "vectors file not found" in capsys.readouterr().err


def test_choose_under_a_size():
    """Under 1000 bytes: A (900, 0.85) and B (500, 0.80) fit and A is more accurate: A, met. Under
    400: none fits, so the smallest (B), not met. The base counts like any trial: under 6000 it
    fits and is the most accurate (0.99)."""
    from lmf.autotune import choose_under
    trials = [{"method": "uncompressed", "R": 0, "bytes": 5000, "dev_accuracy": 0.99, "status": "ok"},
              {"method": "lmf", "R": 80, "bytes": 900, "dev_accuracy": 0.85, "status": "ok"},
              {"method": "lmf", "R": 90, "bytes": 500, "dev_accuracy": 0.80, "status": "ok"},
              {"method": "hmf", "R": 90, "bytes": None, "dev_accuracy": None, "status": "error: rank"}]
    assert choose_under(trials, 1000) == (trials[1], True)
    assert choose_under(trials, 400) == (trials[2], False)
    assert choose_under(trials, 6000) == (trials[0], True)


def scripted_sizes(monkeypatch):
    """Exports of the LMF model at R weigh 10000 - 100 R bytes (R = 80: 2000) and score 0.9 - R / 1000
    on dev; the base weighs 10000 and scores 0.95 (test accuracy stays real)."""
    def r_of(export_dir):
        match = at.re.search(r"-R(\d+)-", export_dir.name + "-")
        return int(match.group(1)) if match else 0
    real = at.deployable_accuracy
    monkeypatch.setattr(at, "size_on_disk", lambda d: 10000 - 100 * r_of(Path(d)))
    monkeypatch.setattr(at, "deployable_accuracy", lambda d, data, split: real(d, data, split) if split == "test"
                        else (0.95 if r_of(Path(d)) == 0 else 0.9 - r_of(Path(d)) / 1000))


def test_the_size_question_finds_the_smallest_r_that_fits(tiny_dir, tmp_path, monkeypatch):
    """--max-bytes 2000 with the sizes of scripted_sizes over R in [70, 95]: bytes fall as R grows,
    so the bisection seeks the smallest R that fits, 80: 83 fits, 76 does not, 80 fits, 78 and 79 do
    not. The base (10000 bytes) does not fit; the most accurate fitting trial is R = 80."""
    scripted_sizes(monkeypatch)
    out = tmp_path / "out"
    summary = autotune(str(tiny_dir), "dan", out, max_bytes=2000, **{**SMALL, "methods": ["lmf"], "r_range": (70, 95)})
    assert [int(r["R"]) for r in rows(out) if r["method"] == "lmf"] == [76, 78, 79, 80, 83]
    assert summary["question"] == "max_bytes" and summary["max_bytes"] == 2000 and summary["target_met"]
    assert (summary["chosen"]["method"], summary["chosen"]["R"], summary["chosen"]["bytes"]) == ("lmf", 80, 2000)
    assert summary["target_dev_accuracy"] is None
    assert {r["R"]: r["within_target"] for r in rows(out) if r["base"] == summary["base"]["recipe"]} == {
        "0": "False", "76": "False", "78": "False", "79": "False", "80": "True", "83": "True"}
    text = (out / "SUMMARY.md").read_text()
    assert "at most 2,000 bytes" in text and "Target met. The most accurate model that fits: Online LMF" in text


def test_the_base_is_chosen_when_it_fits_and_is_the_most_accurate(tiny_dir, tmp_path, monkeypatch):
    """--max-bytes 10000: everything fits (the bisection walks down to 70: 83, 76, 73, 71, 70) and
    the base, 0.95 on dev, is the most accurate: it is the answer, with its test accuracy."""
    scripted_sizes(monkeypatch)
    out = tmp_path / "out"
    summary = autotune(str(tiny_dir), "dan", out, max_bytes=10000, **{**SMALL, "methods": ["lmf"], "r_range": (70, 95)})
    assert sorted(int(r["R"]) for r in rows(out) if r["method"] == "lmf") == [70, 71, 73, 76, 83]
    assert summary["chosen"]["method"] == "uncompressed" and summary["chosen"]["bytes_fraction"] == 1.0
    assert summary["chosen"]["test_accuracy"] == summary["base"]["test_accuracy"] is not None
    assert "The most accurate model that fits: the base itself" in (out / "SUMMARY.md").read_text()


@pytest.mark.parametrize("size, message", [("0", "size limit (max bytes) 0"), ("lots", "size 'lots'")])
def test_the_cli_refuses_a_bad_size(tmp_path, capsys, size, message):
    assert main(["autotune", "--data", "sst2", "--out", str(tmp_path / "out"), "--max-bytes", size]) == 2
    assert message in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_the_fast_recipes(tiny_dir, tmp_path):
    """How a tuned base and every retraining train (Tuner with fast=True) on the 200-example
    directory: batch 4 x 128 = 512, so ceil(200 / 512) = 1 step an epoch and dev accuracy every
    step; the base at its recipe's rate with the recipe's lr_lb / lr_ub ratio (5e-4 / 1e-2 = 1/20)
    for at most 30 epochs; the retraining at twice the retraining recipe's rates (2e-3, 2e-4) for at
    most 10; early stopping after 4 evaluations without a better dev accuracy, a base's not before
    its 10th. Without fast, the
    sweep's recipes as they are."""
    from lmf.autotune import BaseRecipe, Tuner
    from lmf.methods import Cell
    from lmf.train import recipe
    fast = Tuner(tmp_path, data={"tiny": str(tiny_dir)}, base=BaseRecipe(0.03, 64, (256, 128)), fast=True)
    base, retrain = fast.config(Cell("tiny", "dan", "uncompressed")), fast.config(Cell("tiny", "dan", "lmf", 90), True)
    assert (base.batch_size, base.lr_ub, base.lr_lb, base.epochs, base.min_steps, base.eval_every) == (
        512, 0.03, pytest.approx(0.0015), 30, 0, 1)
    assert (retrain.batch_size, retrain.lr_ub, retrain.lr_lb, retrain.epochs, retrain.eval_every) == (
        512, pytest.approx(2e-3), pytest.approx(2e-4), 10, 1)
    assert (fast.patience, fast.warmup) == (4, 10)
    plain = Tuner(tmp_path, data={"tiny": str(tiny_dir)})
    assert plain.config(Cell("tiny", "dan", "uncompressed")) == recipe("dan") and plain.patience is None
    assert plain.warmup == 0


def test_a_tuned_base_is_one_model_per_seed(tiny_dir, tmp_path):
    """The small DAN shape at lr 0.1 trained twice the fast way (early stopping included) gives the
    same weights: stopping depends on dev accuracies alone. Its shape is the recipe's: 64-d, 256, 128."""
    import torch
    from lmf.autotune import BaseRecipe, Tuner
    from lmf.methods import Cell
    tuner = Tuner(tmp_path, data={"tiny": str(tiny_dir)}, base=BaseRecipe(0.1, 64, (256, 128)), fast=True)
    cell = Cell("tiny", "dan", "uncompressed")
    first, second = (tuner.build(cell, tuner.data("tiny"))[0].state_dict() for _ in range(2))
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert first["embedding.table.weight"].shape[1] == 64 and first["layers.1.weight"].shape == (128, 256)


def scripted_bases(monkeypatch, dev):
    """Dev accuracy by base recipe name (`dev`), 0.5 for every compressed model; test stays real."""
    real = at.deployable_accuracy

    def scripted(export_dir, data, split):
        if split == "test":
            return real(export_dir, data, split)
        name = Path(export_dir).parent.parent.name
        return dev[name] if "uncompressed" in Path(export_dir).name else 0.5
    monkeypatch.setattr(at, "deployable_accuracy", scripted)


BASE_DEV = {"d64-h256x128-lr0.03": 0.60, "d64-h256x128-lr0.1": 0.70, "d64-h256x128-lr0.01": 0.55,
            "d300-h1024x512-lr0.1": 0.65, "d300-h1024x512-lr0.03": 0.68, "d64-h256x128-lr0.1-ng2": 0.72}


def test_the_base_is_tuned_by_coordinate_search(tiny_dir, tmp_path, monkeypatch):
    """Dev accuracies scripted by recipe: the small shape at lr 0.03, 0.1, 0.01 (the recipe's 1e-2
    times 3, 10, 1) scores 0.60, 0.70, 0.55, so the paper's shape is tried at 0.1 and at the next
    lower rate, 0.03 (0.65, 0.68), never at 0.01; then the best so far, small at 0.1, with word
    pairs (0.72). That one is the reference: every compressed trial is made from it, the target is
    0.72 - 0.01, and trials.csv lists the six bases with their steps. Its model reads hashed
    2-grams in lmf.ngrams.DEFAULT_BUCKETS more rows."""
    scripted_bases(monkeypatch, BASE_DEV)
    out = tmp_path / "out"
    summary = autotune(str(tiny_dir), "dan", out, max_drop=1.0, **{**SMALL, "methods": ["lmf"]})
    bases = [r for r in rows(out) if r["method"] == "uncompressed"]
    assert {r["base"] for r in bases} == set(BASE_DEV) and all(int(r["steps"]) == 12 for r in bases)
    best = "d64-h256x128-lr0.1-ng2"
    assert summary["base"]["recipe"] == best and summary["base_trials"] == 6
    assert summary["target_dev_accuracy"] == pytest.approx(0.71) and summary["tune_base"] is True
    assert {r["base"] for r in rows(out) if r["method"] != "uncompressed"} == {best}
    assert summary["base_saved_model_dir"].startswith(f"work/bases/{best}/models/")
    assert f"{best}, the best on dev of 6 base recipe(s) tried" in (out / "SUMMARY.md").read_text()
    from lmf.layout import saved_config
    from lmf.ngrams import DEFAULT_BUCKETS
    config = saved_config(out / summary["base_saved_model_dir"])
    assert (config["ngrams"], config["buckets"], config["embed_dim"]) == (2, DEFAULT_BUCKETS, 64)


def test_the_ngram_dan_is_tuned_as_the_dan_without_the_word_pair_stage(tiny_dir, tmp_path):
    """--model dan_ngram (lmf.names.MODEL_KINDS) passes the settings' check and runs: its bases are
    the DAN's five recipes (the small shape at lr 0.03, 0.1, 0.01, then the paper's at the best
    rate and the next lower one, unless 0.01 wins: then at 0.01 only, 4 bases), never a "-ng2"
    one (the kind reads word pairs already); the reference base reads hashed 2-grams in
    lmf.ngrams.DEFAULT_BUCKETS rows, and LMF is searched on it."""
    from lmf.autotune import check_settings
    from lmf.layout import saved_config
    from lmf.ngrams import DEFAULT_BUCKETS
    assert check_settings("dan_ngram") is None
    out = tmp_path / "out"
    summary = autotune(str(tiny_dir), "dan_ngram", out, max_drop=1.0, **{**SMALL, "methods": ["lmf"],
                                                                          "r_range": (90, 95)})
    bases = {r["base"] for r in rows(out) if r["method"] == "uncompressed"}
    small = {"d64-h256x128-lr0.03", "d64-h256x128-lr0.1", "d64-h256x128-lr0.01"}
    assert small < bases and len(bases) in (4, 5) and not any("ng" in b for b in bases)
    assert summary["model"] == "dan_ngram" and summary["base_trials"] == len(bases)
    config = saved_config(out / summary["base_saved_model_dir"])
    assert (config["arch"], config["ngrams"], config["buckets"]) == ("dan", 2, DEFAULT_BUCKETS)
    assert {r["method"] for r in rows(out)} == {"uncompressed", "lmf"} and summary["chosen"]["method"] == "lmf"


def test_the_base_search_resumes(tiny_dir, tmp_path, monkeypatch):
    """Killed after two bases (trials.csv holds only those): the rerun trains the other four, and
    not the two it has, then the compressed trials."""
    scripted_bases(monkeypatch, BASE_DEV)
    out = tmp_path / "out"
    autotune(str(tiny_dir), "dan", out, max_drop=1.0, **{**SMALL, "methods": ["lmf"]})
    kept = [r for r in rows(out) if r["base"] in ("d64-h256x128-lr0.03", "d64-h256x128-lr0.1")
            and r["method"] == "uncompressed"]
    from lmf.results import write_rows
    write_rows(out / "trials.csv", kept, list(kept[0]))
    built, build = [], at.Tuner.build

    def counting(self, cell, *args, **kwargs):
        built.append((self.base.name, cell.method))
        return build(self, cell, *args, **kwargs)
    monkeypatch.setattr(at.Tuner, "build", counting)
    autotune(str(tiny_dir), "dan", out, max_drop=1.0, **{**SMALL, "methods": ["lmf"]})
    assert [b for b in built if b[1] == "uncompressed"] == [("d64-h256x128-lr0.01", "uncompressed"),
                                                            ("d300-h1024x512-lr0.1", "uncompressed"),
                                                            ("d300-h1024x512-lr0.03", "uncompressed"),
                                                            ("d64-h256x128-lr0.1-ng2", "uncompressed")]
    assert {b for b in built if b[1] != "uncompressed"} == {("d64-h256x128-lr0.1-ng2", "lmf")}


def test_the_base_search_keeps_to_its_share_of_the_budget(tiny_dir, tmp_path, monkeypatch):
    """Half a minute, every trial 4 s on a fake clock: bases may start while the time so far plus
    the fastest base (4 s) stays within 0.4 x 30 = 12 s: at 0, 4 and 8 s (8 + 4 = 12), not at 12 s,
    so the paper's shape is never tried; the compressed searches get the rest (a retraining starts
    while the time so far plus 4 s is within 30 s)."""
    clock = every_trial_takes(4.0, monkeypatch)
    out = tmp_path / "out"
    summary = autotune(str(tiny_dir), "dan", out, max_drop=1.0, budget_minutes=0.5, **{**SMALL, "methods": ["lmf"]})
    assert sorted(r["base"] for r in rows(out) if r["method"] == "uncompressed") == [
        "d64-h256x128-lr0.01", "d64-h256x128-lr0.03", "d64-h256x128-lr0.1"]
    assert summary["trials"] >= 1 and clock["now"] <= 30 + 4


def test_no_tune_base_trains_as_the_sweep_and_resumes_a_folder_made_before_bases_were_tuned(tiny_dir, tmp_path,
                                                                                             monkeypatch, capsys):
    """--no-tune-base: one base, "recipe", in work/ (the layout autotune always had), trained with
    lmf.train's recipe (4 epochs of ceil(200 / 128) = 2 steps, under the quick cap of 12; no early
    stopping). The same folder with trials.csv's base
    column removed (as autotune wrote it before) resumes without training anything; the default
    (tuning the base) refuses it and says how to resume it."""
    out = tmp_path / "out"
    argv = ["autotune", "--data", str(tiny_dir), "--out", str(out), "--quick", "--quiet", "--r-min", "88",
            "--r-max", "95"]
    assert main([*argv, "--no-tune-base"]) == 0
    trials = rows(out)
    assert [(r["base"], r["steps"]) for r in trials if r["method"] == "uncompressed"] == [("recipe", "8")]
    assert (out / "work" / "models").is_dir() and not (out / "work" / "bases").exists()
    assert "tune_base" not in json.loads((out / "autotune.json").read_text())
    from lmf.results import write_rows
    old_columns = ["method", "R", "bytes", "dev_accuracy", "seconds", "status", "within_target"]
    write_rows(out / "trials.csv", trials, old_columns)
    monkeypatch.setattr(at.Tuner, "build", lambda *a, **k: pytest.fail("trained again"))
    assert main([*argv, "--no-tune-base"]) == 0
    capsys.readouterr()
    assert main(argv) == 2 and "resumes with --no-tune-base" in capsys.readouterr().err


def test_a_job_asks_the_size_question(tiny_dir, tmp_path):
    """studio.jobs takes max_bytes as a job setting (what the Your data page offers): checked with
    autotune's own rule (0 is refused, nothing written), kept in job.json, passed to autotune; a
    summary whose answer is the base itself gives one results.csv row, not the base twice."""
    from studio import jobs
    files = {s: (f"{s}.tsv", (tiny_dir / f"{s}.tsv").read_bytes()) for s in ("train", "dev", "test")}
    art = tmp_path / "artifacts"
    with pytest.raises(ValueError, match=r"size limit \(max bytes\) 0"):
        jobs.create_job(files, "mine", max_bytes=0, artifacts=art, root=tmp_path / "jobs")
    assert not (tmp_path / "jobs").exists()
    job_id = jobs.create_job(files, "mine", max_bytes=500_000, artifacts=art, root=tmp_path / "jobs")
    assert jobs.status(job_id, tmp_path / "jobs")["max_bytes"] == 500_000
    base = {"bytes": 400_000, "dev_accuracy": 0.8, "test_accuracy": 0.79}
    chosen = {**base, "method": "uncompressed", "R": 0, "bytes_fraction": 1.0}
    assert [r["method"] for r in jobs.result_rows("mine", "dan", {"base": base, "chosen": chosen})] == ["uncompressed"]


def test_remake_the_choice_with_another_seed(tuned, tmp_path):
    """The chosen model made again with seed 1 (its base recipe, then its method's chain at its R):
    another model of the same architecture, so an export of the same bytes to a few (protobuf
    writes some numbers in a length that depends on the value), with its own dev and test accuracy;
    its cells carry the seed (-s1) beside the search's; trials.csv is untouched. Seed 0 is the
    search's own model and is refused."""
    import shutil
    from lmf.autotune import remake
    out = tmp_path / "out"
    shutil.copytree(tuned[0], out)
    before = (out / "trials.csv").read_text()
    again = remake(out, 1)
    chosen = tuned[1]["chosen"]
    assert again["bytes"] == pytest.approx(chosen["bytes"], abs=64) and 0 <= again["test_accuracy"] <= 1
    assert list(out.rglob(f"exports/*-{chosen['method']}-R{chosen['R']}-s1"))
    assert (out / "trials.csv").read_text() == before
    with pytest.raises(ValueError, match="seed 0"):
        remake(out, 0)


def test_a_slow_base_does_not_stand_for_a_retraining(tiny_dir, tmp_path, monkeypatch):
    """A budget of 0.2 minute = 12 s on a fake clock, the one base taking 8 s and every other trial
    2 s: after the base (8 s) the LMF retraining may start, no retraining having been timed yet (the
    base's 8 s would have said it ends at 16 s, past the budget, and none ran); it ends at 10 s,
    when its int8 stack, not timed yet either, starts and ends at 12 s: then nothing starts."""
    clock = {"now": 0.0}
    monkeypatch.setattr(at.time, "perf_counter", lambda: clock["now"])
    run = at.Tuner.run

    def timed(self, cell, progress=False):
        record = run(self, cell, progress)
        record["seconds"] = 8.0 if cell.method == "uncompressed" else 2.0
        clock["now"] += record["seconds"]
        at.write_json_atomic(self.cell_file(cell), record)
        return record
    monkeypatch.setattr(at.Tuner, "run", timed)
    out = tmp_path / "out"
    summary = autotune(str(tiny_dir), "dan", out, max_drop=1.0, budget_minutes=0.2, tune_base=False, **SMALL)
    assert [(r["method"], r["R"]) for r in rows(out)] == [("uncompressed", "0"), ("lmf", "88"), ("lmf_int8", "88")]
    assert summary["trials"] == 2 and summary["state"] == "budget" and clock["now"] == 12


def test_base_warning_at_chance(toy):
    """The toy dev set is one positive and one negative: always answering either scores 1/2, so a
    base at 50% has learnt nothing (said), one at 100% has (nothing said)."""
    from lmf.autotune import base_warning
    assert base_warning(toy, 0.5) == ("The base model scores 50.00% on dev, no better than always answering its most "
                                      "frequent class (50.00%): it has learnt nothing a compressed model could keep.")
    assert base_warning(toy, 1.0) is None


def test_a_search_spends_its_trials_where_a_better_answer_can_come_from(tiny_dir, tmp_path):
    """Base dev 0.80, tolerance 1 point: a trial answers at dev >= 0.79. So far whole-model LMF
    + int8 answered at R=88 with 300 kB (its promise, and its parent whole-model LMF's: the
    fewest bytes of theirs or their stack's answers), GroupReduce at R=75 with 900 kB, HMF failed
    at R=75 (0.70), and LMF has no trial. Best first: LMF (no answer yet, so it is explored)
    before HMF (none either), then whole-model LMF and its stack (300 kB), GroupReduce last
    (900 kB), whatever the round's rotation; for the size question (--max-bytes 1,000,000) the order is by dev accuracy."""
    from lmf.autotune import Search

    search = Search(str(tiny_dir), "dan", tmp_path / "out", max_drop=1.0, tune_base=False,
                    methods=["lmf", "hmf", "groupreduce", "lmf_whole", "lmf_whole_int8"])
    base = "recipe"  # the one base without tuning: the reference once its trial is in
    row = dict(status="ok", seconds=1.0)
    search.trials = {(base, "uncompressed", 0): {**row, "base": base, "method": "uncompressed", "R": 0,
                                                 "bytes": 9_000_000, "dev_accuracy": 0.80},
                     (base, "lmf_whole", 88): {**row, "bytes": 1_000_000, "dev_accuracy": 0.795},
                     (base, "lmf_whole_int8", 88): {**row, "bytes": 300_000, "dev_accuracy": 0.79},
                     (base, "groupreduce", 75): {**row, "bytes": 900_000, "dev_accuracy": 0.80},
                     (base, "hmf", 75): {**row, "bytes": 800_000, "dev_accuracy": 0.70}}
    promise = {name: search.promise(name) for name in search.searched}
    assert promise == {"lmf": None, "hmf": None, "groupreduce": 900_000, "lmf_whole": 300_000,
                       "lmf_whole_int8": 300_000}
    assert search.reference == base
    # The stack's next probe (R=94, between 88 and R_MAX=99) needs its parent's model at R=94 first:
    # the same cell as whole-model LMF's own next probe, proposed once.
    order = [(p.cell.method, p.cell.reduction) for p in search.proposals(0)]
    # Bisection's next Rs (next_probe): LMF 75 (50..99 open), HMF 62 (50..74), GroupReduce 88 (76..99).
    assert order == [("lmf", 75), ("hmf", 62), ("lmf_whole", 94), ("groupreduce", 88)]
    assert [(p.cell.method, p.cell.reduction) for p in search.proposals(3)] == order
    search.max_bytes = 1_000_000
    assert search.promise("lmf_whole") == -0.795 and search.promise("hmf") == -0.70
    search.close()


def test_a_bad_from_is_refused_before_out_exists(tiny_dir, tmp_path):
    """--from checked before --out is made (a leftover folder of the refused settings would then
    refuse the corrected run): an LSTM given as a DAN names its kind; an export is no saved model; a
    model whose labels the data does not have is a DataError. A DAN made for the data passes."""
    from lmf.artifacts import ArtifactError, save_model
    from lmf.data import DataError, load_directory
    from lmf.export import export_model
    from lmf.models import build_model, default_config
    data = load_directory(tiny_dir)
    made = {}
    for arch, labels in (("dan", data.label_names), ("lstm", data.label_names), ("other", ["cat", "dog"])):
        config = default_config("dan" if arch == "other" else arch, len(data.vocab), len(labels), embed_dim=8)
        made[arch] = save_model(tmp_path / arch, build_model(config), data.vocab, labels)
    export_model(made["dan"], tmp_path / "export")
    out = tmp_path / "out"
    for base_from, error, why in ((made["lstm"], ValueError, "holds a lstm model, not a dan: autotune it with --model lstm"),
                                  (tmp_path / "export", ArtifactError, None),
                                  (made["other"], DataError, None)):
        with pytest.raises(error, match=why):
            autotune(str(tiny_dir), "dan", out, base_from=base_from, **SMALL)
        assert not out.exists()
    at._check_from(made["dan"], "dan", str(tiny_dir), True)
