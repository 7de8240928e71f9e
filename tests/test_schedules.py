"""lmf.schedules: CLR and CALR (Algorithm 1) at hand-computed iterations, and as torch schedulers."""
import io
import math
import warnings

import pytest
import torch

from lmf.schedules import CALR, CLR, ScheduledLR, calr, calr_upper_bound, clr, make_schedule

HALF = math.log(0.5)  # decay = ln 0.5 halves the upper bound each epoch


@pytest.mark.parametrize("iteration, lr", [(0, 0.1), (1, 0.2), (2, 0.3), (4, 0.5), (5, 0.4),
                                           (6, 0.3), (8, 0.1), (10, 0.3), (12, 0.5)])
def test_clr_triangle(iteration, lr):
    """step_size 4, lb 0.1, ub 0.5: bump = (0.5 - 0.1) / 4 = 0.1; cycle = it mod 8. Rising for
    cycle < 4: lb + cycle * bump (0 -> 0.1, 1 -> 0.2, 2 -> 0.3, 4 is the top: 0.5); falling after:
    ub - (cycle - 4) * bump (5 -> 0.4, 6 -> 0.3); 8 is cycle 0 again -> 0.1, 10 -> 0.3, 12 -> 0.5."""
    assert clr(iteration, 4, 0.1, 0.5) == pytest.approx(lr)


@pytest.mark.parametrize("epoch, upper", [(0, 0.25), (1, 0.125), (2, 0.5), (3, 0.25), (4, 0.125), (5, 0.5)])
def test_calr_upper_bound_decays_and_resets(epoch, upper):
    """lb 0.1, ub 0.5, decay ln 0.5. Algorithm 1 multiplies before the first epoch too:
    epoch 0: 0.5 * 0.5 = 0.25; epoch 1: 0.125; epoch 2: 0.0625 <= 0.1 -> reset to 0.5;
    epoch 3: 0.25; epoch 4: 0.125; epoch 5: reset again -> 0.5 (a period of three epochs)."""
    assert calr_upper_bound(epoch, 0.1, 0.5, HALF) == pytest.approx(upper)


def test_calr_reset_when_equal_to_lower_bound():
    """lb 0.25, ub 1, decay ln 0.5: epoch 0 -> 0.5, epoch 1 -> 0.25 <= 0.25 -> reset to 1."""
    assert calr_upper_bound(1, 0.25, 1.0, HALF) == 1.0


@pytest.mark.parametrize("iteration, lr", [(0, 0.1), (2, 0.175), (4, 0.25), (6, 0.175),
                                           (10, 0.1125), (12, 0.125), (20, 0.5), (22, 0.3)])
def test_calr_values(iteration, lr):
    """8 steps per epoch, step_size 4, lb 0.1, ub 0.5, decay ln 0.5.
    Epoch 0 (it 0-7), ub 0.25, bump (0.25 - 0.1) / 4 = 0.0375: it 2 -> 0.1 + 2 * 0.0375 = 0.175;
      it 4 -> 0.25; it 6 -> 0.25 - 2 * 0.0375 = 0.175.
    Epoch 1 (it 8-15), ub 0.125, bump 0.00625: it 10 (cycle 2) -> 0.1125; it 12 (cycle 4) -> 0.125.
    Epoch 2 (it 16-23), reset ub 0.5, bump 0.1: it 20 (cycle 4) -> 0.5; it 22 (cycle 6) -> 0.3."""
    assert calr(iteration, 8, 4, 0.1, 0.5, HALF) == pytest.approx(lr)


def test_calr_without_decay_is_clr():
    """decay 0: exp(0) = 1 leaves the upper bound alone, so CALR is CLR."""
    assert all(calr(i, 8, 4, 0.1, 0.5, 0.0) == pytest.approx(clr(i, 4, 0.1, 0.5)) for i in range(40))


