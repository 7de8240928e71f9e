"""lmf.train: a few real steps on a 200-example slice of SST-2, best-on-dev restoration, callbacks,
early stopping and determinism."""
import copy

import pytest
import torch

from lmf.data import load_dataset
from lmf.metrics import accuracy, majority_rate
from lmf.models import new_model
from lmf.schedules import make_schedule
from lmf.train import (ADAGRAD_LR, RECIPES, TrainConfig, TrainingDiverged, chance_margin, make_optimizer,
                       nonfinite_weight, recipe, retrain_recipe, train, with_schedule)


def fresh(data, seed=0):
    return new_model("dan", len(data.vocab), len(data.label_names), embed_dim=32, seed=seed)


def config(**kw):
    base = dict(max_steps=6, batch_size=32, eval_every=2, lr_lb=1e-3, lr_ub=1e-2, device="cpu")
    return TrainConfig(**{**base, **kw})


def test_steps_history_callbacks_and_best_restored(tiny):
    """200 examples in batches of 32: ceil(200/32) = 7 steps per epoch, 3 epochs = 21 steps, capped
    at max_steps = 6. Dev is evaluated at step 0 (the starting weights) and every 2 steps: 0, 2, 4, 6.
    on_step sees each step with the rate used for it, schedule(step - 1); the returned model holds
    the weights captured at the evaluation with the best dev accuracy."""
    model = fresh(tiny)
    steps, snapshots = [], {}

    def on_step(step, loss, lr):
        steps.append((step, lr))
        assert loss > 0

    def on_eval(record):
        snapshots[record["step"]] = copy.deepcopy(model.state_dict())

    result = train(model, tiny, config(), on_step=on_step, on_eval=on_eval, progress=False)
    assert result.steps == 6
    assert [h["step"] for h in result.history] == [0, 2, 4, 6]
    assert result.history[0]["loss"] is None and all(h["loss"] > 0 for h in result.history[1:])
    schedule = make_schedule("calr", 7, 1e-3, 1e-2)
    assert [s for s, _ in steps] == [1, 2, 3, 4, 5, 6]
    assert [lr for _, lr in steps] == pytest.approx([schedule(i) for i in range(6)])
    assert sorted(snapshots) == [0, 2, 4, 6]
    devs = [h["dev_accuracy"] for h in result.history]
    assert result.best_dev == max(devs)
    assert result.best_step == result.history[devs.index(max(devs))]["step"]
    best = snapshots[result.best_step]
    assert all(torch.equal(best[k], v) for k, v in result.model.state_dict().items())
    assert accuracy(result.model, tiny, "dev") == pytest.approx(result.best_dev)
    assert result.model is model and not model.training


def test_starting_weights_restored_when_nothing_beats_them(tiny, monkeypatch):
    """Dev accuracy scripted as 0.9 for the starting weights, then 0.5, 0.6, 0.7: the best is step 0,
    so after 6 steps that did change the weights, the returned model holds the starting weights."""
    scores = iter([0.9, 0.5, 0.6, 0.7])
    monkeypatch.setattr("lmf.train.accuracy", lambda model, data, split: next(scores))
    model = fresh(tiny)
    start = copy.deepcopy(model.state_dict())
    moved = {}
    result = train(model, tiny, config(), progress=False,
                   on_eval=lambda r: moved.update({r["step"]: not torch.equal(
                       model.out.weight, start["out.weight"])}))
    assert (result.best_step, result.best_dev) == (0, 0.9)
    assert moved == {0: False, 2: True, 4: True, 6: True}
    assert all(torch.equal(start[k], v) for k, v in result.model.state_dict().items())


def test_on_eval_true_stops_early(tiny):
    """on_eval returns True at the step-2 evaluation: training stops there, 2 steps done."""
    result = train(fresh(tiny), tiny, config(), on_eval=lambda r: r["step"] == 2, progress=False)
    assert result.steps == 2 and [h["step"] for h in result.history] == [0, 2]


