"""Learning-rate schedules as plain functions of the step: CLR (Smith 2017) and CALR (Algorithm 1).

Each returns the learning rate for a global iteration, so a schedule can be plotted by calling it
on a range of steps. `CLR` and `CALR` are the same functions as torch LRSchedulers, to drop into
any training loop (lmf.train uses them through `ScheduledLR`, which takes any such function):

    scheduler = CALR(optimizer, steps_per_epoch, step_size, lr_lb, lr_ub, decay)
    for batch in batches:
        loss(batch).backward(); optimizer.step(); optimizer.zero_grad(); scheduler.step()

Deliberately not here: optimizers, or any state beyond the step number.
"""
import functools
import math

import torch


def clr(iteration, step_size, lr_lb, lr_ub):
    """Algorithm 1's CLR: a triangular window rising from lr_lb to lr_ub over `step_size` iterations
    and falling back over the next `step_size`."""
    bump = (lr_ub - lr_lb) / step_size
    cycle = iteration % (2 * step_size)
    if cycle < step_size:
        return lr_lb + cycle * bump
    return lr_ub - (cycle - step_size) * bump


def calr_upper_bound(epoch, lr_lb, lr_ub, decay):
    """The upper bound CALR uses during `epoch` (0-based). As in Algorithm 1 it is multiplied by
    exp(decay) at the start of every epoch, the first included, and reset to its initial value
    whenever it has fallen to lr_lb or below."""
    upper = lr_ub
    for _ in range(epoch + 1):
        upper *= math.exp(decay)
        if upper <= lr_lb:
            upper = lr_ub
    return upper


def calr(iteration, steps_per_epoch, step_size, lr_lb, lr_ub, decay):
    """Algorithm 1's CALR: CLR whose upper bound decays by exp(decay) each epoch, with warm resets."""
    epoch = iteration // steps_per_epoch
    return clr(iteration, step_size, lr_lb, calr_upper_bound(epoch, lr_lb, lr_ub, decay))


def constant(iteration, lr):
    return lr


def make_schedule(name, steps_per_epoch, lr_lb, lr_ub, step_size=None, decay=-0.5):
    """A function step -> learning rate. Defaults: a half-cycle of half an epoch (Smith suggests
    2-10x the batches per epoch for a full cycle; short cycles suit our few-epoch runs)."""
    step_size = step_size or max(1, steps_per_epoch // 2)
    if name == "calr":
        return lambda i: calr(i, steps_per_epoch, step_size, lr_lb, lr_ub, decay)
    if name == "clr":
        return lambda i: clr(i, step_size, lr_lb, lr_ub)
    if name == "constant":
        return lambda i: constant(i, lr_ub)
    raise ValueError(f"unknown schedule {name!r}: choose calr, clr or constant")


class ScheduledLR(torch.optim.lr_scheduler.LRScheduler):
    """A function step -> learning rate as a torch scheduler: after n calls of step() (one per
    optimizer step, after it) every parameter group's rate is schedule(n) itself, not a multiple of
    the rate the optimizer was made with (which is overwritten, at schedule(0), on construction).

    The rate is a closed form of the step, so get_lr() is the same inside or outside step(), and
    step(epoch) (deprecated by torch) jumps to that step. state_dict() holds the step count but not
    the function, which the constructor gives (as LambdaLR does with its lambdas), so it saves with
    torch.save and loads with torch.load(weights_only=True)."""

    def __init__(self, optimizer, schedule, last_epoch=-1):
        self.schedule = schedule
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return self._get_closed_form_lr()

    def _get_closed_form_lr(self):
        return [self.schedule(self.last_epoch) for _ in self.optimizer.param_groups]

    def state_dict(self):
        return {k: v for k, v in super().state_dict().items() if k != "schedule"}


class CLR(ScheduledLR):
    """`clr` as a scheduler: the rate after n calls of step() is clr(n, step_size, lr_lb, lr_ub)."""

    def __init__(self, optimizer, step_size, lr_lb, lr_ub, last_epoch=-1):
        super().__init__(optimizer, functools.partial(clr, step_size=step_size, lr_lb=lr_lb, lr_ub=lr_ub),
                         last_epoch)


class CALR(ScheduledLR):
    """`calr` as a scheduler: the rate after n calls of step() is
    calr(n, steps_per_epoch, step_size, lr_lb, lr_ub, decay); an epoch is `steps_per_epoch` calls."""

    def __init__(self, optimizer, steps_per_epoch, step_size, lr_lb, lr_ub, decay=-0.5, last_epoch=-1):
        super().__init__(optimizer, functools.partial(calr, steps_per_epoch=steps_per_epoch, step_size=step_size,
                                                      lr_lb=lr_lb, lr_ub=lr_ub, decay=decay), last_epoch)


def schedule_curves(names, steps_per_epoch, epochs, lr_lb, lr_ub, step_size, decay):
    """{NAME: [learning rate at step 0, 1, ..., steps_per_epoch * epochs]} for plotting."""
    total = max(1, int(steps_per_epoch * epochs))
    curves = {}
    for name in names:
        schedule = make_schedule(name, steps_per_epoch, lr_lb, lr_ub, step_size, decay)
        curves[name.upper()] = [schedule(i) for i in range(total + 1)]
    return curves
