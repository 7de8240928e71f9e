"""lmf.schedules: CLR and CALR (Algorithm 1) at hand-computed iterations, and the torch adapter."""
import math

import pytest
import torch

from lmf.schedules import as_torch_scheduler, calr, calr_upper_bound, clr, make_schedule

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


def test_as_torch_scheduler_sets_optimizer_lr():
    """After every scheduler.step() the optimizer's rate is schedule(step) itself, not a multiple of
    the rate the optimizer was created with (0.7 here)."""
    param = torch.nn.Parameter(torch.zeros(2))
    optimizer = torch.optim.SGD([param], lr=0.7)
    schedule = lambda i: clr(i, 4, 0.1, 0.5)  # noqa: E731
    scheduler = as_torch_scheduler(optimizer, schedule)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1)
    for step in range(1, 12):
        param.grad = torch.ones(2)
        optimizer.step()
        scheduler.step()
        assert optimizer.param_groups[0]["lr"] == pytest.approx(schedule(step))