def test_on_eval_true_at_start_trains_nothing(tiny):
    model = fresh(tiny)
    start = copy.deepcopy(model.state_dict())
    result = train(model, tiny, config(), on_eval=lambda r: True, progress=False)
    assert result.steps == 0 and len(result.history) == 1
    assert all(torch.equal(start[k], v) for k, v in model.state_dict().items())


def test_on_step_true_stops_and_evaluates(tiny):
    """on_step stops after step 3 (between two regular evaluations); that step is evaluated."""
    result = train(fresh(tiny), tiny, config(), on_step=lambda s, loss, lr: s == 3, progress=False)
    assert result.steps == 3 and [h["step"] for h in result.history] == [0, 2, 3]


def test_same_seed_same_history(tiny):
    def run(seed):
        history = train(fresh(tiny), tiny, config(seed=seed), progress=False).history
        return [(h["step"], h["dev_accuracy"], h["lr"], h["loss"]) for h in history]
    first = run(0)
    assert run(0) == first
    assert run(1) != first


def test_epochs_and_min_steps_set_the_step_count(toy):
    """4 training examples in batches of 2: 2 steps per epoch. epochs = 1.5 -> int(3.0) = 3 steps;
    min_steps = 5 raises it to 5; max_steps = 4 caps it at 4."""
    cfg = dict(batch_size=2, eval_every=100, device="cpu")
    run = lambda **kw: train(fresh(toy), toy, TrainConfig(**cfg, **kw), progress=False).steps  # noqa: E731
    assert run(epochs=1.5) == 3
    assert run(epochs=1.5, min_steps=5) == 5
    assert run(epochs=1.5, min_steps=5, max_steps=4) == 4


@pytest.mark.parametrize("name", ["sgd", "adagrad"])
def test_other_optimizers_train(toy, name):
    result = train(fresh(toy), toy, TrainConfig(max_steps=2, batch_size=2, optimizer=name, device="cpu"),
                   progress=False)
    assert result.steps == 2


def test_unknown_optimizer():
    with pytest.raises(ValueError, match="unknown optimizer"):
        make_optimizer("rmsprop", [torch.nn.Parameter(torch.zeros(1))], 0.0)


def test_recipes_are_copies():
    r = recipe("dan")
    r.epochs = 99
    assert RECIPES["dan"].epochs != 99
    assert retrain_recipe("lstm").epochs == 1


@pytest.mark.parametrize("settings, field", [
    (dict(batch_size=0), "batch_size"),
    (dict(eval_every=0), "eval_every"),
    (dict(epochs=0), "epochs"),
    (dict(epochs=-1, max_steps=10), "epochs"),
    (dict(epochs=float("nan")), "epochs"),
    (dict(min_steps=-1), "min_steps"),
    (dict(max_steps=-5), "max_steps"),
    (dict(lr_lb=-1e-3), "lr_lb"),
    (dict(lr_ub=0.0), "lr_ub"),
    (dict(lr_lb=1e-2, lr_ub=1e-3), "lr_ub"),
    (dict(weight_decay=-1e-6), "weight_decay"),
    (dict(decay=float("nan")), "decay must be a finite number"),
    (dict(weight_decay=float("inf")), "weight_decay must be a finite number"),
    (dict(lr_ub=float("inf")), "lr_ub must be a finite number"),
])
def test_bad_settings_name_the_field(settings, field):
    """Each bad value raises ValueError naming its field: a batch of 0 examples, evaluating every
    0 steps, 0, -1 or NaN epochs (max_steps only caps the count, so it does not rescue them),
    negative step counts, a negative or zero rate, lr_ub 1e-3 below lr_lb 1e-2 (the CLR window
    would run upside down), a negative L2 weight, a NaN decay, an infinite L2 weight or rate (each
    trained to NaN and was reported as a diverged run)."""
    with pytest.raises(ValueError, match=rf"\b{field}\b"):
        TrainConfig(**settings)


