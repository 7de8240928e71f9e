"""Live retraining for the app: a background job that compresses and retrains while the page watches.

    job = start_job(saved, data, reduction=98, steps=300)   # raises Busy beyond MAX_LIVE_JOBS
    job.snapshot()        # a copy of the state so far: status, history, lrs, losses, step, ...
    job.seen()            # the page is still watching (see ABANDON_SECONDS)
    job.stop()            # asks the loop to stop after the current mini-batch
    job.wait(timeout)     # True once the job is done, stopped or failed
    job.model, job.zip()  # the retrained (best-on-dev) model and its deployable export as zip bytes
    find_job(job.id)      # the job again, from a reloaded page (its id travels in the URL)

The job compresses a copy of `saved.model` at R (lmf.compress.compress_model; the saved model is
never changed, so a cached one can be passed), measures test accuracy right after the SVD, then runs
lmf.train.train, all in a spawned worker process (see LiveJob for why) whose callbacks send what
they see; a thread of the job appends it to the job's own lists under its lock.
A job nobody watches any more (its page closed or reloaded elsewhere: no seen() for
ABANDON_SECONDS) is stopped, so its slot among the MAX_LIVE_JOBS is freed for the next visitor.
Also here: live_config (the settings of a short run), evaluation_data, dev_subset, story_case (the
case the page opens on: where the SVD's cost and its recovery are both large), dev_noise_points
and story_sentence (what happened, in one sentence).

Deliberately not here: Streamlit code (the page polls snapshot()), or a second training loop.
"""
import math
import os
import secrets
import threading
import time
from dataclasses import replace

from lmf.data import TextDataset, load_dataset
from lmf.names import QUICK
from lmf.train import retrain_recipe, with_schedule

# Defaults of the live page. The R a pair opens at is its story_case's (from results.csv);
# DEFAULT_REDUCTION is the fallback for a pair results.csv has no retrained LMF row for. Measured
# with LiveJob on the full dev sets (seed 0, CALR, half-cycle 50, 300 steps): SST-2's DAN hardly
# notices the SVD at any R the slider offers (dev 81.9 % before, 81.0 % at R=95 right after it,
# within the noise of its 872 dev sentences), while CLINC150's LSTM at R=90 drops from 90.7 to
# 29.5 % and 300 steps bring it back to 81.9 % (42 s on the 2-core machine), its DAN at R=95 from
# 90.3 to 55.2 % and back to 84.3 % (25 s). A half-cycle of steps/6 fits three full CALR cycles in
# any budget (50 for the default 300).
DEFAULT_REDUCTION = 95
DEFAULT_STEPS = 300
CYCLES = 3