def test_make_schedule():
    """Default step_size is half an epoch: 10 steps per epoch -> 5, so CLR peaks at step 5."""
    sched = make_schedule("clr", 10, 0.1, 0.5)
    assert sched(0) == pytest.approx(0.1) and sched(5) == pytest.approx(0.5) and sched(10) == pytest.approx(0.1)
    assert make_schedule("constant", 10, 0.1, 0.5)(123) == 0.5
    calr_sched = make_schedule("calr", 8, 0.1, 0.5, step_size=4, decay=HALF)
    assert calr_sched(20) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="unknown schedule"):
        make_schedule("cosine", 10, 0.1, 0.5)


def sgd(lr=0.7, groups=1):
    return torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(2))]} for _ in range(groups)], lr=lr)


def rates(optimizer, scheduler, steps):
    """The rate of every group before step 0 and after each of `steps` training steps, as a
    training loop sees them (optimizer.step() then scheduler.step()), with torch's warnings
    (scheduler stepped before the optimizer, get_lr outside step) made errors."""
    seen = [[g["lr"] for g in optimizer.param_groups]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(steps):
            for group in optimizer.param_groups:
                group["params"][0].grad = torch.ones(2)
            optimizer.step()
            scheduler.step()
            seen.append([g["lr"] for g in optimizer.param_groups])
    return seen


def test_calr_scheduler_gives_the_plotted_values():
    """CALR(8 steps per epoch, step_size 4, lb 0.1, ub 0.5, ln 0.5) for 48 steps (six epochs, two
    of the three-epoch reset periods of test_calr_upper_bound_decays_and_resets): the rate the
    optimizer holds before step n is calr(n, ...) itself, exactly (the same float), in each of two
    parameter groups, and not a multiple of the 0.7 the optimizer was made with. get_last_lr()
    and get_lr() say the same."""
    optimizer = sgd(groups=2)
    scheduler = CALR(optimizer, 8, 4, 0.1, 0.5, HALF)
    expected = [calr(n, 8, 4, 0.1, 0.5, HALF) for n in range(49)]
    assert rates(optimizer, scheduler, 48) == [[lr, lr] for lr in expected]
    assert scheduler.get_last_lr() == [expected[48]] * 2 == scheduler.get_lr()
    assert scheduler.last_epoch == 48


def test_clr_scheduler_gives_the_plotted_values():
    """CLR(step_size 4, lb 0.1, ub 0.5): 0.1, 0.2, ..., 0.5 at step 4, back to 0.1 at step 8."""
    optimizer = sgd()
    assert rates(optimizer, CLR(optimizer, 4, 0.1, 0.5), 20) == [[clr(n, 4, 0.1, 0.5)] for n in range(21)]


def test_scheduled_lr_takes_any_schedule_function():
    """make_schedule's functions, as lmf.train drives them: "constant" holds lr_ub (0.5)."""
    for name in ("calr", "clr", "constant"):
        schedule = make_schedule(name, 10, 0.1, 0.5)
        optimizer = sgd()
        assert rates(optimizer, ScheduledLR(optimizer, schedule), 25) == [[schedule(n)] for n in range(26)]


def test_scheduler_state_dict_resumes_without_pickle():
    """After 11 steps the state dict (no function in it) goes through torch.save and
    torch.load(weights_only=True) into a new CALR over a new optimizer: it continues at step 11."""
    optimizer = sgd()
    scheduler = CALR(optimizer, 8, 4, 0.1, 0.5, HALF)
    rates(optimizer, scheduler, 11)
    buffer = io.BytesIO()
    torch.save(scheduler.state_dict(), buffer)
    buffer.seek(0)
    resumed_optimizer = sgd()
    resumed = CALR(resumed_optimizer, 8, 4, 0.1, 0.5, HALF)
    resumed.load_state_dict(torch.load(buffer, weights_only=True))
    assert resumed.last_epoch == 11
    assert rates(resumed_optimizer, resumed, 5)[1:] == [[calr(n, 8, 4, 0.1, 0.5, HALF)] for n in range(12, 17)]