def test_bad_settings_fail_on_replace_too_and_all_are_named():
    """dataclasses.replace (how the CLI and the sweep override a recipe) checks as construction
    does, and every bad field is reported at once."""
    from dataclasses import replace
    with pytest.raises(ValueError, match="batch_size.*eval_every.*weight_decay"):
        replace(recipe("dan"), batch_size=0, eval_every=0, weight_decay=-1.0)


def test_a_config_that_is_no_train_config_is_a_type_error(toy):
    """A dict of settings (what a user of the API tries first) is refused with what to pass, before
    any step, not an AttributeError from deep in the loop."""
    with pytest.raises(TypeError, match="config must be a TrainConfig"):
        train(fresh(toy), toy, {"epochs": 1}, progress=False)


def test_edge_settings_still_accepted():
    """Half an epoch (a fraction trains part of one), max_steps=0 (evaluate only), lr_lb = lr_ub
    (a flat window), and the constant schedule with lr_ub 0.01 under a recipe lr_lb of 0.02
    (constant uses lr_ub alone, as the sweep's AdaGrad cells do)."""
    TrainConfig(epochs=0.5)
    TrainConfig(max_steps=0)
    TrainConfig(lr_lb=1e-3, lr_ub=1e-3)
    TrainConfig(schedule="constant", lr_lb=0.02, lr_ub=0.01)


def test_with_schedule_maps_table_1s_schedules():
    """CALR and CLR keep the recipe's optimizer and bounds; AdaGrad is the optimizer at a constant
    0.01 (ADAGRAD_LR), as the papers Table 1 quotes ran it."""
    base = recipe("dan")
    assert with_schedule(base, "clr").schedule == "clr" and with_schedule(base, "clr").optimizer == base.optimizer
    assert with_schedule(base, "calr") == base
    ada = with_schedule(base, "adagrad")
    assert (ada.optimizer, ada.schedule, ada.lr_ub) == ("adagrad", "constant", ADAGRAD_LR) and ADAGRAD_LR == 0.01


# ---------------------------------------------------------------- divergence

def test_diverging_loss_stops_training(tiny):
    """Issue 10: SGD (momentum 0.9) at a rate of 1e8 to 1e9 blows the weights up within a few
    steps; the model used to be returned (and saved) with NaN weights. Now TrainingDiverged (a
    ValueError) names the non-finite loss, and the model holds its best weights, here the
    starting ones (every evaluation after step 0 would have seen NaN), all finite."""
    model = fresh(tiny)
    start = copy.deepcopy(model.state_dict())
    with pytest.raises(TrainingDiverged, match=r"training diverged: the loss is (nan|inf) at step \d+ \(sgd"):
        train(model, tiny, config(optimizer="sgd", lr_lb=1e8, lr_ub=1e9, eval_every=100), progress=False)
    assert all(torch.equal(start[k], v) for k, v in model.state_dict().items())
    assert not model.training


def test_nonfinite_weight_stops_training_at_the_evaluation(tiny):
    """A NaN written into out.weight after step 2 (by on_step) is caught by the step-2 evaluation,
    before it could become the best state; the model gets back its best state from step 0."""
    model = fresh(tiny)

    def poison(step, loss, lr):
        if step == 2:
            with torch.no_grad():
                model.out.weight[0, 0] = float("nan")
    with pytest.raises(TrainingDiverged, match="weight 'out.weight' is NaN or infinite after step 2"):
        train(model, tiny, config(), on_step=poison, progress=False)
    assert torch.isfinite(model.out.weight).all()