# At most this many jobs train at once in one app process (every session together): each keeps a
# core busy, and the machine the app is served from has two.
MAX_LIVE_JOBS = 2
# Each job's worker gets its share of the cores for the SVD and the evaluations, so MAX_LIVE_JOBS
# jobs never oversubscribe them (one thread on the 2-core machine the app is served from). The
# training loop itself always runs on one thread (lmf.train.TRAIN_THREADS: same seed, same model).
TORCH_THREADS = max(1, (os.cpu_count() or 1) // MAX_LIVE_JOBS)

QUEUED, RUNNING, DONE, STOPPED, FAILED = "queued", "running", "done", "stopped", "failed"
FINISHED = (DONE, STOPPED, FAILED)

# A job whose page has not polled it (LiveJob.seen) for this long is stopped: its page went away
# (closed, or reloaded and not found again), and its slot must not keep the next visitor out. The
# page polls about three times a second while a job runs; a reload finds the job again within a
# few seconds; a background tab's timers still fire at least once a second.
ABANDON_SECONDS = 20.0
KEEP_FINISHED = 32  # finished jobs find_job still finds (a reload after the end shows the result)


class Busy(RuntimeError):
    """MAX_LIVE_JOBS jobs are already training; try again when one finishes."""


_active = set()  # jobs queued or running, across sessions
_known = {}  # job id -> job, newest last: the running ones and the last KEEP_FINISHED finished ones
_active_lock = threading.Lock()


def running_jobs():
    with _active_lock:
        return len(_active)


def find_job(job_id):
    """The job started with this id (LiveJob.id, unguessable), or None: how a reloaded page, a new
    session, finds its run again."""
    with _active_lock:
        return _known.get(job_id)


def _remember(job):
    with _active_lock:
        _known[job.id] = job
        finished = [k for k, j in _known.items() if j.finished and j not in _active]
        for key in finished[:max(0, len(finished) - KEEP_FINISHED)]:
            del _known[key]


# ---------------------------------------------------------------- the story the page opens on

def story_score(row, base_accuracy):
    """How plainly a retrained LMF row (results.csv, fractions) shows the online step: the smaller
    of what the SVD cost (the uncompressed model's test accuracy minus the row's right after the
    SVD) and what retraining won back (the row's accuracy minus that), in points. A drop that is
    never recovered, or a recovery from no drop, both score low. None without the numbers."""
    before = row.get("accuracy_before_retrain")
    if before is None or base_accuracy is None or row.get("accuracy") is None:
        return None
    return 100 * min(base_accuracy - before, row["accuracy"] - before)


def story_case(rows, pairs, max_reduction=98):
    """(dataset, model, R, score) of the case the Retrain live page opens on: among the `pairs`
    (dataset, model) whose uncompressed model is shipped, the seed-0 LMF row of R <= max_reduction
    (the page's slider) with the highest story_score, measured from results.csv; None without one.
    With the shipped artifacts: CLINC150's LSTM at R = 90, whose SVD costs 62.5 test points
    (91.2 % to 28.7 %) and whose retraining wins back 54.8 of them (to 83.4 %)."""
    best = None
    for dataset, model in pairs:
        base = next((r for r in rows if (r["dataset"], r["model"], r["method"], r["seed"])
                     == (dataset, model, "uncompressed", 0)), None)
        if base is None:
            continue
        for r in rows:
            if ((r["dataset"], r["model"], r["method"], r["seed"]) == (dataset, model, "lmf", 0)
                    and 0 < r["embedding_reduction_pct"] <= max_reduction):
                score = story_score(r, base["accuracy"])
                if score is not None and (best is None or score > best[3]):
                    best = (dataset, model, r["embedding_reduction_pct"], score)
    return best


def dev_noise_points(accuracy, n):
    """One standard error of a dev accuracy, in points: each of the n dev sentences is right with
    probability p (the accuracy, a fraction) independently of the others, so the count right is
    Binomial(n, p), with variance n p (1 - p); the accuracy is that count over n, with variance
    p (1 - p) / n. Example: SST-2's 872 dev sentences at 82 % give sqrt(0.82 * 0.18 / 872) = 1.3
    points; CLINC150's 3000 at 90 %, 0.55 points."""
    if not n:
        return None
    return 100 * math.sqrt(max(accuracy * (1 - accuracy), 0.0) / n)


NOISE_FACTOR = 2  # a cost within this many standard errors is within the dev set's noise


def story_sentence(base_dev, history, step, schedule, n_dev, finished=False):
    """What happened, in one sentence: the SVD's cost (the uncompressed model's dev accuracy minus
    the run's at step 0) and what the run won back since (its best dev accuracy minus step 0's),
    in points; e.g. 'The SVD cost 26.8 points of dev accuracy; 300 steps of CALR won back 25.1.'
    When the cost is within NOISE_FACTOR standard errors of a dev measurement (dev_noise_points),
    it says that the SVD cost less than the dev set's noise. `base_dev` and `history`'s accuracies
    are fractions; None before step 0 is measured."""
    if not history or base_dev is None:
        return None
    after_svd = history[0][1]
    cost = 100 * (base_dev - after_svd)
    won = 100 * (max(a for _, a in history) - after_svd)
    noise = dev_noise_points(base_dev, n_dev)
    steps = f"{step} step{'s' if step != 1 else ''} of {schedule.upper()}"
    if noise is not None and cost < NOISE_FACTOR * noise:
        return (f"The SVD cost {cost:.1f} points of dev accuracy, less than the dev set's noise "
                f"(one standard error is {noise:.1f} points over {n_dev} sentences): there is little to win back at "
                f"this R; {steps} moved it by {won:+.1f}.")
    if not finished and step == 0:
        return f"The SVD cost {cost:.1f} points of dev accuracy; retraining starts."
    return (f"The SVD cost {cost:.1f} points of dev accuracy; {steps} {'won' if finished else 'have won'} "
            f"back {won:.1f}.")


def cycle_step_size(steps, cycles=CYCLES):
    """The half-cycle (steps) that fits `cycles` full CLR/CALR cycles in `steps`: 300 -> 50."""
    return max(1, int(steps) // (2 * cycles))


def live_config(arch, steps, schedule="calr", eval_every=None, seed=0, step_size=None):
    """lmf.train.retrain_recipe with a step budget of exactly `steps` mini-batches (min_steps too,
    or a small dataset would stop after the recipe's one epoch): CALR or CLR with Adam as the sweep
    retrains, or AdaGrad at a constant rate (Table 1's third schedule). Evaluates about 25 times
    per run; `step_size` is the cyclic half-cycle (None: cycle_step_size(steps))."""
    config = replace(retrain_recipe(arch), max_steps=int(steps), min_steps=int(steps), seed=seed, device="cpu",
                     eval_every=eval_every or max(1, int(steps) // 25),
                     step_size=step_size or cycle_step_size(steps))
    return with_schedule(config, schedule)


def evaluation_data(dataset, vocab, label_names, quick=False):
    """The dataset (a name of lmf.data, or a folder of train/dev/test files) as the saved model
    sees it (lmf.data.TextDataset.seen_by). In quick artifacts
    the sweep used the first examples only (lmf.names.QUICK); the same cut is applied here so the
    numbers are comparable. Raises DataError when the data cannot be found."""
    data = load_dataset(dataset)
    if quick:
        data = data.subset(QUICK["n_train"], QUICK["n_eval"])
    return data.seen_by(vocab, label_names, f"{data.name} (for the shipped model)")  # a name, never a server path


def dev_subset(data, n):
    """A copy of `data` whose dev split is its first n examples (live curves evaluate faster)."""
    if n is None or n >= len(data.dev):
        return data
    dev = type(data.dev)(data.dev.texts[:n], data.dev.labels[:n])
    return TextDataset(data.name, data.train, dev, data.test, data.label_names, vocab=data.vocab)


class LiveJob:
    """Compress `saved.model` at `reduction` % and retrain it for `steps` mini-batches, in a worker
    process; a thread here relays what it reports into this object's state.

    State (read it with snapshot(); the lists only grow):
      status     queued (the worker is starting) -> running -> done | stopped | failed; `error`
                 holds a failure's message
      history    [(step, dev accuracy)] from step 0 (right after the SVD) on, every eval_every steps
      lrs        [(step, learning rate used for that step)]; losses [(step, mini-batch loss)]
      step       mini-batches done; total: the budget
      before     test accuracy right after the SVD; rank: its k
      test, size, best_step, best_dev, seconds   once finished (done or stopped): test accuracy and
                 bytes on disk of the best-on-dev model's deployable export (fp32), the model kept as `model`
      abandoned  True when it was stopped because no page polled it for `abandon_after` seconds
    Accuracies are fractions. `data` is evaluated on its dev split as given (see dev_subset).

    Why a process and not a thread: torch releases the GIL inside each operation, but a DAN step is
    a hundred small operations, and each must take the GIL back. In the app, Streamlit's own Python
    (the fragment's reruns, the server's messages) holds it often enough that a training thread
    there ran at 0.2 x the plain loop's rate (8.7 against 43 steps/s, scripts/bench_live.py). A
    spawned process (not forked: the app has threads) shares nothing; starting it costs a second or
    two, before the first step, so the training rate is the plain loop's. Spawning re-imports the
    main module: a script that starts jobs needs the `if __name__ == "__main__":` guard (Streamlit's
    and pytest's entry points have it)."""

    def __init__(self, saved, data, reduction, steps, schedule="calr", step_size=None, seed=0, eval_every=None,
                 abandon_after=None):
        import multiprocessing

        self.id = secrets.token_urlsafe(9)
        self.saved, self.data = saved, data
        self.abandon_after = ABANDON_SECONDS if abandon_after is None else abandon_after
        self.last_seen, self.abandoned = time.monotonic(), False
        self.config = live_config(saved.config["arch"], steps, schedule, eval_every, seed, step_size)
        self.settings = dict(reduction=int(reduction), steps=int(steps), schedule=schedule,
                             step_size=self.config.step_size, seed=seed)
        self.total = int(steps)
        self._lock = threading.Lock()
        self._context = multiprocessing.get_context("spawn")
        self._stop = threading.Event()
        self._control, self._control_lock = None, threading.Lock()  # the pipe that tells the worker to stop
        self.status, self.error = QUEUED, None
        self.history, self.lrs, self.losses, self.step = [], [], [], 0
        self.before = self.rank = self.test = self.size = self.best_step = self.best_dev = self.seconds = None
        self.model = None
        self.started = None
        self._thread = threading.Thread(target=self._relay, name=f"lmf-live-R{reduction}", daemon=True)

    # -------------------------------------------------------------- control, from any thread
    def start(self):
        self._thread.start()
        return self

    def seen(self):
        """The page is still watching: without a call for `abandon_after` seconds the job stops."""
        self.last_seen = time.monotonic()

    def stop(self):
        """Ask the loop to stop; it finishes the current mini-batch, evaluates it, and keeps the best model."""
        self._stop.set()
        with self._control_lock:
            if self._control is not None:
                try:
                    self._control.send(True)
                except OSError:  # the worker has just exited: nothing left to stop
                    pass

    def wait(self, timeout=None):
        self._thread.join(timeout)
        return self.finished

    @property
    def finished(self):
        return self.status in FINISHED

    def snapshot(self):
        """A consistent copy of the state (plain values and fresh lists: safe to hand to a chart)."""
        with self._lock:
            return dict(status=self.status, error=self.error, step=self.step, total=self.total,
                        history=list(self.history), lrs=list(self.lrs), losses=list(self.losses),
                        before=self.before, rank=self.rank, test=self.test, size=self.size,
                        best_step=self.best_step, best_dev=self.best_dev, seconds=self.seconds,
                        settings=dict(self.settings), abandoned=self.abandoned)

    def zip(self, name=None):
        """The retrained model's deployable export (lmf.export, fp32) as zip bytes; None before it exists."""
        if self.model is None:
            return None
        from lmf.export import zip_export
        s = self.settings
        name = name or f"{self.saved.config['arch']}-lmf-R{s['reduction']}-live-{s['schedule']}-{self.step}steps"
        return zip_export(self.model, self.saved.vocab, self.saved.label_names, name)

    # -------------------------------------------------------------- the relay thread
    def _set(self, **values):
        with self._lock:
            for k, v in values.items():
                setattr(self, k, v)

    def _relay(self):
        """Start the worker and copy what it sends into the state, until it ends."""
        # Two one-way pipes (a pipe rather than a multiprocessing.Event: no named semaphore to leak):
        # the worker reports on one and looks for a stop request on the other after every step.
        worker = receive = control_send = None
        try:  # from the first step: whatever fails, the finally below frees this job's slot
            receive, send = self._context.Pipe(duplex=False)
            control_receive, control_send = self._context.Pipe(duplex=False)
            state = _arrays(self.saved.model)
            worker = self._context.Process(
                target=_work, name=f"lmf-live-R{self.settings['reduction']}", daemon=True,
                args=(send, control_receive, dict(self.saved.config), state, self.data, self.settings["reduction"],
                      self.config, self.saved.vocab, list(self.saved.label_names)))
            worker.start()
            send.close()  # the worker holds the sending end now; EOF here means it has exited
            control_receive.close()
            with self._control_lock:
                self._control = control_send
                if self._stop.is_set():  # stop() came before the worker existed
                    control_send.send(True)
            self._set(started=time.time())
            while True:
                if not self._stop.is_set() and time.monotonic() - self.last_seen > self.abandon_after:
                    self._set(abandoned=True)  # its page went away: free the slot (the best model is kept)
                    self.stop()
                if not receive.poll(0.5):  # True on a message or at EOF (recv then raises EOFError)
                    continue
                try:
                    kind, *message = receive.recv()
                except EOFError:
                    worker.join(5)
                    raise RuntimeError(f"the worker process ended without a result (exit code {worker.exitcode})")
                with self._lock:
                    if kind == "step":
                        step, loss, lr = message
                        self.step = step
                        self.lrs.append((step, lr))
                        self.losses.append((step, loss))
                    elif kind == "eval":
                        self.history.append(tuple(message))
                    elif kind == "compressed":
                        self.status, (self.rank, self.before) = RUNNING, message
                    elif kind == "failed":
                        self.status, self.error = FAILED, message[0]
                        break
                    elif kind == "done":
                        result = message[0]
                        model = _rebuild(result.pop("config"), result.pop("state"))
                        for k, v in result.items():
                            setattr(self, k, v)
                        self.model = model
                        self.status = STOPPED if self._stop.is_set() and self.step < self.total else DONE
                        break
            worker.join(10)
        except Exception as e:  # shown on the page; the app keeps running
            self._set(status=FAILED, error=f"{type(e).__name__}: {e}")
        finally:
            with self._control_lock:
                self._control = None
                if control_send is not None:
                    control_send.close()
            if receive is not None:
                receive.close()
            if worker is not None and worker.is_alive():
                worker.kill()
            with _active_lock:
                _active.discard(self)


def _arrays(model):
    """The model's weights as numpy arrays, which a pipe copies. (A torch tensor would travel as a
    handle to shared memory that the worker must keep alive until it is opened here; the worker
    exits right after sending its model, and the pipe broke: ConnectionResetError.)"""
    return {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}


def _rebuild(config, arrays):
    import torch

    from lmf.models import build_model
    model = build_model(config)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in arrays.items()})
    return model.eval()


def _work(conn, control, config, state, data, reduction, train_config, vocab, label_names):
    """The worker process: compress, measure, retrain, report (messages on `conn`), send the model."""
    try:
        import torch

        from lmf.compress import compress_model
        from lmf.metrics import accuracy
        from lmf.export import export_size
        from lmf.train import train
        # A share of the cores for what runs outside training (the SVD, evaluation), not torch's
        # default of all of them: two jobs at that default fight over the same cores, and OpenMP's
        # spinning workers make that far worse than sharing. Training itself always runs on one
        # thread (lmf.train: same seed, same model), so its rate does not depend on this.
        torch.set_num_threads(TORCH_THREADS)
        compressed = compress_model(_rebuild(config, state), reduction)
        conn.send(("compressed", compressed.config["rank"], accuracy(compressed, data, "test")))

        stopping = []

        def stop_asked():
            if not stopping and control.poll():
                stopping.append(True)
            return bool(stopping)

        def on_step(step, loss, lr):
            conn.send(("step", step, loss, lr))
            return stop_asked()  # True makes train() evaluate this step and stop

        def on_eval(record):
            conn.send(("eval", record["step"], record["dev_accuracy"]))
            return stop_asked()

        result = train(compressed, data, train_config, on_step=on_step, on_eval=on_eval, progress=False)
        conn.send(("done", dict(
            config=dict(result.model.config), state=_arrays(result.model), step=result.steps,
            test=accuracy(result.model, data, "test"), size=export_size(result.model, vocab, label_names),
            best_step=result.best_step, best_dev=result.best_dev, seconds=result.seconds)))
    except Exception as e:
        conn.send(("failed", f"{type(e).__name__}: {e}"))
    finally:
        conn.close()


def start_job(saved, data, reduction, steps, **kwargs):
    """A started LiveJob (arguments as LiveJob's), findable by find_job(job.id); raises Busy when
    MAX_LIVE_JOBS are active."""
    job = LiveJob(saved, data, reduction, steps, **kwargs)
    with _active_lock:
        if len(_active) >= MAX_LIVE_JOBS:
            raise Busy(f"{len(_active)} live retrainings are running (at most {MAX_LIVE_JOBS} at once)")
        _active.add(job)
    _remember(job)
    try:
        return job.start()
    except BaseException:
        with _active_lock:
            _active.discard(job)
        raise