def test_a_blown_up_run_at_chance_is_refused(tiny):
    """Issue 22: Adam at a constant 1e6 ended with exit 0, weights near 2e7 and dev 49.7 % on a
    balanced binary set: only a NaN loss was caught. The loss stays finite (Adam's steps are about
    the rate, 1e6 per weight) but its window mean is far above 10 ln 2 = 6.9, and dev accuracy ends
    no better than always answering the majority class (tiny's dev set, 200 examples: a margin of
    2 sqrt(p (1 - p) / 200), about 7 points). TrainingDiverged names both; the model is given
    its best weights back, all finite."""
    model = fresh(tiny)
    with pytest.raises(TrainingDiverged, match=r"training diverged: the training loss rose to \S+ \(above 10 x ln 2 = "
                                               r"6.93.*no better than always answering the majority class.*\(adam, "
                                               r"learning rate up to 1e\+06\); no model was kept"):
        train(model, tiny, config(optimizer="adam", schedule="constant", lr_ub=1e6), progress=False)
    assert nonfinite_weight(model) is None and not model.training


def test_a_blown_up_run_far_below_its_best_is_refused(tiny, monkeypatch):
    """The other half of the rule: dev accuracy scripted as 0.9 for the starting weights, then
    0.7, 0.65, 0.65 under the same blow-up. 0.65 is above chance (the majority rate of tiny's dev
    set plus its margin, under 0.6) but more than the margin below the best, 0.9: refused too."""
    scores = iter([0.9, 0.7, 0.65, 0.65])
    monkeypatch.setattr("lmf.train.accuracy", lambda model, data, split: next(scores))
    assert majority_rate(tiny.dev.labels) + chance_margin(majority_rate(tiny.dev.labels), len(tiny.dev)) < 0.6
    with pytest.raises(TrainingDiverged, match=r"dev accuracy ended at 65.0% at step 6, far below its best of 90.0%"):
        train(fresh(tiny), tiny, config(optimizer="adam", schedule="constant", lr_ub=1e6), progress=False)


def test_a_run_that_has_not_learnt_yet_is_not_refused(tiny):
    """A legitimate short run at chance: a constant rate of 1e-7 moves nothing in 6 steps, so dev
    accuracy stays near the majority rate, but the loss stays near ln 2 = 0.69 (a tenth of the
    blow-up line), so it is a result, not a divergence (the quick sweep's 12-step runs are such)."""
    result = train(fresh(tiny), tiny, config(schedule="constant", lr_ub=1e-7), progress=False)
    assert result.steps == 6 and all(h["loss"] < 1.0 for h in result.history[1:])


def test_chance_margin_worked_example():
    """2 sqrt(0.509 x 0.491 / 872) = 0.0339 (SST-2's dev set); 2 sqrt(0.25 / 150) = 0.0816."""
    assert chance_margin(444 / 872, 872) == pytest.approx(0.0339, abs=1e-4)
    assert chance_margin(0.5, 150) == pytest.approx(0.0816, abs=1e-4)


# ---------------------------------------------------------------- the same seed, whatever the thread count

def test_same_seed_same_weights_with_1_or_2_threads(data_dir):
    """Issue 10: a seed gave different models under 1 and 2 threads (a TREC-like DAN: dev 85.60 vs
    84.20), because CPU kernels split their float sums by thread count. Without the pin, 4 steps
    of an LSTM on 300 CLINC150 examples (batch 64) already differ in all 7 tensors. train() runs on
    TRAIN_THREADS threads whatever the caller set, and gives the caller's setting back: under
    torch.set_num_threads(1) and (2) the weights are bit-identical."""
    data = load_dataset("clinc150").subset(300)
    previous = torch.get_num_threads()
    states = []
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            model = new_model("lstm", len(data.vocab), len(data.label_names), seed=0)
            train(model, data, config(max_steps=4, batch_size=64, eval_every=4), progress=False)
            assert torch.get_num_threads() == threads
            states.append(model.state_dict())
    finally:
        torch.set_num_threads(previous)
    assert [k for k in states[0] if not torch.equal(states[0][k], states[1][k])] == []
